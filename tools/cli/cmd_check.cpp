// tools/cli/cmd_check.cpp -- layer: CLI. `gna check`: runs a backend against the fp64 reference through
// the shared testbed (src/testbed), over the shared case list or over one problem given by options.
// Prints one line per case and a closing "N passed, M failed" line; exit 1 if anything failed.
#include <chrono>
#include <cstdio>

#include "commands.hpp"
#include "options.hpp"
#include "testbed/testbed.hpp"

namespace gna::cli {

int cmd_check(std::vector<std::string> args) {
  if (take_flag(args, "--help")) {
    std::printf(
        "usage: gna check [--backend NAME] [--seed N] [--random N] [--no-large] [problem options]\n"
        "Checks a backend (default: the best available) against the fp64 reference on fresh random\n"
        "inputs, outputs poisoned with NaN first. Without problem options it runs the shared case list\n"
        "(hand-picked hard cases + N random ones, default 200); with --shape/--preset, that one problem.\n\n%s",
        problem_options_help().c_str());
    return 0;
  }
  const int random = std::stoi(take_option(args, "--random", "200"));
  const bool no_large = take_flag(args, "--no-large");
  bool single = false;
  for (const auto& a : args) single = single || a == "--shape" || a == "--preset";
  ProblemOptions defaults;
  defaults.seed = uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007ull;
  ProblemOptions po = parse_problem_options(args, defaults);
  reject_leftovers(args, "gna check");

  std::vector<testbed::Case> cases;
  if (single) {
    po.problem.validate();
    testbed::Case c;
    c.name = po.preset.empty() ? "custom" : po.preset;
    c.problem = po.problem;
    c.dtype = po.dtype;
    c.q_tile = po.q_tile;
    c.kv_tile = po.kv_tile;
    cases.push_back(c);
  } else {
    cases = testbed::case_list(po.seed, random, !no_large);
  }
  std::string backend = po.backend;
  if (backend == "auto") {
    backend = "reference";
    for (const auto& b : list_backends())
      if (b.available && b.name.rfind("sm", 0) == 0) {
        backend = b.name;
        break;
      }
  }
  std::printf("gna check: backend %s, %zu cases, seed %llu\n", backend.c_str(), cases.size(),
              static_cast<unsigned long long>(po.seed));
  int passed = 0, failed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    try {
      const auto r = testbed::check_case(cases[i], backend, po.seed + i);
      std::printf("%s %s\n", r.passed ? "PASS" : "FAIL", r.message.c_str());
      (r.passed ? passed : failed)++;
    } catch (const Error& e) {
      std::printf("FAIL %s: rejected: %s\n", cases[i].name.c_str(), e.what());
      ++failed;
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace gna::cli
