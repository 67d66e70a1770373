// src/testbed/testbed.cpp -- layer: test harness. check_case / bench_case: random inputs, poisoned
// outputs, device round trips for CUDA backends, comparison with the fp64 reference and with a naive
// low-precision implementation that sets the tolerance (docs/numerics.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "gna/numeric.hpp"
#include "testbed/device_buffer.hpp"
#include "testbed/spec_eval.hpp"
#include "testbed/testbed.hpp"

namespace gna::testbed {
namespace {

// A host tensor: bytes + a view over them.
struct HostTensor {
  std::vector<unsigned char> bytes;
  TensorView view;
  HostTensor() = default;
  HostTensor(DType t, const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    bytes.assign(static_cast<size_t>(n * dtype_size(t)), 0);
    view = make_view(bytes.data(), t, shape);
  }
  int64_t numel() const { return view.numel(); }
  double at(int64_t i) const { return load_scalar(view.data, view.dtype, i); }
};

std::vector<int64_t> token_shape(const Problem& p, int64_t heads, int64_t dim) {
  std::vector<int64_t> s{p.batch};
  for (int d = 0; d < p.rank; ++d) s.push_back(p.extent[d]);
  s.push_back(heads);
  if (dim > 0) s.push_back(dim);
  return s;
}

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform random values in [-amplitude, amplitude) in the storage dtype (a counter-based hash of the
// element index, so the values do not depend on how the work is split), and their exact fp64 copy when t64
// is given. Large tensors (the > 2^31-element test: 2.4e9 elements) are filled by all the host's threads.
void fill(HostTensor& t, HostTensor* t64, uint64_t stream, double amplitude) {
  const uint64_t key = splitmix(stream);
  auto run = [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const double u = double(splitmix(key ^ uint64_t(i)) >> 11) * 0x1.0p-53;
      store_scalar(t.view.data, t.view.dtype, i, (2 * u - 1) * amplitude);
      if (t64) store_scalar(t64->view.data, DType::f64, i, t.at(i));
    }
  };
  const int64_t n = t.numel();
  const int64_t workers = n < (int64_t{1} << 24) ? 1 : std::max<int64_t>(1, std::thread::hardware_concurrency());
  if (workers == 1) return run(0, n);
  std::vector<std::thread> pool;
  for (int64_t w = 0; w < workers; ++w) pool.emplace_back(run, n * w / workers, n * (w + 1) / workers);
  for (auto& th : pool) th.join();
}

struct Inputs {
  HostTensor q, k, v, ek, ev;          // storage dtype
  HostTensor q64, k64, v64, ek64, ev64;
};

// Fresh random inputs from `seed`; fp64 copies only when `with_fp64` (the full reference needs them).
Inputs make_inputs(const Problem& p, DType dtype, uint64_t seed, bool with_fp64 = true) {
  Inputs in;
  uint64_t stream = seed * 8;
  auto both = [&](HostTensor& t, HostTensor& t64, std::vector<int64_t> shape, double amp) {
    t = HostTensor(dtype, shape);
    if (with_fp64) t64 = HostTensor(DType::f64, shape);
    fill(t, with_fp64 ? &t64 : nullptr, stream++, amp);
  };
  both(in.q, in.q64, token_shape(p, p.heads, p.dim_qk), 1.5);
  both(in.k, in.k64, token_shape(p, p.kv_heads, p.dim_qk), 1.5);
  both(in.v, in.v64, token_shape(p, p.kv_heads, p.dim_v), 1.0);
  if (p.extra_kv > 0) {
    both(in.ek, in.ek64, {p.batch, p.extra_kv, p.kv_heads, p.dim_qk}, 1.5);
    both(in.ev, in.ev64, {p.batch, p.extra_kv, p.kv_heads, p.dim_v}, 1.0);
  }
  return in;
}

// One (batch, query token, head) of the storage-dtype inputs from the spec (testbed/spec_eval.hpp).
void eval_query(const Problem& p, const Inputs& in, DType dtype, bool lowp, int64_t b, int64_t tok, int64_t h,
                std::vector<double>& out, double& lse) {
  ForwardTensors t{in.q.view, in.k.view, in.v.view, {}, {}, {}, {}};
  if (p.extra_kv > 0) t.extra_k = in.ek.view, t.extra_v = in.ev.view;
  int64_t x[kMaxRank];
  unflatten(p, tok, x);
  evaluate_query(p, t, b, x, h, lowp, dtype, out, lse);
}

bool is_cuda_backend(const std::string& name) { return name.rfind("sm", 0) == 0; }

// Sampled (batch, token, head) triples, or all of them when there are few. A sample starts with the last
// row and the first (the largest and smallest offsets), then random ones.
std::vector<std::array<int64_t, 3>> sample_rows(const Problem& p, int64_t max_rows, uint64_t seed) {
  std::vector<std::array<int64_t, 3>> rows;
  const int64_t N = p.tokens(), total = p.batch * N * p.heads;
  if (total <= max_rows) {
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t t = 0; t < N; ++t)
        for (int64_t h = 0; h < p.heads; ++h) rows.push_back({b, t, h});
    return rows;
  }
  rows.push_back({p.batch - 1, N - 1, p.heads - 1});
  rows.push_back({0, 0, 0});
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ull);
  for (int64_t i = 2; i < max_rows; ++i) {
    const int64_t x = static_cast<int64_t>(rng() % uint64_t(total));
    rows.push_back({x / (N * p.heads), (x / p.heads) % N, x % p.heads});
  }
  return rows;
}

}  // namespace

