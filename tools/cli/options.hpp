// tools/cli/options.hpp -- layer: CLI. The problem options shared by `gna run | backward | check | bench
// | sim`, parsed in one place (so every subcommand accepts the same spelling and presets).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/api.hpp"

namespace gna::cli {

struct ProblemOptions {
  Problem problem;                 // validated by the caller (commands decide when)
  DType dtype = DType::bf16;
  std::string backend = "auto";
  std::array<int64_t, kMaxRank> q_tile{};   // zeros: planner's choice
  std::array<int64_t, kMaxRank> kv_tile{};
  uint64_t seed = 0;
  std::string preset;              // empty when no --preset was given
};

// Consumes the shared problem options (--preset --shape --window --stride --dilation --causal --batch
// --heads --kv-heads --dim --dim-v --extra-kv --scale --dtype --backend --seed --q-tile --kv-tile) from
// `args`, leaving every other argument in place, in order. `defaults` supplies unset values.
// Per-axis options take one value (applied to every axis) or one per axis. Throws gna::Error.
ProblemOptions parse_problem_options(std::vector<std::string>& args, const ProblemOptions& defaults);

// The help text of those options (for each subcommand's --help).
std::string problem_options_help();

// Removes "--name VALUE" from args; returns VALUE or `fallback` if absent.
std::string take_option(std::vector<std::string>& args, const std::string& name,
                        const std::string& fallback = "");
// Removes the flag "--name"; returns whether it was present.
bool take_flag(std::vector<std::string>& args, const std::string& name);
// Throws gna::Error naming the first argument left over ("unknown option --foo for gna run").
void reject_leftovers(const std::vector<std::string>& args, const std::string& command);

}  // namespace gna::cli
