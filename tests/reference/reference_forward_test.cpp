// tests/reference/reference_forward_test.cpp -- layer: tests (reference). The oracle's forward pass
// against an independent dense-mask formulation, plus properties of the spec that need no oracle:
// exact key counts, shared keys within stride groups, full windows = dense attention, extra KV = merge
// of two attentions, GQA = repeated KV heads, layout/thread invariance and the spec's worked examples.
//
// Every randomized test prints its seed (SCOPED_TRACE); set GNA_TEST_SEED to replay one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "ref_test_util.hpp"
#include "reference/reference_attention.hpp"

namespace gna::test {
namespace {

uint64_t base_seed() {
  if (const char* s = std::getenv("GNA_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

const DType kDtypes[] = {DType::f64, DType::f32, DType::f16, DType::bf16};

TEST(ReferenceForward, MatchesDenseMaskAllRanksAndDtypes) {
  const uint64_t seed0 = base_seed();
  int trial = 0;
  for (int rank = 1; rank <= 3; ++rank)
    for (DType dtype : kDtypes)
      for (int rep = 0; rep < 60; ++rep, ++trial) {
        const uint64_t seed = seed0 + trial;
        std::mt19937_64 rng(seed);
        const Problem p = random_problem(rng, rank);
        const Layout layout = static_cast<Layout>(rng() % 3);
        SCOPED_TRACE(seed_note(seed, p) + " dtype " + dtype_name(dtype) + " layout " +
                     std::to_string(static_cast<int>(layout)));
        ForwardCase c(p, dtype, layout);
        c.randomize(rng);
        c.run("reference", 1 + static_cast<int>(rng() % 3));
        const DenseResult d = dense_of(c);
        const double eps = storage_eps(dtype);
        for (int64_t i = 0; i < c.out.numel(); ++i)
          ASSERT_NEAR(c.out.get(i), d.out[i], eps * (1 + std::abs(d.out[i]))) << "out element " << i;
        for (int64_t i = 0; i < c.lse.numel(); ++i)
          ASSERT_NEAR(c.lse.get(i), d.lse[i], 2e-7 * (1 + std::abs(d.lse[i]))) << "lse element " << i;
      }
}

// Problems chosen to hit edges the random ones may miss: even/odd windows with S = K (blocked),
// dilation with extents not divisible by it, windows equal to the extent, causal on one axis only.
TEST(ReferenceForward, MatchesDenseMaskEdgeCases) {
  struct Axis { int64_t L, K, S, D; bool c; };
  const std::vector<std::vector<Axis>> cases = {
      {{10, 4, 3, 1, false}}, {{10, 5, 2, 1, false}}, {{10, 4, 3, 1, true}}, {{10, 4, 1, 1, true}},
      {{11, 3, 3, 3, false}}, {{13, 2, 2, 4, true}}, {{7, 7, 7, 1, false}}, {{7, 7, 3, 1, true}},
      {{9, 4, 4, 2, false}, {6, 3, 1, 1, true}}, {{5, 4, 1, 1, false}, {8, 2, 2, 3, false}},
      {{4, 2, 2, 2, true}, {5, 3, 2, 1, false}, {6, 2, 1, 3, true}},
      {{3, 3, 1, 1, false}, {4, 2, 2, 1, false}, {5, 5, 5, 1, false}}};
  const uint64_t seed = base_seed();
  std::mt19937_64 rng(seed);
  for (const auto& axes : cases) {
    Problem p;
    p.rank = static_cast<int>(axes.size());
    for (int d = 0; d < p.rank; ++d) {
      p.extent[d] = axes[d].L;
      p.window[d] = axes[d].K;
      p.stride[d] = axes[d].S;
      p.dilation[d] = axes[d].D;
      p.is_causal[d] = axes[d].c;
    }
    p.heads = 2;
    p.kv_heads = 1;
    p.dim_qk = 5;
    p.dim_v = 3;
    SCOPED_TRACE(seed_note(seed, p));
    ForwardCase c(p, DType::f64);
    c.randomize(rng);
    c.run();
    const DenseResult d = dense_of(c);
    for (int64_t i = 0; i < c.out.numel(); ++i) ASSERT_NEAR(c.out.get(i), d.out[i], 1e-12);
  }
}

// s3 worked examples (L = 10), straight from the spec table, against the oracle's own predicate.
TEST(ReferenceForward, AxisKeysMatchSpecWorkedExamples) {
  struct Row { int64_t K, S; bool causal; std::vector<std::pair<int64_t, int64_t>> ranges; };
  const std::vector<Row> rows = {
      {4, 1, false, {{0, 4}, {0, 4}, {0, 4}, {1, 5}, {2, 6}, {3, 7}, {4, 8}, {5, 9}, {6, 10}, {6, 10}}},
      {4, 3, false, {{0, 4}, {0, 4}, {0, 4}, {2, 6}, {2, 6}, {2, 6}, {5, 9}, {5, 9}, {5, 9}, {6, 10}}},
      {5, 2, false, {{0, 5}, {0, 5}, {1, 6}, {1, 6}, {3, 8}, {3, 8}, {5, 10}, {5, 10}, {5, 10}, {5, 10}}},
      {4, 3, true, {{0, 1}, {0, 2}, {0, 3}, {2, 4}, {2, 5}, {2, 6}, {5, 7}, {5, 8}, {5, 9}, {6, 10}}},
      {4, 1, true, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 5}, {2, 6}, {3, 7}, {4, 8}, {5, 9}, {6, 10}}}};
  for (const Row& r : rows)
    for (int64_t i = 0; i < 10; ++i) {
      const reference::AxisKeys a = reference::axis_keys(i, 10, r.K, r.S, 1, r.causal);
      EXPECT_EQ(a.step, 1);
      EXPECT_EQ(a.first, r.ranges[i].first) << "K " << r.K << " S " << r.S << " causal " << r.causal << " i " << i;
      EXPECT_EQ(a.first + a.count, r.ranges[i].second) << "K " << r.K << " S " << r.S << " i " << i;
    }
}

// The oracle's predicate and na/ are two independent homes of the rule: they must agree exhaustively.
TEST(ReferenceForward, AxisKeysAgreeWithNaExhaustively) {
  for (int64_t L = 2; L <= 17; ++L)
    for (int64_t D = 1; D <= L / 2; ++D)
      for (int64_t K = 2; K * D <= L; ++K)
        for (int64_t S = 1; S <= K; ++S)
          for (int c = 0; c < 2; ++c) {
            const na::AxisSpec a{L, K, S, D, c != 0};
            for (int64_t x = 0; x < L; ++x) {
              const reference::AxisKeys r = reference::axis_keys(x, L, K, S, D, c != 0);
              std::set<int64_t> mine, theirs;
              for (int64_t t = 0; t < r.count; ++t) mine.insert(r.first + r.step * t);
              for (int64_t y = 0; y < L; ++y)
                if (na::axis_attends(x, y, a)) theirs.insert(y);
              ASSERT_EQ(mine, theirs) << "L " << L << " K " << K << " S " << S << " D " << D << " causal " << c
                                      << " x " << x;
            }
          }
}

// With Q = 0 every score is 0, so lse = log(number of attended keys): non-causal queries see exactly
// prod(K) window keys plus the extra tokens; causal ones the brute-force count.
TEST(ReferenceForward, KeyCountsViaLse) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 60; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = random_problem(rng, 1 + trial % 3);
    const bool non_causal = trial % 2 == 0;
    if (non_causal) p.is_causal = {false, false, false};
    SCOPED_TRACE(seed_note(seed, p));
    ForwardCase c(p, DType::f64);
    c.randomize(rng);
    c.q.fill(0.0);
    c.run();
    na::AxisSpec axes[kMaxRank];
    int64_t prod_k = 1;
    for (int d = 0; d < p.rank && d < kMaxRank; ++d) {
      axes[d] = p.axis(d);
      prod_k *= p.window[d];
    }
    const int64_t N = p.tokens();
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t i = 0; i < N; ++i) {
        int64_t expected = p.extra_kv;
        if (non_causal) {
          expected += prod_k;
        } else {
          int64_t ci[kMaxRank], cj[kMaxRank];
          coords(p, i, ci);
          for (int64_t j = 0; j < N; ++j) {
            coords(p, j, cj);
            expected += na::attends(ci, cj, axes, p.rank);
          }
        }
        for (int64_t h = 0; h < p.heads; ++h) {
          const double count = std::exp(c.lse.get((b * N + i) * p.heads + h));
          ASSERT_NEAR(count, static_cast<double>(expected), 1e-5 * expected) << "query " << i << " head " << h;
        }
      }
  }
}

