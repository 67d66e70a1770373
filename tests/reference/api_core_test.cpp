// tests/reference/api_core_test.cpp -- layer: tests (api core). Every validation rule of the public
// API (one test each, checking the message names the rule and the values), empty problems, merge()
// (spec s7), the fp16/bf16 conversions of gna/numeric.hpp, Problem helpers, presets and backend listing.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "gna/presets.hpp"
#include "ref_test_util.hpp"

namespace gna::test {
namespace {

// Runs fn, expects gna::Error whose message contains every part.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "message: " << msg << "\nmissing: " << part;
    return;
  }
  ADD_FAILURE() << "no gna::Error thrown; expected one containing '" << parts.front() << "'";
}

Problem base_problem() {
  Problem p = make_problem({6, 7}, {3, 4}, {1, 2});
  p.heads = 4;
  p.kv_heads = 2;
  p.dim_qk = 5;
  p.dim_v = 3;
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Problem::validate, one rule per test.

void expect_problem_error(const Problem& p, const std::vector<std::string>& parts) {
  expect_error([&] { p.validate(); }, parts);
}

TEST(ProblemValidate, AcceptsBase) { EXPECT_NO_THROW(base_problem().validate()); }
TEST(ProblemValidate, Rank) {
  Problem p = base_problem();
  p.rank = 4;
  expect_problem_error(p, {"rank 4 must be 1, 2 or 3"});
  p.rank = 0;
  expect_problem_error(p, {"rank 0 must be 1, 2 or 3"});
}
TEST(ProblemValidate, Batch) {
  Problem p = base_problem();
  p.batch = -1;
  expect_problem_error(p, {"batch -1 must be >= 0"});
}
TEST(ProblemValidate, HeadsNonNegative) {
  Problem p = base_problem();
  p.heads = -2;
  expect_problem_error(p, {"heads -2 must be >= 0"});
}
TEST(ProblemValidate, KvHeadsPositive) {
  Problem p = base_problem();
  p.kv_heads = 0;
  expect_problem_error(p, {"kv_heads 0 must be >= 1"});
}
TEST(ProblemValidate, HeadsDivisibleByKvHeads) {
  Problem p = base_problem();
  p.heads = 6;
  p.kv_heads = 4;
  expect_problem_error(p, {"heads 6 must be divisible by kv_heads 4"});
}
TEST(ProblemValidate, Dims) {
  Problem p = base_problem();
  p.dim_qk = 0;
  expect_problem_error(p, {"dim_qk 0 must be >= 1"});
  p = base_problem();
  p.dim_v = -3;
  expect_problem_error(p, {"dim_v -3 must be >= 1"});
}
TEST(ProblemValidate, ExtraKv) {
  Problem p = base_problem();
  p.extra_kv = -1;
  expect_problem_error(p, {"extra_kv -1 must be >= 0"});
}
TEST(ProblemValidate, ScaleFinite) {
  Problem p = base_problem();
  p.scale = std::numeric_limits<double>::quiet_NaN();
  expect_problem_error(p, {"scale", "must be finite"});
  p.scale = std::numeric_limits<double>::infinity();
  expect_problem_error(p, {"scale inf must be finite"});
}
TEST(ProblemValidate, Extent) {
  Problem p = base_problem();
  p.extent[1] = 0;
  expect_problem_error(p, {"axis 1: extent 0 must be >= 1"});
}
TEST(ProblemValidate, WindowAtLeastTwo) {
  Problem p = make_problem({8, 8, 8}, {3, 3, 1});
  expect_problem_error(p, {"axis 2: window 1 must be >= 2"});
}
TEST(ProblemValidate, Dilation) {
  Problem p = base_problem();
  p.dilation[0] = 0;
  expect_problem_error(p, {"axis 0: dilation 0 must be >= 1"});
}
TEST(ProblemValidate, StrideRange) {
  Problem p = make_problem({10}, {4}, {5});
  expect_problem_error(p, {"axis 0: stride 5 must be in [1, window 4]"});
  p.stride[0] = 0;
  expect_problem_error(p, {"axis 0: stride 0 must be in [1, window 4]"});
}
TEST(ProblemValidate, WindowTimesDilationWithinExtent) {
  Problem p = make_problem({40, 30}, {3, 9}, {1, 1}, {1, 4});
  expect_problem_error(p, {"axis 1: window 9 * dilation 4 = 36 exceeds extent 30"});
  Problem q = make_problem({5}, {6});
  expect_problem_error(q, {"axis 0: window 6 * dilation 1 = 6 exceeds extent 5"});
}
TEST(ProblemValidate, SizeOverflow) {
  Problem p = make_problem({1 << 20, 1 << 20, 1 << 20}, {2});
  expect_problem_error(p, {"overflows int64"});
}
TEST(ProblemValidate, EmptyHeadsAllowed) {
  Problem p = base_problem();
  p.heads = 0;
  p.kv_heads = 0;
  EXPECT_NO_THROW(p.validate());
  p.batch = 0;
  EXPECT_NO_THROW(p.validate());
}

// ---------------------------------------------------------------------------------------------------
// Tensor validation in forward/backward.

struct Fixture {
  Problem p = base_problem();
  ForwardCase c{p, DType::f32};
  ForwardTensors t = c.tensors();
  Options o;
  Fixture() { o.backend = "reference"; }
  void call() { forward(p, t, o); }
};

TEST(ForwardValidate, AcceptsValid) {
  Fixture f;
  EXPECT_NO_THROW(f.call());
}
TEST(ForwardValidate, Ndim) {
  Fixture f;
  f.t.q.ndim = 4;
  expect_error([&] { f.call(); }, {"q: expected 5 dimensions [batch, axis 0, axis 1, heads, head dim], got 4"});
}
TEST(ForwardValidate, DimMismatchNamesTensorDimAndValues) {
  Fixture f;
  f.t.k.shape[3] = 3;
  expect_error([&] { f.call(); }, {"k: dim 3 (heads) is 3, expected kv_heads 2"});
  Fixture g;
  g.t.q.shape[1] = 5;
  expect_error([&] { g.call(); }, {"q: dim 1 (axis 0) is 5, expected extent[0] 6"});
  Fixture h;
  h.t.v.shape[4] = 5;
  expect_error([&] { h.call(); }, {"v: dim 4 (head dim) is 5, expected dim_v 3"});
  Fixture i;
  i.t.out.shape[0] = 2;
  expect_error([&] { i.call(); }, {"out: dim 0 (batch) is 2, expected batch 1"});
  Fixture j;
  j.t.lse.shape[3] = 2;
  expect_error([&] { j.call(); }, {"lse: dim 3 (heads) is 2, expected heads 4"});
}
TEST(ForwardValidate, DtypeEqual) {
  Fixture f;
  f.t.v.dtype = DType::f16;
  expect_error([&] { f.call(); }, {"v: dtype fp16 differs from q's dtype fp32"});
}
TEST(ForwardValidate, LseMustBeFp32) {
  Fixture f;
  f.t.lse.dtype = DType::f64;
  expect_error([&] { f.call(); }, {"lse: dtype fp64 must be fp32"});
}
TEST(ForwardValidate, DeviceEqual) {
  Fixture f;
  f.t.out.device = DeviceKind::cuda;
  expect_error([&] { f.call(); }, {"out: device cuda:0 differs from q's device cpu"});
  Fixture g;
  for (TensorView* x : {&g.t.q, &g.t.k, &g.t.v, &g.t.out, &g.t.lse}) x->device = DeviceKind::cuda;
  g.t.lse.device_index = 1;
  expect_error([&] { g.call(); }, {"lse: device cuda:1 differs from q's device cuda:0"});
}
TEST(ForwardValidate, UnitLastStride) {
  Fixture f;
  f.t.q.stride[4] = 3;
  expect_error([&] { f.call(); }, {"q: last dimension must have unit stride, got stride 3"});
}
TEST(ForwardValidate, NullData) {
  Fixture f;
  f.t.v.data = nullptr;
  expect_error([&] { f.call(); }, {"v: data is null but the tensor has 252 elements"});
}
TEST(ForwardValidate, OverlappingOutput) {
  Fixture f;
  f.t.out.stride[1] = 0;
  expect_error([&] { f.call(); }, {"out: dim 1 (axis 0) has stride 0"});
}
TEST(ForwardValidate, ExtraKvBothOrNeither) {
  Problem p = base_problem();
  p.extra_kv = 3;
  ForwardCase c(p, DType::f32);
  ForwardTensors t = c.tensors();
  t.extra_v = TensorView{};
  expect_error([&] { forward(p, t); }, {"extra_k is given but extra_v is not"});
  t = c.tensors();
  t.extra_k = TensorView{};
  expect_error([&] { forward(p, t); }, {"extra_v is given but extra_k is not"});
  t = c.tensors();
  t.extra_k = t.extra_v = TensorView{};
  expect_error([&] { forward(p, t); }, {"problem.extra_kv is 3 but extra_k/extra_v were not given"});
  t = c.tensors();
  t.extra_k.shape[1] = 2;
  expect_error([&] { forward(p, t); }, {"extra_k: dim 1 (tokens) is 2, expected extra_kv 3"});
  Problem p0 = base_problem();  // extra tensors given but problem.extra_kv == 0
  expect_error([&] { forward(p0, c.tensors()); }, {"extra_k: dim 1 (tokens) is 3, expected extra_kv 0"});
  t = c.tensors();
  t.extra_v.dtype = DType::bf16;
  expect_error([&] { forward(p, t); }, {"extra_v: dtype bf16 differs from q's dtype fp32"});
}
TEST(ForwardValidate, OptionsAndBackendNames) {
  Fixture f;
  f.o.num_threads = -1;
  expect_error([&] { f.call(); }, {"options.num_threads -1 must be >= 0"});
  Fixture g;
  g.o.backend = "warp9";
  expect_error([&] { g.call(); }, {"unknown backend 'warp9'; available: ", "reference"});
  Fixture h;
  h.o.q_tile[1] = -4;
  expect_error([&] { h.call(); }, {"options.q_tile[1] -4 must be >= 0"});
}
TEST(ForwardValidate, ProblemErrorsComeFirst) {
  Fixture f;
  f.p.stride[1] = 9;
  expect_error([&] { f.call(); }, {"axis 1: stride 9 must be in [1, window 4]"});
}
TEST(ForwardValidate, NoBackendForDeviceTensors) {
  Fixture f;
  for (TensorView* x : {&f.t.q, &f.t.k, &f.t.v, &f.t.out, &f.t.lse}) x->device = DeviceKind::cuda;
  expect_error([&] { f.call(); }, {"backend 'reference' cannot run this forward call: reference runs on host tensors only"});
  f.o.backend = "auto";
  // With CUDA backends compiled in they may accept; without, the error lists each backend's reason.
  if (list_backends().front().name == "reference" || !list_backends().front().available)
    expect_error([&] { f.call(); }, {"no backend can run this forward call", "reference: reference runs on host tensors only"});
}
TEST(ForwardValidate, OutputsUntouchedOnError) {
  Fixture f;
  f.c.out.fill(7.0);
  f.t.k.shape[2] = 99;
  expect_error([&] { f.call(); }, {"k: dim 2 (axis 1) is 99, expected extent[1] 7"});
  for (int64_t i = 0; i < f.c.out.numel(); ++i) ASSERT_EQ(f.c.out.get(i), 7.0);
}

TEST(BackwardValidate, Rules) {
  Problem p = base_problem();
  p.extra_kv = 2;
  ForwardCase c(p, DType::f32);
  HostTensor dout(DType::f32, grid_shape(p, p.heads, p.dim_v)), dq(DType::f32, grid_shape(p, p.heads, p.dim_qk)),
      dk(DType::f32, grid_shape(p, p.kv_heads, p.dim_qk)), dv(DType::f32, grid_shape(p, p.kv_heads, p.dim_v)),
      dek(DType::f32, {1, 2, 2, 5}), dev(DType::f32, {1, 2, 2, 3});
  auto make = [&] {
    BackwardTensors t;
    const ForwardTensors f = c.tensors();
    t.q = f.q; t.k = f.k; t.v = f.v; t.out = f.out; t.lse = f.lse; t.extra_k = f.extra_k; t.extra_v = f.extra_v;
    t.dout = dout.view; t.dq = dq.view; t.dk = dk.view; t.dv = dv.view; t.dextra_k = dek.view; t.dextra_v = dev.view;
    return t;
  };
  EXPECT_NO_THROW(backward(p, make()));
  BackwardTensors t = make();
  t.lse = TensorView{};
  expect_error([&] { backward(p, t); }, {"lse: required by backward"});
  t = make();
  t.dk.shape[3] = 4;
  expect_error([&] { backward(p, t); }, {"dk: dim 3 (heads) is 4, expected kv_heads 2"});
  t = make();
  t.dout.shape[4] = 5;
  expect_error([&] { backward(p, t); }, {"dout: dim 4 (head dim) is 5, expected dim_v 3"});
  t = make();
  t.dq.dtype = DType::f64;
  expect_error([&] { backward(p, t); }, {"dq: dtype fp64 differs from q's dtype fp32"});
  t = make();
  t.dextra_v = TensorView{};
  expect_error([&] { backward(p, t); }, {"dextra_v: required when extra_k/extra_v are given"});
  t = make();
  t.dextra_k.shape[3] = 3;
  expect_error([&] { backward(p, t); }, {"dextra_k: dim 3 (head dim) is 3, expected dim_qk 5"});
  t = make();
  t.dv.stride[4] = 2;
  expect_error([&] { backward(p, t); }, {"dv: last dimension must have unit stride, got stride 2"});
  Problem p0 = base_problem();
  t = make();
  t.extra_k = t.extra_v = TensorView{};
  expect_error([&] { backward(p0, t); }, {"dextra_k: given but extra_k/extra_v are not"});
}

TEST(ApiEmpty, EmptyBatchOrHeadsIsNoOp) {
  for (int which = 0; which < 2; ++which) {
    Problem p = base_problem();
    if (which == 0) p.batch = 0;
    else p.heads = p.kv_heads = 0;
    ForwardCase c(p, DType::f16);
    ForwardTensors t = c.tensors();
    for (TensorView* x : {&t.q, &t.k, &t.v, &t.out, &t.lse}) x->data = nullptr;  // no elements: allowed
    EXPECT_NO_THROW(forward(p, t));
    BackwardTensors b;
    b.q = t.q; b.k = t.k; b.v = t.v; b.out = t.out; b.lse = t.lse; b.dout = t.out; b.dq = t.q; b.dk = t.k; b.dv = t.v;
    EXPECT_NO_THROW(backward(p, b));
  }
}

// ---------------------------------------------------------------------------------------------------
// merge (spec s7)

TEST(Merge, MatchesFormulaAndAllowsAliasing) {
  std::mt19937_64 rng(7);
  const std::vector<int64_t> oshape{2, 5, 3, 4}, lshape{2, 5, 3};
  for (DType dt : {DType::f64, DType::f32, DType::bf16}) {
    HostTensor o0(dt, oshape), o1(dt, oshape), out(dt, oshape), l0(DType::f32, lshape), l1(DType::f32, lshape),
        lo(DType::f32, lshape);
    o0.fill_random(rng);
    o1.fill_random(rng);
    l0.fill_random(rng, -3, 3);
    l1.fill_random(rng, -3, 3);
    l0.set(4, -INFINITY);  // one side empty: the other side passes through
    merge(o0.view, l0.view, o1.view, l1.view, out.view, lo.view);
    for (int64_t r = 0; r < l0.numel(); ++r) {
      const double a = l0.get(r), b = l1.get(r), m = std::max(a, b);
      const double l = m + std::log(std::exp(a - m) + std::exp(b - m));
      ASSERT_NEAR(lo.get(r), l, 1e-6 * (1 + std::abs(l)));
      for (int64_t j = 0; j < 4; ++j) {
        const double want = std::exp(a - l) * o0.get(r * 4 + j) + std::exp(b - l) * o1.get(r * 4 + j);
        ASSERT_NEAR(out.get(r * 4 + j), want, storage_eps(dt) * 2);
      }
    }
    EXPECT_EQ(out.get(4 * 4 + 1), o1.get(4 * 4 + 1));
    // In place: out = o0, lse_out = lse0.
    merge(o0.view, l0.view, o1.view, l1.view, o0.view, l0.view);
    for (int64_t i = 0; i < out.numel(); ++i) ASSERT_EQ(o0.get(i), out.get(i));
    for (int64_t i = 0; i < lo.numel(); ++i) ASSERT_EQ(l0.get(i), lo.get(i));
  }
}
TEST(Merge, BothEmptyGivesZeroAndMinusInf) {
  HostTensor o0(DType::f32, {1, 2}), o1(DType::f32, {1, 2}), out(DType::f32, {1, 2}), l0(DType::f32, {1}),
      l1(DType::f32, {1}), lo(DType::f32, {1});
  o0.fill(NAN);
  o1.fill(3);
  l0.fill(-INFINITY);
  l1.fill(-INFINITY);
  merge(o0.view, l0.view, o1.view, l1.view, out.view, lo.view);
  EXPECT_EQ(out.get(0), 0.0);
  EXPECT_EQ(lo.get(0), -INFINITY);
}
TEST(Merge, Validation) {
  HostTensor o0(DType::f32, {2, 3, 4}), o1(DType::f32, {2, 3, 4}), out(DType::f32, {2, 3, 4}),
      l0(DType::f32, {2, 3}), l1(DType::f32, {2, 3}), lo(DType::f32, {2, 3}), bad(DType::f32, {2, 4, 4}),
      l64(DType::f64, {2, 3});
  expect_error([&] { merge(o0.view, l0.view, bad.view, l1.view, out.view, lo.view); },
               {"merge: o1: dim 1 is 4, expected 3 (from o0)"});
  expect_error([&] { merge(o0.view, l64.view, o1.view, l1.view, out.view, lo.view); },
               {"merge: lse0: dtype fp64 must be fp32"});
  expect_error([&] { merge(o0.view, l0.view, o1.view, o0.view, out.view, lo.view); },
               {"merge: lse1 must have 2 dimensions"});
  TensorView dev = out.view;
  dev.device = DeviceKind::cuda;
  expect_error([&] { merge(o0.view, l0.view, o1.view, l1.view, dev, lo.view); },
               {"merge: out is on cuda:0; merge runs on host tensors only"});
  TensorView strided = o1.view;
  strided.stride[2] = 2;
  expect_error([&] { merge(o0.view, l0.view, strided, l1.view, out.view, lo.view); },
               {"merge: o1: last dimension must have unit stride, got stride 2"});
  HostTensor o16(DType::f16, {2, 3, 4});
  expect_error([&] { merge(o0.view, l0.view, o16.view, l1.view, out.view, lo.view); },
               {"merge: o1: dtype fp16 differs from o0's fp32"});
}

// ---------------------------------------------------------------------------------------------------
// numeric.hpp

TEST(Numeric, Fp16RoundTripExhaustive) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = fp16_to_float(static_cast<uint16_t>(b));
    const bool nan = ((b >> 10) & 0x1f) == 0x1f && (b & 0x3ff);
    if (nan) {
      ASSERT_TRUE(std::isnan(f)) << b;
      ASSERT_TRUE(std::isnan(fp16_to_float(float_to_fp16(f)))) << b;
    } else {
      ASSERT_EQ(float_to_fp16(f), b) << b;
    }
  }
  EXPECT_EQ(fp16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(fp16_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(fp16_to_float(0xfc00), -INFINITY);
}
TEST(Numeric, Fp16RoundsToNearestEven) {
  EXPECT_EQ(float_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_fp16(65520.0f), 0x7c00);         // tie at the top rounds to even = Inf
  EXPECT_EQ(float_to_fp16(1e9f), 0x7c00);
  EXPECT_EQ(float_to_fp16(-1e9f), 0xfc00);
  EXPECT_EQ(float_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie -> even
  EXPECT_EQ(float_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(float_to_fp16(std::ldexp(1.0f, -25)), 0x0000);             // tie between 0 and min subnormal
  EXPECT_EQ(float_to_fp16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(float_to_fp16(std::ldexp(3.0f, -25)), 0x0002);             // 1.5 * 2^-24: tie -> even
  EXPECT_EQ(float_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_fp16(INFINITY), 0x7c00);
  EXPECT_TRUE(std::isnan(fp16_to_float(float_to_fp16(NAN))));
  EXPECT_TRUE(std::isnan(fp16_to_float(float_to_fp16(bits_float(0x7f800001u)))));  // tiny payload stays NaN
  // Random floats: the result is a nearest fp16, ties to even.
  std::mt19937 rng(3);
  for (int i = 0; i < 300000; ++i) {
    const float f = bits_float((rng() & 0x7fffffffu) % 0x47800000u);  // [0, 65536)
    const uint16_t h = float_to_fp16(f);
    const double v = fp16_to_float(h), err = std::abs(double(f) - v);
    const double lo = h > 0 ? fp16_to_float(h - 1) : -1.0, hi = fp16_to_float(h + 1);
    ASSERT_LE(err, std::abs(double(f) - lo)) << f;
    ASSERT_LE(err, std::abs(double(f) - hi)) << f;
    if (err == std::abs(double(f) - lo) || err == std::abs(double(f) - hi)) {
      ASSERT_EQ(h & 1, 0) << f;
    }
  }
}
TEST(Numeric, Bf16) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = bf16_to_float(static_cast<uint16_t>(b));
    if (std::isnan(f)) ASSERT_TRUE(std::isnan(bf16_to_float(float_to_bf16(f))));
    else ASSERT_EQ(float_to_bf16(f), b);
  }
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(bits_float(0x7f800001u)))));
  EXPECT_EQ(float_to_bf16(-INFINITY), 0xff80);
  std::mt19937 rng(5);
  for (int i = 0; i < 300000; ++i) {
    const float f = bits_float(rng() % 0x7f000000u);
    const uint16_t h = float_to_bf16(f);
    const double v = bf16_to_float(h), err = std::abs(double(f) - v);
    const double lo = h > 0 ? bf16_to_float(h - 1) : -1.0, hi = bf16_to_float(h + 1);
    ASSERT_LE(err, std::abs(double(f) - lo)) << f;
    ASSERT_LE(err, std::abs(double(f) - hi)) << f;
    if (err == std::abs(double(f) - lo) || err == std::abs(double(f) - hi)) {
      ASSERT_EQ(h & 1, 0) << f;
    }
  }
}
TEST(Numeric, ScalarLoadStore) {
  for (DType t : {DType::f64, DType::f32, DType::f16, DType::bf16}) {
    std::vector<unsigned char> buf(64);
    store_scalar(buf.data(), t, 3, 0.1);
    EXPECT_EQ(load_scalar(buf.data(), t, 3), round_to_dtype(0.1, t)) << dtype_name(t);
  }
}

