// gna/na/window.hpp -- layer: na (the one home of the neighborhood math), host and device.
//
// Owns the per-axis window rule of spec/semantics.md s3 (non-causal / causal, stride), dilation (s4),
// the inverse window (s6), and the N-d composition (s5). Everything here is a pure function of int64
// values; no CUDA or CUTLASS includes, so the kernels, token permutation, simulator and host API all call
// the same code. The reference backend deliberately does NOT use this header (it is the oracle).
//
// Invariants (each is a test in tests/unit): non-causal windows hold exactly `window` keys and never
// leave [0, extent); causal windows satisfy start <= i < end; start(i) and end(i) are non-decreasing.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define GNA_HD __host__ __device__ __forceinline__
#else
#define GNA_HD inline
#endif

namespace gna {

constexpr int kMaxRank = 3;

namespace na {

// Half-open index range [start, end).
struct Range {
  int64_t start;
  int64_t end;
  GNA_HD int64_t size() const { return end - start; }
  GNA_HD bool contains(int64_t x) const { return x >= start && x < end; }
};

// The parameters of one spatial axis.
struct AxisSpec {
  int64_t extent = 1;    // L
  int64_t window = 1;    // K (kernel size)
  int64_t stride = 1;    // S
  int64_t dilation = 1;  // D
  bool is_causal = false;
};

GNA_HD int64_t window_left(int64_t window) { return window / 2; }
GNA_HD int64_t window_right(int64_t window) { return window / 2 + (window % 2) - 1; }

GNA_HD int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
GNA_HD int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
GNA_HD int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// s3: key range of group-local query index i on an axis of (group-local) extent L, without dilation.
GNA_HD Range window_local(int64_t i, int64_t L, int64_t K, int64_t S, bool is_causal) {
  if (is_causal) {
    const int64_t leader = min64((i / S) * S + S - 1, L - 1);
    return Range{max64(leader - K + 1, 0), i + 1};
  }
  const int64_t leader = min64((i / S) * S + S / 2, L - 1);
  const int64_t centre = min64(max64(leader, window_left(K)), L - 1 - window_right(K));
  return Range{centre - window_left(K), centre + window_right(K) + 1};
}

// s6: group-local range of queries that attend key j (exact inverse of window_local).
GNA_HD Range inverse_window_local(int64_t j, int64_t L, int64_t K, int64_t S, bool is_causal) {
  if (is_causal) {
    const int64_t qe = min64(((j + K) / S + (j + K >= L ? 1 : 0)) * S, L);
    return Range{j, qe};
  }
  const int64_t co = S - S / 2 - 1;
  const int64_t pre = (j >= K) ? (j - window_right(K) + co) : 0;
  const int64_t qs = (pre / S) * S;
  const int64_t qe = (j >= L - K) ? L : ((j + window_left(K) + co + 1) / S) * S;
  return Range{qs, qe};
}

// s4: dilation group g of an axis of extent L holds ceil((L - g) / D) members.
GNA_HD int64_t group_extent(int64_t L, int64_t D, int64_t g) { return ceil_div(L - g, D); }

// Group-local window of global coordinate x: keys are {x % D + D * t : t in the returned range}.
GNA_HD Range window_of(int64_t x, const AxisSpec& a) {
  const int64_t g = x % a.dilation;
  return window_local(x / a.dilation, group_extent(a.extent, a.dilation, g), a.window, a.stride,
                      a.is_causal);
}

// Group-local range of queries attending global key y: queries are {y % D + D * t : t in range}.
GNA_HD Range inverse_window_of(int64_t y, const AxisSpec& a) {
  const int64_t g = y % a.dilation;
  return inverse_window_local(y / a.dilation, group_extent(a.extent, a.dilation, g), a.window,
                              a.stride, a.is_causal);
}

// Does query x attend key y on this axis?
GNA_HD bool axis_attends(int64_t x, int64_t y, const AxisSpec& a) {
  if (x % a.dilation != y % a.dilation) return false;
  return window_of(x, a).contains(y / a.dilation);
}

// s5: query coordinate q attends key coordinate k iff every axis allows it.
GNA_HD bool attends(const int64_t* q, const int64_t* k, const AxisSpec* axes, int rank) {
  for (int d = 0; d < rank; ++d)
    if (!axis_attends(q[d], k[d], axes[d])) return false;
  return true;
}

// Number of (query, key) pairs attended along one axis, summed over its queries (s9). O(extent) for
// causal axes, O(1) otherwise. The N-d count is the product over axes.
GNA_HD int64_t axis_attended_pairs(const AxisSpec& a) {
  if (!a.is_causal) return a.extent * a.window;
  int64_t total = 0;
  for (int64_t g = 0; g < a.dilation; ++g) {
    const int64_t Lg = group_extent(a.extent, a.dilation, g);
    for (int64_t i = 0; i < Lg; ++i) total += window_local(i, Lg, a.window, a.stride, true).size();
  }
  return total;
}

}  // namespace na
}  // namespace gna
