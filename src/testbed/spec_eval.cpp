// src/testbed/spec_eval.cpp -- layer: test harness. Single-query attention from the spec (spec_eval.hpp).
#include "testbed/spec_eval.hpp"

#include <algorithm>
#include <cmath>

#include "gna/na/window.hpp"
#include "gna/numeric.hpp"

namespace gna::testbed {

int64_t token_offset(const TensorView& v, int rank, int64_t b, const int64_t* x, int64_t h, int64_t c) {
  int64_t o = b * v.stride[0];
  for (int d = 0; d < rank; ++d) o += x[d] * v.stride[1 + d];
  o += h * v.stride[rank + 1];
  if (c >= 0) o += c * v.stride[rank + 2];
  return o;
}

void unflatten(const Problem& p, int64_t token, int64_t* x) {
  for (int d = kMaxRank - 1; d >= 0; --d) x[d] = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    x[d] = token % p.extent[d];
    token /= p.extent[d];
  }
}

std::vector<std::array<int64_t, kMaxRank>> neighborhood(const Problem& p, const int64_t* x) {
  std::array<std::vector<int64_t>, kMaxRank> axis_keys;
  for (int d = 0; d < p.rank; ++d) {
    const na::AxisSpec a = p.axis(d);
    const na::Range w = na::window_of(x[d], a);
    for (int64_t j = w.start; j < w.end; ++j) axis_keys[d].push_back(x[d] % a.dilation + a.dilation * j);
  }
  std::vector<std::array<int64_t, kMaxRank>> keys;
  std::array<int64_t, kMaxRank> y{0, 0, 0};
  std::array<size_t, kMaxRank> it{0, 0, 0};
  while (true) {
    for (int d = 0; d < p.rank; ++d) y[d] = axis_keys[d][it[d]];
    keys.push_back(y);
    int d = p.rank - 1;
    while (d >= 0 && ++it[d] == axis_keys[d].size()) it[d--] = 0;
    if (d < 0) break;
  }
  return keys;
}

void evaluate_query(const Problem& p, const ForwardTensors& t, int64_t b, const int64_t* x, int64_t h, bool lowp,
                    DType dtype, std::vector<double>& out, double& lse) {
  const int rank = p.rank;
  const int64_t hk = h / (p.heads / p.kv_heads);
  const auto keys = neighborhood(p, x);
  // Element offsets of each key's K and V rows: spatial neighbors, then every extra token.
  std::vector<int64_t> koff, voff;
  for (const auto& k : keys) {
    koff.push_back(token_offset(t.k, rank, b, k.data(), hk, 0));
    voff.push_back(token_offset(t.v, rank, b, k.data(), hk, 0));
  }
  const size_t n_spatial = keys.size();
  for (int64_t j = 0; j < p.extra_kv; ++j) {
    koff.push_back(b * t.extra_k.stride[0] + j * t.extra_k.stride[1] + hk * t.extra_k.stride[2]);
    voff.push_back(b * t.extra_v.stride[0] + j * t.extra_v.stride[1] + hk * t.extra_v.stride[2]);
  }
  auto round = [&](double v) { return lowp ? double(float(v)) : v; };
  const int64_t q0 = token_offset(t.q, rank, b, x, h, 0), qs = t.q.stride[t.q.ndim - 1];
  const double scale = round(p.effective_scale());
  std::vector<double> s(koff.size());
  double mx = -INFINITY;
  for (size_t i = 0; i < koff.size(); ++i) {
    const TensorView& kt = i < n_spatial ? t.k : t.extra_k;
    const int64_t ks = kt.stride[kt.ndim - 1];
    double acc = 0;
    for (int64_t c = 0; c < p.dim_qk; ++c)
      acc = round(acc + round(load_scalar(t.q.data, t.q.dtype, q0 + c * qs) * load_scalar(kt.data, kt.dtype, koff[i] + c * ks)));
    s[i] = round(acc * scale);
    mx = std::max(mx, s[i]);
  }
  double sum = 0;
  for (double& v : s) sum += (v = lowp ? double(std::exp(float(v - mx))) : std::exp(v - mx));
  lse = mx + std::log(sum);
  out.assign(static_cast<size_t>(p.dim_v), 0.0);
  for (size_t i = 0; i < voff.size(); ++i) {
    const TensorView& vt = i < n_spatial ? t.v : t.extra_v;
    const int64_t vs = vt.stride[vt.ndim - 1];
    const double w = lowp ? round_to_dtype(s[i], dtype) : s[i];
    for (int64_t c = 0; c < p.dim_v; ++c) out[c] = round(out[c] + w * load_scalar(vt.data, vt.dtype, voff[i] + c * vs));
  }
  for (double& v : out) v = lowp ? round_to_dtype(v / sum, dtype) : v / sum;
}

}  // namespace gna::testbed
