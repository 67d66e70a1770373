// src/cuda/sm90/tma_maps.hpp -- layer: cuda/sm90 (host). TMA tensor maps that load the sm90 kernel's Q and
// K/V tiles in place from the user's heads-last tensors, dilation included.
//
// Q, K, V [B, X0, X1, X2, H, D] are described as 5-D tensors (H*D, X2, X1, X0, B): heads and the head dim
// merge into one dimension (head h's 64-element half c starts at coordinate h*D + 64c), so every 5-D box
// is (64, tile2 * dil2, tile1 * dil1, tile0 * dil0, 1) with element strides (1, dil2, dil1, dil0, 1): a
// dilation group's tile is loaded by starting at coordinate t * dil + g. Extra K/V [B, Nx, Hkv, D] are
// (Hkv*D, Nx, B) with (64, 64, 1) boxes. Boxes use the 128-byte swizzle, which is the kernel's shared-memory
// layout; out-of-bounds elements (padding) are zero-filled.
#pragma once

#include <cuda.h>

#include <string>

#include "cuda/fwd/fwd_params.hpp"

namespace gna::cuda::sm90 {

struct TmaMaps {
  CUtensorMap q, k, v, extra_k, extra_v;
  // 0: the Q/K/V maps are (H*D, X2, X1, X0, B) and a tile takes one copy per 64-element half of the head
  // dim. k in 1..4: dimension k of that list has extent 1 (a singleton axis, or batch 1) and is dropped, and
  // the head dim's halves are appended as the last dimension, so one copy moves a whole tile.
  int halves_dim;
};

// Fills `maps` for a problem whose head dim is exactly the kernel's bucket. Returns "" on success, else why
// TMA cannot address the problem (the shared cp.async kernel runs it instead): head dim below the bucket, heads not
// contiguous, strides or pointers not 16-byte aligned, dilation above 8, a box above 256 elements, or no
// tensor-map encoder in the driver.
std::string make_tma_maps(const FwdParams& p, bool bf16, int head_dim, TmaMaps& maps);

// The eligibility rules of make_tma_maps alone (no driver call): "" when TMA can describe the problem.
std::string tma_unsupported(const FwdParams& p, int head_dim);

// TmaMaps::halves_dim for a problem: 4 (batch) at batch 1, else the dimension of a size-1 axis whose Q and KV
// boxes are 1 wide, else 0.
int halves_dim(const FwdParams& p);

}  // namespace gna::cuda::sm90
