// src/sim/cost_model.cpp -- layer: plan. Predicted kernel and layout time from an exact Accounting.
//
// Owns THE table of per-architecture, per-kernel-family constants (arch_models()). Entries named after a
// card alone describe a hypothetical best-class kernel of that card (wgmma/TMA on sm90) reading tiles
// through a token permutation: initial guesses from public figures (shared/anchors.md). Entries
// "<card>-sm80" describe the compiled sm80 kernel (src/cuda/sm80), which loads tiles in place (no layout
// term): h100-sm80 is FITTED to measured kernel times (bench/calibration.md, bench/fit_cost_model.py); the
// other -sm80 entries are derived from it (same rate relative to the FA2-class guess of each card, same
// per-Q-tile overhead in full-tile times). Model, per (batch entry, head) work unit = one Q tile on one SM:
//   t_full  = 2 (Dqk + Dv) Aq Akv / (dense_tflops * eff * f / sms)      one full tile pair on one SM
//             (f = all_full_factor for a perfectly block-sparse problem, else 1)
//   work    = B H (full * t_full + partial * t_full * mask_multiplier + q_tiles * q_tile_overhead)
//   kernel  = launch + (work / units) * ceil(units / sms)                 units = B H q_tiles (waves)
//   layout  = permute_bytes / copy_bandwidth + one launch per copy kernel; 0 if arch.loads_in_place
// eff = head-dim factor * Q-tile factor * KV-tile factor (64-token tiles run below 128-token ones; tiles
// under 64 tokens waste tensor-core rows in proportion). A -sm80 entry quotes dense_tflops at its native
// 128x64 tiles, so its kv64_efficiency is 1. "<card>-sm90" entries describe the sm90 (wgmma) kernel likewise.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include "gna/error.hpp"
#include "gna/sim.hpp"

