// src/cuda/sm80/fwd_config.cuh -- layer: cuda/sm80 MMA policy of the shared forward kernel
// (src/cuda/fwd/fwd_kernel.cuh): warp tiling, shared-memory layout and the two GEMMs with mma.sync.
//
// 4 warps; warp w owns query rows [16*MB*w, 16*MB*(w+1)) as MB blocks of 16 rows (MB = 2 for head dim
// <= 128, so every K/V fragment read from shared memory feeds two MMAs; 1 for 256, to fit registers).
// Shared memory tiles are (rows, HEAD_DIM) with 16-byte chunks XOR-swizzled so that ldmatrix of 8 rows at
// one logical chunk hits 8 distinct bank groups.
#pragma once

#include "cuda/common/mma_sm80.cuh"
#include "cuda/fwd/fwd_params.hpp"

namespace gna::cuda::sm80 {

// Element offset of (row, logical 16-byte chunk) in a swizzled (rows, HEAD_DIM) smem tile.
template <int HEAD_DIM>
__device__ __forceinline__ int swz(int row, int chunk) {
  constexpr int kChunks = HEAD_DIM / 8;
  int phys;
  if constexpr (kChunks >= 8) {
    phys = chunk ^ (row & 7);
  } else {
    phys = chunk ^ ((row / (8 / kChunks)) & (kChunks - 1));
  }
  return row * HEAD_DIM + phys * 8;
}

template <class T, int HEAD_DIM, int M_BLOCKS>
struct FwdConfig {
  using Element = T;
  static constexpr int kHeadDim = HEAD_DIM;
  static constexpr int kMBlocks = M_BLOCKS;
  static constexpr int kWarps = 4;
  static constexpr int kBlockM = kWarps * 16 * M_BLOCKS;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMinBlocksPerSm = 2;
  static constexpr int kChunks = HEAD_DIM / 8;  // 16-byte chunks per row
  static constexpr int kStages = 2;             // K/V double buffer
  static constexpr bool kAsyncProxy = false;    // operands are read by ldmatrix (generic proxy)
  static constexpr int kSmemAlign = 1024;       // tiles aligned for the XOR addressing (qk, pv)
  static_assert(kThreads % kChunks == 0, "a thread must keep one chunk column");
  static constexpr int kRowsPerPass = kThreads / kChunks;
  static_assert(kBlockN % kRowsPerPass == 0, "loaders cover whole tiles");
  static constexpr int kQElems = kBlockM * HEAD_DIM;
  static constexpr int kKVElems = kBlockN * HEAD_DIM;

  template <int ROWS>
  static __device__ __forceinline__ int smem_offset(int row, int chunk) { return swz<HEAD_DIM>(row, chunk); }

  // ldmatrix addressing. In a swizzled tile, row r's logical chunk c sits at byte r * RB + 16 * (c ^ f(r))
  // (RB = 2 * HEAD_DIM, f(r) depends on r % 8 only, see swz). A lane's 16-wide k step kk reads chunk
  // 2 * kk + b (b = 0 or 1), and 2 * kk + b = 2 * kk ^ b, so its byte offset is the kk = 0 offset XOR 32 * kk
  // (32 * kk < RB: the XOR stays inside the row). Row steps of 16 keep r % 8 and add 16 * RB. With every
  // tile 1024-byte aligned (kSmemAlign, RB <= 512) the same holds for absolute shared-memory addresses: a
  // lane computes one address per operand per tile and each ldmatrix adds one LOP3 (the XOR) and an
  // immediate offset, instead of recomputing the swizzle.
  static constexpr uint32_t kRowBytes = HEAD_DIM * 2;
  static_assert((HEAD_DIM & (HEAD_DIM - 1)) == 0 && kRowBytes <= uint32_t(kSmemAlign),
                "XOR addressing: power-of-two rows no longer than the tile alignment");
  static __device__ __forceinline__ uint32_t kstep(uint32_t base, int kk) { return base ^ uint32_t(kk * 32); }

