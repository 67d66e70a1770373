// gna/sim.hpp -- layer: plan. The simulator (exact tile accounting), the cost model and the tile planner.
//
// Owns: (1) exact accounting of a problem under a tiling -- Q tiles, visited KV tiles split full/partial,
// dense tiles, attended and computed pairs, padding, the speedup bounds, the bytes a token permutation
// moves -- computed per axis and per tile row in closed form from na/tiles.hpp (never by enumerating
// token pairs); (2) the perfectly-block-sparse decision and the strides that achieve it; (3) a cost model
// with per-architecture constants in ONE table (arch_models()); (4) plan(): the best tiling among those
// the kernels support (na/tile_table.hpp, the table the kernels use).
//
// Conventions: every tile/pair count in Accounting is per (batch entry, head), summed over the dilation
// groups (which the kernels fold into the batch); Prediction multiplies by batch * heads. Tiles are formed
// in group-local coordinates (na/tiles.hpp). Invariants (tests/unit/test_sim.cpp, vs brute force over all
// (q, k) pairs of small problems): full + partial == visited; full == visited iff perfectly block-sparse;
// counts match enumeration for every rank, dilation, causal flag and tile extent including 1.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/na/tiles.hpp"
#include "gna/na/tile_table.hpp"
#include "gna/problem.hpp"
#include "gna/tensor.hpp"

namespace gna {
namespace sim {

// Q tile and KV tile extent per axis (group-local tokens). Entries beyond the rank are 1.
struct Tiling {
  int rank = 1;
  std::array<int64_t, kMaxRank> q_tile{1, 1, 1};
  std::array<int64_t, kMaxRank> kv_tile{1, 1, 1};