// Non-causal: queries of one stride group (per axis: same dilation group, same group-local index / S)
// share their key set. With the same query vector at every token, two outputs are equal iff the key sets
// are equal: equal for stride-group mates, and the number of distinct outputs is the number of distinct
// key sets (random V makes distinct sets give distinct outputs).
TEST(ReferenceForward, StrideGroupMembersShareKeys) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 40; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = random_problem(rng, 1 + trial % 3, false);
    p.is_causal = {false, false, false};
    p.batch = 1;
    p.heads = p.kv_heads = 1;
    SCOPED_TRACE(seed_note(seed, p));
    ForwardCase c(p, DType::f64);
    c.randomize(rng);
    std::vector<double> qv(static_cast<size_t>(p.dim_qk));
    for (auto& x : qv) x = std::uniform_real_distribution<double>(-1, 1)(rng);
    const int64_t N = p.tokens();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < p.dim_qk; ++j) c.q.set(i * p.dim_qk + j, qv[j]);
    c.run();
    std::map<std::vector<int64_t>, std::vector<double>> by_group;   // stride-group id -> output row
    std::set<std::vector<int64_t>> key_sets;
    std::set<std::vector<double>> outputs;
    for (int64_t i = 0; i < N; ++i) {
      int64_t ci[kMaxRank];
      coords(p, i, ci);
      std::vector<int64_t> group, keys;
      for (int d = 0; d < p.rank; ++d) {
        group.push_back(ci[d] % p.dilation[d]);
        group.push_back((ci[d] / p.dilation[d]) / p.stride[d]);
        const na::Range r = na::window_of(ci[d], p.axis(d));
        keys.push_back(ci[d] % p.dilation[d]);
        keys.push_back(r.start);
      }
      std::vector<double> row;
      for (int64_t j = 0; j < p.dim_v; ++j) row.push_back(c.out.get(i * p.dim_v + j));
      auto it = by_group.find(group);
      if (it == by_group.end()) by_group[group] = row;
      else ASSERT_EQ(it->second, row) << "query " << i << " differs from its stride-group mates";
      key_sets.insert(keys);
      outputs.insert(row);
    }
    EXPECT_EQ(outputs.size(), key_sets.size());
  }
}

