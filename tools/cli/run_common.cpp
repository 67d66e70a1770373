// tools/cli/run_common.cpp -- layer: CLI. Shared helpers of `gna run` / `gna backward` (see header).
#include "run_common.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>

#include "gna/error.hpp"
#include "gna/numeric.hpp"

namespace gna::cli {
namespace {

std::vector<int64_t> token_shape(const Problem& p, int64_t heads, int64_t dim) {
  std::vector<int64_t> s{p.batch};
  for (int d = 0; d < p.rank; ++d) s.push_back(p.extent[d]);
  s.push_back(heads);
  if (dim > 0) s.push_back(dim);
  return s;
}

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: independent streams per tensor
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream os;
  os << v;
  return os.str();
}

std::vector<int64_t> sample_positions(int64_t n, int64_t samples, uint64_t seed) {
  std::vector<int64_t> picks;
  if (n <= samples) {
    for (int64_t i = 0; i < n; ++i) picks.push_back(i);
  } else {
    std::mt19937_64 rng(mix(seed ^ 0x5eedull));
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    for (int64_t i = 0; i < samples; ++i) picks.push_back(pick(rng));
  }
  return picks;
}



std::vector<int64_t> q_shape(const Problem& p) { return token_shape(p, p.heads, p.dim_qk); }
std::vector<int64_t> k_shape(const Problem& p) { return token_shape(p, p.kv_heads, p.dim_qk); }
std::vector<int64_t> v_shape(const Problem& p) { return token_shape(p, p.kv_heads, p.dim_v); }
std::vector<int64_t> o_shape(const Problem& p) { return token_shape(p, p.heads, p.dim_v); }
std::vector<int64_t> lse_shape(const Problem& p) { return token_shape(p, p.heads, 0); }
std::vector<int64_t> extra_k_shape(const Problem& p) {
  return {p.batch, p.extra_kv, p.kv_heads, p.dim_qk};
}
std::vector<int64_t> extra_v_shape(const Problem& p) { return {p.batch, p.extra_kv, p.kv_heads, p.dim_v}; }

NpyArray make_array(DType t, const std::vector<int64_t>& shape) {
  NpyArray a;
  a.descr = npy_descr(t);
  a.shape = shape;
  a.data.assign(static_cast<size_t>(a.numel() * a.item_size()), 0);
  return a;
}

NpyArray random_array(DType t, const std::vector<int64_t>& shape, uint64_t seed) {
  NpyArray a = make_array(t, shape);
  std::mt19937_64 rng(mix(seed));
  std::normal_distribution<double> normal(0.0, 1.0);
  const int64_t n = a.numel();
  for (int64_t i = 0; i < n; ++i) store_scalar(a.data.data(), t, i, normal(rng));
  return a;
}

ForwardInputs random_inputs(const Problem& p, DType t, uint64_t seed) {
  ForwardInputs in;
  in.dtype = t;
  const uint64_t s = mix(seed);
  in.q = random_array(t, q_shape(p), s + 1);
  in.k = random_array(t, k_shape(p), s + 2);
  in.v = random_array(t, v_shape(p), s + 3);
  if (p.extra_kv > 0) {
    in.extra_k = random_array(t, extra_k_shape(p), s + 4);
    in.extra_v = random_array(t, extra_v_shape(p), s + 5);
  }
  return in;
}

ForwardTensors forward_views(ForwardInputs& in, NpyArray* out, NpyArray* lse) {
  ForwardTensors t;
  t.q = npy_view(in.q, in.dtype);
  t.k = npy_view(in.k, in.dtype);
  t.v = npy_view(in.v, in.dtype);
  if (!in.extra_k.shape.empty()) t.extra_k = npy_view(in.extra_k, in.dtype);
  if (!in.extra_v.shape.empty()) t.extra_v = npy_view(in.extra_v, in.dtype);
  if (out) t.out = npy_view(*out, in.dtype);
  if (lse) t.lse = npy_view(*lse, DType::f32);
  return t;
}

Tolerance tolerance_for(DType t) {
  // O is stored in the input dtype, so its rounding alone is one half-ulp of that dtype; kernels that
  // keep P in the input dtype add about as much again. LSE is float32 computed from the same inputs.
  switch (t) {
    case DType::f64: return {1e-9, 1e-9, 1e-6};  // LSE is float32 even for fp64 inputs
    case DType::f32: return {1e-4, 1e-4, 1e-4};
    case DType::f16: return {3e-3, 3e-3, 2e-3};
    default: return {1.5e-2, 1.5e-2, 5e-3};
  }
}

CheckResult check_forward(const Problem& p, const ForwardTensors& t, DType dtype, int64_t samples,
                          uint64_t seed) {
  CheckResult r;
  r.tol = tolerance_for(dtype);
  const int rank = p.rank;
  const int64_t tokens = p.tokens();
  const int64_t positions = p.batch * tokens;
  if (positions == 0 || p.heads == 0) return r;

  const std::vector<int64_t> picks = sample_positions(positions, samples, seed);
  r.queries = static_cast<int64_t>(picks.size());

  double max_ref = 0;
  std::vector<double> ref;
  for (int64_t pos : picks) {
    const int64_t b = pos / tokens;
    int64_t x[kMaxRank];
    unflatten(p, pos % tokens, x);
    for (int64_t h = 0; h < p.heads; ++h) {
      double lse_ref = 0;
      testbed::evaluate_query(p, t, b, x, h, /*lowp=*/false, dtype, ref, lse_ref);
      for (int64_t c = 0; c < p.dim_v; ++c) {
        const double o = load_scalar(t.out.data, t.out.dtype, token_offset(t.out, rank, b, x, h, c));
        const double err = std::fabs(o - ref[c]);
        if (!(err <= r.tol.atol + r.tol.rtol * std::fabs(ref[c]))) r.ok = false;  // NaN fails too
        r.max_abs = std::max(r.max_abs, std::isnan(err) ? INFINITY : err);
        max_ref = std::max(max_ref, std::fabs(ref[c]));
      }
      if (t.lse.defined()) {
        const double l = load_scalar(t.lse.data, t.lse.dtype, token_offset(t.lse, rank, b, x, h, -1));
        const double err = std::fabs(l - lse_ref);
        if (!(err <= r.tol.lse_atol * (1.0 + std::fabs(lse_ref)))) r.ok = false;
        r.lse_max_abs = std::max(r.lse_max_abs, std::isnan(err) ? INFINITY : err);
      }
    }
  }
  r.max_rel = max_ref > 0 ? r.max_abs / max_ref : r.max_abs;
  return r;
}

InputPaths take_input_paths(std::vector<std::string>& args) {
  InputPaths p;
  p.q = take_option(args, "--q");
  p.k = take_option(args, "--k");
  p.v = take_option(args, "--v");
  p.extra_k = take_option(args, "--extra-k");
  p.extra_v = take_option(args, "--extra-v");
  return p;
}

bool has_option(const std::vector<std::string>& args, const std::string& name) {
  for (const auto& a : args)
    if (a == name || a.rfind(name + "=", 0) == 0) return true;
  return false;
}

ProblemOptions load_inputs(std::vector<std::string>& args, const InputPaths& paths,
                           const std::string& command, ForwardInputs& in) {
  if (paths.q.empty() || paths.k.empty() || paths.v.empty())
    fail("real data needs all of --q, --k and --v");
  if (paths.extra_k.empty() != paths.extra_v.empty()) fail("--extra-k and --extra-v must be given together");
  for (const char* opt : {"--shape", "--batch", "--heads", "--kv-heads", "--dim", "--dim-v", "--extra-kv",
                          "--preset"})
    if (has_option(args, opt)) fail(opt, " cannot be used with --q: the problem's sizes come from the arrays");
  if (!has_option(args, "--window")) fail("--window is required with --q (the neighborhood size per axis)");
  const bool dtype_given = has_option(args, "--dtype");

  in.q = read_npy(paths.q);
  const int64_t ndim = static_cast<int64_t>(in.q.shape.size());
  if (ndim < 4 || ndim > 6)
    fail(paths.q, ": Q must have 4..6 dims [B, X0.., H, Dqk] (rank 1..3), got ", ndim);
  const int rank = static_cast<int>(ndim - 3);

  ProblemOptions defaults;
  defaults.problem.rank = rank;
  for (int d = 0; d < rank; ++d) defaults.problem.extent[d] = in.q.shape[1 + d];
  defaults.dtype = DType::bf16;
  ProblemOptions po = parse_problem_options(args, defaults);
  reject_leftovers(args, command);

  in.k = read_npy(paths.k);
  in.v = read_npy(paths.v);
  const bool bf16_ok = dtype_given && po.dtype == DType::bf16;
  in.dtype = dtype_of_descr(in.q.descr, paths.q, bf16_ok);
  if (dtype_given && in.dtype != po.dtype)
    fail(paths.q, ": dtype ", in.q.descr, " does not match --dtype ", dtype_name(po.dtype));
  auto check_input = [&](const NpyArray& a, const std::string& path, size_t want_ndim) {
    const DType t = dtype_of_descr(a.descr, path, bf16_ok);
    if (t != in.dtype)
      fail(path, ": dtype ", a.descr, " differs from ", paths.q, "'s ", in.q.descr, " (all inputs share one dtype)");
    if (a.shape.size() != want_ndim)
      fail(path, ": expected ", want_ndim, " dims, got ", a.shape.size());
  };
  check_input(in.k, paths.k, ndim);
  check_input(in.v, paths.v, ndim);

  Problem& p = po.problem;
  p.batch = in.q.shape[0];
  p.heads = in.q.shape[rank + 1];
  p.dim_qk = in.q.shape[rank + 2];
  p.kv_heads = in.k.shape[rank + 1];
  p.dim_v = in.v.shape[rank + 2];
  if (!paths.extra_k.empty()) {
    in.extra_k = read_npy(paths.extra_k);
    in.extra_v = read_npy(paths.extra_v);
    check_input(in.extra_k, paths.extra_k, 4);
    check_input(in.extra_v, paths.extra_v, 4);
    p.extra_kv = in.extra_k.shape[1];
  }
  p.validate();  // forward()/backward() check every tensor's shape against p
  return po;
}

std::string fmt(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

}  // namespace gna::cli