  // S (MB x 16 rows x 64 keys per warp) = Q K^T. Each K fragment feeds MB row blocks.
  static __device__ __forceinline__ void qk(float (&s)[M_BLOCKS][kBlockN / 8][4], const T* smem_q, const T* sk,
                                            int warp_row, int lane) {
#pragma unroll
    for (int m = 0; m < M_BLOCKS; ++m)
#pragma unroll
      for (int j = 0; j < kBlockN / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[m][j][e] = 0.f;
    // A (Q): lanes 0-15 rows 0-15 at chunk 2kk, lanes 16-31 the same rows at chunk 2kk + 1.
    // B (K): lanes 0-7 / 8-15 keys 0-7 at chunks 2kk / 2kk + 1, lanes 16-23 / 24-31 keys 8-15 likewise.
    const uint32_t qa0 = smem_addr(smem_q + swz<HEAD_DIM>(warp_row + (lane % 8) + ((lane / 8) % 2) * 8, lane / 16));
    const uint32_t kb0 = smem_addr(sk + swz<HEAD_DIM>((lane % 8) + (lane / 16) * 8, (lane / 8) % 2));
#pragma unroll
    for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
      const uint32_t qa = kstep(qa0, kk), kb = kstep(kb0, kk);
      uint32_t a[M_BLOCKS][4];
#pragma unroll
      for (int m = 0; m < M_BLOCKS; ++m) ldmatrix_x4(a[m], qa + m * 16 * kRowBytes);
#pragma unroll
      for (int jj = 0; jj < kBlockN / 16; ++jj) {
        uint32_t b[4];
        ldmatrix_x4(b, kb + jj * 16 * kRowBytes);
#pragma unroll
        for (int m = 0; m < M_BLOCKS; ++m) {
          mma_16816<T>(s[m][2 * jj], a[m], b[0], b[1]);
          mma_16816<T>(s[m][2 * jj + 1], a[m], b[2], b[3]);
        }
      }
    }
  }

  // O += P V: P re-packed from the S fragments as A operands; V via ldmatrix.trans, shared by MB blocks.
  // B (V, transposed): lanes 0-7 / 8-15 keys 0-7 / 8-15 of the k step at chunk 2nn, lanes 16-31 at 2nn + 1.
  static __device__ __forceinline__ void pv(float (&acc_o)[M_BLOCKS][HEAD_DIM / 8][4],
                                            const float (&s)[M_BLOCKS][kBlockN / 8][4], const T* sv, int lane) {
    const uint32_t vb0 = smem_addr(sv + swz<HEAD_DIM>((lane % 8) + ((lane / 8) % 2) * 8, lane / 16));
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      uint32_t a[M_BLOCKS][4];
#pragma unroll
      for (int m = 0; m < M_BLOCKS; ++m) {
        a[m][0] = pack2<T>(s[m][2 * kk][0], s[m][2 * kk][1]);
        a[m][1] = pack2<T>(s[m][2 * kk][2], s[m][2 * kk][3]);
        a[m][2] = pack2<T>(s[m][2 * kk + 1][0], s[m][2 * kk + 1][1]);
        a[m][3] = pack2<T>(s[m][2 * kk + 1][2], s[m][2 * kk + 1][3]);
      }
#pragma unroll
      for (int nn = 0; nn < HEAD_DIM / 16; ++nn) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, kstep(vb0, nn) + kk * 16 * kRowBytes);
#pragma unroll
        for (int m = 0; m < M_BLOCKS; ++m) {
          mma_16816<T>(acc_o[m][2 * nn], a[m], b[0], b[1]);
          mma_16816<T>(acc_o[m][2 * nn + 1], a[m], b[2], b[3]);
        }
      }
    }
  }
};

}  // namespace gna::cuda::sm80
