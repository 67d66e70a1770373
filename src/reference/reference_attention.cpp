// src/reference/reference_attention.cpp -- layer: backend (reference). Definitional GNA forward and
// backward in double, threaded over (batch, head) with std::thread.
//
// Forward, per query q:  s_j = scale * <Q[q], K[j]> for j in N(q) (window keys, spec s3-s5) and every
// extra token; lse = max + log(sum exp(s - max)); O = sum softmax(s)_j V[j].
// Backward (standard attention backward from dO, O and the given LSE):
//   P_j = exp(s_j - lse), Di = <dO, O>, dS_j = P_j (<dO, V_j> - Di),
//   dQ = scale * sum_j dS_j K_j, dK_j += scale * dS_j Q, dV_j += P_j dO.
// dK/dV of one KV head sum over the H/Hkv query heads of its group; one task owns one (b, kv head) so
// no two threads write the same gradient row. Work is O(N * window) per head: only window keys are
// visited, enumerated per axis.
#include "reference/reference_attention.hpp"
#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "gna/numeric.hpp"

namespace gna::reference {

AxisKeys axis_keys(int64_t x, int64_t L, int64_t K, int64_t S, int64_t D, bool is_causal) {
  // s4: x lives in dilation group g at group-local index i; the group has Lg members.
  const int64_t g = x % D;
  const int64_t i = x / D;
  const int64_t Lg = (L - g + D - 1) / D;
  int64_t start, end;
  if (is_causal) {
    // s3 causal: from the last query of i's stride group back K keys, stopping at i itself.
    const int64_t leader = std::min((i / S) * S + S - 1, Lg - 1);
    start = std::max<int64_t>(leader - K + 1, 0);
    end = i + 1;
  } else {
    // s3 non-causal: centre on the stride group's leader, shifted inward at the edges.
    const int64_t left = K / 2;
    const int64_t right = K / 2 + (K % 2) - 1;
    const int64_t leader = std::min((i / S) * S + S / 2, Lg - 1);
    const int64_t centre = std::min(std::max(leader, left), Lg - 1 - right);
    start = centre - left;
    end = centre + right + 1;
  }
  return AxisKeys{g + D * start, end - start, D};
}

namespace {

using detail::parallel_for;  // src/core/parallel.hpp

// Offset (elements) of each token's [.., h=0, d=0] within one batch item of a [B, X.., ...] tensor.
std::vector<int64_t> token_offsets(const Problem& p, const TensorView& t) {
  const int64_t n = p.tokens();
  std::vector<int64_t> off(static_cast<size_t>(n));
  for (int64_t tok = 0; tok < n; ++tok) {
    int64_t rest = tok, o = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      o += (rest % p.extent[d]) * t.stride[1 + d];
      rest /= p.extent[d];
    }
    off[static_cast<size_t>(tok)] = o;
  }
  return off;
}

// Copies rows [b, token, h, :] of a token-grid tensor into a dense (tokens x dim) double buffer.
void gather(const TensorView& t, const std::vector<int64_t>& off, int64_t base, int64_t dim,
            std::vector<double>& dst) {
  const int64_t n = static_cast<int64_t>(off.size());
  dst.resize(static_cast<size_t>(n * dim));
  for (int64_t tok = 0; tok < n; ++tok)
    for (int64_t j = 0; j < dim; ++j)
      dst[static_cast<size_t>(tok * dim + j)] = load_scalar(t.data, t.dtype, base + off[tok] + j);
}
void scatter(const TensorView& t, const std::vector<int64_t>& off, int64_t base, int64_t dim,
             const std::vector<double>& src) {
  const int64_t n = static_cast<int64_t>(off.size());
  for (int64_t tok = 0; tok < n; ++tok)
    for (int64_t j = 0; j < dim; ++j)
      store_scalar(t.data, t.dtype, base + off[tok] + j, src[static_cast<size_t>(tok * dim + j)]);
}
// Extra K/V rows [b, :, h, :] ([B, Nx, Hkv, D]) into a dense (Nx x dim) buffer, and back.
void gather_extra(const TensorView& t, int64_t b, int64_t h, std::vector<double>& dst) {
  const int64_t n = t.shape[1], dim = t.shape[3];
  dst.resize(static_cast<size_t>(n * dim));
  for (int64_t x = 0; x < n; ++x)
    for (int64_t j = 0; j < dim; ++j)
      dst[static_cast<size_t>(x * dim + j)] =
          load_scalar(t.data, t.dtype, b * t.stride[0] + x * t.stride[1] + h * t.stride[2] + j);
}
void scatter_extra(const TensorView& t, int64_t b, int64_t h, const std::vector<double>& src) {
  const int64_t n = t.shape[1], dim = t.shape[3];
  for (int64_t x = 0; x < n; ++x)
    for (int64_t j = 0; j < dim; ++j)
      store_scalar(t.data, t.dtype, b * t.stride[0] + x * t.stride[1] + h * t.stride[2] + j,
                   src[static_cast<size_t>(x * dim + j)]);
}

double dot(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Flat indices (row-major over the token grid) of the window keys of token `tok`, into `keys`.
void window_keys(const Problem& p, int64_t tok, std::vector<int64_t>& keys) {
  AxisKeys ax[kMaxRank];
  int64_t coord[kMaxRank] = {0, 0, 0};
  int64_t rest = tok;
  for (int d = p.rank - 1; d >= 0; --d) {
    coord[d] = rest % p.extent[d];
    rest /= p.extent[d];
  }
  for (int d = 0; d < p.rank; ++d)
    ax[d] = axis_keys(coord[d], p.extent[d], p.window[d], p.stride[d], p.dilation[d], p.is_causal[d]);
  keys.clear();
  // s5: the key set is the product of the per-axis key sets (AND over axes).
  int64_t t[kMaxRank] = {0, 0, 0};
  while (true) {
    int64_t flat = 0;
    for (int d = 0; d < p.rank; ++d) flat = flat * p.extent[d] + ax[d].first + ax[d].step * t[d];
    keys.push_back(flat);
    int d = p.rank - 1;
    while (d >= 0 && ++t[d] == ax[d].count) t[d--] = 0;
    if (d < 0) break;
  }
}

// Per-query scores over window keys then extra tokens; returns the max.
double scores(const double* q, const std::vector<double>& k, const std::vector<int64_t>& keys,
              const std::vector<double>& ek, int64_t nx, int64_t dqk, double scale, std::vector<double>& s) {
  s.resize(keys.size() + static_cast<size_t>(nx));
  double m = -INFINITY;
  for (size_t j = 0; j < keys.size(); ++j) {
    s[j] = scale * dot(q, &k[static_cast<size_t>(keys[j] * dqk)], dqk);
    m = std::max(m, s[j]);
  }
  for (int64_t x = 0; x < nx; ++x) {
    double& sx = s[keys.size() + static_cast<size_t>(x)];
    sx = scale * dot(q, &ek[static_cast<size_t>(x * dqk)], dqk);
    m = std::max(m, sx);
  }
  return m;
}

}  // namespace

void forward(const Problem& p, const ForwardTensors& t, int num_threads) {
  const int64_t n = p.tokens(), H = p.heads, Hkv = p.kv_heads, dqk = p.dim_qk, dv = p.dim_v;
  const int64_t group = H / Hkv, nx = t.extra_k.defined() ? p.extra_kv : 0;
  const double scale = p.effective_scale();
  const auto oq = token_offsets(p, t.q), ok = token_offsets(p, t.k), ov = token_offsets(p, t.v),
             oo = token_offsets(p, t.out);
  const auto ol = t.lse.defined() ? token_offsets(p, t.lse) : std::vector<int64_t>{};
  const int r = p.rank;
  parallel_for(p.batch * H, num_threads, [&](int64_t task) {
    const int64_t b = task / H, h = task % H, hk = h / group;
    std::vector<double> q, k, v, ek, ev, o(static_cast<size_t>(n * dv), 0.0), lse(static_cast<size_t>(n));
    gather(t.q, oq, b * t.q.stride[0] + h * t.q.stride[r + 1], dqk, q);
    gather(t.k, ok, b * t.k.stride[0] + hk * t.k.stride[r + 1], dqk, k);
    gather(t.v, ov, b * t.v.stride[0] + hk * t.v.stride[r + 1], dv, v);
    if (nx > 0) {
      gather_extra(t.extra_k, b, hk, ek);
      gather_extra(t.extra_v, b, hk, ev);
    }
    std::vector<int64_t> keys;
    std::vector<double> s;
    for (int64_t i = 0; i < n; ++i) {
      window_keys(p, i, keys);
      const double m = scores(&q[static_cast<size_t>(i * dqk)], k, keys, ek, nx, dqk, scale, s);
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - m));
      double* out = &o[static_cast<size_t>(i * dv)];
      for (size_t j = 0; j < s.size(); ++j) {
        const double w = s[j] / sum;
        const double* vr = j < keys.size() ? &v[static_cast<size_t>(keys[j] * dv)]
                                           : &ev[(j - keys.size()) * static_cast<size_t>(dv)];
        for (int64_t c = 0; c < dv; ++c) out[c] += w * vr[c];
      }
      lse[static_cast<size_t>(i)] = m + std::log(sum);
    }
    scatter(t.out, oo, b * t.out.stride[0] + h * t.out.stride[r + 1], dv, o);
    if (t.lse.defined()) {
      const int64_t base = b * t.lse.stride[0] + h * t.lse.stride[r + 1];
      for (int64_t i = 0; i < n; ++i) store_scalar(t.lse.data, DType::f32, base + ol[i], lse[i]);
    }
  });
}

