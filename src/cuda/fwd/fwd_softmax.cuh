// src/cuda/fwd/fwd_softmax.cuh -- layer: cuda forward collective pieces shared by every forward kernel
// (the generic kernel of fwd_kernel.cuh and the warp-specialized sm90 kernel): the element mask of a
// partial KV tile, the online-softmax step and the O rescale, all on S / O accumulators in the m16n8
// fragment layout (a thread holds rows lane/4 and lane/4 + 8 of each 16-row block, columns
// 8j + 2(lane%4) + {0, 1}). Scores are raw (unscaled): the scale is positive, so max and masking commute
// with it; it is fused into the exponent, p = 2^(s * scale*log2(e) - m), in the log2 domain.
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/fwd/fwd_params.hpp"
#include "cuda/fwd/mask_bits.hpp"

namespace gna::cuda::fwd {

constexpr int kNFrag = kBlockN / 8;  // S fragments per 16-row block
constexpr int kMaxSlack = 8;         // softmax_step: how far (log2) the running max may lag the true max

// The attended columns of one query row in a partial spatial KV tile, as a 64-bit mask: AND over axes of
// below[d][hi] & ~below[d][lo], with the row's window `win` (3 int2, group-local [lo, hi) per axis) shifted
// into the tile by `origin` and clipped to `kv_tile`.
__device__ __forceinline__ uint64_t row_keep_bits(const int2* win, const uint64_t* col_below, const int (&origin)[kMaxRank],
                                                  const int (&kv_tile)[kMaxRank]) {
  uint64_t keep = ~uint64_t(0);
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) {
    const int lo = min(max(win[d].x - origin[d], 0), kv_tile[d]);
    const int hi = min(max(win[d].y - origin[d], 0), kv_tile[d]);
    keep &= col_below[d * (kBlockN + 1) + hi] & ~col_below[d * (kBlockN + 1) + lo];
  }
  return keep;
}

// Sets the columns of row lane/4 + 8i of block m that `bits` (this thread's 16 bits of the row's mask,
// quad_bits) leaves out to -inf.
template <int MB>
__device__ __forceinline__ void apply_keep(float (&s)[MB][kNFrag][4], int m, int i, uint32_t bits) {
#pragma unroll
  for (int j = 0; j < kNFrag; ++j)
#pragma unroll
    for (int c = 0; c < 2; ++c)
      if (!((bits >> (2 * j + c)) & 1)) s[m][j][2 * i + c] = -INFINITY;
}

// Partial spatial KV tile: every row's columns outside its window -> -inf (row_keep_bits; `windows`:
// (rows, 3) int2, first row of the warp's block m at windows + 16m*3).
template <int MB>
__device__ __forceinline__ void mask_spatial(float (&s)[MB][kNFrag][4], const int2* windows, const uint64_t* col_below,
                                             const int (&origin)[kMaxRank], const int (&kv_tile)[kMaxRank], int lane) {
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int i = 0; i < 2; ++i)
      apply_keep<MB>(s, m, i,
                     quad_bits(row_keep_bits(windows + (m * 16 + lane / 4 + 8 * i) * kMaxRank, col_below, origin, kv_tile), lane));
}

// The last extra-KV tile: keys past `extra_kv` (tile starts at key `first`) -> -inf, in every row.
template <int MB>
__device__ __forceinline__ void mask_extra(float (&s)[MB][kNFrag][4], int64_t first, int64_t extra_kv, int lane) {
  const uint32_t bits = quad_bits(extra_keep_bits(first, extra_kv), lane);
#pragma unroll
  for (int m = 0; m < MB; ++m)
#pragma unroll
    for (int i = 0; i < 2; ++i) apply_keep<MB>(s, m, i, bits);
}

