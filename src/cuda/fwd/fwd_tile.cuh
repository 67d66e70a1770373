// src/cuda/fwd/fwd_tile.cuh -- layer: cuda forward collective pieces, shared by the sm80 and sm90 kernels:
// the in-place N-d tile loaders (cp.async straight from the user's heads-last layout: no permutation
// copy), the per-Q-tile neighborhood state (KV-tile box, full/partial tile test) and the KV-tile cursor.
// The shared-memory layout of a tile is the architecture's (Cfg::smem_offset<ROWS>(row, chunk)).
//
// Invariants: a tile row is HEAD_DIM 16-bit values in 16-byte chunks. Rows past the group extent, and
// head-dim chunks past `dim`, are zero-filled (cp.async src-size 0): they never read out of bounds.
// The neighborhood math itself comes from gna/na/ (axis_kv_box, axis_full_range, window_in), not from here.
#pragma once

#include <cstdint>

#include "cuda/common/mma_sm80.cuh"
#include "cuda/fwd/fwd_params.hpp"
#include "cuda/fwd/mask_bits.hpp"  // keep_bit: the column masks' bit order
#include "gna/na/tile_order.hpp"
#include "gna/na/tiles.hpp"
#include "gna/na/window.hpp"

namespace gna::cuda::fwd {

// Per-axis offsets of a linear tile row (row-major inside the N-d tile: last axis fastest).
__device__ __forceinline__ void tile_row_offsets(int row, const int (&tile)[kMaxRank], int (&off)[kMaxRank]) {
  off[2] = row % tile[2];
  off[1] = (row / tile[2]) % tile[1];
  off[0] = row / (tile[2] * tile[1]);
}
__device__ __forceinline__ int pack_offsets(const int (&off)[kMaxRank]) {
  return off[0] | (off[1] << 8) | (off[2] << 16);
}
__device__ __forceinline__ int unpack_offset(int packed, int d) { return (packed >> (8 * d)) & 0xff; }
__device__ __forceinline__ void unpack_offsets(int packed, int (&off)[kMaxRank]) {
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) off[d] = unpack_offset(packed, d);
}

// Everything a thread block knows about its Q tile, block-uniform and kept in shared memory: element
// offsets of its (batch, head, dilation group) in every tensor, and per axis (int32, group-local) the tile
// origin, the group extent, the KV-tile box and the sub-range of it that is full.
struct QTileState {
  int64_t q_base, o_base, lse_base;  // (batch, head, group) in Q / O / LSE
  int64_t k_base, v_base;            // (batch, kv_head, group) in K / V
  int64_t extra_k_base, extra_v_base;  // (batch, kv_head) in extra K / V
  int batch, head, kv_head;  // coordinates (for TMA boxes)
  int group[kMaxRank];       // dilation group per axis
  int q_origin[kMaxRank];   // group-local coordinate of the tile's first row
  int extent[kMaxRank];     // group extent L_g
  int box_start[kMaxRank], box_count[kMaxRank];  // KV tiles visited (tile indices)
  int full_lo[kMaxRank], full_hi[kMaxRank];      // the visited KV tiles that are full on the axis
  int spatial_tiles;        // prod(box_count)
  int extra_tiles;          // ceil(extra_kv / 64)
  na::GroupAxis axis[kMaxRank];  // group-local axes (window rule for the per-row element mask)

