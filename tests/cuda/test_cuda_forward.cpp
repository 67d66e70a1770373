// tests/cuda/test_cuda_forward.cpp -- layer: tests (GPU). Every CUDA forward backend against the fp64
// reference over the shared case list (src/testbed): hand-picked hard cases plus >= 200 random ones,
// fresh inputs per run (seed printed; GNA_TEST_SEED=<n> reproduces), outputs poisoned with NaN first.
// Also: rejections carry clear messages. Skips with a message when there is no CUDA device.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "testbed/device_buffer.hpp"
#include "testbed/testbed.hpp"

namespace {

using gna::testbed::Case;

uint64_t test_seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("GNA_TEST_SEED");
    const uint64_t s = env ? std::strtoull(env, nullptr, 10)
                           : uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
    std::printf("[gna] GNA_TEST_SEED=%llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

bool backend_available(const std::string& name) {
  for (const auto& b : gna::list_backends())
    if (b.name == name) return b.available;
  return false;
}

#define REQUIRE_BACKEND(name)                                                              \
  if (!backend_available(name)) GTEST_SKIP() << "backend " << name << " unavailable here (" \
                                             << "no suitable CUDA device): GPU test skipped"

int random_cases() {
  const char* env = std::getenv("GNA_TEST_RANDOM_CASES");
  return env ? std::atoi(env) : 200;
}

void run_cases(const std::string& backend, bool hand_picked) {
  const auto cases = gna::testbed::case_list(test_seed(), hand_picked ? 0 : random_cases());
  const size_t n_hand = gna::testbed::case_list(test_seed(), 0).size();
  int ran = 0;
  for (size_t i = hand_picked ? 0 : n_hand; i < (hand_picked ? n_hand : cases.size()); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.name);
    gna::testbed::CheckResult r;
    try {
      r = gna::testbed::check_case(c, backend, test_seed() + i);
    } catch (const gna::Error& e) {
      ADD_FAILURE() << c.name << ": rejected: " << e.what();
      continue;
    }
    EXPECT_TRUE(r.passed) << r.message;
    ++ran;
  }
  std::printf("[gna] %s: %d cases checked\n", backend.c_str(), ran);
}

TEST(Sm80Forward, HandPickedCases) {
  REQUIRE_BACKEND("sm80");
  run_cases("sm80", true);
}

TEST(Sm80Forward, RandomCases) {
  REQUIRE_BACKEND("sm80");
  run_cases("sm80", false);
}

// A call the kernel cannot run must say which rule it broke.
void check_rejections(const std::string& backend) {
  Case c;
  c.problem = gna::make_problem({32, 32}, {5, 5});
  c.problem.heads = c.problem.kv_heads = 2;
  c.problem.dim_qk = c.problem.dim_v = 128;
  c.dtype = gna::DType::f32;
  try {
    gna::testbed::check_case(c, backend, 1);
    FAIL() << "fp32 input was accepted";
  } catch (const gna::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp16 and bf16"), std::string::npos) << e.what();
  }
  c.dtype = gna::DType::bf16;
  c.problem.dim_v = 64;
  try {
    gna::testbed::check_case(c, backend, 1);
    FAIL() << "dim_v != dim_qk was accepted";
  } catch (const gna::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dim_qk == dim_v"), std::string::npos) << e.what();
  }
  c.problem.dim_v = 128;
  c.q_tile = {8, 8, 1};  // 64 tokens, but the kernels' Q tile holds 128
  try {
    gna::testbed::check_case(c, backend, 1);
    FAIL() << "a Q tile of the wrong size was accepted";
  } catch (const gna::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q tile must hold 128"), std::string::npos) << e.what();
  }
}

// Offsets past int32: a 2048 x 2048 image with 9 heads of dim 64 is 2.4e9 elements (4.8 GB in bf16) per
// tensor. Window 7x7 keeps the work small; the output is poisoned, and the sampled rows (the last one, at
// the largest offsets, included) are checked against the fp64 spec. Opt-in: ~20 GB of device and host
// memory and about a minute of host time to fill the inputs.
void check_beyond_int32(const std::string& backend) {
  if (std::getenv("GNA_TEST_LARGE") == nullptr)
    GTEST_SKIP() << "set GNA_TEST_LARGE=1 to run the > 2^31-element case (needs ~20 GB of device memory)";
  Case c;
  c.name = "beyond-int32";
  c.problem = gna::make_problem({2048, 2048}, {7, 7});
  c.problem.heads = c.problem.kv_heads = 9;
  c.problem.dim_qk = c.problem.dim_v = 64;
  ASSERT_GT(c.problem.tokens() * c.problem.heads * c.problem.dim_qk, int64_t{1} << 31);
  const auto r = gna::testbed::bench_case(c, backend, /*warmup=*/0, /*reps=*/1, test_seed());
  EXPECT_GE(r.checked_queries, 48);
  EXPECT_LT(r.max_err, 3e-2) << backend << ": sampled rows of the > 2^31-element case are wrong";
  std::printf("[gna] %s: > 2^31 elements per tensor, %lld sampled rows, max error %.3g, %.2f ms\n", backend.c_str(),
              static_cast<long long>(r.checked_queries), r.max_err, r.kernel_ms);
}

TEST(Sm80Forward, BeyondInt32Elements) {
  REQUIRE_BACKEND("sm80");
  check_beyond_int32("sm80");
}

TEST(Sm90Forward, BeyondInt32Elements) {
  REQUIRE_BACKEND("sm90");
  check_beyond_int32("sm90");
}

TEST(Sm80Forward, ClearRejections) {
  REQUIRE_BACKEND("sm80");
  check_rejections("sm80");
}

TEST(Sm90Forward, HandPickedCases) {
  REQUIRE_BACKEND("sm90");
  run_cases("sm90", true);
}

TEST(Sm90Forward, RandomCases) {
  REQUIRE_BACKEND("sm90");
  run_cases("sm90", false);
}

// The same cases with the persistent grid capped at 3 blocks (GNA_SM90_GRID, read at every launch): each
// block then walks many Q tiles, so the cross-tile pipeline of the warp-specialized kernel (boundaries,
// deferred epilogue, state ring, padding tiles between real ones) runs in small problems too. With one
// block per SM most test cases give a block a single tile; a race there went unseen until a random case
// large enough for it came up.
TEST(Sm90Forward, FewBlocks) {
  REQUIRE_BACKEND("sm90");
  const char* before = std::getenv("GNA_SM90_GRID");
  const std::string saved = before ? before : "";
  setenv("GNA_SM90_GRID", "3", 1);
  run_cases("sm90", true);
  run_cases("sm90", false);
  if (before) setenv("GNA_SM90_GRID", saved.c_str(), 1);
  else unsetenv("GNA_SM90_GRID");
}

TEST(Sm90Forward, ClearRejections) {
  REQUIRE_BACKEND("sm90");
  check_rejections("sm90");
}

}  // namespace

