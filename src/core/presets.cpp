// src/core/presets.cpp -- layer: api. preset_problem(): a named benchmark problem from presets().
//
// Invariant: B = 1, kv_heads = heads, Dqk = Dv = dim, no dilation, non-causal (as peer_bench.py).
#include "gna/error.hpp"
#include "gna/presets.hpp"

#include <sstream>

namespace gna {

Problem preset_problem(const std::string& name) {
  for (const Preset& p : presets()) {
    if (name != p.name) continue;
    Problem pr;
    pr.batch = 1;
    pr.rank = p.rank;
    for (int d = 0; d < kMaxRank; ++d) {
      const bool used = d < p.rank;
      pr.extent[d] = used ? p.shape[d] : 1;
      pr.window[d] = used ? p.window[d] : 1;
      pr.stride[d] = used ? p.stride[d] : 1;
      pr.dilation[d] = 1;
      pr.is_causal[d] = false;
    }
    pr.heads = p.heads;
    pr.kv_heads = p.heads;
    pr.dim_qk = p.dim;
    pr.dim_v = p.dim;
    return pr;
  }
  std::ostringstream valid;
  for (size_t i = 0; i < presets().size(); ++i) valid << (i ? ", " : "") << presets()[i].name;
  fail("unknown preset '", name, "'; valid presets: ", valid.str());
}

}  // namespace gna
