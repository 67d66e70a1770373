// tools/cli/check_backward.cpp -- layer: CLI. The sampled fp64 check of a backward result (used by
// `gna backward`), independent of every backend.
//
// For a query q and head h (spec s1, with P = softmax of the scaled scores over N(q) and the extra keys):
//   dP_k = <dO_q, V_k>,  D_q = sum_k P_k dP_k,  dS_k = P_k (dP_k - D_q)
//   dQ_q = scale * sum_k dS_k K_k;  dK_k = scale * sum_{q,h} dS_qk Q_q;  dV_k = sum_{q,h} P_qk dO_q
// dQ is checked at sampled queries; dK/dV (and the extra-KV gradients) at sampled keys, by scanning every
// query of the batch for those whose neighborhood holds the key, within a fixed work budget.
#include <algorithm>
#include <cmath>
#include <random>

#include "gna/na/window.hpp"
#include "gna/numeric.hpp"
#include "run_common.hpp"

namespace gna::cli {
namespace {

constexpr double kKeyBudget = 3e8;  // multiply-adds spent on the dK/dV samples

double load(const TensorView& t, int64_t off) { return load_scalar(t.data, t.dtype, off); }

// Softmax probabilities and dS of one (b, x, h) over its spatial keys then the extra keys.
struct QueryGrad {
  std::vector<std::array<int64_t, kMaxRank>> keys;
  std::vector<double> prob, ds;
};

QueryGrad query_grad(const Problem& p, const BackwardTensors& t, int64_t b, const int64_t* x, int64_t h) {
  const int r = p.rank;
  const int64_t hk = h / (p.heads / p.kv_heads);
  const double scale = p.effective_scale();
  QueryGrad g;
  g.keys = neighborhood(p, x);
  const size_t n = g.keys.size() + static_cast<size_t>(p.extra_kv);
  std::vector<double> s(n), dp(n);
  auto k_off = [&](size_t i) {
    return i < g.keys.size() ? token_offset(t.k, r, b, g.keys[i].data(), hk, 0)
                             : b * t.extra_k.stride[0] + int64_t(i - g.keys.size()) * t.extra_k.stride[1] +
                                   hk * t.extra_k.stride[2];
  };
  auto v_off = [&](size_t i) {
    return i < g.keys.size() ? token_offset(t.v, r, b, g.keys[i].data(), hk, 0)
                             : b * t.extra_v.stride[0] + int64_t(i - g.keys.size()) * t.extra_v.stride[1] +
                                   hk * t.extra_v.stride[2];
  };
  const int64_t q0 = token_offset(t.q, r, b, x, h, 0), do0 = token_offset(t.dout, r, b, x, h, 0);
  for (size_t i = 0; i < n; ++i) {
    const TensorView& kt = i < g.keys.size() ? t.k : t.extra_k;
    const TensorView& vt = i < g.keys.size() ? t.v : t.extra_v;
    const int64_t ko = k_off(i), vo = v_off(i);
    double acc = 0;
    for (int64_t c = 0; c < p.dim_qk; ++c)
      acc += load(t.q, q0 + c * t.q.stride[r + 2]) * load(kt, ko + c * kt.stride[kt.ndim - 1]);
    s[i] = acc * scale;
    double d = 0;
    for (int64_t c = 0; c < p.dim_v; ++c)
      d += load(t.dout, do0 + c * t.dout.stride[r + 2]) * load(vt, vo + c * vt.stride[vt.ndim - 1]);
    dp[i] = d;
  }
  const double mx = *std::max_element(s.begin(), s.end());
  double sum = 0;
  for (double v : s) sum += std::exp(v - mx);
  g.prob.resize(n);
  g.ds.resize(n);
  double dq_dot = 0;
  for (size_t i = 0; i < n; ++i) {
    g.prob[i] = std::exp(s[i] - mx) / sum;
    dq_dot += g.prob[i] * dp[i];
  }
  for (size_t i = 0; i < n; ++i) g.ds[i] = g.prob[i] * (dp[i] - dq_dot);
  return g;
}

// Tracks max |err| and max |ref| of one gradient.
struct ErrStat {
  double err = 0, ref = 0;
  void add(double got, double want) {
    const double e = std::fabs(got - want);
    err = std::max(err, std::isnan(e) ? INFINITY : e);
    ref = std::max(ref, std::fabs(want));
  }
  double normwise() const { return ref > 0 ? err / ref : err; }
};

}  // namespace

double grad_tolerance_for(DType t) {
  switch (t) {
    case DType::f64: return 1e-6;  // backward reads the float32 LSE, so P is only float32-exact
    case DType::f32: return 2e-4;
    case DType::f16: return 5e-3;
    default: return 3e-2;
  }
}

GradCheckResult check_backward(const Problem& p, const BackwardTensors& t, DType dtype,
                               int64_t query_samples, int64_t key_samples, uint64_t seed) {
  GradCheckResult res;
  res.tol = grad_tolerance_for(dtype);
  const int r = p.rank;
  const int64_t tokens = p.tokens();
  if (p.batch * tokens == 0 || p.heads == 0) return res;
  const double scale = p.effective_scale();
  const int64_t group = p.heads / p.kv_heads;
  ErrStat dq, dk, dv, dek, dev;

  // dQ at sampled queries, all heads.
  const std::vector<int64_t> qpicks = sample_positions(p.batch * tokens, query_samples, seed);
  res.queries = static_cast<int64_t>(qpicks.size());
  for (int64_t pos : qpicks) {
    const int64_t b = pos / tokens;
    int64_t x[kMaxRank];
    unflatten(p, pos % tokens, x);
    for (int64_t h = 0; h < p.heads; ++h) {
      const QueryGrad g = query_grad(p, t, b, x, h);
      const int64_t hk = h / group;
      for (int64_t c = 0; c < p.dim_qk; ++c) {
        double want = 0;
        for (size_t i = 0; i < g.ds.size(); ++i) {
          const int64_t ko = i < g.keys.size()
                                 ? token_offset(t.k, r, b, g.keys[i].data(), hk, c)
                                 : b * t.extra_k.stride[0] + int64_t(i - g.keys.size()) * t.extra_k.stride[1] +
                                       hk * t.extra_k.stride[2] + c * t.extra_k.stride[3];
          want += g.ds[i] * load(i < g.keys.size() ? t.k : t.extra_k, ko);
        }
        dq.add(load(t.dq, token_offset(t.dq, r, b, x, h, c)), scale * want);
      }
    }
  }

  // dK/dV at sampled spatial keys (and dExtraK/dExtraV at sampled extra keys) within the budget.
  int64_t window = 1;
  for (int d = 0; d < r; ++d) window *= p.window[d];
  const double per_query = double(window + p.extra_kv) * double(p.dim_qk + p.dim_v) * double(group);
  const double kvh = double(p.kv_heads);
  const double spatial_cost = kvh * (double(tokens) * r + double(window) * per_query);  // ~window queries
  const double extra_cost = kvh * double(tokens) * per_query;                           // every query
  const int64_t n_spatial = std::min<int64_t>(key_samples, int64_t(kKeyBudget / spatial_cost));
  const int64_t n_extra = p.extra_kv > 0 ? std::min<int64_t>(key_samples / 4 + 1, int64_t(kKeyBudget / extra_cost)) : 0;
  res.keys_checked = n_spatial > 0;

  auto accumulate_key = [&](int64_t b, int64_t hk, const std::array<int64_t, kMaxRank>* y, int64_t extra_j,
                            std::vector<double>& want_k, std::vector<double>& want_v) {
    std::fill(want_k.begin(), want_k.end(), 0.0);
    std::fill(want_v.begin(), want_v.end(), 0.0);
    for (int64_t tok = 0; tok < tokens; ++tok) {
      int64_t x[kMaxRank];
      unflatten(p, tok, x);
      if (y) {  // does N(x) hold y? (per axis: same dilation group and inside the window)
        bool inside = true;
        for (int d = 0; d < r && inside; ++d) {
          const na::AxisSpec a = p.axis(d);
          inside = x[d] % a.dilation == (*y)[d] % a.dilation &&
                   na::window_of(x[d], a).contains((*y)[d] / a.dilation);
        }
        if (!inside) continue;
      }
      for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
        const QueryGrad g = query_grad(p, t, b, x, h);
        size_t i = 0;
        if (y) {
          while (i < g.keys.size() && g.keys[i] != *y) ++i;
        } else {
          i = g.keys.size() + static_cast<size_t>(extra_j);
        }
        if (i >= g.prob.size()) continue;
        for (int64_t c = 0; c < p.dim_qk; ++c)
          want_k[c] += scale * g.ds[i] * load(t.q, token_offset(t.q, r, b, x, h, c));
        for (int64_t c = 0; c < p.dim_v; ++c)
          want_v[c] += g.prob[i] * load(t.dout, token_offset(t.dout, r, b, x, h, c));
      }
    }
  };