// P of row lane/4 + 8i of block m: dst = 2^(src * scale_log2 - shift) (dst may be src), and this thread's
// partial row sum (a pairwise tree over the kNFrag fragments: a short dependency chain).
template <int MB>
__device__ __forceinline__ float exp_row(const float (&src)[MB][kNFrag][4], float (&dst)[MB][kNFrag][4], int m, int i,
                                         float scale_log2, float shift) {
  static_assert(kNFrag == 8, "the tree below has 3 levels");
  float part[kNFrag];
#pragma unroll
  for (int f = 0; f < kNFrag; ++f) {
    dst[m][f][2 * i] = exp2f(fmaf(src[m][f][2 * i], scale_log2, -shift));
    dst[m][f][2 * i + 1] = exp2f(fmaf(src[m][f][2 * i + 1], scale_log2, -shift));
    part[f] = dst[m][f][2 * i] + dst[m][f][2 * i + 1];
  }
#pragma unroll
  for (int l = 0; l < 3; ++l)
#pragma unroll
    for (int f = 0; f < kNFrag / 2; ++f)
      if (f < (kNFrag >> (l + 1))) part[f] += part[f + (kNFrag >> (l + 1))];
  return part[0];
}

// One online-softmax step: S -> P in place, running max / this thread's partial row sums updated, and the
// factor alpha = 2^(m_old - m_new) by which O must be rescaled (rescale_o). A row that has seen no key yet
// uses 0 as the shift. The max and the sum are pairwise trees over the kNFrag fragments (short dependency
// chains); every index is a compile-time constant, so part[] stays in registers.
//
// Lazy max: the running max moves only when the tile's max exceeds it by more than kMaxSlack (log2 units;
// a row's first tile always sets it, -inf + slack being -inf), so after the first tile of a neighborhood
// alpha is almost always exactly 1 and rescale_o skips O. P is then bounded by 2^kMaxSlack = 256 instead
// of 1: far inside the bf16 and fp16 ranges, and rounding is relative, so no precision is lost (the row
// sum grows by as much). O and LSE are unchanged: numerator, denominator and LSE share the shift.
// Measured 3-7% faster on H100 (sm90, every preset).
template <int MB>
__device__ __forceinline__ void softmax_step(float (&s)[MB][kNFrag][4], float (&row_max)[MB][2], float (&row_sum)[MB][2],
                                             float (&alpha)[MB][2], float scale_log2) {
  static_assert(kNFrag == 8, "the trees below have 3 levels");
  constexpr int kLevels = 3;
#pragma unroll
  for (int m = 0; m < MB; ++m) {
    // This thread's max of each of its two rows (a pairwise tree over the fragments).
    float mx[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float part[kNFrag];
#pragma unroll
      for (int f = 0; f < kNFrag; ++f) part[f] = fmaxf(s[m][f][2 * i], s[m][f][2 * i + 1]);
#pragma unroll
      for (int l = 0; l < kLevels; ++l)  // constant trip counts: fully unrolled
#pragma unroll
        for (int f = 0; f < kNFrag / 2; ++f)
          if (f < (kNFrag >> (l + 1))) part[f] = fmaxf(part[f], part[f + (kNFrag >> (l + 1))]);
      mx[i] = part[0] * scale_log2;
    }
    // The lazy max moves only if some thread's partial max exceeds its row's max by the slack; a warp vote
    // asks, and when nobody does (almost always, after a row's first tile) the quad reductions (two
    // shuffles per row, a serial chain) and alpha's exponentials are skipped. Same result either way: a
    // row's tile max is the max of its quad's partial maxima.
    const bool move = mx[0] > row_max[m][0] + float(kMaxSlack) || mx[1] > row_max[m][1] + float(kMaxSlack);
    if (__any_sync(0xffffffff, move)) {
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        float t = mx[i];
        t = fmaxf(t, __shfl_xor_sync(0xffffffff, t, 1));
        t = fmaxf(t, __shfl_xor_sync(0xffffffff, t, 2));
        const float m_new = t > row_max[m][i] + float(kMaxSlack) ? t : row_max[m][i];
        alpha[m][i] = exp2f(row_max[m][i] - (m_new == -INFINITY ? 0.f : m_new));
        row_max[m][i] = m_new;
      }
    } else {
      alpha[m][0] = alpha[m][1] = 1.f;
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float m_use = row_max[m][i] == -INFINITY ? 0.f : row_max[m][i];
      row_sum[m][i] = row_sum[m][i] * alpha[m][i] + exp_row<MB>(s, s, m, i, scale_log2, m_use);
    }
  }
}

