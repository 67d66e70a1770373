// src/cuda/fwd/fwd_kernel.cuh -- layer: cuda forward kernel, shared by sm80 (mma.sync) and sm90 (wgmma).
// The fused GNA forward: cp.async double-buffered K/V tiles, FlashAttention-2 online softmax, the
// architecture's two GEMMs supplied by the MMA policy `Cfg` (src/cuda/sm80/fwd_config.cuh,
// src/cuda/sm90/fwd_config.cuh).
//
// One thread block = one Q tile (BLOCK_M query tokens of an N-d tile shape chosen at run time) of one
// (batch, head, dilation group). It walks only the KV tiles of its box (gna/na/tiles.hpp), then the extra
// KV tiles, as one softmax. Tiles that are full (every pair attends, no padding key) run with no element
// mask; a perfectly block-sparse problem therefore never executes the mask code. Tiles are loaded in place
// from the user's heads-last layout (no permutation copy), padding zero-filled.
//
// Warp w owns query rows [16*MB*w, 16*MB*(w+1)) as MB blocks of 16 rows; S (16 x 64) and O (16 x HEAD_DIM)
// accumulators per block live in registers in the m16n8 fragment layout (a thread holds rows lane/4 and
// lane/4 + 8 of each block), which is also the wgmma accumulator layout of a warp's 16 rows.
// Barriers: one __syncthreads per KV tile, after cp.async.wait_group(0) (and, for async-proxy readers,
// fence.proxy.async): every thread arrives after finishing the previous tile (so its stage may be
// overwritten) and waits for the current tile's bytes.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/common/mma_sm80.cuh"
#include "cuda/fwd/fwd_params.hpp"
#include "cuda/fwd/fwd_softmax.cuh"
#include "cuda/fwd/fwd_tile.cuh"