CheckResult check_case(const Case& c, const std::string& backend, uint64_t seed) {
  const Problem& p = c.problem;
  p.validate();
  CheckResult res;
  const Inputs in = make_inputs(p, c.dtype, seed);
  // fp64 reference, full output.
  HostTensor o_ref(DType::f64, token_shape(p, p.heads, p.dim_v)), lse_ref(DType::f32, token_shape(p, p.heads, 0));
  {
    ForwardTensors t{in.q64.view, in.k64.view, in.v64.view, o_ref.view, lse_ref.view, {}, {}};
    if (p.extra_kv > 0) t.extra_k = in.ek64.view, t.extra_v = in.ev64.view;
    Options o;
    o.backend = "reference";
    forward(p, t, o);
  }
  // The backend under test, outputs poisoned with NaN (all-ones bytes).
  HostTensor out(c.dtype, token_shape(p, p.heads, p.dim_v)), lse(DType::f32, token_shape(p, p.heads, 0));
  std::memset(out.bytes.data(), 0xff, out.bytes.size());
  std::memset(lse.bytes.data(), 0xff, lse.bytes.size());
  Options opt;
  opt.backend = backend;
  opt.q_tile = c.q_tile;
  opt.kv_tile = c.kv_tile;
  const auto t0 = std::chrono::steady_clock::now();
  if (is_cuda_backend(backend)) {
    DeviceBuffer dq(in.q.view), dk(in.k.view), dv(in.v.view), dout(out.view), dlse(lse.view);
    DeviceBuffer dek, dev;
    ForwardTensors t{dq.view, dk.view, dv.view, dout.view, dlse.view, {}, {}};
    if (p.extra_kv > 0) {
      dek = DeviceBuffer(in.ek.view);
      dev = DeviceBuffer(in.ev.view);
      t.extra_k = dek.view, t.extra_v = dev.view;
    }
    forward(p, t, opt);
    dout.download(out.view);
    dlse.download(lse.view);
  } else {
    ForwardTensors t{in.q.view, in.k.view, in.v.view, out.view, lse.view, {}, {}};
    if (p.extra_kv > 0) t.extra_k = in.ek.view, t.extra_v = in.ev.view;
    forward(p, t, opt);
  }
  res.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Written everywhere? Errors against the reference over every element, and on the sampled rows both the
  // backend's error and the naive low-precision implementation's error (which sets the tolerance).
  for (int64_t i = 0; i < out.numel(); ++i) {
    const double x = out.at(i);
    if (std::isnan(x)) {
      ++res.unwritten;
      continue;
    }
    res.out_err = std::max(res.out_err, std::fabs(x - o_ref.at(i)));
  }
  for (int64_t i = 0; i < lse.numel(); ++i) {
    const double x = lse.at(i);
    if (std::isnan(x)) {
      ++res.unwritten;
      continue;
    }
    res.lse_err = std::max(res.lse_err, std::fabs(x - lse_ref.at(i)));
  }
  double naive_err = 0, naive_lse_err = 0, sampled_err = 0, sampled_lse_err = 0;
  std::vector<double> row;
  const int64_t N = p.tokens();
  for (const auto& r : sample_rows(p, 512, seed)) {
    double l;
    eval_query(p, in, c.dtype, true, r[0], r[1], r[2], row, l);
    const int64_t base = ((r[0] * N + r[1]) * p.heads + r[2]);
    for (int64_t j = 0; j < p.dim_v; ++j) {
      const double ref = o_ref.at(base * p.dim_v + j);
      naive_err = std::max(naive_err, std::fabs(row[j] - ref));
      sampled_err = std::max(sampled_err, std::fabs(out.at(base * p.dim_v + j) - ref));  // NaN: counted as unwritten
    }
    naive_lse_err = std::max(naive_lse_err, std::fabs(l - lse_ref.at(base)));
    sampled_lse_err = std::max(sampled_lse_err, std::fabs(lse.at(base) - lse_ref.at(base)));
  }
  const double u = c.dtype == DType::bf16 ? 1.0 / 256 : c.dtype == DType::f16 ? 1.0 / 2048 : 1e-6;
  res.out_tol = 2 * naive_err + 0.05 * u;
  res.lse_tol = 2 * naive_lse_err + 1e-4;
  // On the sampled rows the backend must be within the tolerance; elsewhere within twice it. The naive error
  // is a maximum over the sampled rows only (at most 512), so on larger problems the maximum over every row
  // may legitimately exceed it by a little; a real defect is orders of magnitude larger.
  res.passed = res.unwritten == 0 && sampled_err <= res.out_tol && sampled_lse_err <= res.lse_tol &&
               res.out_err <= 2 * res.out_tol && res.lse_err <= 2 * res.lse_tol;
  std::ostringstream os;
  os << c.name << " [" << p.describe() << ", " << dtype_name(c.dtype) << ", seed " << seed << "]: out err "
     << sampled_err << " on sampled rows, " << res.out_err << " on all (tol " << res.out_tol << "), lse err "
     << sampled_lse_err << " sampled, " << res.lse_err << " all (tol " << res.lse_tol << "), unwritten " << res.unwritten;
  res.message = os.str();
  return res;
}

}  // namespace gna::testbed

