// tests/reference/ref_test_util.hpp -- layer: tests (reference). Owning host tensors with chosen
// layouts, random problems, and an independent dense-mask attention (built on gna::na::attends, the
// other home of the window rule) used as the second opinion against the reference backend.
//
// Invariant: nothing here calls src/reference; the dense formulation visits all N x N pairs and masks.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gna/api.hpp"
#include "gna/na/window.hpp"
#include "gna/numeric.hpp"

namespace gna::test {

// Physical layout choices for a token-grid tensor [B, X.., H, D].
enum class Layout { contiguous, padded, heads_major };

// An owning host tensor with a TensorView over it.
struct HostTensor {
  std::vector<unsigned char> bytes;
  TensorView view;

  HostTensor() = default;
  HostTensor(DType dtype, const std::vector<int64_t>& shape, Layout layout = Layout::contiguous) {
    const int nd = static_cast<int>(shape.size());
    view.dtype = dtype;
    view.ndim = nd;
    for (int i = 0; i < nd; ++i) view.shape[i] = shape[i];
    // Physical order of the logical dims (outermost first).
    std::vector<int> order(nd);
    for (int i = 0; i < nd; ++i) order[i] = i;
    if (layout == Layout::heads_major && nd >= 4) {  // [B, H, X.., D]: heads before the token grid
      order.clear();
      order.push_back(0);
      order.push_back(nd - 2);
      for (int i = 1; i < nd - 2; ++i) order.push_back(i);
      order.push_back(nd - 1);
    }
    int64_t s = 1;
    for (int j = nd - 1; j >= 0; --j) {
      const int i = order[j];
      view.stride[i] = s;
      s = s * std::max<int64_t>(shape[i], 1) + (layout == Layout::padded && j > 0 ? 3 : 0);
    }
    bytes.assign(static_cast<size_t>(s * dtype_size(dtype)) + 16, 0);
    view.data = bytes.data();
  }
  int64_t numel() const { return view.numel(); }
  // Offset of the flat row-major logical index `i`.
  int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = view.ndim - 1; d >= 0; --d) {
      off += (i % view.shape[d]) * view.stride[d];
      i /= view.shape[d];
    }
    return off;
  }
  double get(int64_t i) const { return load_scalar(view.data, view.dtype, offset(i)); }
  void set(int64_t i, double v) { store_scalar(view.data, view.dtype, offset(i), v); }
  std::vector<double> values() const {
    std::vector<double> v(static_cast<size_t>(numel()));
    for (int64_t i = 0; i < numel(); ++i) v[i] = get(i);
    return v;
  }
  void fill_random(std::mt19937_64& rng, double lo = -1.0, double hi = 1.0) {
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t i = 0; i < numel(); ++i) set(i, u(rng));
  }
  void fill(double x) {
    for (int64_t i = 0; i < numel(); ++i) set(i, x);
  }
};

inline std::vector<int64_t> grid_shape(const Problem& p, int64_t heads, int64_t dim) {
  std::vector<int64_t> s{p.batch};
  for (int d = 0; d < p.rank; ++d) s.push_back(p.extent[d]);
  s.push_back(heads);
  if (dim > 0) s.push_back(dim);
  return s;
}

// All tensors of one forward call.
struct ForwardCase {
  Problem p;
  HostTensor q, k, v, out, lse, ek, ev;
  ForwardCase(const Problem& prob, DType dtype, Layout layout = Layout::contiguous) : p(prob) {
    q = HostTensor(dtype, grid_shape(p, p.heads, p.dim_qk), layout);
    k = HostTensor(dtype, grid_shape(p, p.kv_heads, p.dim_qk), layout);
    v = HostTensor(dtype, grid_shape(p, p.kv_heads, p.dim_v), layout);
    out = HostTensor(dtype, grid_shape(p, p.heads, p.dim_v), layout);
    lse = HostTensor(DType::f32, grid_shape(p, p.heads, 0), layout == Layout::heads_major ? Layout::padded : layout);
    if (p.extra_kv > 0) {
      ek = HostTensor(dtype, {p.batch, p.extra_kv, p.kv_heads, p.dim_qk}, layout);
      ev = HostTensor(dtype, {p.batch, p.extra_kv, p.kv_heads, p.dim_v}, layout);
    }
  }
  void randomize(std::mt19937_64& rng) {
    q.fill_random(rng);
    k.fill_random(rng);
    v.fill_random(rng);
    if (p.extra_kv > 0) {
      ek.fill_random(rng);
      ev.fill_random(rng);
    }
  }
  ForwardTensors tensors() const {
    ForwardTensors t;
    t.q = q.view;
    t.k = k.view;
    t.v = v.view;
    t.out = out.view;
    t.lse = lse.view;
    if (p.extra_kv > 0) {
      t.extra_k = ek.view;
      t.extra_v = ev.view;
    }
    return t;
  }
  void run(const std::string& backend = "reference", int threads = 0) {
    Options o;
    o.backend = backend;
    o.num_threads = threads;
    forward(p, tensors(), o);
  }
};

