// tests/cli/options_test.cpp -- layer: CLI tests. The shared problem-option parser: per-axis rules,
// rank from --shape / --preset, preset overrides, followers (--kv-heads, --dim-v), strict numbers,
// and that unrelated arguments are left in place.
#include <gtest/gtest.h>

#include "gna/error.hpp"
#include "options.hpp"

namespace gna::cli {
namespace {

ProblemOptions defaults2d() {
  ProblemOptions d;
  d.problem = make_problem({64, 64}, {13, 13});
  d.problem.heads = d.problem.kv_heads = 8;
  return d;
}

ProblemOptions parse(std::vector<std::string> args, std::vector<std::string>* rest = nullptr) {
  ProblemOptions o = parse_problem_options(args, defaults2d());
  if (rest) *rest = args;
  return o;
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Options, DefaultsPassThroughAndLeftoversStay) {
  std::vector<std::string> rest;
  const ProblemOptions o = parse({"--out", "x.npy", "--heads", "4", "--extra", "--dim=32"}, &rest);
  EXPECT_EQ(rest, std::vector<std::string>({"--out", "x.npy", "--extra"}));
  EXPECT_EQ(o.problem.rank, 2);
  EXPECT_EQ(o.problem.extent[0], 64);
  EXPECT_EQ(o.problem.window[1], 13);
  EXPECT_EQ(o.problem.heads, 4);
  EXPECT_EQ(o.problem.kv_heads, 4);  // follows --heads
  EXPECT_EQ(o.problem.dim_qk, 32);
  EXPECT_EQ(o.problem.dim_v, 32);    // follows --dim
  EXPECT_EQ(o.dtype, DType::bf16);
}

TEST(Options, PerAxisOneOrRankValues) {
  const ProblemOptions o = parse({"--shape", "30x48x80", "--window", "18x24x24", "--stride", "4",
                                  "--dilation", "1,2,1", "--causal", "1x0x0", "--q-tile", "2x8x8"});
  EXPECT_EQ(o.problem.rank, 3);
  EXPECT_EQ(o.problem.extent[2], 80);
  EXPECT_EQ(o.problem.window[0], 18);
  EXPECT_EQ(o.problem.window[2], 24);
  EXPECT_EQ(o.problem.stride[0], 4);
  EXPECT_EQ(o.problem.stride[2], 4);
  EXPECT_EQ(o.problem.dilation[1], 2);
  EXPECT_TRUE(o.problem.is_causal[0]);
  EXPECT_FALSE(o.problem.is_causal[1]);
  EXPECT_EQ(o.q_tile[0], 2);
  EXPECT_EQ(o.q_tile[2], 8);
  EXPECT_EQ(o.kv_tile[0], 0);
}

// The spelling: per-axis values separated by spaces ("--shape X Y Z").
TEST(Options, PerAxisSpaceSeparated) {
  std::vector<std::string> rest;
  const ProblemOptions o = parse({"--shape", "30", "48", "80", "--window", "18", "24", "24", "--causal", "1",
                                  "0", "0", "--heads", "3", "--out", "o.npy"}, &rest);
  EXPECT_EQ(o.problem.rank, 3);
  EXPECT_EQ(o.problem.extent[1], 48);
  EXPECT_EQ(o.problem.window[2], 24);
  EXPECT_TRUE(o.problem.is_causal[0]);
  EXPECT_FALSE(o.problem.is_causal[2]);
  EXPECT_EQ(o.problem.heads, 3);
  EXPECT_EQ(rest, std::vector<std::string>({"--out", "o.npy"}));
}

TEST(Options, RankChangeRefitsDefaults) {
  const ProblemOptions one = parse({"--shape", "100"});
  EXPECT_EQ(one.problem.rank, 1);
  EXPECT_EQ(one.problem.window[0], 13);
  EXPECT_EQ(one.problem.window[1], 1);
  EXPECT_EQ(one.problem.extent[1], 1);
  const ProblemOptions three = parse({"--shape", "20x20x20"});
  EXPECT_EQ(three.problem.window[2], 13);
  EXPECT_NO_THROW(three.problem.validate());
}

TEST(Options, PresetThenOverrides) {
  const ProblemOptions o = parse({"--preset", "hunyuan-gna", "--heads", "2", "--stride", "1x1x1"});
  EXPECT_EQ(o.preset, "hunyuan-gna");
  EXPECT_EQ(o.problem.rank, 3);
  EXPECT_EQ(o.problem.extent[0], 30);
  EXPECT_EQ(o.problem.window[1], 24);
  EXPECT_EQ(o.problem.stride[0], 1);
  EXPECT_EQ(o.problem.heads, 2);
  EXPECT_EQ(o.problem.dim_qk, 128);
  // The order on the command line does not matter: explicit options win over the preset.
  const ProblemOptions p = parse({"--window", "4", "--preset", "small-2d"});
  EXPECT_EQ(p.problem.window[0], 4);
  EXPECT_EQ(p.problem.window[1], 4);
}

TEST(Options, Errors) {
  auto has = [](const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; };
  EXPECT_PRED2(has, error_of({"--heads", "abc"}), "--heads: 'abc' is not an integer");
  EXPECT_PRED2(has, error_of({"--heads", "4x"}), "--heads: '4x' is not an integer");
  EXPECT_PRED2(has, error_of({"--window", "3x3x3"}), "--window: got 3 values but the problem has rank 2");
  EXPECT_PRED2(has, error_of({"--shape", "8x8x8", "--stride", "1x2"}), "--stride: got 2 values but the problem has rank 3");
  EXPECT_PRED2(has, error_of({"--causal", "2"}), "--causal: value 2 on axis 0 must be 0 or 1");
  EXPECT_PRED2(has, error_of({"--causal", "yes"}), "--causal: 'yes' is not an integer");
  EXPECT_PRED2(has, error_of({"--dtype", "fp8"}), "--dtype: 'fp8' is not one of");
  EXPECT_PRED2(has, error_of({"--backend", "sm99"}), "--backend: 'sm99' is not one of");
  EXPECT_PRED2(has, error_of({"--scale", "0.1x"}), "--scale: '0.1x' is not a number");
  EXPECT_PRED2(has, error_of({"--seed", "-1"}), "--seed: '-1' is not a non-negative integer");
  EXPECT_PRED2(has, error_of({"--shape", "8x8x8x8"}), "--shape: got 4 extents");
  EXPECT_PRED2(has, error_of({"--shape", "8xx8"}), "--shape: '' is not an integer");
  EXPECT_PRED2(has, error_of({"--heads"}), "--heads: missing value");
  EXPECT_PRED2(has, error_of({"--heads", "--dim", "3"}), "--heads: missing value");
  EXPECT_PRED2(has, error_of({"--preset", "nope"}), "nope");
}

TEST(Options, TakeAndReject) {
  std::vector<std::string> a{"--x", "1", "--flag", "--x=2", "pos"};
  EXPECT_EQ(take_option(a, "--x"), "2");  // the last one wins; all are consumed
  EXPECT_TRUE(take_flag(a, "--flag"));
  EXPECT_FALSE(take_flag(a, "--flag"));
  EXPECT_EQ(take_option(a, "--y", "fb"), "fb");
  try {
    reject_leftovers(a, "gna run");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected argument 'pos' for gna run"), std::string::npos);
  }
  std::vector<std::string> b{"--bogus"};
  try {
    reject_leftovers(b, "gna run");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown option --bogus for gna run"), std::string::npos);
  }
  EXPECT_NE(problem_options_help().find("--window"), std::string::npos);
  EXPECT_NE(problem_options_help().find("flux-gna"), std::string::npos);
}

}  // namespace
}  // namespace gna::cli
