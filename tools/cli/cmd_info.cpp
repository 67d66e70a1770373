// tools/cli/cmd_info.cpp -- layer: CLI. `gna info`: version, build options and the backends (with the
// GPU, as each CUDA backend describes it).
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "gna/api.hpp"
#include "options.hpp"

namespace gna::cli {

int cmd_info(std::vector<std::string> args) {
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::cout << "usage: gna info\n\nPrints the version, the build options and every compiled-in backend\n"
                 "(available or not, and why), including the GPU a CUDA backend would use.\n";
    return 0;
  }
  reject_leftovers(args, "gna info");
  std::printf("gna %s\n", version());
  std::printf("build: %s\n", build_info().c_str());
  std::printf("backends:\n");
  bool any_gpu = false;
  for (const BackendInfo& b : list_backends()) {
    std::printf("  %-10s %-13s backward=%-3s %s\n", b.name.c_str(), b.available ? "available" : "unavailable",
                b.has_backward ? "yes" : "no", b.description.c_str());
    if ((b.name == "sm80" || b.name == "sm90") && b.available) any_gpu = true;
  }
  if (!any_gpu) std::printf("gpu: none usable (host backends only)\n");
  return 0;
}

}  // namespace gna::cli