void backward(const Problem& p, const BackwardTensors& t, int num_threads) {
  const int64_t n = p.tokens(), H = p.heads, Hkv = p.kv_heads, dqk = p.dim_qk, dv = p.dim_v;
  const int64_t group = H / Hkv, nx = t.extra_k.defined() ? p.extra_kv : 0;
  const double scale = p.effective_scale();
  const int r = p.rank;
  const auto oq = token_offsets(p, t.q), ok = token_offsets(p, t.k), ov = token_offsets(p, t.v),
             oo = token_offsets(p, t.out), ol = token_offsets(p, t.lse), odo = token_offsets(p, t.dout),
             odq = token_offsets(p, t.dq), odk = token_offsets(p, t.dk), odv = token_offsets(p, t.dv);
  parallel_for(p.batch * Hkv, num_threads, [&](int64_t task) {
    const int64_t b = task / Hkv, hk = task % Hkv;
    std::vector<double> k, v, ek, ev, q, o, dout, dq;
    std::vector<double> dk(static_cast<size_t>(n * dqk), 0.0), dvv(static_cast<size_t>(n * dv), 0.0);
    std::vector<double> dek(static_cast<size_t>(nx * dqk), 0.0), dev(static_cast<size_t>(nx * dv), 0.0);
    gather(t.k, ok, b * t.k.stride[0] + hk * t.k.stride[r + 1], dqk, k);
    gather(t.v, ov, b * t.v.stride[0] + hk * t.v.stride[r + 1], dv, v);
    if (nx > 0) {
      gather_extra(t.extra_k, b, hk, ek);
      gather_extra(t.extra_v, b, hk, ev);
    }
    std::vector<int64_t> keys;
    std::vector<double> s;
    for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
      gather(t.q, oq, b * t.q.stride[0] + h * t.q.stride[r + 1], dqk, q);
      gather(t.out, oo, b * t.out.stride[0] + h * t.out.stride[r + 1], dv, o);
      gather(t.dout, odo, b * t.dout.stride[0] + h * t.dout.stride[r + 1], dv, dout);
      dq.assign(static_cast<size_t>(n * dqk), 0.0);
      const int64_t lse_base = b * t.lse.stride[0] + h * t.lse.stride[r + 1];
      for (int64_t i = 0; i < n; ++i) {
        window_keys(p, i, keys);
        const double* qi = &q[static_cast<size_t>(i * dqk)];
        const double* doi = &dout[static_cast<size_t>(i * dv)];
        double* dqi = &dq[static_cast<size_t>(i * dqk)];
        scores(qi, k, keys, ek, nx, dqk, scale, s);
        const double lse = load_scalar(t.lse.data, DType::f32, lse_base + ol[i]);
        const double di = dot(doi, &o[static_cast<size_t>(i * dv)], dv);
        for (size_t j = 0; j < s.size(); ++j) {
          const bool extra = j >= keys.size();
          const size_t row = extra ? j - keys.size() : static_cast<size_t>(keys[j]);
          const double* kj = extra ? &ek[row * dqk] : &k[row * dqk];
          const double* vj = extra ? &ev[row * dv] : &v[row * dv];
          double* dkj = extra ? &dek[row * dqk] : &dk[row * dqk];
          double* dvj = extra ? &dev[row * dv] : &dvv[row * dv];
          const double pj = std::exp(s[j] - lse);
          const double ds = pj * (dot(doi, vj, dv) - di);
          for (int64_t c = 0; c < dqk; ++c) {
            dqi[c] += scale * ds * kj[c];
            dkj[c] += scale * ds * qi[c];
          }
          for (int64_t c = 0; c < dv; ++c) dvj[c] += pj * doi[c];
        }
      }
      scatter(t.dq, odq, b * t.dq.stride[0] + h * t.dq.stride[r + 1], dqk, dq);
    }
    scatter(t.dk, odk, b * t.dk.stride[0] + hk * t.dk.stride[r + 1], dqk, dk);
    scatter(t.dv, odv, b * t.dv.stride[0] + hk * t.dv.stride[r + 1], dv, dvv);
    if (nx > 0) {
      scatter_extra(t.dextra_k, b, hk, dek);
      scatter_extra(t.dextra_v, b, hk, dev);
    }
  });
}

}  // namespace gna::reference