  // Fills the state of work unit `block` (batch, head, dilation group, Q tile). Called by one whole warp
  // (convergent), on a state in shared memory: every lane decomposes the index (uniform 32-bit arithmetic:
  // the host rejects 2^31 or more work units, so every quotient fits), lane d < kMaxRank computes axis d,
  // lane 0 the element bases; each value is built in registers and stored once. Returns, on every lane,
  // false when the whole tile is padding (nothing to compute or store). A single thread walking the fields
  // in shared memory took about 10 us per tile on H100 (10% of flux-gna, 28% of 1d-32k-gna).
  __device__ bool init_warp(const FwdParams& p, int64_t block, int lane) {
    // block = (batch * heads + head) * q_tiles_total + (g_lin * Q0 Q1 Q2 + tile_lin), g_lin = (g0 * D1 + g1) * D2 + g2,
    // and tile_lin the position in the grid's tile order (na::ordered_tile; row-major by default).
    const uint32_t units = static_cast<uint32_t>(p.q_tiles_total), heads = static_cast<uint32_t>(p.heads);
    const uint32_t bh = static_cast<uint32_t>(block) / units;
    const uint32_t rest0 = static_cast<uint32_t>(block) - bh * units;
    const uint32_t b = bh / heads, h = bh - b * heads;
    const uint32_t grid = p.order_tiles[0] * p.order_tiles[1] * p.order_tiles[2];
    uint32_t rest = rest0 / grid;
    uint32_t tc[kMaxRank], g[kMaxRank];
    na::ordered_tile(rest0 - rest * grid, p.order_axis, p.order_tiles, p.order_span, tc);
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      const uint32_t n = static_cast<uint32_t>(p.axis[d].dilation), q = rest / n;
      g[d] = rest - q * n;
      rest = q;
    }
    int count = 1;
    bool real = true;
    if (lane < kMaxRank) {  // this lane's axis (selects, not a register array indexed at run time)
      const int d = lane;
      const uint32_t td = d == 0 ? tc[0] : d == 1 ? tc[1] : tc[2];
      const uint32_t gd = d == 0 ? g[0] : d == 1 ? g[1] : g[2];
      const na::GroupAxis ax = na::group_axis(p.axis[d], gd);
      const int qo = static_cast<int>(td) * p.q_tile[d];
      const na::Range box = na::axis_kv_box(td, p.q_tile[d], p.kv_tile[d], ax);
      const na::Range full = na::axis_full_range(td, p.q_tile[d], p.kv_tile[d], ax);
      group[d] = static_cast<int>(gd);
      axis[d] = ax;
      extent[d] = static_cast<int>(ax.extent);
      q_origin[d] = qo;
      box_start[d] = static_cast<int>(box.start);
      box_count[d] = static_cast<int>(box.size());
      full_lo[d] = static_cast<int>(full.start);
      full_hi[d] = static_cast<int>(full.end);
      count = static_cast<int>(box.size());
      real = qo < ax.extent;
    }
    if (lane == 0) {
      const int64_t kvh = h / (heads / static_cast<uint32_t>(p.kv_heads));
      batch = static_cast<int>(b);
      head = static_cast<int>(h);
      kv_head = static_cast<int>(kvh);
      auto base = [&](const int64_t* stride, int head_at, int64_t hh) {
        int64_t off = int64_t(b) * stride[0] + hh * stride[head_at];
#pragma unroll
        for (int d = 0; d < kMaxRank; ++d) off += int64_t(g[d]) * stride[1 + d];
        return off;
      };
      q_base = base(p.q_stride, 4, h);
      o_base = base(p.o_stride, 4, h);
      lse_base = base(p.lse_stride, 4, h);
      k_base = base(p.k_stride, 4, kvh);
      v_base = base(p.v_stride, 4, kvh);
      extra_k_base = int64_t(b) * p.extra_k_stride[0] + kvh * p.extra_k_stride[2];
      extra_v_base = int64_t(b) * p.extra_v_stride[0] + kvh * p.extra_v_stride[2];
      extra_tiles = static_cast<int>((p.extra_kv + kBlockN - 1) / kBlockN);
    }
    const int c0 = __shfl_sync(0xffffffff, count, 0), c1 = __shfl_sync(0xffffffff, count, 1),
              c2 = __shfl_sync(0xffffffff, count, 2);
    if (lane == 0) spatial_tiles = c0 * c1 * c2;
    return __all_sync(0xffffffff, real);
  }

  // Every visited KV tile is full (and the extra KV fills whole tiles): no element mask is ever needed.
  __device__ bool all_full(const FwdParams& p) const {
    bool full = extra_tiles * int64_t(kBlockN) == p.extra_kv;
#pragma unroll
    for (int d = 0; d < kMaxRank; ++d) full = full && full_hi[d] - full_lo[d] == box_count[d];
    return full;
  }

  // Query row `row`'s group-local key window [lo, hi) per axis, for the element mask (3 int2 at `out`).
  // A padding row gets an empty window: it stays at -inf on partial tiles and is never stored.
  __device__ void row_window(const FwdParams& p, int row, int2* out) const;
  // The same for a row whose per-axis offsets inside the Q tile are `off` (tile_row_offsets).
  __device__ void row_window_at(const int (&off)[kMaxRank], int2* out) const;
};