namespace gna::cuda::fwd {

// Dynamic shared memory of one block: alignment slack, Q, the K/V stages, then per KV-tile row the relative
// byte offsets in K and V (2 x 64 int64, in the loaders' slot order: loader_slot) and the per-axis offsets
// (64 packed ints), the query rows' windows (BLOCK_M, 3) as int2 and the column masks (3, 65) uint64.
template <class Cfg>
constexpr size_t smem_bytes() {
  return Cfg::kSmemAlign + sizeof(typename Cfg::Element) * (size_t(Cfg::kQElems) + 2 * Cfg::kStages * size_t(Cfg::kKVElems)) +
         2 * sizeof(int64_t) * kBlockN + sizeof(int) * kBlockN + sizeof(int2) * Cfg::kBlockM * kMaxRank +
         sizeof(uint64_t) * kMaxRank * (kBlockN + 1);
}

template <class Cfg>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocksPerSm) gna_fwd_kernel(const __grid_constant__ FwdParams p) {
  using T = typename Cfg::Element;
  constexpr int D = Cfg::kHeadDim;
  constexpr int MB = Cfg::kMBlocks;    // 16-row blocks per warp
  constexpr int kDFrag = D / 8;        // O fragments per row block
  extern __shared__ __align__(128) unsigned char smem_raw[];
  // Tiles start at a Cfg::kSmemAlign boundary (wgmma's 128-byte swizzle needs 1024).
  unsigned char* smem_base = smem_raw + ((Cfg::kSmemAlign - smem_addr(smem_raw) % Cfg::kSmemAlign) % Cfg::kSmemAlign);
  T* smem_q = reinterpret_cast<T*>(smem_base);                // (BLOCK_M, D) in the policy's layout
  T* smem_k = smem_q + Cfg::kQElems;                          // (STAGES, 64, D) swizzled
  T* smem_v = smem_k + Cfg::kStages * Cfg::kKVElems;          // (STAGES, 64, D) swizzled
  int64_t* k_row_off = reinterpret_cast<int64_t*>(smem_v + Cfg::kStages * Cfg::kKVElems);  // (64)
  int64_t* v_row_off = k_row_off + kBlockN;                                                   // (64)
  int* kv_offsets = reinterpret_cast<int*>(v_row_off + kBlockN);                              // (64) packed
  int2* row_window = reinterpret_cast<int2*>(kv_offsets + kBlockN);                           // (BLOCK_M, 3)
  // col_below[d][v]: bit c set iff KV-tile column c has axis-d offset < v.   (3, 65)
  uint64_t* col_below = reinterpret_cast<uint64_t*>(row_window + Cfg::kBlockM * kMaxRank);

  // The Q tile's state is block-uniform: it lives in shared memory, not in every thread's registers.
  __shared__ QTileState st;
  __shared__ bool real_tile;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  if (warp == 0) {
    const bool real = st.init_warp(p, blockIdx.x, lane);
    if (lane == 0) real_tile = real;
  }
  __syncthreads();
  if (!real_tile) return;  // a tile of padding only (uniform over the block)
  const int warp_row = warp * 16 * MB;  // first query row of this warp
  const int n_iter = static_cast<int>(st.spatial_tiles + st.extra_tiles);  // < 2^31 (checked on the host)

  if (tid < kBlockN) {
    int off[kMaxRank];
    tile_row_offsets(tid, p.kv_tile, off);
    kv_offsets[tid] = pack_offsets(off);
    k_row_off[loader_slot<Cfg>(tid)] = kv_row_relative_offset(p, kv_offsets[tid], p.k_step) * int64_t(sizeof(T));
    v_row_off[loader_slot<Cfg>(tid)] = kv_row_relative_offset(p, kv_offsets[tid], p.v_step) * int64_t(sizeof(T));
  }
  // Q tile: rows past the group extent and chunks past `dim` are zero.
  {
    const int chunk = tid % Cfg::kChunks;
#pragma unroll
    for (int k = 0; k < Cfg::kBlockM / Cfg::kRowsPerPass; ++k) {
      const int row = tid / Cfg::kChunks + k * Cfg::kRowsPerPass;
      const int64_t off = query_row_offset(p, st, row, st.q_base, p.q_step);
      const bool valid = off >= 0 && chunk * 8 < p.dim;
      const T* src = static_cast<const T*>(p.q) + (valid ? off + chunk * 8 : 0);
      cp_async_16(smem_addr(smem_q + Cfg::template smem_offset<Cfg::kBlockM>(row, chunk)), src, valid);
    }
  }
  __syncthreads();  // row offsets visible to the loaders
  KvCursor cursor;  // the tile most recently loaded
  if (n_iter > 0) {
    load_kv_tile<Cfg>(p, st, cursor, p.k, st.k_base, p.k_step, k_row_off, p.extra_k, st.extra_k_base, p.extra_k_stride[1], smem_k, kv_offsets);
    load_kv_tile<Cfg>(p, st, cursor, p.v, st.v_base, p.v_step, v_row_off, p.extra_v, st.extra_v_base, p.extra_v_stride[1], smem_v, kv_offsets);
  }
  cp_async_commit();
  // Element-mask tables, built while the first loads are in flight; skipped when every tile of this Q
  // tile is full (then no mask code runs at all).
  if (!st.all_full(p)) {
    build_col_below(col_below, kv_offsets, tid, Cfg::kThreads);
    for (int row = tid; row < Cfg::kBlockM; row += Cfg::kThreads) st.row_window(p, row, row_window + row * kMaxRank);
  }
  __syncthreads();  // mask tables visible

  float acc_o[MB][kDFrag][4];
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int j = 0; j < kDFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[m][j][e] = 0.f;
  float row_max[MB][2], row_sum[MB][2];  // running max (scaled, log2 domain); this thread's partial sums
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int i = 0; i < 2; ++i) row_max[m][i] = -INFINITY, row_sum[m][i] = 0.f;

  for (int it = 0; it < n_iter; ++it) {
    const int stage = it & 1;
    cp_async_wait<0>();
    if constexpr (Cfg::kAsyncProxy) asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();
    // What the element mask needs of this iteration's tile, taken before the cursor moves on.
    const bool spatial = cursor.is_spatial(st);
    int origin[kMaxRank];
    const bool full = spatial ? cursor.origin(p, st, origin) : int64_t(it - st.spatial_tiles + 1) * kBlockN <= p.extra_kv;
    if (it + 1 < n_iter) {
      cursor.advance(st);
      T* nk = smem_k + (stage ^ 1) * Cfg::kKVElems;
      T* nv = smem_v + (stage ^ 1) * Cfg::kKVElems;
      load_kv_tile<Cfg>(p, st, cursor, p.k, st.k_base, p.k_step, k_row_off, p.extra_k, st.extra_k_base, p.extra_k_stride[1], nk, kv_offsets);
      load_kv_tile<Cfg>(p, st, cursor, p.v, st.v_base, p.v_step, v_row_off, p.extra_v, st.extra_v_base, p.extra_v_stride[1], nv, kv_offsets);
    }
    cp_async_commit();
    const T* sk = smem_k + stage * Cfg::kKVElems;
    const T* sv = smem_v + stage * Cfg::kKVElems;

    // S = Q K^T   (MB x 16 rows x 64 keys per warp)
    float s[MB][kNFrag][4];
    Cfg::qk(s, smem_q, sk, warp_row, lane);

    // The element mask, on partial tiles only.
    if (spatial) {
      if (!full) mask_spatial<MB>(s, row_window + warp_row * kMaxRank, col_below, origin, p.kv_tile, lane);
    } else if (!full) {
      mask_extra<MB>(s, int64_t(it - st.spatial_tiles) * kBlockN, p.extra_kv, lane);
    }
    float alpha[MB][2];
    softmax_step<MB>(s, row_max, row_sum, alpha, p.scale_log2);
    rescale_o<MB, kDFrag>(acc_o, alpha);

    // O += P V
    Cfg::pv(acc_o, s, sv, lane);
  }
  cp_async_wait<0>();

  // Epilogue: normalise, stage this warp's rows in its own Q rows (only this warp read them), then store
  // 16-byte chunks in place; LSE (natural log) from the quad leader.
  __syncwarp();
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float l = quad_row_sum(row_sum[m][i]);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      const int row = warp_row + m * 16 + lane / 4 + 8 * i;
#pragma unroll
      for (int j = 0; j < kDFrag; ++j) {
        const int col = j * 8 + (lane % 4) * 2;
        T* dst = smem_q + Cfg::template smem_offset<Cfg::kBlockM>(row, col / 8) + col % 8;
        *reinterpret_cast<uint32_t*>(dst) = pack2<T>(acc_o[m][j][2 * i] * inv, acc_o[m][j][2 * i + 1] * inv);
      }
      if (p.lse != nullptr && lane % 4 == 0) {
        const int64_t off = query_row_offset(p, st, row, st.lse_base, p.lse_step);
        if (off >= 0) p.lse[off] = row_lse(row_max[m][i], l);
      }
    }
  __syncwarp();
  for (int c = lane; c < 16 * MB * Cfg::kChunks; c += 32) {
    const int row = warp_row + c / Cfg::kChunks, chunk = c % Cfg::kChunks;
    const int64_t off = query_row_offset(p, st, row, st.o_base, p.o_step);
    if (off < 0 || chunk * 8 >= p.dim) continue;
    *reinterpret_cast<uint4*>(static_cast<T*>(p.o) + off + chunk * 8) =
        *reinterpret_cast<const uint4*>(smem_q + Cfg::template smem_offset<Cfg::kBlockM>(row, chunk));
  }
}

}  // namespace gna::cuda::fwd
