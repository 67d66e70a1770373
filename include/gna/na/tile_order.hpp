// gna/na/tile_order.hpp -- layer: na, host and device. The order in which the kernels' blocks take the Q
// tiles of one (batch, head, dilation group): which tiles run at the same time, and so how much of K/V the
// L2 cache must hold at once.
//
// An order is a nesting of the axes ("levels", outermost first) with a span per level: the Q-tile grid
// (n_0, n_1, n_2) is cut, on the outermost level's axis, into slabs of span_0 tiles (the last one shorter),
// each slab into slabs of span_1 tiles on the next level's axis, and so on; the tiles of an innermost slab
// are taken row-major in level order. Spans equal to the extents give the plain row-major order (level k =
// axis k: the order before tile orders existed). A span of 1 on the innermost level makes a sweep: the
// blocks move along that axis with a cross-section of span_0 x span_1 tiles. Which order reads least from
// DRAM is measured, not modelled: a sweep cut hunyuan-na's DRAM reads 4x and doubled a 4K image's
// (bench/README.md, session 21), so the default below only brings together tiles with identical KV boxes.
//
// Invariant (tests/unit/test_tile_order.cpp): ordered_tile is a bijection of [0, n_0 n_1 n_2) onto the
// grid for every permutation and every span in [1, n].
#pragma once

#include <cstdint>

#include "gna/na/tiles.hpp"
#include "gna/na/window.hpp"

#if defined(__CUDACC__)
#define GNA_ORDER_UNROLL _Pragma("unroll")
#else
#define GNA_ORDER_UNROLL
#endif

namespace gna {
namespace na {

struct TileOrder {
  int axis[kMaxRank] = {0, 1, 2};   // level k's axis (a permutation)
  int64_t span[kMaxRank] = {0, 0, 0};  // level k's span in Q tiles (>= 1); 0: the level's whole extent
};

// Level k's span as ordered_tile takes it, in [1, n] for a level of n Q tiles (0 or more than n: n).
GNA_HD int64_t level_span(const TileOrder& o, int k, int64_t n) {
  return o.span[k] <= 0 || o.span[k] > n ? n : o.span[k];
}

// The Q-tile coordinates t[d] (indexed by axis) of position `lin` of the order whose level k is axis
// axis[k] with n[k] tiles and span s[k] in [1, n[k]]. 32-bit: the callers have fewer than 2^31 tiles.
GNA_HD void ordered_tile(uint32_t lin, const int (&axis)[kMaxRank], const uint32_t (&n)[kMaxRank],
                         const uint32_t (&s)[kMaxRank], uint32_t (&t)[kMaxRank]) {
  uint32_t rem = lin, inner = 1, first[kMaxRank], r[kMaxRank];
GNA_ORDER_UNROLL
  for (int d = 0; d < kMaxRank; ++d) t[d] = 0;
GNA_ORDER_UNROLL
  for (int k = 0; k < kMaxRank; ++k) {
    uint32_t rest = 1;
GNA_ORDER_UNROLL
    for (int j = k + 1; j < kMaxRank; ++j) rest *= n[j];
    const uint32_t slab = inner * s[k] * rest;  // tiles in one slab of this level
    const uint32_t q = rem / slab;
    rem -= q * slab;
    first[k] = q * s[k];
    r[k] = n[k] - first[k] < s[k] ? n[k] - first[k] : s[k];
    inner *= r[k];
  }
GNA_ORDER_UNROLL
  for (int k = kMaxRank - 1; k >= 0; --k) {
    const uint32_t q = rem / r[k];
    const uint32_t v = first[k] + (rem - q * r[k]);
    rem = q;
GNA_ORDER_UNROLL
    for (int d = 0; d < kMaxRank; ++d)
      if (axis[k] == d) t[d] = v;  // selects, not a run-time indexed array
  }
}

// ---- the default order --------------------------------------------------------------------------------
//
// Row-major over stride groups, the Q tiles of one group together: on a non-causal axis with T | S (stride
// S, Q tile T), S / T consecutive Q tiles share one window and so one KV box (spec s3: a stride group's
// queries share their window), and the row-major order puts them n_{d+1} x n_{d+2} tiles apart, in
// different waves of concurrent blocks. Level k = axis k with span = that group's tiles; where every group
// is one tile wide (every stride-1 problem, every causal axis) this is exactly the row-major order.
GNA_HD int64_t stride_group_tiles(const GroupAxis& a, int64_t q_tile) {
  return !a.is_causal && a.stride > q_tile && a.stride % q_tile == 0 ? a.stride / q_tile : 1;
}
GNA_HD TileOrder stride_group_order(const GroupAxis (&axis)[kMaxRank], const int64_t (&q_tile)[kMaxRank]) {
  TileOrder t;
  for (int d = 0; d < kMaxRank; ++d) t.span[d] = stride_group_tiles(axis[d], q_tile[d]);
  return t;
}

}  // namespace na
}  // namespace gna
