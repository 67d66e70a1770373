// src/cuda/sm80/fwd_kernel.cuh -- layer: cuda/sm80 kernel. The fused GNA forward kernel for Ampere and
// later (mma.sync m16n8k16, ldmatrix, cp.async double buffering, FlashAttention-2 online softmax).
//
// One thread block = one Q tile (BLOCK_M query tokens of an N-d tile shape chosen at run time) of one
// (batch, head, dilation group). It walks only the KV tiles of its box (gna/na/tiles.hpp), then the extra
// KV tiles, as one softmax. Tiles that are full (every pair attends, no padding key) run with no element
// mask; a perfectly block-sparse problem therefore never executes the mask code. Tiles are loaded in place
// from the user's heads-last layout (no permutation copy), padding zero-filled.
//
// Warp w owns query rows [16w, 16w + 16) of the tile: S (16 x 64) and O (16 x HEAD_DIM) accumulators
// live in registers as m16n8 fragments; a thread holds rows lane/4 and lane/4 + 8.
// Barriers: one __syncthreads per KV tile, after cp.async.wait_group(0): every thread arrives after
// finishing the previous tile (so its stage may be overwritten) and waits for the current tile's bytes.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/common/mma_sm80.cuh"
#include "cuda/sm80/fwd_params.hpp"
#include "cuda/sm80/fwd_tile.cuh"

namespace gna::cuda::sm80 {

template <class Cfg>
__global__ void __launch_bounds__(Cfg::kThreads, 1) gna_fwd_sm80_kernel(const __grid_constant__ FwdParams p) {
  using T = typename Cfg::Element;
  constexpr int D = Cfg::kHeadDim;
  constexpr int kNFrag = kBlockN / 8;  // S fragments per row block (8)
  constexpr int kDFrag = D / 8;        // O fragments per row block
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* smem_q = reinterpret_cast<T*>(smem_raw);                 // (BLOCK_M, D) swizzled
  T* smem_k = smem_q + Cfg::kQElems;                          // (STAGES, 64, D) swizzled
  T* smem_v = smem_k + Cfg::kStages * Cfg::kKVElems;          // (STAGES, 64, D) swizzled
  int* kv_offsets = reinterpret_cast<int*>(smem_v + Cfg::kStages * Cfg::kKVElems);  // (64) packed

  QTileState st;
  if (!st.init(p, blockIdx.x)) return;  // a tile of padding only (uniform over the block)
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t n_iter = st.spatial_tiles + st.extra_tiles;

  if (tid < kBlockN) {
    int off[kMaxRank];
    tile_row_offsets(tid, p.kv_tile, off);
    kv_offsets[tid] = pack_offsets(off);
  }
  // Q tile: rows past the group extent and chunks past `dim` are zero.
  {
    const int chunk = tid % Cfg::kChunks;
    for (int row = tid / Cfg::kChunks; row < Cfg::kBlockM; row += Cfg::kRowsPerPass) {
      const int64_t off = query_row_offset(p, st, row, p.q_stride);
      const bool valid = off >= 0 && chunk * 8 < p.dim;
      const T* src = static_cast<const T*>(p.q) + (valid ? off + chunk * 8 : 0);
      cp_async_16(smem_addr(smem_q + swz<D>(row, chunk)), src, valid);
    }
  }
  __syncthreads();  // kv_offsets visible to the loaders
  if (n_iter > 0) {
    load_kv_tile<Cfg>(p, st, p.k, p.k_stride, p.extra_k, p.extra_k_stride, 0, smem_k, kv_offsets);
    load_kv_tile<Cfg>(p, st, p.v, p.v_stride, p.extra_v, p.extra_v_stride, 0, smem_v, kv_offsets);
  }
  cp_async_commit();

  // Per-row neighborhood windows (group-local key ranges per axis) for the element mask.
  // Padding rows get an empty window: they stay at -inf and are never stored.
  int win_lo[2][kMaxRank], win_hi[2][kMaxRank];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    int off[kMaxRank];
    tile_row_offsets(warp * 16 + lane / 4 + 8 * i, p.q_tile, off);
#pragma unroll
    for (int d = 0; d < kMaxRank; ++d) {
      const int q = st.q_origin[d] + off[d];
      const na::Range w = q < st.axis[d].extent ? na::window_in(q, st.axis[d]) : na::Range{0, 0};
      win_lo[i][d] = static_cast<int>(w.start);
      win_hi[i][d] = static_cast<int>(w.end);
    }
  }

  float acc_o[kDFrag][4];
#pragma unroll
  for (int j = 0; j < kDFrag; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc_o[j][e] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY};  // running max of scaled scores (log2 domain)
  float row_sum[2] = {0.f, 0.f};              // this thread's partial sums (quad-reduced at the end)

