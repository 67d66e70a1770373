// tests/reference/reference_backward_test.cpp -- layer: tests (reference). The oracle's backward pass
// against central finite differences of its forward (fp64), GQA = repeated KV heads (gradients of a KV
// head sum over its query-head group), low-precision storage and layout/thread invariance.
//
// Loss: L = sum(dO * O) for a random dO, so dL/dx is exactly what backward(dout = dO) returns.
#include <gtest/gtest.h>

#include <cstdlib>

#include "ref_test_util.hpp"

namespace gna::test {
namespace {

uint64_t base_seed() {
  if (const char* s = std::getenv("GNA_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// All tensors of one backward call (on top of a forward case).
struct BackwardCase {
  ForwardCase f;
  HostTensor dout, dq, dk, dv, dek, dev;
  BackwardCase(const Problem& p, DType dtype, Layout layout = Layout::contiguous) : f(p, dtype, layout) {
    dout = HostTensor(dtype, grid_shape(p, p.heads, p.dim_v), layout);
    dq = HostTensor(dtype, grid_shape(p, p.heads, p.dim_qk), layout);
    dk = HostTensor(dtype, grid_shape(p, p.kv_heads, p.dim_qk), layout);
    dv = HostTensor(dtype, grid_shape(p, p.kv_heads, p.dim_v), layout);
    if (p.extra_kv > 0) {
      dek = HostTensor(dtype, {p.batch, p.extra_kv, p.kv_heads, p.dim_qk}, layout);
      dev = HostTensor(dtype, {p.batch, p.extra_kv, p.kv_heads, p.dim_v}, layout);
    }
  }
  BackwardTensors tensors() const {
    BackwardTensors t;
    const ForwardTensors ft = f.tensors();
    t.q = ft.q;
    t.k = ft.k;
    t.v = ft.v;
    t.out = ft.out;
    t.lse = ft.lse;
    t.dout = dout.view;
    t.dq = dq.view;
    t.dk = dk.view;
    t.dv = dv.view;
    if (f.p.extra_kv > 0) {
      t.extra_k = ft.extra_k;
      t.extra_v = ft.extra_v;
      t.dextra_k = dek.view;
      t.dextra_v = dev.view;
    }
    return t;
  }
  void run(int threads = 1) {
    Options o;
    o.backend = "reference";
    o.num_threads = threads;
    f.run("reference", threads);
    backward(f.p, tensors(), o);
  }
};

double loss(ForwardCase& c, const HostTensor& dout) {
  c.run("reference", 1);
  double l = 0;
  for (int64_t i = 0; i < c.out.numel(); ++i) l += c.out.get(i) * dout.get(i);
  return l;
}

// Central differences of every element of x, compared with the analytic gradient g.
void check_gradient(const char* name, ForwardCase& c, HostTensor& x, const HostTensor& g, const HostTensor& dout) {
  const double h = 1e-5;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double x0 = x.get(i);
    x.set(i, x0 + h);
    const double lp = loss(c, dout);
    x.set(i, x0 - h);
    const double lm = loss(c, dout);
    x.set(i, x0);
    const double numeric = (lp - lm) / (2 * h);
    // The analytic gradient uses the fp32 LSE, so it carries ~1e-7 relative error.
    ASSERT_NEAR(g.get(i), numeric, 2e-6 * (1 + std::abs(numeric))) << name << " element " << i;
  }
}

Problem small_problem(std::mt19937_64& rng, int rank) {
  Problem p = random_problem(rng, rank);
  // Shrink to keep finite differences cheap: <= 12 tokens in 1-D, <= 25 in 2-D, <= 27 in 3-D.
  const int64_t max_extent = rank == 1 ? 12 : rank == 2 ? 5 : 3;
  for (int d = 0; d < rank; ++d) {
    if (p.extent[d] > max_extent) p.extent[d] = max_extent;
    if (p.dilation[d] * p.window[d] > p.extent[d]) p.dilation[d] = 1;
    if (p.window[d] > p.extent[d]) p.window[d] = p.extent[d];
    if (p.stride[d] > p.window[d]) p.stride[d] = p.window[d];
  }
  p.batch = 1;
  p.dim_qk = std::min<int64_t>(p.dim_qk, 3);
  p.dim_v = std::min<int64_t>(p.dim_v, 3);
  p.extra_kv = std::min<int64_t>(p.extra_kv, 3);
  return p;
}

TEST(ReferenceBackward, MatchesFiniteDifferencesFp64) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 36; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = small_problem(rng, 1 + trial % 3);
    if (trial % 3 == 0 && p.extra_kv == 0) p.extra_kv = 2;
    SCOPED_TRACE(seed_note(seed, p));
    BackwardCase c(p, DType::f64);
    c.f.randomize(rng);
    c.dout.fill_random(rng);
    c.run();
    check_gradient("dq", c.f, c.f.q, c.dq, c.dout);
    check_gradient("dk", c.f, c.f.k, c.dk, c.dout);
    check_gradient("dv", c.f, c.f.v, c.dv, c.dout);
    if (p.extra_kv > 0) {
      check_gradient("dextra_k", c.f, c.f.ek, c.dek, c.dout);
      check_gradient("dextra_v", c.f, c.f.ev, c.dev, c.dout);
    }
  }
}

// dK/dV of a GQA KV head equal the sums of the gradients of its repeated copies; dQ is unchanged.
TEST(ReferenceBackward, GqaEqualsRepeatedKvHeads) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 12; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = random_problem(rng, 1 + trial % 3);
    p.kv_heads = 1 + trial % 2;
    p.heads = p.kv_heads * (2 + trial % 2);
    SCOPED_TRACE(seed_note(seed, p));
    BackwardCase gqa(p, DType::f64);
    gqa.f.randomize(rng);
    gqa.dout.fill_random(rng);
    gqa.run();

