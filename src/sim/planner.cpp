// src/sim/planner.cpp -- layer: plan. The tile planner: every supported tiling, predicted, best first.
//
// The candidate list comes only from na/tile_table.hpp (the table the kernels are instantiated from):
// for each (Q tokens, KV tokens) entry, every power-of-two factorisation of each over the problem's axes,
// Q and KV independently. Ties in predicted time go to the higher tile bound, then to the first listed.
#include <algorithm>

#include "gna/error.hpp"
#include "gna/na/tile_table.hpp"
#include "gna/sim.hpp"

namespace gna {
namespace sim {

std::vector<PlanEntry> evaluate_tilings(const Problem& p, const ArchModel& arch, DType dtype,
                                        na::KernelFamily family) {
  p.validate();
  std::vector<PlanEntry> out;
  const na::TileConfig compiled = na::kernel_tile_config(family, std::max(p.dim_qk, p.dim_v));
  for (int c = 0; c < na::kNumTileConfigs; ++c) {
    const na::TileConfig cfg = na::kTileConfigs[c];
    if (cfg.family != family) continue;
    if (family != na::KernelFamily::explore &&
        (cfg.q_tokens != compiled.q_tokens || cfg.kv_tokens != compiled.kv_tokens || cfg.max_head_dim != compiled.max_head_dim))
      continue;
    na::for_each_pow2_factorization(p.rank, cfg.q_tokens, [&](const int64_t* q) {
      na::for_each_pow2_factorization(p.rank, cfg.kv_tokens, [&](const int64_t* kv) {
        PlanEntry e;
        e.tiling.rank = p.rank;
        for (int d = 0; d < p.rank; ++d) {
          e.tiling.q_tile[d] = q[d];
          e.tiling.kv_tile[d] = kv[d];
        }
        e.accounting = account(p, e.tiling, dtype);
        e.prediction = predict(p, e.accounting, arch);
        out.push_back(e);
      });
    });
  }
  std::stable_sort(out.begin(), out.end(), [](const PlanEntry& x, const PlanEntry& y) {
    if (x.prediction.total_ms != y.prediction.total_ms) return x.prediction.total_ms < y.prediction.total_ms;
    return x.accounting.tile_speedup_bound > y.accounting.tile_speedup_bound;
  });
  return out;
}

PlanEntry plan(const Problem& p, const ArchModel& arch, DType dtype, na::KernelFamily family) {
  std::vector<PlanEntry> all = evaluate_tilings(p, arch, dtype, family);
  if (all.empty()) fail("plan: no supported tiling for rank ", p.rank, " and head dim ", std::max(p.dim_qk, p.dim_v));
  return all.front();
}

PlanEntry plan(const Problem& p, const std::string& arch, DType dtype, na::KernelFamily family) {
  return plan(p, arch_model(arch), dtype, family);
}

}  // namespace sim
}  // namespace gna
