// src/cuda/sm90/fwd_policy.hpp -- layer: cuda/sm90 (host). The run-time choices the sm90 launcher makes per
// problem from its FwdParams alone (no device), so that host tests can check them: today whether the
// warp-specialized kernel's consumers alternate their GEMM issue (ping-pong).
#pragma once

#include "cuda/fwd/fwd_params.hpp"
#include "gna/na/tiles.hpp"

namespace gna::cuda::sm90 {

// Ping-pong where no KV tile needs the element mask: every visited KV tile of every Q tile is full
// (na::perfectly_block_sparse over the kernel's tiles) and the extra KV tokens fill whole KV tiles. Measured on
// H100 (bench/README.md, sessions 18-19): 1.0-4.4% faster on the block-sparse presets and 2% on dense
// attention, in every round; with partial tiles (sliding windows) within +-0.7%, so off there.
inline bool pingpong_default(const FwdParams& p) {
  na::TileShape t;
  t.rank = kMaxRank;  // axes past the problem's rank have extent 1 and unit tiles
  for (int d = 0; d < kMaxRank; ++d) t.q[d] = p.q_tile[d], t.kv[d] = p.kv_tile[d];
  return na::perfectly_block_sparse(p.axis, t, p.extra_kv);
}

}  // namespace gna::cuda::sm90