__device__ __forceinline__ void QTileState::row_window(const FwdParams& p, int row, int2* out) const {
  int off[kMaxRank];
  tile_row_offsets(row, p.q_tile, off);
  row_window_at(off, out);
}

__device__ __forceinline__ void QTileState::row_window_at(const int (&off)[kMaxRank], int2* out) const {
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) {
    const int q = q_origin[d] + off[d];
    const na::Range w = q < extent[d] ? na::window_in(q, axis[d]) : na::Range{0, 0};
    out[d] = make_int2(static_cast<int>(w.start), static_cast<int>(w.end));
  }
}

// col_below[d * 65 + v]: bit keep_bit(c) (quad-major order, mask_bits.hpp) set iff column c of the KV tile
// has axis-d offset < v (the prefix masks the element mask combines; kv_offsets: the KV-tile rows' packed
// offsets). Threads `first`, `first + step`, ...
__device__ __forceinline__ void build_col_below(uint64_t* col_below, const int* kv_offsets, int first, int step) {
  for (int e = first; e < kMaxRank * (kBlockN + 1); e += step) {
    const int d = e / (kBlockN + 1), v = e % (kBlockN + 1);
    uint64_t bits = 0;
    for (int c = 0; c < kBlockN; ++c)
      if (unpack_offset(kv_offsets[c], d) < v) bits |= uint64_t(1) << keep_bit(c);
    col_below[e] = bits;
  }
}

// Walks the KV tiles of a Q tile in order -- the spatial box row-major (last axis fastest), then the
// extra-KV tiles -- as an odometer: no divisions per step. Block-uniform values (every thread agrees).
struct KvCursor {
  int it = 0;                     // linear index of the current tile
  int idx[kMaxRank] = {0, 0, 0};  // position inside the box, per axis

  __device__ void advance(const QTileState& st) {
    ++it;
#pragma unroll
    for (int d = kMaxRank - 1; d >= 0; --d) {
      if (++idx[d] < st.box_count[d]) return;
      idx[d] = 0;
    }
  }
  __device__ bool is_spatial(const QTileState& st) const { return it < st.spatial_tiles; }
  // Group-local coordinate of the tile's first key per axis; returns whether the tile is full (every
  // (query, key) pair of the two tiles attends, no padding key: no element mask needed).
  __device__ bool origin(const FwdParams& p, const QTileState& st, int (&o)[kMaxRank]) const {
    bool all_full = true;
#pragma unroll
    for (int d = 0; d < kMaxRank; ++d) {
      const int kt = st.box_start[d] + idx[d];
      o[d] = kt * p.kv_tile[d];
      all_full = all_full && kt >= st.full_lo[d] && kt < st.full_hi[d];
    }
    return all_full;
  }
};

// Per KV-tile row: element offset relative to the tile's first key (sum over axes of offset * dilation *
// stride). Independent of the tile: computed once per block.
__device__ __forceinline__ int64_t kv_row_relative_offset(const FwdParams& p, int packed, const int64_t (&step)[kMaxRank]) {
  int64_t off = 0;
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) off += int64_t(unpack_offset(packed, d)) * step[d];
  return off;
}

// The loaders' thread -> row map: thread t copies 16-byte chunk t % kChunks of rows t / kChunks + k *
// kRowsPerPass, k < kRowsPerThread. Their byte offsets sit in one contiguous run of the row-offset table,
// slot (row % kRowsPerPass) * kRowsPerThread + row / kRowsPerPass, read as 16-byte vectors.
template <class Cfg>
constexpr int kRowsPerThread = kBlockN / Cfg::kRowsPerPass;
template <class Cfg>
__device__ __forceinline__ int loader_slot(int row) {
  return (row % Cfg::kRowsPerPass) * kRowsPerThread<Cfg> + row / Cfg::kRowsPerPass;
}

