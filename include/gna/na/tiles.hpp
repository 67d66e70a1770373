// gna/na/tiles.hpp -- layer: na (the one home of the neighborhood math), host and device.
//
// Owns the tile math of spec/semantics.md s8: which KV tiles a Q tile visits (the "box"), which of
// them are full (no element mask needed) and which partial, the same indexed by the KV tile (key-major,
// for backward kernels, from the inverse windows of s6), the per-iteration orders a kernel producer walks
// (row-major, or full tiles first), and the perfectly-block-sparse predicate. The simulator (src/sim), the token permutation and
// the kernels all call these functions; nothing else may re-derive them.
//
// Coordinates. Tiles are formed inside a dilation group (spec s4/s8: dilation groups are folded into the
// batch), so every function here works in GROUP-LOCAL indices: on an axis of extent L and dilation D,
// group g holds L_g = ceil((L - g) / D) real tokens, indices 0 .. L_g - 1. A tile of extent T on that axis
// covers group-local indices [r*T, (r+1)*T); indices >= L_g are padding. A 1-D problem without dilation
// has group-local index == token index (no copy needed).
//
// Invariants (each is a test in tests/unit, against brute force over all (q, k) pairs):
// - the box of a Q tile is exactly the set of KV tiles holding a neighbor of some real query of the tile;
// - a KV tile is full on an axis iff every real query of the Q tile attends every key of the KV tile on
//   that axis and the KV tile holds no padding; N-d full iff full on every axis; the full tiles of a box
//   form a contiguous sub-box (possibly empty);
// - padding queries (group-local index >= L_g) never count.
#pragma once

#include <cstdint>

#include "gna/na/window.hpp"