namespace {

// The harness itself, on the CPU (runs in CI): every hand-picked case is valid and the reference backend
// passes its own check (poisoning, full-write detection, tolerances are sane).
TEST(Testbed, ReferencePassesHandPickedCases) {
  const auto cases = gna::testbed::case_list(test_seed(), 0, /*include_large=*/false);
  ASSERT_GE(cases.size(), 20u);
  for (const Case& c : cases) {
    if (c.problem.dim_qk > 128) continue;  // keep CI quick
    const auto r = gna::testbed::check_case(c, "reference", test_seed());
    EXPECT_TRUE(r.passed) << r.message;
    EXPECT_GT(r.out_tol, 0.0) << r.message;
  }
}

// The tolerance must catch a one-key mask error: dropping one key of a 7x7 window moves the output by
// far more than the tolerance.
TEST(Testbed, ToleranceCatchesAMissingKey) {
  Case c;
  c.problem = gna::make_problem({16, 16}, {7, 7});
  c.problem.heads = c.problem.kv_heads = 1;
  c.problem.dim_qk = c.problem.dim_v = 32;
  const auto r = gna::testbed::check_case(c, "reference", 7);
  ASSERT_TRUE(r.passed) << r.message;
  // One key of weight ~1/49 with a value ~0.5 away from the mean moves the output by ~1e-2.
  EXPECT_LT(r.out_tol, 4e-3) << r.message;
}

}  // namespace