  std::vector<double> want_k(static_cast<size_t>(p.dim_qk)), want_v(static_cast<size_t>(p.dim_v));
  const std::vector<int64_t> kpicks = sample_positions(p.batch * tokens, n_spatial, seed + 1);
  for (int64_t pos : kpicks) {
    const int64_t b = pos / tokens;
    std::array<int64_t, kMaxRank> y{};
    unflatten(p, pos % tokens, y.data());
    for (int64_t hk = 0; hk < p.kv_heads; ++hk) {
      accumulate_key(b, hk, &y, -1, want_k, want_v);
      for (int64_t c = 0; c < p.dim_qk; ++c) dk.add(load(t.dk, token_offset(t.dk, r, b, y.data(), hk, c)), want_k[c]);
      for (int64_t c = 0; c < p.dim_v; ++c) dv.add(load(t.dv, token_offset(t.dv, r, b, y.data(), hk, c)), want_v[c]);
    }
  }
  res.keys = static_cast<int64_t>(kpicks.size());
  const std::vector<int64_t> xpicks = sample_positions(p.batch * p.extra_kv, n_extra, seed + 2);
  for (int64_t pos : xpicks) {
    const int64_t b = pos / p.extra_kv, j = pos % p.extra_kv;
    for (int64_t hk = 0; hk < p.kv_heads; ++hk) {
      accumulate_key(b, hk, nullptr, j, want_k, want_v);
      const TensorView &gk = t.dextra_k, &gv = t.dextra_v;
      for (int64_t c = 0; c < p.dim_qk; ++c)
        dek.add(load(gk, b * gk.stride[0] + j * gk.stride[1] + hk * gk.stride[2] + c * gk.stride[3]), want_k[c]);
      for (int64_t c = 0; c < p.dim_v; ++c)
        dev.add(load(gv, b * gv.stride[0] + j * gv.stride[1] + hk * gv.stride[2] + c * gv.stride[3]), want_v[c]);
    }
  }
  res.extra_keys = static_cast<int64_t>(xpicks.size());

  res.dq_err = dq.normwise();
  res.dk_err = dk.normwise();
  res.dv_err = dv.normwise();
  res.dextra_k_err = dek.normwise();
  res.dextra_v_err = dev.normwise();
  for (double e : {res.dq_err, res.dk_err, res.dv_err, res.dextra_k_err, res.dextra_v_err})
    if (!(e <= res.tol)) res.ok = false;
  return res;
}

}  // namespace gna::cli
