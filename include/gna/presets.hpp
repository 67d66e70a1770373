// gna/presets.hpp -- layer: api. The named benchmark problems, one table shared by `gna run`, `gna sim`
// and `gna bench`. Same names and definitions as shared/tools/peer_bench.py (B=1, no dilation,
// non-causal, bf16, Dqk = Dv = dim).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/problem.hpp"

namespace gna {

struct Preset {
  const char* name;
  int rank;
  std::array<int64_t, kMaxRank> shape;
  std::array<int64_t, kMaxRank> window;
  std::array<int64_t, kMaxRank> stride;
  int64_t heads;
  int64_t dim;
  std::array<int64_t, kMaxRank> tile;  // the token-permutation tile peer_bench.py uses for FlexAttention
};

inline const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      {"flux-na", 2, {256, 256, 1}, {80, 80, 1}, {1, 1, 1}, 24, 128, {16, 8, 1}},
      {"flux-gna", 2, {256, 256, 1}, {80, 80, 1}, {16, 16, 1}, 24, 128, {16, 8, 1}},
      {"hunyuan-na", 3, {30, 48, 80}, {18, 24, 24}, {1, 1, 1}, 24, 128, {2, 8, 8}},
      {"hunyuan-gna", 3, {30, 48, 80}, {18, 24, 24}, {16, 8, 8}, 24, 128, {2, 8, 8}},
      {"cosmos-na", 3, {16, 44, 80}, {16, 24, 16}, {1, 1, 1}, 32, 128, {4, 4, 8}},
      {"1d-32k-na", 1, {32768, 1, 1}, {2048, 1, 1}, {1, 1, 1}, 8, 128, {128, 1, 1}},
      {"1d-32k-gna", 1, {32768, 1, 1}, {2048, 1, 1}, {256, 1, 1}, 8, 128, {128, 1, 1}},
      {"small-2d", 2, {64, 64, 1}, {13, 13, 1}, {1, 1, 1}, 8, 64, {8, 16, 1}},
  };
  return table;
}

// The preset's problem (B=1, kv_heads = heads); throws gna::Error listing the names if unknown.
Problem preset_problem(const std::string& name);

}  // namespace gna
