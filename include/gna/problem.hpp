// gna/problem.hpp -- layer: api. The shape of one GNA problem, torch-free, and its validation.
//
// A Problem is everything about an attention call except the data: batch, the rank-1..3 token grid,
// heads, head dims, per-axis window/stride/dilation/causal, scale and the number of extra KV tokens.
// validate() enforces spec/semantics.md s2 and the head rules and throws gna::Error naming the rule.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/na/window.hpp"

namespace gna {

struct Problem {
  int64_t batch = 1;
  int rank = 1;                                  // number of spatial axes, 1..3
  std::array<int64_t, kMaxRank> extent{1, 1, 1};   // X0, X1, X2
  std::array<int64_t, kMaxRank> window{1, 1, 1};   // K per axis
  std::array<int64_t, kMaxRank> stride{1, 1, 1};   // S per axis
  std::array<int64_t, kMaxRank> dilation{1, 1, 1}; // D per axis
  std::array<bool, kMaxRank> is_causal{false, false, false};
  int64_t heads = 1;      // H (query heads)
  int64_t kv_heads = 1;   // Hkv; H % Hkv == 0 (GQA / MQA)
  int64_t dim_qk = 64;    // Dqk
  int64_t dim_v = 64;     // Dv
  double scale = 0.0;     // <= 0 means the default Dqk ** -0.5
  int64_t extra_kv = 0;   // Nx additional (unmasked) KV tokens

  // Throws gna::Error on the first violated rule (spec s2, heads, dims, sizes).
  void validate() const;

  double effective_scale() const;
  int64_t tokens() const;                      // prod(extent)
  na::AxisSpec axis(int d) const;              // per-axis parameters for na/
  int64_t attended_pairs_per_head() const;     // P of spec s9, extra KV included
  double forward_flops() const;                // 2 * B * H * (Dqk + Dv) * P
  std::string describe() const;                // one-line human summary
};

// Fills a problem's rank/extent and per-axis parameters; a single value applies to every axis.
// Convenience for CLIs, tests and bindings. Values are not validated here.
Problem make_problem(const std::vector<int64_t>& shape, const std::vector<int64_t>& window,
                     const std::vector<int64_t>& stride = {}, const std::vector<int64_t>& dilation = {},
                     const std::vector<int64_t>& is_causal = {});

}  // namespace gna
