// gna/na/tile_table.hpp -- layer: na. THE table of tile sizes the kernels are built for.
//
// One source of truth shared by the kernels' instance list / dispatch and by the planner (src/sim): a
// kernel family is compiled for a number of Q-tile tokens and KV-tile tokens; the N-d factorisation of a
// tile (e.g. 128 = 16x8 or 2x8x8) is a run-time value. The planner enumerates exactly these token counts,
// factored over the axes as powers of two, and never proposes a tiling a kernel cannot run.
//
// Invariants: token counts are powers of two; every entry is (q_tokens, kv_tokens) with both >= 1; within a
// compiled family, entries are ordered by max_head_dim.
#pragma once

#include <cstdint>

#include "gna/na/window.hpp"

namespace gna {
namespace na {

// Which kernels a table entry describes. `explore` is the design space the simulator compares by default
// (tile sizes a kernel could be built for); the others are compiled kernel families.
enum class KernelFamily : int { explore = 0, sm80 = 1, sm90 = 2 };

struct TileConfig {
  KernelFamily family;
  int64_t q_tokens;      // tokens per Q tile (product of the per-axis Q tile extents)
  int64_t kv_tokens;     // tokens per KV tile
  int64_t max_head_dim;  // for a compiled family: the entry serves head dims up to this (first match wins)
};

// Extend here, and only here, when a kernel instance is added.
constexpr TileConfig kTileConfigs[] = {
    {KernelFamily::explore, 128, 128, 256},
    {KernelFamily::explore, 128, 64, 256},
    {KernelFamily::explore, 64, 128, 256},
    {KernelFamily::explore, 64, 64, 256},
    // sm80 (src/cuda/sm80): 4 warps x 32 rows for head dim <= 128, 4 x 16 rows for 256; KV tiles of 64.
    {KernelFamily::sm80, 128, 64, 128},
    {KernelFamily::sm80, 64, 64, 256},
    // sm90 (src/cuda/sm90): 2 warpgroups x 64 rows, wgmma; KV tiles of 64; head dims 64/128/256 buckets.
    {KernelFamily::sm90, 128, 64, 256},
};
constexpr int kNumTileConfigs = sizeof(kTileConfigs) / sizeof(kTileConfigs[0]);

// The compiled tile sizes of `family` for a head dim (the first entry that serves it), or {.., 0, 0, 0}.
constexpr TileConfig kernel_tile_config(KernelFamily family, int64_t head_dim) {
  for (int i = 0; i < kNumTileConfigs; ++i)
    if (kTileConfigs[i].family == family && head_dim <= kTileConfigs[i].max_head_dim) return kTileConfigs[i];
  return TileConfig{family, 0, 0, 0};
}

// Calls f(const int64_t* shape) for every way to write `tokens` (a power of two) as a product of `rank`
// powers of two, shape[0..rank). Row-major order of the exponents, first axis slowest.
template <class F>
void for_each_pow2_factorization(int rank, int64_t tokens, F&& f) {
  int log2 = 0;
  while ((int64_t{1} << log2) < tokens) ++log2;
  int64_t shape[kMaxRank] = {1, 1, 1};
  if (rank == 1) {
    shape[0] = tokens;
    f(static_cast<const int64_t*>(shape));
    return;
  }
  for (int e0 = log2; e0 >= 0; --e0) {
    if (rank == 2) {
      shape[0] = int64_t{1} << e0;
      shape[1] = int64_t{1} << (log2 - e0);
      f(static_cast<const int64_t*>(shape));
      continue;
    }
    for (int e1 = log2 - e0; e1 >= 0; --e1) {
      shape[0] = int64_t{1} << e0;
      shape[1] = int64_t{1} << e1;
      shape[2] = int64_t{1} << (log2 - e0 - e1);
      f(static_cast<const int64_t*>(shape));
    }
  }
}

}  // namespace na
}  // namespace gna