// A steady step of a KV tile that needs no mask, without the tile max (one 16-row block; the sm90 kernel's
// steady steps). The exponentials use the running max as it is, with no max reduction (two trees and a
// vote) before them; the step is redone the plain way (softmax_step on the raw scores) only when some
// thread's partial row sum of this tile exceeds kSumBound (or is not a number), so that every P element
// stays below it (inside the fp16 and bf16 ranges; rounding is relative); a row that has seen no key yet
// takes 0 as its max. The redo is rare once a row's max is set: its scores must rise by about log2 of
// the bound over the running max. `s` keeps the raw scores for the redo; P goes to `e` (same layout; it
// must not be a wgmma operand: written while the PV GEMM runs, ptxas would then serialise every wgmma,
// C7513). O, the row sums and LSE are those of any other shift. Measured on H100 (bench/README.md,
// session 17): 3-6% faster on the block-sparse and dense problems.
constexpr float kSumBound = 16384.f;
__device__ __forceinline__ void softmax_step_sumcheck(float (&s)[1][kNFrag][4], float (&e)[1][kNFrag][4],
                                                      float (&row_max)[1][2], float (&row_sum)[1][2],
                                                      float (&alpha)[1][2], float scale_log2) {
  float sum[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) sum[i] = exp_row<1>(s, e, 0, i, scale_log2, row_max[0][i] == -INFINITY ? 0.f : row_max[0][i]);
  const bool redo = !(sum[0] <= kSumBound) || !(sum[1] <= kSumBound);
  if (__any_sync(0xffffffff, redo)) {
    softmax_step<1>(s, row_max, row_sum, alpha, scale_log2);
#pragma unroll
    for (int f = 0; f < kNFrag; ++f)
#pragma unroll
      for (int c = 0; c < 4; ++c) e[0][f][c] = s[0][f][c];
  } else {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      alpha[0][i] = 1.f;
      row_sum[0][i] += sum[i];
      if (row_max[0][i] == -INFINITY) row_max[0][i] = 0.f;  // the shift these exponentials used
    }
  }
}

// O *= alpha, per 16-row block only when some row's running max in the warp moved (a warp vote): once the
// max settles, which it does after the first tiles of a neighborhood, the 2 * HEAD_DIM multiplies per row
// are skipped.
template <int MB, int DF>
__device__ __forceinline__ void rescale_o(float (&acc_o)[MB][DF][4], const float (&alpha)[MB][2]) {
#pragma unroll
  for (int m = 0; m < MB; ++m) {
    if (__any_sync(0xffffffff, alpha[m][0] != 1.f || alpha[m][1] != 1.f)) {
#pragma unroll
      for (int j = 0; j < DF; ++j) {
        acc_o[m][j][0] *= alpha[m][0];
        acc_o[m][j][1] *= alpha[m][0];
        acc_o[m][j][2] *= alpha[m][1];
        acc_o[m][j][3] *= alpha[m][1];
      }
    }
  }
}

// Full row sum from the quad's partial sums; its inverse (0 for a row with no key) normalises O.
__device__ __forceinline__ float quad_row_sum(float partial) {
  partial += __shfl_xor_sync(0xffffffff, partial, 1);
  return partial + __shfl_xor_sync(0xffffffff, partial, 2);
}
// LSE as a natural log, from the log2-domain max and the full row sum.
__device__ __forceinline__ float row_lse(float row_max, float l) {
  return l > 0.f ? (row_max + __log2f(l)) * 0.69314718055994530942f : -INFINITY;
}

}  // namespace gna::cuda::fwd