namespace gna {
namespace na {

// One axis of one dilation group: what the per-axis tile math needs (spec s3 on a group-local extent).
struct GroupAxis {
  int64_t extent = 1;   // L_g, the group-local extent
  int64_t window = 1;   // K
  int64_t stride = 1;   // S
  bool is_causal = false;
};

// The group-local axis of dilation group g of axis a.
GNA_HD GroupAxis group_axis(const AxisSpec& a, int64_t g) {
  return GroupAxis{group_extent(a.extent, a.dilation, g), a.window, a.stride, a.is_causal};
}

GNA_HD Range window_in(int64_t i, const GroupAxis& a) {
  return window_local(i, a.extent, a.window, a.stride, a.is_causal);
}

// Number of tiles of extent `tile` that hold at least one real token of a group-local axis.
GNA_HD int64_t num_tiles(int64_t extent, int64_t tile) { return ceil_div(extent, tile); }

// Real (non-padding) group-local queries of Q tile `qt`: [qt*Tq, min((qt+1)*Tq, L_g)). Empty when the
// tile holds only padding.
GNA_HD Range tile_real_range(int64_t t, int64_t tile, int64_t extent) {
  const int64_t s = t * tile;
  return Range{min64(s, extent), min64(s + tile, extent)};
}

// ---- per axis -----------------------------------------------------------------------------------

// The KV tiles Q tile `qt` visits on one axis: [floor(start(first)/Tkv), ceil(end(last)/Tkv)), first and
// last being the tile's first and last REAL query. Empty for a tile of padding only. Exact because
// start/end are monotone and windows are intervals (every key in [start(first), end(last)) is attended by
// some query of the tile: consecutive windows of a monotone family overlap or touch).
GNA_HD Range axis_kv_box(int64_t qt, int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  const Range q = tile_real_range(qt, q_tile, a.extent);
  if (q.size() <= 0) return Range{0, 0};
  const int64_t ks = window_in(q.start, a).start;
  const int64_t ke = window_in(q.end - 1, a).end;
  return Range{ks / kv_tile, ceil_div(ke, kv_tile)};
}

// The KV tiles of the box that are full on this axis: KV tile kt is full iff
//   max over real queries of start(i) = start(last) <= kt*Tkv,
//   min over real queries of end(i)   = end(first)  >= (kt+1)*Tkv, and (kt+1)*Tkv <= L_g (no padding key).
// Those kt form the contiguous range [ceil(start(last)/Tkv), floor(min(end(first), L_g)/Tkv)), clipped
// to be empty when negative. Always a sub-range of axis_kv_box.
GNA_HD Range axis_full_range(int64_t qt, int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  const Range q = tile_real_range(qt, q_tile, a.extent);
  if (q.size() <= 0) return Range{0, 0};
  const int64_t lo = ceil_div(window_in(q.end - 1, a).start, kv_tile);
  const int64_t hi = min64(window_in(q.start, a).end, a.extent) / kv_tile;
  return hi > lo ? Range{lo, hi} : Range{lo, lo};
}

// Is (Q tile qt, KV tile kt) full on this axis?
GNA_HD bool axis_tile_full(int64_t qt, int64_t kt, int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  return axis_full_range(qt, q_tile, kv_tile, a).contains(kt);
}

// ---- per axis, key-major (backward dK/dV: which Q tiles visit KV tile kt) --------------------------
// The same set of visited / full tile pairs as above, indexed by the KV tile, from the inverse windows of
// spec s6 (qs(j), qe(j) are non-decreasing in j, and the queries attending a run of keys are contiguous).

// Q tiles that visit KV tile kt: [floor(qs(first key)/Tq), ceil(qe(last real key)/Tq)). Empty for a KV
// tile of padding only.
GNA_HD Range axis_q_box(int64_t kt, int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  const Range k = tile_real_range(kt, kv_tile, a.extent);
  if (k.size() <= 0) return Range{0, 0};
  const int64_t qs = inverse_window_local(k.start, a.extent, a.window, a.stride, a.is_causal).start;
  const int64_t qe = inverse_window_local(k.end - 1, a.extent, a.window, a.stride, a.is_causal).end;
  return Range{qs / q_tile, ceil_div(qe, q_tile)};
}

// Q tiles whose pair with KV tile kt is full (axis_tile_full(qt, kt) == true), a contiguous range:
// {i : start(i) <= k0} = [0, qe(k0)) and {i : end(i) >= k1} = [qs(k1 - 1), L_g) with k0 = kt*Tkv,
// k1 = (kt+1)*Tkv <= L_g, so qt is full iff qt*Tq >= qs(k1 - 1) and min((qt+1)*Tq, L_g) <= qe(k0).
GNA_HD Range axis_q_full_range(int64_t kt, int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  const int64_t k0 = kt * kv_tile, k1 = k0 + kv_tile;
  if (k1 > a.extent) return Range{0, 0};  // padding key: never full
  const int64_t qe0 = inverse_window_local(k0, a.extent, a.window, a.stride, a.is_causal).end;
  const int64_t qs1 = inverse_window_local(k1 - 1, a.extent, a.window, a.stride, a.is_causal).start;
  const int64_t lo = ceil_div(qs1, q_tile);
  const int64_t hi = qe0 >= a.extent ? num_tiles(a.extent, q_tile) : qe0 / q_tile;
  return hi > lo ? Range{lo, hi} : Range{lo, lo};
}

// Sum over the Q tiles of one group axis of the box size, and of the full count (closed form per tile).
struct AxisTileCounts {
  int64_t q_tiles = 0;   // Q tiles with at least one real query
  int64_t visited = 0;   // sum of box sizes
  int64_t full = 0;      // sum of full-range sizes
};

GNA_HD AxisTileCounts axis_tile_counts(int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  AxisTileCounts c;
  c.q_tiles = num_tiles(a.extent, q_tile);
  for (int64_t qt = 0; qt < c.q_tiles; ++qt) {
    c.visited += axis_kv_box(qt, q_tile, kv_tile, a).size();
    c.full += axis_full_range(qt, q_tile, kv_tile, a).size();
  }
  return c;
}

// Every visited KV tile of every Q tile of this group axis is full on the axis.
GNA_HD bool axis_perfectly_block_sparse(int64_t q_tile, int64_t kv_tile, const GroupAxis& a) {
  const int64_t n = num_tiles(a.extent, q_tile);
  for (int64_t qt = 0; qt < n; ++qt)
    if (axis_kv_box(qt, q_tile, kv_tile, a).size() != axis_full_range(qt, q_tile, kv_tile, a).size())
      return false;
  return true;
}

// Same, over every dilation group of a (global) axis.
GNA_HD bool axis_perfectly_block_sparse(int64_t q_tile, int64_t kv_tile, const AxisSpec& a) {
  // Groups share K, S, C; only L_g differs, and it takes at most two values (the first L % D groups are
  // one longer), so checking groups 0 and D-1 covers them all.
  if (!axis_perfectly_block_sparse(q_tile, kv_tile, group_axis(a, 0))) return false;
  return a.dilation == 1 || axis_perfectly_block_sparse(q_tile, kv_tile, group_axis(a, a.dilation - 1));
}

// ---- N-d (rank 1..3) ------------------------------------------------------------------------------

// A box of tile coordinates, one half-open range per axis; row-major (last axis fastest) enumeration.
struct TileBox {
  int rank = 1;
  Range r[kMaxRank] = {{0, 0}, {0, 0}, {0, 0}};
  GNA_HD int64_t count() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= (r[d].size() > 0 ? r[d].size() : 0);
    return n;
  }
  GNA_HD bool contains(const int64_t* c) const {
    for (int d = 0; d < rank; ++d)
      if (!r[d].contains(c[d])) return false;
    return true;
  }
};

// The per-tile shape of a tiling: Q tile and KV tile extent per axis (each >= 1).
struct TileShape {
  int rank = 1;
  int64_t q[kMaxRank] = {1, 1, 1};
  int64_t kv[kMaxRank] = {1, 1, 1};
  GNA_HD int64_t q_size() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= q[d];
    return n;
  }
  GNA_HD int64_t kv_size() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= kv[d];
    return n;
  }
};

