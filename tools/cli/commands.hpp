// tools/cli/commands.hpp -- layer: CLI. One function per subcommand; main.cpp dispatches to them.
// Each takes the arguments after the subcommand name, returns the process exit code, and may throw
// gna::Error (main prints it as one line on stderr and exits 2, with no partial output file).
#pragma once

#include <string>
#include <vector>

namespace gna::cli {

int cmd_run(std::vector<std::string> args);       // default problem or real data (.npy), verified
int cmd_backward(std::vector<std::string> args);  // gradients from .npy inputs
int cmd_info(std::vector<std::string> args);      // version, build options, backends, GPU
int cmd_sim(std::vector<std::string> args);       // simulator and tile planner (src/sim)
int cmd_check(std::vector<std::string> args);     // GPU backends vs the reference over the case list
int cmd_bench(std::vector<std::string> args);     // timed runs with the simulator's prediction

}  // namespace gna::cli
