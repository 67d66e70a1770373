// tools/cli/cmd_bench.cpp -- layer: CLI. `gna bench`: times a CUDA backend on a preset or a problem
// (warm-up, then the median of >= 20 calls timed with CUDA events), verifies sampled queries against the
// spec in fp64, and prints kernel / layout / total ms and effective TFLOP/s (spec s9). --json appends one
// line per case. `--preset all` runs every preset of include/gna/presets.hpp.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "commands.hpp"
#include "gna/presets.hpp"
#include "gna/sim.hpp"
#include "options.hpp"
#include "run_common.hpp"  // json_number
#include "testbed/testbed.hpp"

namespace gna::cli {
namespace {

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

std::string json_array(const int64_t* v, int n) {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < n; ++i) os << (i ? ", " : "") << v[i];
  os << "]";
  return os.str();
}

}  // namespace

int cmd_bench(std::vector<std::string> args) {
  if (take_flag(args, "--help")) {
    std::printf(
        "usage: gna bench [--preset NAME|all] [--backend NAME] [--reps N] [--warmup N] [--sustain SECONDS]\n"
        "                 [--json FILE] [problem options]\n"
        "Times the forward pass on the GPU (median of --reps calls, default 20, CUDA events), checks\n"
        "sampled queries against the spec in fp64, prints kernel/layout/total ms and effective TFLOP/s.\n"
        "--sustain runs the call back to back for that long first (0-600 s, default 0), so that the times\n"
        "are those of a card settled at its power limit rather than of a short burst.\n\n%s",
        problem_options_help().c_str());
    return 0;
  }
  const int reps = std::max(20, std::stoi(take_option(args, "--reps", "20")));
  const int warmup = std::stoi(take_option(args, "--warmup", "5"));
  const std::string sustain_arg = take_option(args, "--sustain", "0");
  double sustain_s = -1;
  try {
    size_t used = 0;
    sustain_s = std::stod(sustain_arg, &used);
    if (used != sustain_arg.size()) sustain_s = -1;
  } catch (const std::exception&) {
  }
  if (!(sustain_s >= 0 && sustain_s <= 600))
    fail("--sustain must be a number of seconds in [0, 600], got '", sustain_arg, "'");
  const std::string json = take_option(args, "--json");
  std::vector<std::string> names;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--preset" && args[i + 1] == "all") {
      for (const auto& p : presets()) names.push_back(p.name);
      args.erase(args.begin() + i, args.begin() + i + 2);
      break;
    }
  if (names.empty()) names.push_back("");
  int failed = 0;
  for (const std::string& name : names) {
    std::vector<std::string> a = args;
    if (!name.empty()) a.insert(a.begin(), {"--preset", name});
    ProblemOptions po = parse_problem_options(a, ProblemOptions{});
    reject_leftovers(a, "gna bench");
    po.problem.validate();
    std::string backend = po.backend;
    if (backend == "auto") {
      for (const auto& b : list_backends())
        if (b.available && b.name.rfind("sm", 0) == 0) {
          backend = b.name;
          break;
        }
      if (backend == "auto") fail("no CUDA backend is available (", build_info(), ")");
    }
    testbed::Case c;
    c.name = po.preset.empty() ? "custom" : po.preset;
    c.problem = po.problem;
    c.dtype = po.dtype;
    c.q_tile = po.q_tile;
    c.kv_tile = po.kv_tile;
    const testbed::BenchResult r = testbed::bench_case(c, backend, warmup, reps, po.seed, sustain_s);
    // The simulator's view of the same call: the tiling the backend runs (the caller's, or the planner's
    // choice for the backend's family) and its predicted time with the cost model the backend plans with
    // (the calibrated "<card>-<backend>" entry; src/cuda/*/backend.cpp).
    const std::string arch = std::string(r.device.find("H200") != std::string::npos   ? "h200"
                                         : r.device.find("H100") != std::string::npos ? "h100"
                                         : r.device.find("L40") != std::string::npos  ? "l40"
                                                                                      : "a100") +
                             (backend == "sm90" ? "-sm90" : "-sm80");
    const na::KernelFamily family = backend == "sm90" ? na::KernelFamily::sm90 : na::KernelFamily::sm80;
    sim::PlanEntry pe = sim::plan(po.problem, arch, po.dtype, family);
    if (po.q_tile[0] != 0) pe.tiling.q_tile = po.q_tile;
    if (po.kv_tile[0] != 0) pe.tiling.kv_tile = po.kv_tile;
    pe.accounting = sim::account(po.problem, pe.tiling, po.dtype);
    pe.prediction = sim::predict(po.problem, pe.accounting, sim::arch_model(arch));
    std::ostringstream tiles;
    for (int d = 0; d < po.problem.rank; ++d) tiles << (d ? "x" : "") << pe.tiling.q_tile[d];
    tiles << "/";
    for (int d = 0; d < po.problem.rank; ++d) tiles << (d ? "x" : "") << pe.tiling.kv_tile[d];
    const bool ok = r.max_err < (po.dtype == DType::f16 ? 1e-2 : 3e-2);
    if (!ok) ++failed;
    std::printf("%-12s %-5s %s tiles %-12s | kernel %.3f ms | layout %.3f ms | total %.3f ms | %.1f eff TFLOP/s"
                " | sim %.3f ms | max err %.2e on %lld queries%s\n",
                c.name.c_str(), backend.c_str(), dtype_name(po.dtype), tiles.str().c_str(), r.kernel_ms, r.layout_ms,
                r.total_ms, r.eff_tflops, pe.prediction.kernel_ms, r.max_err, static_cast<long long>(r.checked_queries),
                ok ? "" : " [WRONG]");
    std::fflush(stdout);
    if (!json.empty()) {
      const Problem& p = po.problem;
      std::ofstream f(json, std::ios::app);
      if (!f) fail("--json: cannot open '", json, "' for appending");
      f << "{\"preset\": \"" << c.name << "\", \"backend\": \"" << backend << "\", \"device\": \"" << r.device
        << "\", \"dtype\": \"" << dtype_name(po.dtype) << "\", \"shape\": " << json_array(p.extent.data(), p.rank)
        << ", \"window\": " << json_array(p.window.data(), p.rank) << ", \"stride\": "
        << json_array(p.stride.data(), p.rank) << ", \"dilation\": " << json_array(p.dilation.data(), p.rank)
        << ", \"batch\": " << p.batch << ", \"heads\": " << p.heads << ", \"dim\": " << p.dim_qk
        << ", \"kernel_ms\": " << json_number(r.kernel_ms) << ", \"layout_ms\": " << json_number(r.layout_ms)
        << ", \"total_ms\": " << json_number(r.total_ms) << ", \"eff_tflops\": " << json_number(r.eff_tflops)
        << ", \"max_err\": " << json_number(r.max_err) << ", \"tiles\": \"" << tiles.str()
        << "\", \"visited_tiles\": " << pe.accounting.visited_tiles << ", \"full_tiles\": " << pe.accounting.full_tiles
        << ", \"predicted_kernel_ms\": " << json_number(pe.prediction.kernel_ms)
        << ", \"reps\": " << reps << ", \"sustain_s\": " << json_number(sustain_s) << ", \"date\": \"" << today()
        << "\"}\n";
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace gna::cli