// The KV-tile box of the Q tile with tile coordinates q_coord, in one dilation group whose per-axis
// group-local parameters are axes[0..rank).
GNA_HD TileBox kv_tile_box(const int64_t* q_coord, const TileShape& t, const GroupAxis* axes) {
  TileBox b;
  b.rank = t.rank;
  for (int d = 0; d < t.rank; ++d) b.r[d] = axis_kv_box(q_coord[d], t.q[d], t.kv[d], axes[d]);
  return b;
}

// The full sub-box: KV tiles of the box that need no element mask (product of the per-axis full ranges).
GNA_HD TileBox full_tile_box(const int64_t* q_coord, const TileShape& t, const GroupAxis* axes) {
  TileBox b;
  b.rank = t.rank;
  for (int d = 0; d < t.rank; ++d) b.r[d] = axis_full_range(q_coord[d], t.q[d], t.kv[d], axes[d]);
  return b;
}

// Number of KV tiles visited by the Q tile (the box size).
GNA_HD int64_t num_visited_kv_tiles(const int64_t* q_coord, const TileShape& t, const GroupAxis* axes) {
  return kv_tile_box(q_coord, t, axes).count();
}

// Iteration: the KV tile coordinate of the n-th tile of a box, row-major (last axis fastest).
// Valid for 0 <= n < box.count(); a kernel producer calls it once per mainloop iteration.
GNA_HD void kv_tile_at(const TileBox& box, int64_t n, int64_t* kv_coord) {
  for (int d = box.rank - 1; d >= 0; --d) {
    const int64_t e = box.r[d].size();
    kv_coord[d] = box.r[d].start + n % e;
    n /= e;
  }
}

// Inverse of kv_tile_at: the linear position of kv_coord inside the box.
GNA_HD int64_t kv_tile_index(const TileBox& box, const int64_t* kv_coord) {
  int64_t n = 0;
  for (int d = 0; d < box.rank; ++d) n = n * box.r[d].size() + (kv_coord[d] - box.r[d].start);
  return n;
}

// Is the pair (Q tile q_coord, KV tile kv_coord) full (no element mask, no padding key)?
GNA_HD bool is_full_tile(const int64_t* q_coord, const int64_t* kv_coord, const TileShape& t,
                         const GroupAxis* axes) {
  for (int d = 0; d < t.rank; ++d)
    if (!axis_tile_full(q_coord[d], kv_coord[d], t.q[d], t.kv[d], axes[d])) return false;
  return true;
}

