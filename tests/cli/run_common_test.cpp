// tests/cli/run_common_test.cpp -- layer: CLI tests. The sampled fp64 check that decides `gna run`'s
// "verified" (forward) and `gna backward`'s (gradients): each accepts the library's result and rejects
// results that are wrong in one element, in LSE, or computed with a different neighborhood.
#include <gtest/gtest.h>

#include <cmath>

#include "gna/numeric.hpp"
#include "run_common.hpp"

namespace gna::cli {
namespace {

struct Case {
  Problem p;
  ForwardInputs in;
  NpyArray out, lse;
};

Case computed(const Problem& p, DType t) {
  Case c{p, random_inputs(p, t, 3), make_array(t, o_shape(p)), make_array(DType::f32, lse_shape(p))};
  forward(p, forward_views(c.in, &c.out, &c.lse), Options{});
  return c;
}

Problem small() {
  Problem p = make_problem({9, 7}, {4, 3}, {2, 1}, {2, 1}, {0, 1});
  p.heads = 4, p.kv_heads = 2, p.dim_qk = 8, p.dim_v = 6, p.batch = 2, p.extra_kv = 2;
  return p;
}

TEST(Check, AcceptsTheLibraryResult) {
  for (DType t : {DType::f64, DType::f32, DType::f16, DType::bf16}) {
    Case c = computed(small(), t);
    const CheckResult r = check_forward(c.p, forward_views(c.in, &c.out, &c.lse), t, 1000, 0);
    EXPECT_TRUE(r.ok) << dtype_name(t) << " max abs " << r.max_abs;
    EXPECT_EQ(r.queries, 2 * 9 * 7);  // fewer positions than samples: all of them
  }
}

TEST(Check, RejectsOneWrongElement) {
  Case c = computed(small(), DType::f32);
  const int64_t i = c.out.numel() / 2 + 1;
  store_scalar(c.out.data.data(), DType::f32, i, load_scalar(c.out.data.data(), DType::f32, i) + 1e-3);
  const CheckResult r = check_forward(c.p, forward_views(c.in, &c.out, &c.lse), DType::f32, 1000, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_NEAR(r.max_abs, 1e-3, 1e-6);
}

TEST(Check, RejectsWrongLse) {
  Case c = computed(small(), DType::bf16);
  store_scalar(c.lse.data.data(), DType::f32, 5, load_scalar(c.lse.data.data(), DType::f32, 5) + 0.1);
  EXPECT_FALSE(check_forward(c.p, forward_views(c.in, &c.out, &c.lse), DType::bf16, 1000, 0).ok);
}

TEST(Check, RejectsAnotherNeighborhood) {
  Problem other = small();
  other.is_causal[1] = false;  // computed non-causal, checked as causal
  Case c = computed(other, DType::f32);
  EXPECT_FALSE(check_forward(small(), forward_views(c.in, &c.out, &c.lse), DType::f32, 1000, 0).ok);
  Problem no_extra = small();
  no_extra.extra_kv = 0;
  Case d = computed(small(), DType::f32);
  d.in.extra_k = NpyArray{}, d.in.extra_v = NpyArray{};
  EXPECT_FALSE(check_forward(no_extra, forward_views(d.in, &d.out, &d.lse), DType::f32, 1000, 0).ok);
}

TEST(Check, SamplesWhenLarge) {
  Problem p = make_problem({40, 40}, {5, 5});
  p.heads = p.kv_heads = 1, p.dim_qk = p.dim_v = 4;
  Case c = computed(p, DType::f32);
  const CheckResult r = check_forward(p, forward_views(c.in, &c.out, &c.lse), DType::f32, 100, 9);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.queries, 100);
}

// Backward of the library on `p`, as host arrays.
struct Grads {
  Case fwd;
  NpyArray dout, dq, dk, dv, dek, dev;
  BackwardTensors views() {
    BackwardTensors bt;
    const ForwardTensors ft = forward_views(fwd.in, &fwd.out, &fwd.lse);
    bt.q = ft.q, bt.k = ft.k, bt.v = ft.v, bt.out = ft.out, bt.lse = ft.lse;
    bt.extra_k = ft.extra_k, bt.extra_v = ft.extra_v;
    const DType t = fwd.in.dtype;
    bt.dout = npy_view(dout, t), bt.dq = npy_view(dq, t), bt.dk = npy_view(dk, t), bt.dv = npy_view(dv, t);
    if (fwd.p.extra_kv) bt.dextra_k = npy_view(dek, t), bt.dextra_v = npy_view(dev, t);
    return bt;
  }
};

Grads gradients(const Problem& p, DType t) {
  Grads g{computed(p, t), random_array(t, o_shape(p), 8), {}, {}, {}, {}, {}};
  g.dq = make_array(t, q_shape(p)), g.dk = make_array(t, k_shape(p)), g.dv = make_array(t, v_shape(p));
  if (p.extra_kv) g.dek = make_array(t, extra_k_shape(p)), g.dev = make_array(t, extra_v_shape(p));
  backward(p, g.views(), Options{});
  return g;
}

TEST(BackwardCheck, AcceptsTheLibraryResult) {
  for (DType t : {DType::f64, DType::f32, DType::f16, DType::bf16}) {
    Grads g = gradients(small(), t);
    const GradCheckResult r = check_backward(small(), g.views(), t, 1000, 1000, 0);
    EXPECT_TRUE(r.ok) << dtype_name(t) << " dq " << r.dq_err << " dk " << r.dk_err << " dv " << r.dv_err
                      << " dek " << r.dextra_k_err << " dev " << r.dextra_v_err;
    EXPECT_EQ(r.queries, 2 * 9 * 7);
    EXPECT_EQ(r.keys, 2 * 9 * 7);
    EXPECT_GT(r.extra_keys, 0);
  }
}

TEST(BackwardCheck, RejectsWrongGradients) {
  // One wrong element in each gradient in turn (every position is sampled on this small problem).
  for (int which = 0; which < 5; ++which) {
    Grads g = gradients(small(), DType::f32);
    NpyArray* a[] = {&g.dq, &g.dk, &g.dv, &g.dek, &g.dev};
    const int64_t i = a[which]->numel() / 3;
    store_scalar(a[which]->data.data(), DType::f32, i, load_scalar(a[which]->data.data(), DType::f32, i) + 0.05);
    EXPECT_FALSE(check_backward(small(), g.views(), DType::f32, 1000, 1000, 0).ok) << "gradient " << which;
  }
  // Gradients of another neighborhood.
  Problem other = small();
  other.stride[0] = 1;
  Grads g = gradients(other, DType::f32);
  EXPECT_FALSE(check_backward(small(), g.views(), DType::f32, 1000, 1000, 0).ok);
}

// `gna bench --json` lines must stay JSON when a kernel produced inf / nan (max_err inf): such numbers are
// written as null (seen: the bare token `inf` made a results file unparsable).
TEST(JsonNumber, NonFiniteIsNull) {
  EXPECT_EQ(json_number(INFINITY), "null");
  EXPECT_EQ(json_number(-INFINITY), "null");
  EXPECT_EQ(json_number(NAN), "null");
  EXPECT_EQ(json_number(0.486688), "0.486688");
  EXPECT_EQ(json_number(1e-5), "1e-05");
  EXPECT_EQ(json_number(0), "0");
}

}  // namespace
}  // namespace gna::cli