    Problem pr = p;
    pr.kv_heads = p.heads;
    BackwardCase rep(pr, DType::f64);
    const int64_t g = p.heads / p.kv_heads, N = p.tokens();
    auto copy = [](const HostTensor& s, HostTensor& d) {
      for (int64_t i = 0; i < s.numel(); ++i) d.set(i, s.get(i));
    };
    auto repeat = [&](const HostTensor& src, HostTensor& dst, int64_t rows, int64_t dim) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t h = 0; h < p.heads; ++h)
          for (int64_t c = 0; c < dim; ++c)
            dst.set((r * p.heads + h) * dim + c, src.get((r * p.kv_heads + h / g) * dim + c));
    };
    copy(gqa.f.q, rep.f.q);
    copy(gqa.dout, rep.dout);
    repeat(gqa.f.k, rep.f.k, p.batch * N, p.dim_qk);
    repeat(gqa.f.v, rep.f.v, p.batch * N, p.dim_v);
    if (p.extra_kv) {
      repeat(gqa.f.ek, rep.f.ek, p.batch * p.extra_kv, p.dim_qk);
      repeat(gqa.f.ev, rep.f.ev, p.batch * p.extra_kv, p.dim_v);
    }
    rep.run(2);
    for (int64_t i = 0; i < gqa.dq.numel(); ++i) ASSERT_EQ(gqa.dq.get(i), rep.dq.get(i));
    auto summed = [&](const HostTensor& gg, const HostTensor& rr, int64_t rows, int64_t dim, const char* name) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t hk = 0; hk < p.kv_heads; ++hk)
          for (int64_t c = 0; c < dim; ++c) {
            double s = 0;
            for (int64_t h = hk * g; h < (hk + 1) * g; ++h) s += rr.get((r * p.heads + h) * dim + c);
            ASSERT_NEAR(gg.get((r * p.kv_heads + hk) * dim + c), s, 1e-12 * (1 + std::abs(s))) << name;
          }
    };
    summed(gqa.dk, rep.dk, p.batch * N, p.dim_qk, "dk");
    summed(gqa.dv, rep.dv, p.batch * N, p.dim_v, "dv");
    if (p.extra_kv) {
      summed(gqa.dek, rep.dek, p.batch * p.extra_kv, p.dim_qk, "dextra_k");
      summed(gqa.dev, rep.dev, p.batch * p.extra_kv, p.dim_v, "dextra_v");
    }
  }
}

// Low-precision storage: the same (exactly representable) inputs in fp64 and in dtype give gradients
// that differ only by the final rounding; layouts and thread counts do not matter.
TEST(ReferenceBackward, LowPrecisionStorageAndLayouts) {
  const uint64_t seed0 = base_seed();
  const DType dtypes[] = {DType::f32, DType::f16, DType::bf16};
  for (int trial = 0; trial < 12; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    const Problem p = random_problem(rng, 1 + trial % 3);
    const DType dtype = dtypes[trial % 3];
    const Layout layout = static_cast<Layout>(trial % 3);
    SCOPED_TRACE(seed_note(seed, p) + " dtype " + dtype_name(dtype));
    BackwardCase lo(p, dtype, layout);
    lo.f.randomize(rng);
    lo.dout.fill_random(rng);
    lo.f.run("reference", 1);
    BackwardCase hi(p, DType::f64);
    auto copy = [](const HostTensor& s, HostTensor& d) {
      for (int64_t i = 0; i < s.numel(); ++i) d.set(i, s.get(i));
    };
    copy(lo.f.q, hi.f.q);
    copy(lo.f.k, hi.f.k);
    copy(lo.f.v, hi.f.v);
    copy(lo.f.out, hi.f.out);   // backward consumes O and LSE as given: use identical ones
    copy(lo.f.lse, hi.f.lse);
    copy(lo.dout, hi.dout);
    if (p.extra_kv) {
      copy(lo.f.ek, hi.f.ek);
      copy(lo.f.ev, hi.f.ev);
    }
    Options o;
    o.backend = "reference";
    o.num_threads = 3;
    backward(p, lo.tensors(), o);
    o.num_threads = 1;
    backward(p, hi.tensors(), o);
    const double eps = storage_eps(dtype);
    auto near = [&](const HostTensor& a, const HostTensor& b, const char* name) {
      for (int64_t i = 0; i < a.numel(); ++i)
        ASSERT_NEAR(a.get(i), b.get(i), eps * (1 + std::abs(b.get(i)))) << name << " element " << i;
    };
    near(lo.dq, hi.dq, "dq");
    near(lo.dk, hi.dk, "dk");
    near(lo.dv, hi.dv, "dv");
    if (p.extra_kv) {
      near(lo.dek, hi.dek, "dextra_k");
      near(lo.dev, hi.dev, "dextra_v");
    }
  }
}

}  // namespace
}  // namespace gna::test