namespace gna {
namespace sim {

const std::vector<ArchModel>& arch_models() {
  // name, description, sms, dense_tflops, mask_multiplier, q_tile_overhead_us, copy_tbps, launch_us,
  // q64_efficiency, kv64_efficiency, head_dim_slope, loads_in_place, calibrated[, all_full_factor].
  static const std::vector<ArchModel> table = {
      // Hypothetical best-class kernels with a token permutation. ALL INITIAL GUESSES (docs/simulator.md).
      {"h100", "NVIDIA H100 SXM (sm90a, wgmma/TMA kernel; ~650 TFLOP/s = FA3/cuDNN/NATTEN dense-tile rate)",
       132, 650.0, 1.3, 0.5, 3.0, 4.0, 0.85, 0.92, 0.2, false, false},
      {"h200", "NVIDIA H200 (sm90a; H100 compute, 4.8 TB/s HBM3e)", 132, 670.0, 1.3, 0.5, 4.2, 4.0, 0.85,
       0.92, 0.2, false, false},
      {"a100", "NVIDIA A100 SXM (sm80 mma.sync kernel; FlashAttention-2 class ~230 TFLOP/s)", 108, 230.0,
       1.3, 0.8, 1.5, 4.0, 0.9, 0.95, 0.15, false, false},
      {"l40", "NVIDIA L40 / L40S class (sm89, sm80 kernel; ~120 TFLOP/s)", 142, 120.0, 1.3, 0.8, 0.7, 4.0,
       0.9, 0.95, 0.15, false, false},
      {"cpu", "host CPU backend (16 cores, fp32 accumulate, SIMD)", 16, 1.0, 1.5, 2.0, 0.05, 10.0, 1.0, 1.0,
       0.0, false, false},
      // The compiled sm80 kernel (mma.sync, 128x64 tiles at head dim <= 128, tiles loaded in place).
      // h100-sm80: dense_tflops, mask_multiplier, q_tile_overhead_us fitted (relative-error least squares)
      // to 7 presets measured on an H100 80GB HBM3, bf16, head dim 128, 2026-11-26, after the loader and
      // tile-state changes of that day (bench/calibration.md: rms error 1.1%, max 1.7%). launch, q64,
      // head-dim slope: not identifiable from that data (guesses).
      {"h100-sm80", "NVIDIA H100 SXM running the sm80 kernel (mma.sync; calibrated, bench/calibration.md)", 132,
       382.73, 1.1813, 13.109, 3.0, 4.0, 0.85, 1.0, 0.15, true, true},
      // Derived, not measured: H200 has the same SMs and clocks and this kernel is compute-bound.
      {"h200-sm80", "NVIDIA H200 running the sm80 kernel (derived from h100-sm80: same SMs and clocks)", 132,
       382.73, 1.1813, 13.109, 4.2, 4.0, 0.85, 1.0, 0.15, true, false},
      // Derived, not measured: the FA2-class guess of the card x 1.09 (h100-sm80 / FA2 on the same H100,
      // 383 / ~350 TFLOP/s); overhead = the same 9.06 full-tile times as on the H100 (13.1 us x per-SM
      // rate ratio).
      {"a100-sm80", "NVIDIA A100 SXM running the sm80 kernel (derived from h100-sm80 and the a100 guess)", 108,
       251.0, 1.1813, 16.4, 1.5, 4.0, 0.85, 1.0, 0.15, true, false},
      {"l40-sm80", "NVIDIA L40 / L40S class running the sm80 kernel (derived from h100-sm80 and the l40 guess)",
       142, 131.0, 1.1813, 41.2, 0.7, 4.0, 0.85, 1.0, 0.15, true, false},
      // The compiled sm90 kernels (warp-specialized TMA + wgmma, 128x64 tiles, tiles loaded in place).
      // h100-sm90: fitted the same way, with all_full_factor (the consumer ping-pong and no mask bookkeeping
      // on perfectly block-sparse problems), to 6 presets measured on an H100 80GB HBM3, bf16, head dim 128,
      // 2026-11-27, session 19's kernel (bench/results/h100-sm90-calibration.jsonl; cosmos-na left out, a
      // known miss of the model's terms; bench/calibration.md: rms error 0.8%, max 1.4%; cosmos-na -6.1%).
      {"h100-sm90", "NVIDIA H100 SXM running the sm90 kernel (TMA + wgmma; calibrated, bench/calibration.md)", 132,
       618.18, 1.2222, 0.037, 3.0, 4.0, 0.85, 1.0, 0.15, true, true, 1.0565},
      // Derived, not measured: H200 has the same SMs and clocks (session 20 measured the presets within 1%).
      {"h200-sm90", "NVIDIA H200 running the sm90 kernel (derived from h100-sm90: same SMs and clocks)", 132,
       618.18, 1.2222, 0.037, 4.2, 4.0, 0.85, 1.0, 0.15, true, false, 1.0565},
  };
  return table;
}

const ArchModel& arch_model(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const ArchModel& m : arch_models())
    if (lower == m.name) return m;
  std::ostringstream names;
  for (size_t i = 0; i < arch_models().size(); ++i) names << (i ? ", " : "") << arch_models()[i].name;
  fail("--arch: unknown architecture '", name, "'; valid: ", names.str());
}

namespace {

double tile_factor(int64_t tokens, double eff64) {
  if (tokens >= 128) return 1.0;
  if (tokens >= 64) return eff64;
  return eff64 * static_cast<double>(tokens) / 64.0;
}

}  // namespace

Prediction predict(const Problem& p, const Accounting& a, const ArchModel& arch) {
  Prediction r;
  const int64_t aq = a.tiling.q_tokens(), akv = a.tiling.kv_tokens();
  const double dims = static_cast<double>(p.dim_qk + p.dim_v);
  const double hd = std::clamp(1.0 + arch.head_dim_slope * std::log2(dims / 256.0), 0.5, 1.3);
  const double eff = hd * tile_factor(aq, arch.q64_efficiency) * tile_factor(akv, arch.kv64_efficiency);
  const double all_full = a.perfectly_block_sparse ? arch.all_full_factor : 1.0;
  const double per_sm_flops_per_us = arch.dense_tflops * 1e6 * eff * all_full / arch.sms;  // 1e12 / 1e6
  r.full_tile_us = 2.0 * dims * static_cast<double>(aq) * static_cast<double>(akv) / per_sm_flops_per_us;

  const double bh = static_cast<double>(p.batch) * static_cast<double>(p.heads);
  r.work_units = p.batch * p.heads * a.q_tiles;
  const double work_us =
      bh * (static_cast<double>(a.full_tiles) * r.full_tile_us +
            static_cast<double>(a.partial_tiles) * r.full_tile_us * arch.mask_multiplier +
            static_cast<double>(a.q_tiles) * arch.q_tile_overhead_us);
  double kernel_us = 0;
  if (r.work_units > 0) {
    r.waves = (r.work_units + arch.sms - 1) / arch.sms;
    kernel_us = arch.launch_us + work_us / static_cast<double>(r.work_units) * static_cast<double>(r.waves);
  }
  // A kernel that loads tiles in place from the user's layout runs no permutation copy at all.
  const int copies = arch.loads_in_place ? 0 : (a.q_needs_copy ? 2 : 0) + (a.kv_needs_copy ? 1 : 0);
  const double layout_us =
      arch.loads_in_place ? 0.0
                          : static_cast<double>(a.permute_bytes) / (arch.copy_tbps * 1e6) + copies * arch.launch_us;
  r.kernel_ms = kernel_us * 1e-3;
  r.layout_ms = layout_us * 1e-3;
  r.total_ms = r.kernel_ms + r.layout_ms;
  return r;
}

}  // namespace sim
}  // namespace gna