// ---------------------------------------------------------------------------------------------------
// Problem helpers, tensor helpers, presets, backends.

TEST(ProblemHelpers, AttendedPairsAndFlops) {
  Problem p = make_problem({10, 12}, {4, 5}, {3, 2}, {2, 1});
  p.heads = 3;
  p.kv_heads = 1;
  p.batch = 2;
  p.dim_qk = 16;
  p.dim_v = 8;
  EXPECT_EQ(p.tokens(), 120);
  EXPECT_EQ(p.attended_pairs_per_head(), 120 * 20);
  p.extra_kv = 7;
  EXPECT_EQ(p.attended_pairs_per_head(), 120 * 20 + 120 * 7);
  EXPECT_DOUBLE_EQ(p.forward_flops(), 2.0 * 2 * 3 * (16 + 8) * (120 * 20 + 120 * 7));
  // Causal: brute force count of pairs.
  p.extra_kv = 0;
  p.is_causal = {true, false, false};
  na::AxisSpec axes[kMaxRank] = {p.axis(0), p.axis(1)};
  int64_t pairs = 0;
  for (int64_t i = 0; i < 120; ++i)
    for (int64_t j = 0; j < 120; ++j) {
      int64_t ci[kMaxRank], cj[kMaxRank];
      coords(p, i, ci);
      coords(p, j, cj);
      pairs += na::attends(ci, cj, axes, 2);
    }
  EXPECT_EQ(p.attended_pairs_per_head(), pairs);
}
TEST(ProblemHelpers, DescribeAndMakeProblem) {
  Problem p = make_problem({30, 40}, {5}, {1, 2}, {}, {1, 0});
  EXPECT_EQ(p.rank, 2);
  EXPECT_EQ(p.window[1], 5);
  EXPECT_EQ(p.stride[1], 2);
  EXPECT_EQ(p.dilation[0], 1);
  EXPECT_TRUE(p.is_causal[0]);
  EXPECT_FALSE(p.is_causal[1]);
  const std::string d = p.describe();
  for (const char* part : {"X=[30, 40]", "window=[5, 5]", "stride=[1, 2]", "causal=[1, 0]"})
    EXPECT_NE(d.find(part), std::string::npos) << d;
  EXPECT_EQ(make_problem({9, 9}, {}).window[1], 9);  // no window: full attention
  expect_error([] { make_problem({8, 8, 8}, {3, 3}); }, {"window has 2 values; expected 1 or 3"});
  expect_error([] { make_problem({1, 2, 3, 4}, {2}); }, {"shape has 4 axes; rank must be 1, 2 or 3"});
}
TEST(TensorHelpers, MakeViewAndShapeStr) {
  float buf[24];
  const TensorView t = make_view(buf, DType::f32, {2, 3, 4});
  EXPECT_EQ(t.shape_str(), "[2, 3, 4]");
  EXPECT_EQ(t.stride[0], 12);
  EXPECT_EQ(t.stride[1], 4);
  EXPECT_EQ(t.stride[2], 1);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.numel(), 24);
  expect_error([&] { make_view(buf, DType::f32, {1, 1, 1, 1, 1, 1, 1}); }, {"7 dimensions exceed the maximum 6"});
}
TEST(Presets, KnownAndUnknown) {
  const Problem p = preset_problem("hunyuan-gna");
  EXPECT_EQ(p.rank, 3);
  EXPECT_EQ(p.extent[2], 80);
  EXPECT_EQ(p.window[0], 18);
  EXPECT_EQ(p.stride[1], 8);
  EXPECT_EQ(p.heads, 24);
  EXPECT_EQ(p.kv_heads, 24);
  EXPECT_EQ(p.dim_v, 128);
  for (const Preset& pr : presets()) EXPECT_NO_THROW(preset_problem(pr.name).validate()) << pr.name;
  expect_error([] { preset_problem("nope"); }, {"unknown preset 'nope'", "flux-na", "small-2d"});
}
TEST(Backends, ListSelectVersion) {
  bool found = false;
  for (const BackendInfo& b : list_backends())
    if (b.name == "reference") {
      found = true;
      EXPECT_TRUE(b.available);
      EXPECT_TRUE(b.has_backward);
    }
  EXPECT_TRUE(found);
  Fixture f;
  EXPECT_EQ(select_backend(f.p, f.t, f.o), "reference");
  f.o.backend = "auto";
  EXPECT_FALSE(select_backend(f.p, f.t, f.o).empty());
  EXPECT_EQ(std::string(version()), GNA_VERSION);
  EXPECT_NE(build_info().find(std::string("gna ") + GNA_VERSION), std::string::npos);
  EXPECT_NE(build_info().find("reference"), std::string::npos);
}

}  // namespace
}  // namespace gna::test