namespace gna::testbed {

BenchResult bench_case(const Case& c, const std::string& backend, int warmup, int reps, uint64_t seed, double sustain_s) {
  const Problem& p = c.problem;
  p.validate();
  if (!is_cuda_backend(backend)) throw Error("bench: backend '" + backend + "' is not a CUDA backend");
  BenchResult res;
  res.device = cuda_device_name();
  const Inputs in = make_inputs(p, c.dtype, seed, false);
  HostTensor out(c.dtype, token_shape(p, p.heads, p.dim_v));
  std::memset(out.bytes.data(), 0xff, out.bytes.size());
  DeviceBuffer dq(in.q.view), dk(in.k.view), dv(in.v.view), dout(out.view), dek, dev;
  ForwardTensors t{dq.view, dk.view, dv.view, dout.view, {}, {}, {}};
  if (p.extra_kv > 0) {
    dek = DeviceBuffer(in.ek.view);
    dev = DeviceBuffer(in.ev.view);
    t.extra_k = dek.view, t.extra_v = dev.view;
  }
  Options opt;
  opt.backend = backend;
  opt.q_tile = c.q_tile;
  opt.kv_tile = c.kv_tile;
  std::vector<double> times = time_device_calls([&] { forward(p, t, opt); }, warmup, reps, sustain_s);
  std::sort(times.begin(), times.end());
  res.kernel_ms = times[times.size() / 2];
  res.layout_ms = 0;  // every backend here loads tiles in place: no layout pass
  res.total_ms = res.kernel_ms + res.layout_ms;
  res.eff_tflops = p.forward_flops() / (res.total_ms * 1e-3) / 1e12;
  // Sampled verification against the spec in fp64.
  dout.download(out.view);
  std::vector<double> row;
  const int64_t N = p.tokens();
  for (const auto& r : sample_rows(p, 48, seed)) {
    double l;
    eval_query(p, in, c.dtype, false, r[0], r[1], r[2], row, l);
    const int64_t base = ((r[0] * N + r[1]) * p.heads + r[2]) * p.dim_v;
    for (int64_t j = 0; j < p.dim_v; ++j) {
      const double x = out.at(base + j);
      res.max_err = std::max(res.max_err, std::isnan(x) ? INFINITY : std::fabs(x - row[j]));
    }
    ++res.checked_queries;
  }
  return res;
}

}  // namespace gna::testbed

namespace gna::testbed {
std::string cuda_device_name() { return cuda_device_name_impl(); }
}  // namespace gna::testbed