// K = L on every axis, non-causal: plain dense attention (no mask), whatever the stride.
TEST(ReferenceForward, FullWindowEqualsDenseAttention) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 30; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = random_problem(rng, 1 + trial % 3);
    for (int d = 0; d < p.rank; ++d) {
      p.window[d] = p.extent[d];
      p.dilation[d] = 1;
      p.stride[d] = 1 + static_cast<int64_t>(rng() % p.window[d]);
      p.is_causal[d] = false;
    }
    SCOPED_TRACE(seed_note(seed, p));
    ForwardCase c(p, DType::f64);
    c.randomize(rng);
    c.run();
    const DenseResult d = dense_of(c, /*use_mask=*/false);
    for (int64_t i = 0; i < c.out.numel(); ++i) ASSERT_NEAR(c.out.get(i), d.out[i], 1e-12);
  }
}

// Extra KV = spec s7 merge of (window attention without extra KV) and (dense attention over the extra
// tokens only, computed here directly).
TEST(ReferenceForward, ExtraKvEqualsMergeOfTwoAttentions) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 30; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = random_problem(rng, 1 + trial % 3, false);
    p.extra_kv = 1 + static_cast<int64_t>(rng() % 6);
    SCOPED_TRACE(seed_note(seed, p));
    ForwardCase full(p, DType::f64);
    full.randomize(rng);
    full.run();

    Problem pw = p;
    pw.extra_kv = 0;
    ForwardCase win(pw, DType::f64);
    win.q = full.q;
    win.k = full.k;
    win.v = full.v;
    win.q.view.data = win.q.bytes.data();
    win.k.view.data = win.k.bytes.data();
    win.v.view.data = win.v.bytes.data();
    win.run();

    // Extra-only attention: every query over the Nx extra tokens, dense.
    const int64_t N = p.tokens(), H = p.heads, Nx = p.extra_kv, g = p.heads / p.kv_heads;
    HostTensor ox(DType::f64, grid_shape(p, H, p.dim_v)), lx(DType::f32, grid_shape(p, H, 0));
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t h = 0; h < H; ++h) {
          std::vector<double> s(Nx);
          double m = -INFINITY;
          for (int64_t x = 0; x < Nx; ++x) {
            double dot = 0;
            for (int64_t c = 0; c < p.dim_qk; ++c)
              dot += full.q.get(((b * N + i) * H + h) * p.dim_qk + c) *
                     full.ek.get(((b * Nx + x) * p.kv_heads + h / g) * p.dim_qk + c);
            s[x] = p.effective_scale() * dot;
            m = std::max(m, s[x]);
          }
          double sum = 0;
          for (double v : s) sum += std::exp(v - m);
          for (int64_t c = 0; c < p.dim_v; ++c) {
            double o = 0;
            for (int64_t x = 0; x < Nx; ++x)
              o += std::exp(s[x] - m) / sum * full.ev.get(((b * Nx + x) * p.kv_heads + h / g) * p.dim_v + c);
            ox.set(((b * N + i) * H + h) * p.dim_v + c, o);
          }
          lx.set((b * N + i) * H + h, m + std::log(sum));
        }
    HostTensor merged(DType::f64, grid_shape(p, H, p.dim_v)), lm(DType::f32, grid_shape(p, H, 0));
    merge(win.out.view, win.lse.view, ox.view, lx.view, merged.view, lm.view);
    for (int64_t i = 0; i < merged.numel(); ++i) ASSERT_NEAR(merged.get(i), full.out.get(i), 2e-6);
    for (int64_t i = 0; i < lm.numel(); ++i) ASSERT_NEAR(lm.get(i), full.lse.get(i), 1e-6 * (1 + std::abs(lm.get(i))));
  }
}

