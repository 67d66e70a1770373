// src/cuda/sm90/fwd_config.cuh -- layer: cuda/sm90 MMA policy of the shared forward kernel
// (src/cuda/fwd/fwd_kernel.cuh): Hopper warpgroup MMA (wgmma, sm_90a) with operands in shared memory.
//
// 2 warpgroups (8 warps, 256 threads); warpgroup g owns query rows [64g, 64g + 64) of the 128-row Q tile,
// warp w the 16 rows [16w, 16w + 16) (so the shared kernel's per-warp fragment code applies unchanged).
// S = Q K^T: 64x64 per warpgroup, A (Q) and B (K) from shared memory, both K-major (head dim contiguous).
// O += P V: A (P) from registers, B (V) from shared memory MN-major (head dim contiguous), N = HEAD_DIM.
// Shared-memory tiles use the 128-byte-swizzle canonical layout: the head dim is split in 64-element
// halves; half h of a tile of ROWS rows is a (ROWS, 64) block of 128-byte rows whose 16-byte chunks are
// XOR-swizzled with (row % 8). Every tile starts 1024-byte aligned (kSmemAlign), as the swizzle requires.
#pragma once

#include "cuda/common/mma_sm80.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/fwd/fwd_params.hpp"

namespace gna::cuda::sm90 {

template <class T, int HEAD_DIM>
struct FwdConfig {
  static_assert(HEAD_DIM % 64 == 0 && HEAD_DIM <= 256, "sm90 head dims: 64, 128, 256");
  using Element = T;
  static constexpr int kHeadDim = HEAD_DIM;
  static constexpr int kMBlocks = 1;
  static constexpr int kWarps = 8;
  static constexpr int kBlockM = 128;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMinBlocksPerSm = HEAD_DIM <= 128 ? 2 : 1;  // 2 x (128 regs, ~100 KB smem) per SM
  static constexpr int kChunks = HEAD_DIM / 8;
  static constexpr int kStages = 2;
  static constexpr bool kAsyncProxy = true;  // wgmma reads shared memory through the async proxy
  static constexpr int kSmemAlign = 1024;
  static constexpr int kRowsPerPass = kThreads / kChunks;
  static_assert(kBlockN % kRowsPerPass == 0 && kBlockM % kRowsPerPass == 0, "loaders cover whole tiles");
  static constexpr int kQElems = kBlockM * HEAD_DIM;
  static constexpr int kKVElems = kBlockN * HEAD_DIM;

  // (ROWS, HEAD_DIM) tile: half (chunk / 8) is a (ROWS, 64) block; chunk swizzled with row % 8.
  template <int ROWS>
  static __device__ __forceinline__ int smem_offset(int row, int chunk) {
    return (chunk / 8) * (ROWS * 64) + row * 64 + (((chunk % 8) ^ (row % 8)) * 8);
  }

  // The wgmma instructions of S (64 x 64 for the warpgroup whose first Q row is wg_row) = Q K^T:
  // HEAD_DIM / 16 steps of m64n64k16, A (Q) and B (K) from shared memory, both K-major. No fence, no commit:
  // the caller adds them (qk_issue, or the warp-specialized kernel's issue_s). db0: the K tile's descriptor
  // (k_desc).
  static __device__ __forceinline__ void qk_mma(float (&s)[1][kBlockN / 8][4], const T* smem_q, uint64_t db0, int wg_row) {
    float(&d)[kBlockN / 2] = reinterpret_cast<float(&)[kBlockN / 2]>(s);
    // K-major, 128-byte swizzle: leading byte offset unused (16), stride byte offset = 8 rows = 1024.
    const uint64_t da0 = wgmma_desc_sw128(smem_q + wg_row * 64, 16, 1024);
#pragma unroll
    for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
      const int half = kk / 4, k_in = (kk % 4) * 16;  // 64-element half, element offset inside the row
      const uint64_t da = wgmma_desc_advance(da0, (half * (kBlockM * 64) + k_in) * sizeof(T));
      const uint64_t db = wgmma_desc_advance(db0, (half * (kBlockN * 64) + k_in) * sizeof(T));
      wgmma_ss<T, kBlockN>(d, da, db, kk > 0);
    }
  }
  // This warp's 16 Q rows (first row `warp_row` of the 128-row tile in shared memory) as wgmma A-operand
  // registers, one ldmatrix.x4 per 16-wide k step: lane l addresses row warp_row + l % 16, 8-element chunk
  // 2 * (k step % 4) + l / 16 of the step's 64-element half (128-byte swizzle).
  static __device__ __forceinline__ void load_q_frags(uint32_t (&qa)[HEAD_DIM / 16][4], const T* smem_q, int warp_row,
                                                      int lane) {
    const int row = warp_row + lane % 16;
#pragma unroll
    for (int kk = 0; kk < HEAD_DIM / 16; ++kk)
      ldmatrix_x4(qa[kk], smem_addr(smem_q + smem_offset<kBlockM>(row, kk * 2 + lane / 16)));
  }
  // The wgmma instructions of S = Q K^T with Q from registers (load_q_frags): HEAD_DIM / 16 steps of
  // m64n64k16, B (K) from shared memory K-major. Only K is read from shared memory. No fence, no commit.
  // db0: the K tile's descriptor (k_desc).
  static __device__ __forceinline__ void qk_mma_rs(float (&s)[1][kBlockN / 8][4], const uint32_t (&qa)[HEAD_DIM / 16][4],
                                                   uint64_t db0) {
    float(&d)[kBlockN / 2] = reinterpret_cast<float(&)[kBlockN / 2]>(s);
#pragma unroll
    for (int kk = 0; kk < HEAD_DIM / 16; ++kk)
      wgmma_rs<T, kBlockN>(d, qa[kk], wgmma_desc_advance(db0, ((kk / 4) * (kBlockN * 64) + (kk % 4) * 16) * sizeof(T)), kk > 0);
  }
  // The wgmma descriptors of a K tile (K-major: leading byte offset unused, stride byte offset = 8 rows =
  // 1024) and of a V tile (MN-major: leading byte offset = between the 64-wide head-dim halves, stride byte
  // offset = between groups of 8 keys), each at its base. A ring slot's descriptor is the first slot's
  // advanced by wgmma_desc_advance (a 32-bit add).
  static __device__ __forceinline__ uint64_t k_desc(const T* sk) { return wgmma_desc_sw128(sk, 16, 1024); }
  static __device__ __forceinline__ uint64_t v_desc(const T* sv) { return wgmma_desc_sw128(sv, kBlockN * 128, 1024); }

