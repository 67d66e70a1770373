// tools/cli/cmd_missing.cpp -- layer: CLI. Stand-ins for subcommands whose source file is not part of
// this build (tools/cli/CMakeLists.txt defines GNA_CLI_MISSING_<CMD> for each), so the CLI always links.
#include <cstdio>

#include "commands.hpp"

namespace gna::cli {
#if defined(GNA_CLI_MISSING_SIM) || defined(GNA_CLI_MISSING_CHECK) || defined(GNA_CLI_MISSING_BENCH)
namespace {
int not_built(const char* cmd) {
  std::fprintf(stderr, "gna %s: not built in this configuration\n", cmd);
  return 2;
}
}  // namespace
#endif

#if defined(GNA_CLI_MISSING_SIM)
int cmd_sim(std::vector<std::string>) { return not_built("sim"); }
#endif
#if defined(GNA_CLI_MISSING_CHECK)
int cmd_check(std::vector<std::string>) { return not_built("check"); }
#endif
#if defined(GNA_CLI_MISSING_BENCH)
int cmd_bench(std::vector<std::string>) { return not_built("bench"); }
#endif

}  // namespace gna::cli