// Unflattens a row-major token index into coordinates.
inline void coords(const Problem& p, int64_t tok, int64_t* c) {
  for (int d = p.rank - 1; d >= 0; --d) {
    c[d] = tok % p.extent[d];
    tok /= p.extent[d];
  }
}

// Independent dense-mask attention in double: the full N x N mask from na::attends, plain softmax.
// Returns O as [B, N, H, Dv] and LSE as [B, N, H] (row-major logical order) from logical inputs.
struct DenseResult {
  std::vector<double> out, lse;
};
inline DenseResult dense_attention(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                                   const std::vector<double>& v, const std::vector<double>& ek,
                                   const std::vector<double>& ev, bool use_mask = true) {
  const int64_t N = p.tokens(), H = p.heads, Hkv = p.kv_heads, Dk = p.dim_qk, Dv = p.dim_v, Nx = p.extra_kv;
  const double scale = p.effective_scale();
  na::AxisSpec axes[kMaxRank];
  for (int d = 0; d < p.rank; ++d) axes[d] = p.axis(d);
  DenseResult r;
  r.out.assign(static_cast<size_t>(p.batch * N * H * Dv), 0.0);
  r.lse.assign(static_cast<size_t>(p.batch * N * H), 0.0);
  std::vector<double> s;
  std::vector<int64_t> mask(static_cast<size_t>(N * N));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) {
      int64_t ci[kMaxRank], cj[kMaxRank];
      coords(p, i, ci);
      coords(p, j, cj);
      mask[i * N + j] = !use_mask || na::attends(ci, cj, axes, p.rank);
    }
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t hk = h / (H / Hkv);
      for (int64_t i = 0; i < N; ++i) {
        const double* qi = &q[((b * N + i) * H + h) * Dk];
        s.assign(static_cast<size_t>(N + Nx), -INFINITY);
        double m = -INFINITY;
        for (int64_t j = 0; j < N + Nx; ++j) {
          if (j < N && !mask[i * N + j]) continue;
          const double* kj = j < N ? &k[((b * N + j) * Hkv + hk) * Dk] : &ek[((b * Nx + j - N) * Hkv + hk) * Dk];
          double dot = 0;
          for (int64_t c = 0; c < Dk; ++c) dot += qi[c] * kj[c];
          s[j] = scale * dot;
          m = std::max(m, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < N + Nx; ++j) sum += std::exp(s[j] - m);
        double* o = &r.out[((b * N + i) * H + h) * Dv];
        for (int64_t j = 0; j < N + Nx; ++j) {
          const double w = std::exp(s[j] - m) / sum;
          if (w == 0) continue;
          const double* vj = j < N ? &v[((b * N + j) * Hkv + hk) * Dv] : &ev[((b * Nx + j - N) * Hkv + hk) * Dv];
          for (int64_t c = 0; c < Dv; ++c) o[c] += w * vj[c];
        }
        r.lse[(b * N + i) * H + h] = m + std::log(sum);
      }
    }
  return r;
}

inline DenseResult dense_of(const ForwardCase& c, bool use_mask = true) {
  std::vector<double> ek, ev;
  if (c.p.extra_kv > 0) {
    ek = c.ek.values();
    ev = c.ev.values();
  }
  return dense_attention(c.p, c.q.values(), c.k.values(), c.v.values(), ek, ev, use_mask);
}

// A random valid problem: rank 1-3, small extents, any window/stride/dilation/causal, GQA, Dv != Dqk,
// optional extra KV. Token count stays small so the dense check is cheap.
inline Problem random_problem(std::mt19937_64& rng, int rank, bool allow_extra = true) {
  auto uni = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  Problem p;
  p.rank = rank;
  p.batch = uni(1, 2);
  const int64_t max_extent = rank == 1 ? 40 : rank == 2 ? 11 : 6;
  for (int d = 0; d < rank; ++d) {
    const int64_t L = uni(2, max_extent);
    const int64_t D = uni(0, 2) == 0 ? uni(1, L / 2) : 1;
    const int64_t K = uni(2, L / D);
    p.extent[d] = L;
    p.dilation[d] = D;
    p.window[d] = K;
    p.stride[d] = uni(1, K);
    p.is_causal[d] = uni(0, 2) == 0;
  }
  p.kv_heads = uni(1, 2);
  p.heads = p.kv_heads * uni(1, 3);
  p.dim_qk = uni(1, 6);
  p.dim_v = uni(1, 6);
  p.extra_kv = allow_extra && uni(0, 2) == 0 ? uni(1, 5) : 0;
  if (uni(0, 1)) p.scale = 0.25 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng);
  return p;
}

// The tolerance of one storage rounding of an O(1) value in dtype t.
inline double storage_eps(DType t) {
  switch (t) {
    case DType::f64: return 1e-12;
    case DType::f32: return 2e-7;
    case DType::f16: return 1e-3;
    default: return 8e-3;
  }
}

inline std::string seed_note(uint64_t seed, const Problem& p) {
  std::ostringstream os;
  os << "seed " << seed << ": " << p.describe();
  return os.str();
}

}  // namespace gna::test