// GQA/MQA: query head h reads KV head h / (H / Hkv); identical to repeating each KV head H/Hkv times.
TEST(ReferenceForward, GqaEqualsRepeatedKvHeads) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 20; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    Problem p = random_problem(rng, 1 + trial % 3);
    p.kv_heads = 1 + trial % 2;
    p.heads = p.kv_heads * (2 + trial % 3);
    SCOPED_TRACE(seed_note(seed, p));
    ForwardCase gqa(p, DType::f64);
    gqa.randomize(rng);
    gqa.run();
    Problem pr = p;
    pr.kv_heads = p.heads;
    ForwardCase rep(pr, DType::f64);
    rep.q = gqa.q;
    rep.q.view.data = rep.q.bytes.data();
    const int64_t g = p.heads / p.kv_heads, N = p.tokens();
    auto repeat = [&](const HostTensor& src, HostTensor& dst, int64_t rows, int64_t dim) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t h = 0; h < p.heads; ++h)
          for (int64_t c = 0; c < dim; ++c)
            dst.set((r * p.heads + h) * dim + c, src.get((r * p.kv_heads + h / g) * dim + c));
    };
    repeat(gqa.k, rep.k, p.batch * N, p.dim_qk);
    repeat(gqa.v, rep.v, p.batch * N, p.dim_v);
    if (p.extra_kv) {
      repeat(gqa.ek, rep.ek, p.batch * p.extra_kv, p.dim_qk);
      repeat(gqa.ev, rep.ev, p.batch * p.extra_kv, p.dim_v);
    }
    rep.run();
    for (int64_t i = 0; i < gqa.out.numel(); ++i) ASSERT_EQ(gqa.out.get(i), rep.out.get(i));
    for (int64_t i = 0; i < gqa.lse.numel(); ++i) ASSERT_EQ(gqa.lse.get(i), rep.lse.get(i));
  }
}

// Results do not depend on the memory layout (strides) or the thread count: bit-identical.
TEST(ReferenceForward, LayoutAndThreadInvariance) {
  const uint64_t seed0 = base_seed();
  for (int trial = 0; trial < 12; ++trial) {
    const uint64_t seed = seed0 + trial;
    std::mt19937_64 rng(seed);
    const Problem p = random_problem(rng, 1 + trial % 3);
    SCOPED_TRACE(seed_note(seed, p));
    const DType dtype = kDtypes[trial % 4];
    ForwardCase a(p, dtype, Layout::contiguous);
    a.randomize(rng);
    a.run("reference", 1);
    for (Layout layout : {Layout::padded, Layout::heads_major}) {
      ForwardCase b(p, dtype, layout);
      auto copy = [](const HostTensor& s, HostTensor& d) {
        for (int64_t i = 0; i < s.numel(); ++i) d.set(i, s.get(i));
      };
      copy(a.q, b.q);
      copy(a.k, b.k);
      copy(a.v, b.v);
      if (p.extra_kv) {
        copy(a.ek, b.ek);
        copy(a.ev, b.ev);
      }
      b.run("reference", 3);
      for (int64_t i = 0; i < a.out.numel(); ++i) ASSERT_EQ(a.out.get(i), b.out.get(i));
      for (int64_t i = 0; i < a.lse.numel(); ++i) ASSERT_EQ(a.lse.get(i), b.lse.get(i));
    }
  }
}

// The default scale is Dqk ** -0.5; a custom scale is used as given (check against dense with both).
TEST(ReferenceForward, ScaleDefaultAndCustom) {
  const uint64_t seed = base_seed();
  std::mt19937_64 rng(seed);
  Problem p = random_problem(rng, 2);
  SCOPED_TRACE(seed_note(seed, p));
  for (double scale : {0.0, 0.37, 3.0}) {
    p.scale = scale;
    ForwardCase c(p, DType::f64);
    c.randomize(rng);
    c.run();
    const DenseResult d = dense_of(c);
    for (int64_t i = 0; i < c.out.numel(); ++i) ASSERT_NEAR(c.out.get(i), d.out[i], 1e-12);
  }
  p.scale = 0.0;
  p.dim_qk = 16;
  EXPECT_DOUBLE_EQ(p.effective_scale(), 0.25);
}

}  // namespace
}  // namespace gna::test