  int64_t q_tokens() const;
  int64_t kv_tokens() const;
  na::TileShape shape() const;
  std::string str() const;  // "16x8/16x8"
};

// Throws gna::Error unless the tiling has the problem's rank and every extent is >= 1.
void validate_tiling(const Problem& p, const Tiling& t);

// Counts of one dilation group (group = per-axis group index), per head.
struct GroupAccounting {
  std::array<int64_t, kMaxRank> group{0, 0, 0};
  std::array<int64_t, kMaxRank> extent{1, 1, 1};  // group-local extents L_g
  int64_t tokens = 0;
  int64_t q_tiles = 0;
  int64_t visited_tiles = 0;  // spatial KV tiles only (extra KV excluded)
  int64_t full_tiles = 0;
  int64_t attended_pairs = 0;  // spatial pairs only
};

struct Accounting {
  Tiling tiling;
  int64_t tokens = 0;          // N = prod(L)
  int64_t groups = 1;          // dilation groups, prod(D)
  int64_t q_tiles = 0;         // Q tiles holding at least one real query, all groups
  int64_t visited_tiles = 0;   // (Q tile, KV tile) pairs visited, extra-KV tiles included
  int64_t full_tiles = 0;      // visited pairs needing no element mask
  int64_t partial_tiles = 0;   // visited - full
  int64_t extra_kv_tiles = 0;  // per Q tile: ceil(extra_kv / KV tile tokens)
  int64_t dense_tiles = 0;     // prod ceil(L/Tq) * (prod ceil(L/Tkv) + extra_kv_tiles)
  int64_t attended_pairs = 0;  // P of spec s9 (extra KV included)
  int64_t computed_pairs = 0;  // visited_tiles * Q tile tokens * KV tile tokens
  int64_t q_padding = 0;       // padding query slots inside the Q tiles
  int64_t kv_padding = 0;      // padding key slots inside the KV tiles (each KV tile once)
  double flop_speedup_bound = 0;  // N * (N + Nx) / attended_pairs
  double tile_speedup_bound = 0;  // dense_tiles / visited_tiles
  double pair_speedup_bound = 0;  // N * (N + Nx) / computed_pairs ("box bound" of shared/anchors.md)
  double full_share = 0;          // full_tiles / visited_tiles
  bool perfectly_block_sparse = false;  // every visited pair full (spatial and extra KV)
  bool q_needs_copy = false;            // Q/O need a token permutation (na/layout.hpp)
  bool kv_needs_copy = false;           // K/V need one
  int64_t permute_bytes = 0;  // whole call (batch, all heads): read + write of Q, K, V in and O out
};

// Exact accounting. Validates the problem and the tiling. `dtype` sets the element size for bytes.
Accounting account(const Problem& p, const Tiling& t, DType dtype = DType::bf16);

// Per dilation group (row-major over the per-axis group index), at most max_groups entries.
std::vector<GroupAccounting> account_groups(const Problem& p, const Tiling& t, int64_t max_groups = 64);

// Every visited pair is full (spatial axes and the extra-KV tiles).
bool perfectly_block_sparse(const Problem& p, const Tiling& t);

// Per axis, the strides S in [1, K] that make that axis perfectly block-sparse under the tiling, nearest
// first to the problem's stride on that axis (ties: the smaller stride first). The problem is perfectly
// block-sparse iff every axis uses a listed stride (and extra_kv is a multiple of the KV tile tokens).
std::vector<std::vector<int64_t>> find_strides(const Problem& p, const Tiling& t);

// ---- cost model ----------------------------------------------------------------------------------

// Per-architecture (and per-kernel-family) constants, bf16/fp16 inputs. Entries named after a card alone
// ("h100") describe a hypothetical kernel of that card's best class (wgmma/TMA on sm90) that reads tiles
// through a token permutation; entries "<card>-sm80" describe the compiled sm80 kernel (src/cuda/sm80),
// which loads tiles in place. Which entries are fitted to measured times: `calibrated` (bench/calibration.md);
// the others are initial guesses (docs/simulator.md).
struct ArchModel {
  const char* name;
  const char* description;
  int sms;                    // streaming multiprocessors (CPU: cores)
  double dense_tflops;        // whole-device throughput on full tiles at head dim 128: at 128x128 tiles, or
                              // for a "-sm80" entry at its native 128x64 tiles (then kv64_efficiency == 1)
  double mask_multiplier;     // cost of a partial tile relative to a full one
  double q_tile_overhead_us;  // per (Q tile, head, batch) work unit: prologue, epilogue, O store
  double copy_tbps;           // token-permutation copy bandwidth (TB/s)
  double launch_us;           // per kernel launch
  double q64_efficiency;      // throughput factor of 64-token Q tiles (vs 128)
  double kv64_efficiency;     // throughput factor of 64-token KV tiles (vs 128)
  double head_dim_slope;      // throughput factor 1 + slope * log2((Dqk + Dv) / 256), clamped
  bool loads_in_place = false;  // the kernel reads tiles from the user's layout: no permutation copy, so
                                // predict() gives layout_ms == 0 whatever Accounting::permute_bytes says
  bool calibrated = false;      // constants fitted to measured kernel times (bench/calibration.md)
  double all_full_factor = 1.0;  // throughput factor of a perfectly block-sparse problem (every visited
                                 // pair full): the sm90 kernel runs its consumer ping-pong only there
};

// The one table (H100, H200, A100, L40, CPU; and h100-sm80, h200-sm80, a100-sm80, l40-sm80 for the sm80
// kernel family).
const std::vector<ArchModel>& arch_models();
// Case-insensitive lookup ("h100"); throws gna::Error listing the names.
const ArchModel& arch_model(const std::string& name);

struct Prediction {
  double kernel_ms = 0;   // attention kernel
  double layout_ms = 0;   // permute + unpermute copies (0 when none is needed or arch.loads_in_place)
  double total_ms = 0;    // kernel + layout
  int64_t work_units = 0; // batch * heads * Q tiles
  int64_t waves = 0;      // ceil(work_units / sms)
  double full_tile_us = 0;  // one full tile pair on one SM
};

Prediction predict(const Problem& p, const Accounting& a, const ArchModel& arch);

// ---- planner -------------------------------------------------------------------------------------

struct PlanEntry {
  Tiling tiling;
  Accounting accounting;
  Prediction prediction;
};

// Every tiling the kernels support (na/tile_table.hpp: Q and KV token counts, each factored over the axes
// as powers of two, chosen independently), predicted, sorted fastest first (ties: higher tile bound).
// `family` selects the table entries: `explore` (default) compares every tile size in the design space;
// a compiled family (e.g. sm80) gives exactly the tilings that family's kernel runs for this head dim.
std::vector<PlanEntry> evaluate_tilings(const Problem& p, const ArchModel& arch, DType dtype = DType::bf16,
                                        na::KernelFamily family = na::KernelFamily::explore);

// The best of evaluate_tilings.
PlanEntry plan(const Problem& p, const ArchModel& arch, DType dtype = DType::bf16,
               na::KernelFamily family = na::KernelFamily::explore);
PlanEntry plan(const Problem& p, const std::string& arch, DType dtype = DType::bf16,
               na::KernelFamily family = na::KernelFamily::explore);

}  // namespace sim
}  // namespace gna
