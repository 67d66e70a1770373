// src/core/problem.cpp -- layer: api. Problem validation (spec s2 + head/dim/size rules), the derived
// quantities (scale, tokens, attended pairs, FLOPs) and make_problem().
//
// Invariants: validate() checks every rule before anything else uses the problem and throws gna::Error
// naming the argument, the rule and the values. After validate() succeeds every size product used by the
// library (batch * tokens * heads * dim, for each tensor) fits in int64.
#include <cmath>
#include <sstream>

#include "gna/error.hpp"
#include "gna/na/window.hpp"
#include "gna/problem.hpp"

namespace gna {
namespace {

// a * b, or fail naming `what` if it overflows int64 (inputs are >= 0).
int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail(what, " overflows int64 (", a, " * ", b, ")");
  return r;
}

template <class T>
void list(std::ostringstream& os, const std::array<T, kMaxRank>& a, int rank) {
  os << '[';
  for (int d = 0; d < rank; ++d) os << (d ? ", " : "") << a[d];
  os << ']';
}

}  // namespace

void Problem::validate() const {
  if (rank < 1 || rank > kMaxRank) fail("rank ", rank, " must be 1, 2 or 3");
  if (batch < 0) fail("batch ", batch, " must be >= 0");
  if (heads < 0) fail("heads ", heads, " must be >= 0");
  if (kv_heads < 0) fail("kv_heads ", kv_heads, " must be >= 0");
  if (heads > 0 && kv_heads < 1) fail("kv_heads ", kv_heads, " must be >= 1 when heads ", heads, " > 0");
  if (kv_heads > 0 && heads % kv_heads != 0)
    fail("heads ", heads, " must be divisible by kv_heads ", kv_heads);
  if (dim_qk < 1) fail("dim_qk ", dim_qk, " must be >= 1");
  if (dim_v < 1) fail("dim_v ", dim_v, " must be >= 1");
  if (extra_kv < 0) fail("extra_kv ", extra_kv, " must be >= 0");
  if (!std::isfinite(scale)) fail("scale ", scale, " must be finite");
  for (int d = 0; d < rank; ++d) {
    const int64_t L = extent[d], K = window[d], S = stride[d], D = dilation[d];
    if (L < 1) fail("axis ", d, ": extent ", L, " must be >= 1");
    if (K < 2) fail("axis ", d, ": window ", K, " must be >= 2");
    if (D < 1) fail("axis ", d, ": dilation ", D, " must be >= 1");
    if (S < 1 || S > K) fail("axis ", d, ": stride ", S, " must be in [1, window ", K, "]");
    int64_t span = 0;
    if (__builtin_mul_overflow(K, D, &span) || span > L)
      fail("axis ", d, ": window ", K, " * dilation ", D, " = ", static_cast<double>(K) * D,
           " exceeds extent ", L);
  }
  // Every tensor's element count must fit in int64 (offsets are computed in int64 everywhere).
  const int64_t n = checked_mul(batch, tokens(), "batch * tokens");
  const int64_t h = heads > kv_heads ? heads : kv_heads;
  const int64_t dmax = dim_qk > dim_v ? dim_qk : dim_v;
  checked_mul(checked_mul(n, h, "batch * tokens * heads"), dmax, "batch * tokens * heads * dim");
  checked_mul(checked_mul(checked_mul(batch, extra_kv, "batch * extra_kv"), h, "batch * extra_kv * heads"),
              dmax, "batch * extra_kv * heads * dim");
}

double Problem::effective_scale() const {
  return scale > 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(dim_qk));
}

int64_t Problem::tokens() const {
  int64_t n = 1;
  for (int d = 0; d < rank && d < kMaxRank; ++d) n = checked_mul(n, extent[d], "tokens (prod(extent))");
  return n;
}

na::AxisSpec Problem::axis(int d) const {
  if (d < 0 || d >= rank) fail("axis ", d, " is out of range for rank ", rank);
  na::AxisSpec a;
  a.extent = extent[d];
  a.window = window[d];
  a.stride = stride[d];
  a.dilation = dilation[d];
  a.is_causal = is_causal[d];
  return a;
}

int64_t Problem::attended_pairs_per_head() const {
  int64_t p = 1;
  for (int d = 0; d < rank; ++d) p = checked_mul(p, na::axis_attended_pairs(axis(d)), "attended pairs");
  return p + checked_mul(tokens(), extra_kv, "tokens * extra_kv");
}

double Problem::forward_flops() const {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(heads) *
         static_cast<double>(dim_qk + dim_v) * static_cast<double>(attended_pairs_per_head());
}

std::string Problem::describe() const {
  std::ostringstream os;
  const int r = (rank >= 1 && rank <= kMaxRank) ? rank : kMaxRank;
  os << "B=" << batch << " X=";
  list(os, extent, r);
  os << " H=" << heads << " Hkv=" << kv_heads << " Dqk=" << dim_qk << " Dv=" << dim_v << " window=";
  list(os, window, r);
  os << " stride=";
  list(os, stride, r);
  os << " dilation=";
  list(os, dilation, r);
  os << " causal=[";
  for (int d = 0; d < r; ++d) os << (d ? ", " : "") << (is_causal[d] ? 1 : 0);
  os << "]";
  if (extra_kv) os << " extra_kv=" << extra_kv;
  os << " scale=" << effective_scale() << (scale > 0.0 ? "" : " (default)");
  return os.str();
}

Problem make_problem(const std::vector<int64_t>& shape, const std::vector<int64_t>& window,
                     const std::vector<int64_t>& stride, const std::vector<int64_t>& dilation,
                     const std::vector<int64_t>& is_causal) {
  const int64_t r = static_cast<int64_t>(shape.size());
  if (r < 1 || r > kMaxRank) fail("shape has ", r, " axes; rank must be 1, 2 or 3");
  Problem p;
  p.rank = static_cast<int>(r);
  // Per-axis values: empty = default, one value = every axis, else exactly one per axis.
  auto fill = [&](const char* name, const std::vector<int64_t>& v, int d, int64_t dflt) -> int64_t {
    if (v.empty()) return dflt;
    if (v.size() == 1) return v[0];
    if (static_cast<int64_t>(v.size()) != r)
      fail(name, " has ", v.size(), " values; expected 1 or ", r, " (one per axis)");
    return v[d];
  };
  for (int d = 0; d < p.rank; ++d) {
    p.extent[d] = shape[d];
    p.window[d] = fill("window", window, d, shape[d]);  // no window given: full attention on the axis
    p.stride[d] = fill("stride", stride, d, 1);
    p.dilation[d] = fill("dilation", dilation, d, 1);
    p.is_causal[d] = fill("is_causal", is_causal, d, 0) != 0;
  }
  return p;
}

}  // namespace gna