  for (int64_t it = 0; it < n_iter; ++it) {
    const int stage = static_cast<int>(it & 1);
    cp_async_wait<0>();
    __syncthreads();
    if (it + 1 < n_iter) {
      T* nk = smem_k + (stage ^ 1) * Cfg::kKVElems;
      T* nv = smem_v + (stage ^ 1) * Cfg::kKVElems;
      load_kv_tile<Cfg>(p, st, p.k, p.k_stride, p.extra_k, p.extra_k_stride, it + 1, nk, kv_offsets);
      load_kv_tile<Cfg>(p, st, p.v, p.v_stride, p.extra_v, p.extra_v_stride, it + 1, nv, kv_offsets);
    }
    cp_async_commit();
    const T* sk = smem_k + stage * Cfg::kKVElems;
    const T* sv = smem_v + stage * Cfg::kKVElems;

    // S = Q K^T   (16 x 64 per warp)
    float s[kNFrag][4];
#pragma unroll
    for (int j = 0; j < kNFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[j][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t a[4];
      ldmatrix_x4(a, smem_addr(smem_q + swz<D>(warp * 16 + (lane % 8) + ((lane / 8) % 2) * 8, kk * 2 + lane / 16)));
#pragma unroll
      for (int jj = 0; jj < kNFrag / 2; ++jj) {
        uint32_t b[4];
        ldmatrix_x4(b, smem_addr(sk + swz<D>(jj * 16 + (lane % 8) + (lane / 16) * 8, kk * 2 + (lane / 8) % 2)));
        mma_16816<T>(s[2 * jj], a, b[0], b[1]);
        mma_16816<T>(s[2 * jj + 1], a, b[2], b[3]);
      }
    }

    // Scale into the log2 domain, then the element mask on partial tiles only.
#pragma unroll
    for (int j = 0; j < kNFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[j][e] *= p.scale_log2;
    if (it < st.spatial_tiles) {
      int origin[kMaxRank];
      if (!st.kv_tile(p, it, origin)) {
#pragma unroll
        for (int j = 0; j < kNFrag; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int packed = kv_offsets[j * 8 + (lane % 4) * 2 + (e & 1)];
            const int i = e / 2;
            bool ok = true;
#pragma unroll
            for (int d = 0; d < kMaxRank; ++d) {
              const int key = origin[d] + unpack_offset(packed, d);
              ok = ok && key >= win_lo[i][d] && key < win_hi[i][d];
            }
            if (!ok) s[j][e] = -INFINITY;
          }
      }
    } else {
      const int64_t first = (it - st.spatial_tiles) * kBlockN;
      if (first + kBlockN > p.extra_kv) {
#pragma unroll
        for (int j = 0; j < kNFrag; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (first + j * 8 + (lane % 4) * 2 + (e & 1) >= p.extra_kv) s[j][e] = -INFINITY;
      }
    }

    // Online softmax (rows i = 0, 1 of this thread).
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float mx = row_max[i];
#pragma unroll
      for (int j = 0; j < kNFrag; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * i], s[j][2 * i + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, 2));
      const float m_use = mx == -INFINITY ? 0.f : mx;
      const float alpha = exp2f(row_max[i] - m_use);
      row_max[i] = mx;
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < kNFrag; ++j) {
        s[j][2 * i] = exp2f(s[j][2 * i] - m_use);
        s[j][2 * i + 1] = exp2f(s[j][2 * i + 1] - m_use);
        sum += s[j][2 * i] + s[j][2 * i + 1];
      }
      row_sum[i] = row_sum[i] * alpha + sum;
#pragma unroll
      for (int j = 0; j < kDFrag; ++j) {
        acc_o[j][2 * i] *= alpha;
        acc_o[j][2 * i + 1] *= alpha;
      }
    }

    // O += P V   (P from the S fragments, re-packed as A operands; V via ldmatrix.trans)
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[4];
      a[0] = pack2<T>(s[2 * kk][0], s[2 * kk][1]);
      a[1] = pack2<T>(s[2 * kk][2], s[2 * kk][3]);
      a[2] = pack2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]);
      a[3] = pack2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
      for (int nn = 0; nn < D / 16; ++nn) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, smem_addr(sv + swz<D>(kk * 16 + (lane % 8) + ((lane / 8) % 2) * 8, nn * 2 + lane / 16)));
        mma_16816<T>(acc_o[2 * nn], a, b[0], b[1]);
        mma_16816<T>(acc_o[2 * nn + 1], a, b[2], b[3]);
      }
    }
  }
  cp_async_wait<0>();

  // Epilogue: normalise, stage this warp's 16 rows in its own Q rows (only this warp read them), then
  // store 16-byte chunks in place; LSE (natural log) from the quad leader.
  float inv[2], lse[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float l = row_sum[i];
    l += __shfl_xor_sync(0xffffffff, l, 1);
    l += __shfl_xor_sync(0xffffffff, l, 2);
    inv[i] = l > 0.f ? 1.f / l : 0.f;
    lse[i] = l > 0.f ? (row_max[i] + __log2f(l)) * 0.69314718055994530942f : -INFINITY;
  }
  __syncwarp();
#pragma unroll
  for (int j = 0; j < kDFrag; ++j)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int row = warp * 16 + lane / 4 + 8 * i;
      const int col = j * 8 + (lane % 4) * 2;
      T* dst = smem_q + swz<D>(row, col / 8) + col % 8;
      *reinterpret_cast<uint32_t*>(dst) = pack2<T>(acc_o[j][2 * i] * inv[i], acc_o[j][2 * i + 1] * inv[i]);
    }
  __syncwarp();
  for (int c = lane; c < 16 * Cfg::kChunks; c += 32) {
    const int row = warp * 16 + c / Cfg::kChunks, chunk = c % Cfg::kChunks;
    const int64_t off = query_row_offset(p, st, row, p.o_stride);
    if (off < 0 || chunk * 8 >= p.dim) continue;
    *reinterpret_cast<uint4*>(static_cast<T*>(p.o) + off + chunk * 8) =
        *reinterpret_cast<const uint4*>(smem_q + swz<D>(row, chunk));
  }
  if (p.lse != nullptr && lane % 4 == 0) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const int64_t off = query_row_offset(p, st, warp * 16 + lane / 4 + 8 * i, p.lse_stride);
      if (off >= 0) p.lse[off] = lse[i];
    }
  }
}

}  // namespace gna::cuda::sm80