  // Issues and commits (does not wait for) S = Q K^T of one KV tile.
  static __device__ __forceinline__ void qk_issue(float (&s)[1][kBlockN / 8][4], const T* smem_q, const T* sk, int wg_row) {
    wgmma_fence();
    qk_mma(s, smem_q, k_desc(sk), wg_row);
    wgmma_commit();
  }

  // P (the softmax numerators in the S fragments) rounded to T and packed as wgmma A-operand registers.
  static __device__ __forceinline__ void pack_p(uint32_t (&a)[kBlockN / 16][4], const float (&s)[1][kBlockN / 8][4]) {
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk) {
      a[kk][0] = pack2<T>(s[0][2 * kk][0], s[0][2 * kk][1]);
      a[kk][1] = pack2<T>(s[0][2 * kk][2], s[0][2 * kk][3]);
      a[kk][2] = pack2<T>(s[0][2 * kk + 1][0], s[0][2 * kk + 1][1]);
      a[kk][3] = pack2<T>(s[0][2 * kk + 1][2], s[0][2 * kk + 1][3]);
    }
  }

  // The wgmma instructions of O += P V for one KV tile: kBlockN / 16 steps of m64n{HEAD_DIM}k16, A (P) from
  // registers, B (V) from shared memory MN-major. No fence, no commit (see qk_mma).
  // db0: the V tile's descriptor (v_desc).
  static __device__ __forceinline__ void pv_mma(float (&acc_o)[1][HEAD_DIM / 8][4], const uint32_t (&a)[kBlockN / 16][4],
                                                uint64_t db0) {
    float(&d)[HEAD_DIM / 2] = reinterpret_cast<float(&)[HEAD_DIM / 2]>(acc_o);
#pragma unroll
    for (int kk = 0; kk < kBlockN / 16; ++kk)
      wgmma_rs_tnsp_b<T, HEAD_DIM>(d, a[kk], wgmma_desc_advance(db0, kk * 16 * 64 * sizeof(T)));
  }
  // Issues and commits O += P V of one KV tile.
  static __device__ __forceinline__ void pv_issue(float (&acc_o)[1][HEAD_DIM / 8][4], const uint32_t (&a)[kBlockN / 16][4],
                                                  uint64_t v_tile_desc) {
    wgmma_fence();
    pv_mma(acc_o, a, v_tile_desc);
    wgmma_commit();
  }

  // The synchronous forms used by the shared kernel (fwd_kernel.cuh): issue, wait, fence the registers.
  static __device__ __forceinline__ void qk(float (&s)[1][kBlockN / 8][4], const T* smem_q, const T* sk, int warp_row,
                                            int) {
    qk_issue(s, smem_q, sk, __shfl_sync(0xffffffff, warp_row / 64, 0) * 64);  // warp-uniform: uniform descriptors
    wgmma_wait<0>();
#pragma unroll
    for (int j = 0; j < kBlockN / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(s[0][j][e]);
  }
  static __device__ __forceinline__ void pv(float (&acc_o)[1][HEAD_DIM / 8][4], const float (&s)[1][kBlockN / 8][4],
                                            const T* sv, int) {
    uint32_t a[kBlockN / 16][4];
    pack_p(a, s);
#pragma unroll
    for (int j = 0; j < HEAD_DIM / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(acc_o[0][j][e]);
    pv_issue(acc_o, a, v_desc(sv));
    wgmma_wait<0>();
#pragma unroll
    for (int j = 0; j < HEAD_DIM / 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(acc_o[0][j][e]);
  }
};

}  // namespace gna::cuda::sm90