// Asynchronously copies the cursor's 64-token tile (K or V, spatial or extra) into swizzled smem.
// `packed_offsets[row]` holds the row's per-axis offsets inside the KV tile (see pack_offsets) and
// `row_bytes[loader_slot(row)]` its relative byte offset (kv_row_relative_offset times the element size).
// Rows past the group extent and chunks past `dim` are zero-filled.
template <class Cfg>
__device__ __forceinline__ void load_kv_tile(const FwdParams& p, const QTileState& st, const KvCursor& cur,
                                             const void* base, int64_t tensor_base, const int64_t (&step)[kMaxRank],
                                             const int64_t* row_bytes, const void* extra_base,
                                             int64_t extra_tensor_base, int64_t extra_token_stride,
                                             typename Cfg::Element* smem, const int* packed_offsets) {
  using T = typename Cfg::Element;
  constexpr int kRows = kRowsPerThread<Cfg>;
  static_assert(kRows % 2 == 0, "row offsets are read in pairs");
  const int chunk = threadIdx.x % Cfg::kChunks, row0 = threadIdx.x / Cfg::kChunks;
  const bool dim_ok = chunk * 8 < p.dim;
  // Row k of this thread: row0 + k * kRowsPerPass (where kRowsPerPass is a multiple of 8 the swizzle
  // repeats and the destinations differ by immediates).
  auto dst = [&](int k) { return smem_addr(smem + Cfg::template smem_offset<kBlockN>(row0 + k * Cfg::kRowsPerPass, chunk)); };
  if (cur.is_spatial(st)) {
    int origin[kMaxRank];
    cur.origin(p, st, origin);
    int64_t tile_off = tensor_base + chunk * 8;
    bool inside = true;  // no row of the tile is past the group extent
#pragma unroll
    for (int d = 0; d < kMaxRank; ++d) {
      tile_off += origin[d] * step[d];
      inside = inside && origin[d] + p.kv_tile[d] <= st.extent[d];
    }
    const char* tile_base = reinterpret_cast<const char*>(static_cast<const T*>(base) + tile_off);
    int64_t off[kRows];
    const longlong2* run = reinterpret_cast<const longlong2*>(row_bytes + row0 * kRows);
#pragma unroll
    for (int k = 0; k < kRows / 2; ++k) {
      const longlong2 two = run[k];
      off[2 * k] = two.x;
      off[2 * k + 1] = two.y;
    }
    if (inside && dim_ok) {  // the common case: every row of the tile is in the group, no test per row
#pragma unroll
      for (int k = 0; k < kRows; ++k) cp_async_16(dst(k), tile_base + off[k]);
      return;
    }
#pragma unroll
    for (int k = 0; k < kRows; ++k) {  // compile-time trip count: no row branches
      const int row = row0 + k * Cfg::kRowsPerPass;
      bool valid = dim_ok;
      if (!inside) {
        const int packed = packed_offsets[row];
#pragma unroll
        for (int d = 0; d < kMaxRank; ++d) valid = valid && origin[d] + unpack_offset(packed, d) < st.extent[d];
      }
      cp_async_16(dst(k), valid ? tile_base + off[k] : base, valid);
    }
  } else {
    const int first = (cur.it - st.spatial_tiles) * kBlockN;
#pragma unroll
    for (int k = 0; k < kRows; ++k) {
      const int row = row0 + k * Cfg::kRowsPerPass;
      const bool valid = dim_ok && first + row < p.extra_kv;
      const int64_t off = extra_tensor_base + int64_t(first + row) * extra_token_stride + chunk * 8;
      const T* src = static_cast<const T*>(extra_base) + (valid ? off : 0);
      cp_async_16(dst(k), src, valid);
    }
  }
}

// Element offset of query row `row` of this Q tile relative to `base` (the tile's (batch, head, group)
// offset in a Q/O/LSE tensor whose per-axis dilated strides are `step`), or -1 for a padding row.
// `off_in_tile`: the row's per-axis offsets inside the Q tile (tile_row_offsets).
__device__ __forceinline__ int64_t query_row_offset_at(const QTileState& st, const int (&off_in_tile)[kMaxRank],
                                                       int64_t base, const int64_t (&step)[kMaxRank]) {
  int64_t off = base;
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) {
    const int local = st.q_origin[d] + off_in_tile[d];
    if (local >= st.extent[d]) return -1;
    off += local * step[d];
  }
  return off;
}
__device__ __forceinline__ int64_t query_row_offset(const FwdParams& p, const QTileState& st, int row, int64_t base,
                                                    const int64_t (&step)[kMaxRank]) {
  int off_in_tile[kMaxRank];
  tile_row_offsets(row, p.q_tile, off_in_tile);
  return query_row_offset_at(st, off_in_tile, base, step);
}

}  // namespace gna::cuda::fwd