// Key-major: the Q-tile box of KV tile kv_coord and its full sub-box (backward dK/dV kernels).
GNA_HD TileBox q_tile_box(const int64_t* kv_coord, const TileShape& t, const GroupAxis* axes) {
  TileBox b;
  b.rank = t.rank;
  for (int d = 0; d < t.rank; ++d) b.r[d] = axis_q_box(kv_coord[d], t.q[d], t.kv[d], axes[d]);
  return b;
}
GNA_HD TileBox full_q_tile_box(const int64_t* kv_coord, const TileShape& t, const GroupAxis* axes) {
  TileBox b;
  b.rank = t.rank;
  for (int d = 0; d < t.rank; ++d) b.r[d] = axis_q_full_range(kv_coord[d], t.q[d], t.kv[d], axes[d]);
  return b;
}

// Full-first iteration: the n-th tile of `box` in the order "every tile of the full sub-box `full`
// (row-major), then every other tile of the box". Returns whether that tile is full, so a mainloop can
// run its first full.count() iterations without the element mask and the rest with it. `full` must be
// full_tile_box (or full_q_tile_box) of the same tile: a sub-box of `box`, or empty.
// The partial tiles are enumerated as rank disjoint slabs: slab d holds the tiles whose axes e < d lie in
// the full range, whose axis d lies outside it, and whose axes e > d are anywhere in the box.
GNA_HD bool tile_at_full_first(const TileBox& box, const TileBox& full, int64_t n, int64_t* coord) {
  const int64_t nf = full.count();
  if (n < nf) {
    kv_tile_at(full, n, coord);
    return true;
  }
  if (nf == 0) {
    kv_tile_at(box, n, coord);
    return false;
  }
  int64_t m = n - nf;
  for (int d = 0; d < box.rank; ++d) {
    int64_t slab = box.r[d].size() - full.r[d].size();
    for (int e = 0; e < d; ++e) slab *= full.r[e].size();
    for (int e = d + 1; e < box.rank; ++e) slab *= box.r[e].size();
    if (m >= slab) {
      m -= slab;
      continue;
    }
    // row-major inside the slab: axes e > d fastest, then axis d (outside values), then axes e < d
    for (int e = box.rank - 1; e > d; --e) {
      coord[e] = box.r[e].start + m % box.r[e].size();
      m /= box.r[e].size();
    }
    const int64_t below = full.r[d].start - box.r[d].start;  // values of axis d left of the full range
    const int64_t outside = box.r[d].size() - full.r[d].size();
    const int64_t v = m % outside;
    m /= outside;
    coord[d] = v < below ? box.r[d].start + v : full.r[d].end + (v - below);
    for (int e = d - 1; e >= 0; --e) {
      coord[e] = full.r[e].start + m % full.r[e].size();
      m /= full.r[e].size();
    }
    return false;
  }
  return false;  // n out of range
}

// Row-major linear index of a tile coordinate in a grid of `tiles_per_axis` tiles, and back.
GNA_HD int64_t tile_linear(const int64_t* coord, const int64_t* tiles_per_axis, int rank) {
  int64_t n = 0;
  for (int d = 0; d < rank; ++d) n = n * tiles_per_axis[d] + coord[d];
  return n;
}
GNA_HD void tile_coord(int64_t n, const int64_t* tiles_per_axis, int rank, int64_t* coord) {
  for (int d = rank - 1; d >= 0; --d) {
    coord[d] = n % tiles_per_axis[d];
    n /= tiles_per_axis[d];
  }
}

// Perfectly block-sparse (spec s8): every visited (Q tile, KV tile) pair of every dilation group is full,
// so the kernel needs no element mask at all. Because the box and the full sub-box are products over
// axes (and every box of a real Q tile is non-empty), this holds iff it holds on every axis separately.
GNA_HD bool perfectly_block_sparse(const AxisSpec* axes, const TileShape& t) {
  for (int d = 0; d < t.rank; ++d)
    if (!axis_perfectly_block_sparse(t.q[d], t.kv[d], axes[d])) return false;
  return true;
}
// Same with `extra_kv` extra KV tokens, which every query attends: their KV tiles are all full iff they
// fill whole tiles.
GNA_HD bool perfectly_block_sparse(const AxisSpec* axes, const TileShape& t, int64_t extra_kv) {
  return extra_kv % t.kv_size() == 0 && perfectly_block_sparse(axes, t);
}

}  // namespace na
}  // namespace gna
