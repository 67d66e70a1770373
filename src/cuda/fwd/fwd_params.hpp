// src/cuda/fwd/fwd_params.hpp -- layer: cuda kernel contract (host + device). Torch-free parameters of
// the fused GNA forward kernels (sm80 and sm90 share them). Filled by the launcher from a validated Problem and tensor views.
//
// Invariants: every problem is normalised to 3 axes (missing trailing axes: extent 1, window 1, stride 1,
// dilation 1, non-causal); all strides are in elements and int64; q_tile / kv_tile multiply to the
// kernel's BLOCK_M / BLOCK_N; tiles are formed in dilation-group-local coordinates, one group per
// (g0, g1, g2), so dilation needs no copy: coordinate x of group g is x = t * dilation + g.
#pragma once

#include <cstdint>

#include "gna/na/window.hpp"

namespace gna::cuda {

constexpr int kBlockN = 64;  // KV tile: 64 tokens; its N-d shape is chosen at run time

struct FwdParams {
  // Data. Q/O: [B, X0, X1, X2, H, D]; K/V: [B, X0, X1, X2, Hkv, D]; extra K/V: [B, Nx, Hkv, D]; LSE: [B, X.., H].
  const void* q;
  const void* k;
  const void* v;
  const void* extra_k;  // may be null when extra_kv == 0
  const void* extra_v;
  void* o;
  float* lse;  // may be null
  // Strides in elements: [batch, x0, x1, x2, head] (the head dim has unit stride).
  int64_t q_stride[5], k_stride[5], v_stride[5], o_stride[5], lse_stride[5];
  int64_t extra_k_stride[3], extra_v_stride[3];  // [batch, token, head]
  // Per axis: dilation * stride, the step between consecutive group-local coordinates.
  int64_t q_step[kMaxRank], k_step[kMaxRank], v_step[kMaxRank], o_step[kMaxRank], lse_step[kMaxRank];

  int64_t batch, heads, kv_heads, dim;  // dim: Dqk == Dv (<= the kernel's HEAD_DIM bucket)
  int64_t extra_kv;
  float scale_log2;  // scale * log2(e)

  na::AxisSpec axis[kMaxRank];
  int64_t group_extent_max[kMaxRank];  // ceil(extent / dilation): the tile grid is laid on this
  int q_tile[kMaxRank];                // runtime N-d factorisation of BLOCK_M
  int kv_tile[kMaxRank];               // runtime N-d factorisation of BLOCK_N
  int64_t q_tiles[kMaxRank];           // ceil(group_extent_max / q_tile) per axis
  int64_t q_tiles_total;               // prod(dilation) * prod(q_tiles): blocks per (batch, head)
  // The order of the Q tiles of one (batch, head, group), by level (gna/na/tile_order.hpp): level k is
  // axis order_axis[k] with order_tiles[k] = q_tiles[order_axis[k]] tiles, cut into slabs of order_span[k].
  int order_axis[kMaxRank];
  uint32_t order_tiles[kMaxRank], order_span[kMaxRank];
};

}  // namespace gna::cuda
