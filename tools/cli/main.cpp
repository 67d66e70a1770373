// tools/cli/main.cpp -- layer: CLI. Entry point of `gna`: dispatches to one subcommand.
//
// Error contract: a gna::Error (invalid input) prints one line "gna <cmd>: error: <message>" on stderr
// and exits 2; any other exception prints one line and exits 1. Subcommands write output files only
// through temp files renamed on success, so an error never leaves a partial output file.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "gna/api.hpp"
#include "gna/error.hpp"

namespace {

const char* kUsage =
    "usage: gna <command> [options]\n"
    "\n"
    "Generalized Neighborhood Attention: forward/backward, checks, benchmarks and the tile simulator.\n"
    "\n"
    "commands:\n"
    "  run        one verified forward pass (default problem, or real data from .npy files)\n"
    "  backward   gradients dQ, dK, dV from .npy files\n"
    "  info       version, build options, backends and GPU\n"
    "  sim        the simulator and tile planner\n"
    "  check      GPU backends vs the reference over the case list\n"
    "  bench      timed runs with the simulator's prediction\n"
    "\n"
    "  gna --version           print the version\n"
    "  gna <command> --help    options of one command\n"
    "\n"
    "Exit status: 0 success, 1 verification failed or runtime error, 2 invalid input.\n";

// One line: newlines inside a message become spaces.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = args.front();
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    std::cout << "gna " << gna::version() << "\n";
    return 0;
  }
  args.erase(args.begin());
  const std::string name = "gna " + cmd;
  try {
    using namespace gna::cli;
    if (cmd == "run") return cmd_run(args);
    if (cmd == "backward") return cmd_backward(args);
    if (cmd == "info") return cmd_info(args);
    if (cmd == "sim") return cmd_sim(args);
    if (cmd == "check") return cmd_check(args);
    if (cmd == "bench") return cmd_bench(args);
    std::cerr << "gna: error: unknown command '" << cmd
              << "' (expected run, backward, info, sim, check or bench; see gna --help)\n";
    return 2;
  } catch (const gna::Error& e) {
    std::cout.flush();
    std::cerr << name << ": error: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << name << ": error: " << one_line(e.what()) << "\n";
    return 1;
  } catch (...) {
    std::cerr << name << ": error: unknown failure\n";
    return 1;
  }
}
