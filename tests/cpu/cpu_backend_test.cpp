// tests/cpu/cpu_backend_test.cpp -- layer: tests (cpu backend). The "cpu" backend against the fp64
// reference: the shared testbed case list (bf16/fp16, hand-picked hard cases + random ones), direct
// comparisons for what that list does not cover (fp32 and fp64 storage, padded and heads-major strides,
// Dv != Dqk, GQA/MQA, extra KV, explicit scale, thread counts), and the selection / rejection rules
// ("auto" on host picks cpu; device tensors and backward are refused with a reason).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gna/api.hpp"
#include "reference/ref_test_util.hpp"
#include "testbed/testbed.hpp"

namespace {

using gna::DType;
using gna::Problem;
using gna::test::ForwardCase;
using gna::test::Layout;

// Random cases after the hand-picked ones; sized so the whole test stays well under a minute on 2 cores
// (the fp64 reference of each case dominates the time).
constexpr int kRandomCases = 100;
constexpr uint64_t kSeed = 20261126;

TEST(CpuBackend, SharedCaseList) {
  const auto cases = gna::testbed::case_list(kSeed, kRandomCases, /*include_large=*/false);
  ASSERT_FALSE(cases.empty());
  int run = 0;
  for (const auto& c : cases) {
    // The cpu backend accepts every dtype the list uses (bf16, fp16), so no case is skipped.
    const auto r = gna::testbed::check_case(c, "cpu", kSeed);
    EXPECT_TRUE(r.passed) << c.name << " (seed " << kSeed << "): " << r.message << " out_err " << r.out_err
                          << " tol " << r.out_tol << " lse_err " << r.lse_err << " tol " << r.lse_tol
                          << " unwritten " << r.unwritten;
    ++run;
  }
  EXPECT_EQ(run, static_cast<int>(cases.size()));
}

// Runs the same inputs through "reference" and "cpu" and returns the max abs differences of O and LSE.
struct Diff {
  double out = 0, lse = 0;
};
Diff compare_with_reference(const Problem& p, DType dtype, Layout layout, uint64_t seed, int threads) {
  ForwardCase c(p, dtype, layout);
  std::mt19937_64 rng(seed);
  c.randomize(rng);
  c.run("reference");
  const std::vector<double> o_ref = c.out.values(), l_ref = c.lse.values();
  c.out.fill(std::nan(""));
  c.lse.fill(std::nan(""));
  c.run("cpu", threads);
  const std::vector<double> o = c.out.values(), l = c.lse.values();
  Diff d;
  for (size_t i = 0; i < o.size(); ++i) d.out = std::max(d.out, std::isnan(o[i]) ? 1e30 : std::abs(o[i] - o_ref[i]));
  for (size_t i = 0; i < l.size(); ++i) d.lse = std::max(d.lse, std::isnan(l[i]) ? 1e30 : std::abs(l[i] - l_ref[i]));
  return d;
}

struct DirectCase {
  const char* name;
  Problem p;
};

std::vector<DirectCase> direct_cases() {
  std::vector<DirectCase> v;
  auto add = [&](const char* name, Problem p, int64_t heads, int64_t kv_heads, int64_t dqk, int64_t dv,
                 int64_t extra, int64_t batch) {
    p.heads = heads;
    p.kv_heads = kv_heads;
    p.dim_qk = dqk;
    p.dim_v = dv;
    p.extra_kv = extra;
    p.batch = batch;
    v.push_back({name, p});
  };
  add("1d-dv!=dqk-gqa", gna::make_problem({37}, {6}, {2}, {2}, {0}), 4, 2, 40, 24, 0, 2);
  add("2d-causal-dilated-extra", gna::make_problem({11, 13}, {3, 4}, {1, 3}, {2, 3}, {1, 0}), 3, 1, 64, 96, 5, 1);
  add("3d-mixed", gna::make_problem({5, 6, 7}, {2, 3, 4}, {2, 1, 4}, {1, 2, 1}, {1, 0, 1}), 2, 2, 32, 32, 0, 2);
  add("2d-full-window", gna::make_problem({8, 9}, {8, 9}), 2, 1, 16, 17, 3, 1);
  add("1d-odd-dims", gna::make_problem({50}, {7}, {7}), 2, 2, 3, 5, 2, 1);
  Problem s = gna::make_problem({9, 10}, {5, 3});
  s.scale = 0.37;
  add("2d-explicit-scale", s, 2, 2, 64, 64, 1, 1);
  return v;
}

TEST(CpuBackend, Fp32MatchesReference) {
  uint64_t seed = kSeed;
  for (const auto& c : direct_cases())
    for (Layout layout : {Layout::contiguous, Layout::padded, Layout::heads_major}) {
      const Diff d = compare_with_reference(c.p, DType::f32, layout, ++seed, 2);
      EXPECT_LT(d.out, 2e-5) << c.name << " layout " << int(layout) << " seed " << seed;
      EXPECT_LT(d.lse, 2e-5) << c.name << " layout " << int(layout) << " seed " << seed;
    }
}

TEST(CpuBackend, Fp64UsesDoubleAccumulation) {
  uint64_t seed = kSeed + 100;
  for (const auto& c : direct_cases()) {
    const Diff d = compare_with_reference(c.p, DType::f64, Layout::padded, ++seed, 3);
    EXPECT_LT(d.out, 1e-12) << c.name << " seed " << seed;
    EXPECT_LT(d.lse, 2e-6) << c.name << " seed " << seed;  // LSE is stored as fp32
  }
}

TEST(CpuBackend, LowPrecisionMatchesReferenceWithStrides) {
  uint64_t seed = kSeed + 200;
  for (const auto& c : direct_cases())
    for (DType t : {DType::bf16, DType::f16}) {
      const Diff d = compare_with_reference(c.p, t, Layout::heads_major, ++seed, 1);
      // One rounding of O to the storage dtype (|O| <= 1): half an ulp of bf16 / fp16 at 1, doubled.
      EXPECT_LT(d.out, t == DType::bf16 ? 8e-3 : 1e-3) << c.name << " " << gna::dtype_name(t) << " seed " << seed;
      EXPECT_LT(d.lse, 2e-5) << c.name << " seed " << seed;
    }
}

TEST(CpuBackend, ThreadCountDoesNotChangeResults) {
  const Problem p = direct_cases()[1].p;
  ForwardCase c(p, DType::f32);
  std::mt19937_64 rng(kSeed);
  c.randomize(rng);
  c.run("cpu", 1);
  const auto o1 = c.out.values();
  for (int threads : {0, 2, 7}) {
    c.out.fill(0);
    c.run("cpu", threads);
    EXPECT_EQ(c.out.values(), o1) << "threads " << threads;  // tasks are independent: bitwise equal
  }
}

Problem small_problem() {
  Problem p = gna::make_problem({6, 6}, {3, 3});
  p.heads = p.kv_heads = 2;
  p.dim_qk = p.dim_v = 8;
  return p;
}

TEST(CpuBackend, AutoPicksCpuOnHost) {
  const Problem p = small_problem();
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::f64}) {
    ForwardCase c(p, t);
    EXPECT_EQ(gna::select_backend(p, c.tensors()), "cpu") << gna::dtype_name(t);
  }
  bool listed = false;
  for (const auto& b : gna::list_backends())
    if (b.name == "cpu") {
      listed = true;
      EXPECT_TRUE(b.available);
      EXPECT_FALSE(b.has_backward);
    }
  EXPECT_TRUE(listed);
}

