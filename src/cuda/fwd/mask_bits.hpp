// src/cuda/fwd/mask_bits.hpp -- layer: cuda kernel contract (host + device). The bit order of the 64-bit
// column masks of a KV tile that the fused forward kernels build and apply (fwd_softmax.cuh, the sm90 mask
// warps), and the mask of a partial extra-KV tile. Host-callable so that tests/cuda/test_mask_bits.cpp
// checks them in every CUDA build (CI too) without a device.
//
// "Quad-major" order: column 8j + 2q + c -- fragment j, element c of quad lane q in the m16n8 accumulator
// layout -- is bit 16q + 2j + c (keep_bit). The 16 columns that a thread holds of a row are then one
// contiguous 16-bit field (quad_bits), which ptxas turns into predicates seven at a time (R2P); in column
// order they were 2 bits per byte (14 R2P and 59 instructions for a thread's two rows, against 4 and 42).
// The order is a permutation, so AND / OR / NOT of masks (fwd::row_keep_bits) do not depend on it; only
// what sets bits by column (build_col_below in fwd_tile.cuh, extra_keep_bits) and what reads them
// (fwd::apply_keep) does.
#pragma once

#include <cstdint>

#include "cuda/fwd/fwd_params.hpp"

namespace gna::cuda::fwd {

GNA_HD constexpr int keep_bit(int col) { return 16 * ((col % 8) / 2) + 2 * (col / 8) + col % 2; }

// The 16 bits of a row mask that lane `lane` holds (bit 2j + c: fragment j, element c).
GNA_HD uint32_t quad_bits(uint64_t keep, int lane) { return uint32_t(keep >> (16 * (lane % 4))) & 0xffffu; }

// The columns of an extra-KV tile whose first token is `first` that hold keys (< extra_kv), as a 64-bit mask
// (quad-major). For quad lane q the kept columns 8j + 2q + c < n form a prefix of its field in (j, c) order:
// both elements of fragments j with 8j + 1 < n - 2q, then element 0 of the next if 8j < n - 2q.
GNA_HD uint64_t extra_keep_bits(int64_t first, int64_t extra_kv) {
  const int64_t n = extra_kv - first;
  if (n >= kBlockN) return ~uint64_t(0);
  uint64_t keep = 0;
  for (int q = 0; q < 4; ++q) {
    const int r = int(n > 0 ? n : 0) - 2 * q;                              // this lane's columns: 8j + c < r
    const int len = (r > 0 ? (r + 7) / 8 : 0) + (r > 1 ? (r + 6) / 8 : 0);  // (c = 0 count) + (c = 1 count)
    keep |= ((uint64_t(1) << len) - 1) << (16 * q);
  }
  return keep;
}

}  // namespace gna::cuda::fwd
