// src/core/registry.cpp -- layer: backend registry. The compiled-in backends, most preferred first:
// sm90, sm80 (CUDA builds, when their macros are defined), cpu (when built), reference (always).
//
// Invariants: each factory returns a process-lifetime singleton or nullptr (not usable in this build /
// on this machine); nullptrs are dropped. The list is built once, thread-safely (function static).
#include "core/backend.hpp"

namespace gna::detail {

#if defined(GNA_HAVE_CUDA) && defined(GNA_HAVE_SM90)
const Backend* sm90_backend();
#endif
#if defined(GNA_HAVE_CUDA) && defined(GNA_HAVE_SM80)
const Backend* sm80_backend();
#endif
#if defined(GNA_HAVE_CPU_BACKEND)
const Backend* cpu_backend();
#endif
const Backend* reference_backend();

const std::vector<const Backend*>& backends() {
  static const std::vector<const Backend*> list = [] {
    std::vector<const Backend*> all;
    auto add = [&](const Backend* b) {
      if (b) all.push_back(b);
    };
#if defined(GNA_HAVE_CUDA) && defined(GNA_HAVE_SM90)
    add(sm90_backend());
#endif
#if defined(GNA_HAVE_CUDA) && defined(GNA_HAVE_SM80)
    add(sm80_backend());
#endif
#if defined(GNA_HAVE_CPU_BACKEND)
    add(cpu_backend());
#endif
    add(reference_backend());
    return all;
  }();
  return list;
}

}  // namespace gna::detail
