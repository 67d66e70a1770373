// src/testbed/testbed.hpp -- layer: test harness (library gna_testbed). The ONE harness and case list that
// the GPU tests (tests/cuda), `gna check` and `gna bench` share.
//
// A Case is a problem + dtype + optional tile shapes. check_case() draws fresh random inputs, poisons the
// outputs (NaN) before the run, runs the named backend (device buffers for CUDA backends), verifies every
// output element was written, and compares O and LSE with the reference computed in fp64 from the same
// (rounded) inputs. Tolerance is relative to the error of a naive low-precision implementation (the fp64
// result rounded to the storage dtype, plus the rounding of P to the storage dtype), see docs/numerics.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/api.hpp"

namespace gna::testbed {

struct Case {
  std::string name;
  Problem problem;
  DType dtype = DType::bf16;
  std::array<int64_t, kMaxRank> q_tile{};   // zeros: backend's choice
  std::array<int64_t, kMaxRank> kv_tile{};
};

// Hand-picked hard cases (tile boundaries, dilation with indivisible extents, K = L, S = K, mixed causal,
// per-axis tile extent 1, GQA 2/3/4, extra KV 0/1/77, head dims 32..256, batch x heads > 65535) followed
// by `random_cases` random ones drawn from `seed`. Every case is small enough for the fp64 reference.
std::vector<Case> case_list(uint64_t seed, int random_cases, bool include_large = true);

struct CheckResult {
  bool passed = false;
  double out_err = 0, out_tol = 0;   // max |O - O_ref| over every element, and the tolerance (on the
                                     // sampled rows; 2x it elsewhere, see check_case)
  double lse_err = 0, lse_tol = 0;   // max |LSE - LSE_ref| over every row
  int64_t unwritten = 0;             // outputs still NaN (poison) after the run
  double ms = 0;                     // wall time of the backend call (device-synchronised)
  std::string message;               // what failed, with the seed
};

// Runs one case on `backend` ("sm80", "reference", ...). Inputs from `seed`. Never throws for a wrong
// result (passed = false); throws gna::Error when the backend rejects the case.
CheckResult check_case(const Case& c, const std::string& backend, uint64_t seed);

struct BenchResult {
  double kernel_ms = 0;   // median over reps, CUDA events
  double layout_ms = 0;   // token layout work (0: tiles are loaded in place)
  double total_ms = 0;
  double eff_tflops = 0;  // Problem::forward_flops() / total
  double max_err = 0;     // sampled check against an fp64 evaluation of the spec
  int64_t checked_queries = 0;
  std::string device;
};

// Times `reps` forward calls after `warmup` and `sustain_s` seconds of back-to-back calls (CUDA backends
// only; time_device_calls), then verifies sampled queries.
BenchResult bench_case(const Case& c, const std::string& backend, int warmup, int reps, uint64_t seed,
                       double sustain_s = 0);

// Name of CUDA device 0, or "" when there is none (or CUDA is not built).
std::string cuda_device_name();

}  // namespace gna::testbed