TEST(CpuBackend, RefusesDeviceTensors) {
  const Problem p = small_problem();
  ForwardCase c(p, DType::bf16);
  gna::ForwardTensors t = c.tensors();
  for (gna::TensorView* x : {&t.q, &t.k, &t.v, &t.out, &t.lse}) x->device = gna::DeviceKind::cuda;
  gna::Options o;
  o.backend = "cpu";
  try {
    gna::forward(p, t, o);
    FAIL() << "cpu accepted device tensors";
  } catch (const gna::Error& e) {
    EXPECT_NE(std::string(e.what()).find("backend 'cpu' cannot run this forward call: cpu runs on host tensors only"),
              std::string::npos)
        << e.what();
  }
}

TEST(CpuBackend, RefusesBackwardAndAutoFallsThroughToReference) {
  const Problem p = small_problem();
  ForwardCase c(p, DType::f32);
  std::mt19937_64 rng(kSeed);
  c.randomize(rng);
  c.run("cpu");
  using gna::test::HostTensor;
  HostTensor dout(DType::f32, gna::test::grid_shape(p, p.heads, p.dim_v));
  HostTensor dq(DType::f32, gna::test::grid_shape(p, p.heads, p.dim_qk));
  HostTensor dk(DType::f32, gna::test::grid_shape(p, p.kv_heads, p.dim_qk));
  HostTensor dv(DType::f32, gna::test::grid_shape(p, p.kv_heads, p.dim_v));
  dout.fill_random(rng);
  gna::BackwardTensors b;
  b.q = c.q.view;
  b.k = c.k.view;
  b.v = c.v.view;
  b.out = c.out.view;
  b.lse = c.lse.view;
  b.dout = dout.view;
  b.dq = dq.view;
  b.dk = dk.view;
  b.dv = dv.view;
  gna::Options o;
  o.backend = "cpu";
  try {
    gna::backward(p, b, o);
    FAIL() << "cpu accepted a backward call";
  } catch (const gna::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cpu has no backward; use the reference backend"), std::string::npos)
        << e.what();
  }
  o.backend = "auto";
  dq.fill(std::nan(""));
  EXPECT_NO_THROW(gna::backward(p, b, o));
  for (double x : dq.values()) ASSERT_FALSE(std::isnan(x));  // the reference ran
}

}  // namespace
