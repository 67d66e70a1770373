// tests/unit/test_sim.cpp -- layer: tests. The simulator (src/sim) vs brute-force enumeration, and the
// published tile bounds (spec s8, shared/anchors.md "Which tiles").
//
// Brute force: for random small problems of rank 1-3 with dilation, causal axes, extra KV and tile
// extents including 1, enumerate every dilation group, every group-local Q tile and KV tile and every
// (q, k) pair of the two in global coordinates (the oracle of unit/brute.hpp), and compare every count.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <utility>
#include <random>

#include "gna/error.hpp"
#include "gna/presets.hpp"
#include "gna/sim.hpp"
#include "unit/brute.hpp"

using gna::Problem;
using gna::sim::Accounting;
using gna::sim::Tiling;

namespace {

struct Brute {
  int64_t q_tiles = 0, visited = 0, full = 0, attended = 0, q_slots = 0, kv_slots = 0;
  bool perfect = true;
};

// Enumerates the spatial part (extra KV is added in closed form by the caller's expectations).
Brute enumerate(const Problem& p, const Tiling& t) {
  const int r = p.rank;
  brute::Axis ax[gna::kMaxRank];
  for (int d = 0; d < r; ++d)
    ax[d] = brute::Axis{p.extent[d], p.window[d], p.stride[d], p.dilation[d], p.is_causal[d]};
  Brute b;
  // attended pairs over all global coordinates
  int64_t n = 1;
  for (int d = 0; d < r; ++d) n *= p.extent[d];
  auto coord = [&](int64_t lin, int64_t* x) {
    for (int d = r - 1; d >= 0; --d) {
      x[d] = lin % p.extent[d];
      lin /= p.extent[d];
    }
  };
  for (int64_t qi = 0; qi < n; ++qi)
    for (int64_t ki = 0; ki < n; ++ki) {
      int64_t x[3], y[3];
      coord(qi, x);
      coord(ki, y);
      bool att = true;
      for (int d = 0; d < r; ++d) att &= brute::axis_attends(x[d], y[d], ax[d]);
      b.attended += att;
    }
  // tiles, group by group
  int64_t ng = 1;
  for (int d = 0; d < r; ++d) ng *= p.dilation[d];
  for (int64_t gl = 0; gl < ng; ++gl) {
    int64_t g[3] = {0, 0, 0}, rem = gl;
    for (int d = r - 1; d >= 0; --d) {
      g[d] = rem % p.dilation[d];
      rem /= p.dilation[d];
    }
    // tiles per axis in this group: enough to cover the group's members (+1 padding-only probe)
    int64_t lg[3], nq[3], nk[3];
    int64_t nqt = 1, nkt = 1;
    for (int d = 0; d < r; ++d) {
      lg[d] = 0;
      for (int64_t z = g[d]; z < p.extent[d]; z += p.dilation[d]) ++lg[d];
      nqt *= (nq[d] = (lg[d] + t.q_tile[d] - 1) / t.q_tile[d]);
      nkt *= (nk[d] = (lg[d] + t.kv_tile[d] - 1) / t.kv_tile[d] + 1);
    }
    // count KV tiles holding real keys (kv slots)
    {
      int64_t real_kv_tiles = 1;
      for (int d = 0; d < r; ++d) real_kv_tiles *= nk[d] - 1;
      b.kv_slots += real_kv_tiles * t.kv_tokens();
    }
    for (int64_t qt = 0; qt < nqt; ++qt) {
      int64_t qc[3], rq = qt;
      for (int d = r - 1; d >= 0; --d) {
        qc[d] = rq % nq[d];
        rq /= nq[d];
      }
      ++b.q_tiles;
      b.q_slots += t.q_tokens();
      for (int64_t kt = 0; kt < nkt; ++kt) {
        int64_t kc[3], rk = kt;
        for (int d = r - 1; d >= 0; --d) {
          kc[d] = rk % nk[d];
          rk /= nk[d];
        }
        bool any = false, all = true;
        for (int64_t a = 0; a < t.q_tokens(); ++a) {
          int64_t x[3], ra = a;
          bool qreal = true;
          for (int d = r - 1; d >= 0; --d) {
            x[d] = (qc[d] * t.q_tile[d] + ra % t.q_tile[d]) * p.dilation[d] + g[d];
            ra /= t.q_tile[d];
            qreal &= x[d] < p.extent[d];
          }
          if (!qreal) continue;
          for (int64_t c = 0; c < t.kv_tokens(); ++c) {
            int64_t y[3], rc = c;
            bool kreal = true;
            for (int d = r - 1; d >= 0; --d) {
              y[d] = (kc[d] * t.kv_tile[d] + rc % t.kv_tile[d]) * p.dilation[d] + g[d];
              rc /= t.kv_tile[d];
              kreal &= y[d] < p.extent[d];
            }
            if (!kreal) {
              all = false;
              continue;
            }
            bool att = true;
            for (int d = 0; d < r; ++d) att &= brute::axis_attends(x[d], y[d], ax[d]);
            any |= att;
            all &= att;
          }
        }
        b.visited += any;
        b.full += any && all;
        if (any && !all) b.perfect = false;
      }
    }
  }
  return b;
}

}  // namespace

TEST(Sim, CountsMatchBruteForce) {
  std::mt19937_64 rng(12345);
  auto uni = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  int perfect_seen = 0;
  for (int it = 0; it < 600; ++it) {
    const int rank = static_cast<int>(uni(1, 3));
    Problem p;
    p.rank = rank;
    p.batch = uni(1, 2);
    p.heads = uni(1, 3);
    p.kv_heads = 1;
    p.dim_qk = 32;
    p.dim_v = 16;
    p.extra_kv = uni(0, 3) == 0 ? uni(1, 9) : 0;
    Tiling t;
    t.rank = rank;
    const int64_t max_l = rank == 1 ? 40 : rank == 2 ? 13 : 7;
    for (int d = 0; d < rank; ++d) {
      p.extent[d] = uni(2, max_l);
      p.window[d] = uni(2, p.extent[d]);
      p.stride[d] = uni(1, p.window[d]);
      p.dilation[d] = uni(1, p.extent[d] / p.window[d]);
      p.is_causal[d] = uni(0, 3) == 0;
      t.q_tile[d] = uni(1, rank == 1 ? 9 : 4);
      t.kv_tile[d] = uni(1, rank == 1 ? 9 : 4);
      // make some cases aligned so perfectly block-sparse ones occur
      if (uni(0, 2) == 0) p.stride[d] = std::min(p.window[d], t.q_tile[d]);
    }
    SCOPED_TRACE(testing::Message() << "sample " << it << ": " << p.describe() << " tiles " << t.str());
    const Accounting a = gna::sim::account(p, t);
    const Brute b = enumerate(p, t);
    const int64_t ex = (p.extra_kv + t.kv_tokens() - 1) / t.kv_tokens();
    ASSERT_EQ(a.q_tiles, b.q_tiles);
    ASSERT_EQ(a.visited_tiles, b.visited + b.q_tiles * ex);
    ASSERT_EQ(a.full_tiles, b.full + b.q_tiles * (p.extra_kv / t.kv_tokens()));
    ASSERT_EQ(a.partial_tiles, a.visited_tiles - a.full_tiles);
    ASSERT_EQ(a.attended_pairs, b.attended + a.tokens * p.extra_kv);
    ASSERT_EQ(a.attended_pairs, p.attended_pairs_per_head());
    ASSERT_EQ(a.computed_pairs, a.visited_tiles * t.q_tokens() * t.kv_tokens());
    ASSERT_EQ(a.q_padding, b.q_slots - a.tokens);
    ASSERT_EQ(a.kv_padding, b.kv_slots - a.tokens + ex * t.kv_tokens() - p.extra_kv);
    const bool perfect = b.perfect && p.extra_kv % t.kv_tokens() == 0;
    ASSERT_EQ(a.perfectly_block_sparse, perfect);
    ASSERT_EQ(gna::sim::perfectly_block_sparse(p, t), perfect);
    ASSERT_EQ(perfect, a.full_tiles == a.visited_tiles);
    perfect_seen += perfect;
    // per-group counts sum to the totals
    const auto groups = gna::sim::account_groups(p, t, 1 << 20);
    int64_t q = 0, v = 0, f = 0, at = 0, tok = 0;
    for (const auto& g : groups) {
      q += g.q_tiles;
      v += g.visited_tiles;
      f += g.full_tiles;
      at += g.attended_pairs;
      tok += g.tokens;
    }
    ASSERT_EQ(q, a.q_tiles);
    ASSERT_EQ(v, b.visited);
    ASSERT_EQ(f, b.full);
    ASSERT_EQ(at, b.attended);
    ASSERT_EQ(tok, a.tokens);
    // find_strides: the problem's own stride is listed iff that axis is perfect
    const auto strides = gna::sim::find_strides(p, t);
    for (int d = 0; d < rank; ++d)
      for (size_t i = 1; i < strides[d].size(); ++i) {
        const int64_t s0 = p.stride[d];
        ASSERT_LE(std::abs(strides[d][i - 1] - s0), std::abs(strides[d][i] - s0));
      }
    bool all_axes_listed = true;
    for (int d = 0; d < rank; ++d)
      all_axes_listed &= std::find(strides[d].begin(), strides[d].end(), p.stride[d]) != strides[d].end();
    ASSERT_EQ(all_axes_listed && p.extra_kv % t.kv_tokens() == 0, perfect);
  }
  EXPECT_GT(perfect_seen, 10);
}

// find_strides vs brute force: every listed stride makes the axis perfect, every unlisted one does not.
TEST(Sim, FindStridesBruteForce) {
  for (int64_t L = 4; L < 30; L += 3)
    for (int64_t K = 2; K <= L; K += 2)
      for (int64_t tq = 1; tq <= 6; tq += 2)
        for (int64_t tk = 1; tk <= 6; tk += 1) {
          Problem p = gna::make_problem({L}, {K}, {1});
          Tiling t;
          t.q_tile[0] = tq;
          t.kv_tile[0] = tk;
          const auto list = gna::sim::find_strides(p, t)[0];
          for (int64_t s = 1; s <= K; ++s) {
            p.stride[0] = s;
            const bool listed = std::find(list.begin(), list.end(), s) != list.end();
            ASSERT_EQ(listed, enumerate(p, t).perfect) << "L=" << L << " K=" << K << " S=" << s;
          }
        }
}

namespace {
Accounting preset_acc(const char* name, std::array<int64_t, 3> q, std::array<int64_t, 3> kv) {
  const Problem p = gna::preset_problem(name);
  Tiling t;
  t.rank = p.rank;
  t.q_tile = q;
  t.kv_tile = kv;
  return gna::sim::account(p, t);
}
}  // namespace

TEST(Sim, PublishedBounds) {
  const Accounting fg = preset_acc("flux-gna", {16, 8, 1}, {16, 8, 1});
  EXPECT_NEAR(fg.tile_speedup_bound, 10.24, 0.005);
  EXPECT_TRUE(fg.perfectly_block_sparse);
  EXPECT_EQ(fg.partial_tiles, 0);
  EXPECT_NEAR(fg.flop_speedup_bound, 10.24, 0.005);

  const Accounting hg = preset_acc("hunyuan-gna", {2, 8, 8}, {2, 8, 8});
  EXPECT_NEAR(hg.tile_speedup_bound, 11.11, 0.005);
  EXPECT_TRUE(hg.perfectly_block_sparse);

  Problem one = gna::make_problem({32768}, {2048}, {256});
  Tiling t1;
  t1.q_tile[0] = 128;
  t1.kv_tile[0] = 128;
  const Accounting o = gna::sim::account(one, t1);
  EXPECT_NEAR(o.tile_speedup_bound, 16.0, 1e-9);
  EXPECT_TRUE(o.perfectly_block_sparse);
  EXPECT_FALSE(o.q_needs_copy);
  EXPECT_EQ(o.permute_bytes, 0);

  const Accounting fn = preset_acc("flux-na", {16, 8, 1}, {16, 8, 1});
  EXPECT_NEAR(fn.pair_speedup_bound, 7.51, 0.005);
  EXPECT_NEAR(fn.tile_speedup_bound, 7.51, 0.005);
  EXPECT_NEAR(fn.full_share, 0.50, 0.005);
  EXPECT_NEAR(fn.flop_speedup_bound, 10.24, 0.005);
  EXPECT_FALSE(fn.perfectly_block_sparse);

  const Accounting hn = preset_acc("hunyuan-na", {2, 8, 8}, {2, 8, 8});
  EXPECT_NEAR(hn.pair_speedup_bound, 5.44, 0.005);
  EXPECT_NEAR(hn.full_share, 0.17, 0.005);
  EXPECT_NEAR(hn.flop_speedup_bound, 11.11, 0.005);

  const Accounting cn = preset_acc("cosmos-na", {4, 4, 8}, {4, 4, 8});
  EXPECT_NEAR(cn.pair_speedup_bound, 6.09, 0.005);
  EXPECT_NEAR(cn.full_share, 0.37, 0.005);
  EXPECT_NEAR(cn.flop_speedup_bound, 9.17, 0.005);
}

// shared/anchors.md "Which tiles": the best pair bound over all power-of-two factorisations per column.
TEST(Sim, AnchorsBestTilings) {
  struct Row {
    const char* preset;
    std::array<int64_t, 3> q, kv;
    double bound, full;
  };
  const Row rows[] = {
      {"flux-na", {8, 16, 1}, {16, 8, 1}, 7.91, 0.57},     {"flux-na", {8, 16, 1}, {8, 8, 1}, 8.42, 0.66},
      {"flux-na", {8, 8, 1}, {8, 8, 1}, 8.96, 0.76},       {"hunyuan-na", {8, 4, 4}, {4, 8, 4}, 6.26, 0.32},
      {"hunyuan-na", {8, 4, 4}, {2, 8, 4}, 6.85, 0.40},    {"hunyuan-na", {2, 4, 8}, {2, 8, 4}, 7.39, 0.41},
      {"cosmos-na", {16, 4, 2}, {16, 4, 2}, 7.75, 0.70},   {"cosmos-na", {16, 4, 2}, {16, 4, 1}, 8.12, 0.78},
      {"cosmos-na", {16, 4, 1}, {16, 4, 1}, 8.52, 0.86},
  };
  for (const Row& r : rows) {
    const Accounting a = preset_acc(r.preset, r.q, r.kv);
    Tiling t = a.tiling;
    SCOPED_TRACE(testing::Message() << r.preset << " " << t.str());
    EXPECT_NEAR(a.pair_speedup_bound, r.bound, 0.005);
    EXPECT_NEAR(a.full_share, r.full, 0.005);
    // and it is the best of its (Q tokens, KV tokens) column
    const Problem p = gna::preset_problem(r.preset);
    double best = 0;
    for (const auto& e : gna::sim::evaluate_tilings(p, gna::sim::arch_model("h100")))
      if (e.tiling.q_tokens() == t.q_tokens() && e.tiling.kv_tokens() == t.kv_tokens())
        best = std::max(best, e.accounting.pair_speedup_bound);
    EXPECT_NEAR(best, r.bound, 0.005);
  }
}

TEST(Sim, PlannerIsFastAndUsesTheTable) {
  for (const gna::Preset& pr : gna::presets()) {
    const Problem p = gna::preset_problem(pr.name);
    const auto t0 = std::chrono::steady_clock::now();
    const auto all = gna::sim::evaluate_tilings(p, gna::sim::arch_model("h100"));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(s, 1.0) << pr.name;
    ASSERT_FALSE(all.empty());
    for (size_t i = 1; i < all.size(); ++i)
      ASSERT_LE(all[i - 1].prediction.total_ms, all[i].prediction.total_ms);
    for (const auto& e : all) {
      const int64_t q = e.tiling.q_tokens(), kv = e.tiling.kv_tokens();
      ASSERT_TRUE((q == 64 || q == 128) && (kv == 64 || kv == 128)) << e.tiling.str();
    }
    const auto best = gna::sim::plan(p, "H100");
    EXPECT_EQ(best.tiling.str(), all.front().tiling.str());
  }
  // 3-D: 36 + 28 factorisations of 128 / 64 tokens, Q and KV independent
  EXPECT_EQ(gna::sim::evaluate_tilings(gna::preset_problem("hunyuan-na"), gna::sim::arch_model("h100")).size(),
            static_cast<size_t>((36 + 28) * (36 + 28)));
}

TEST(Sim, CostModel) {
  // flux-gna at NATTEN's tiles: 25600 full tile pairs x 24 heads at 650 TFLOP/s ~ 7.9 ms (NATTEN measured
  // 7.91 ms kernel-only on an H100); the permutation adds ~ bytes / 3 TB/s.
  const Problem p = gna::preset_problem("flux-gna");
  Tiling t;
  t.rank = 2;
  t.q_tile = {16, 8, 1};
  t.kv_tile = {16, 8, 1};
  const Accounting a = gna::sim::account(p, t);
  const auto pr = gna::sim::predict(p, a, gna::sim::arch_model("h100"));
  EXPECT_GT(pr.kernel_ms, 7.5);
  EXPECT_LT(pr.kernel_ms, 8.6);
  EXPECT_EQ(a.permute_bytes, int64_t{2} * 24 * 65536 * 256 * 2 * 2);
  EXPECT_NEAR(pr.layout_ms, a.permute_bytes / 3e9, 0.05);
  // partial tiles cost more than full ones: flux-na predicts slower than flux-gna
  const Problem pn = gna::preset_problem("flux-na");
  const auto an = gna::sim::account(pn, t);
  EXPECT_GT(gna::sim::predict(pn, an, gna::sim::arch_model("h100")).kernel_ms, pr.kernel_ms * 1.3);
  // every architecture in the one table predicts a positive time; unknown names are rejected
  for (const auto& m : gna::sim::arch_models()) EXPECT_GT(gna::sim::predict(p, a, m).total_ms, 0);
  EXPECT_THROW(gna::sim::arch_model("v100"), gna::Error);
}

// The sm80 entries (bench/calibration.md). h100-sm80 is fitted to the sm80 kernel's measured times on an
// H100 80GB HBM3 (bench/results/h100-sm80-calibration.jsonl, 2026-11-26, bf16, head dim 128, B=1): each of the 7 fitted
// presets, at the tiles it was measured with, must be predicted within 5% (the fit's max error is 1.7%;
// a wrong constant moves several presets far outside). The sm80 kernel loads tiles in place: no layout term
// even where the tiling's layout would need a permutation copy.
TEST(Sim, CalibratedSm80Model) {
  struct Row {
    const char* preset;
    std::array<int64_t, 3> q, kv;
    double measured_ms;
  };
  const Row rows[] = {
      {"flux-na", {16, 8, 1}, {8, 8, 1}, 18.8011},        {"flux-gna", {16, 8, 1}, {16, 4, 1}, 14.6337},
      {"hunyuan-na", {8, 4, 4}, {2, 8, 4}, 71.1801},      {"hunyuan-gna", {2, 8, 8}, {2, 8, 4}, 41.1587},
      {"cosmos-na", {16, 4, 2}, {16, 4, 1}, 18.8353},     {"1d-32k-na", {128, 1, 1}, {64, 1, 1}, 1.03130},
      {"1d-32k-gna", {128, 1, 1}, {64, 1, 1}, 0.94200},
  };
  const gna::sim::ArchModel& m = gna::sim::arch_model("h100-sm80");
  EXPECT_TRUE(m.calibrated);
  EXPECT_TRUE(m.loads_in_place);
  double sum_sq = 0;
  for (const Row& r : rows) {
    const Accounting a = preset_acc(r.preset, r.q, r.kv);
    SCOPED_TRACE(testing::Message() << r.preset << " " << a.tiling.str());
    const auto pr = gna::sim::predict(gna::preset_problem(r.preset), a, m);
    const double err = pr.kernel_ms / r.measured_ms - 1.0;
    EXPECT_LT(std::abs(err), 0.05);
    EXPECT_EQ(pr.layout_ms, 0.0);
    EXPECT_EQ(pr.total_ms, pr.kernel_ms);
    sum_sq += err * err;
  }
  EXPECT_LT(std::sqrt(sum_sq / 7), 0.025);  // the fit's rms relative error is 1.1%
  // flux-na at (16,8)/(8,8) needs a permutation for a permuting kernel: the hypothetical h100 entry pays
  // it, h100-sm80 does not.
  const Accounting fa = preset_acc("flux-na", {16, 8, 1}, {8, 8, 1});
  ASSERT_TRUE(fa.q_needs_copy && fa.kv_needs_copy && fa.permute_bytes > 0);
  EXPECT_GT(gna::sim::predict(gna::preset_problem("flux-na"), fa, gna::sim::arch_model("h100")).layout_ms, 1.0);
  // Every -sm80 entry loads in place and quotes its rate at its native 64-token KV tiles; only h100-sm80
  // is calibrated; the card entries keep their permutation.
  // Every -sm80 / -sm90 (compiled kernel) entry loads in place and quotes its rate at its native 64-token
  // KV tiles; only the H100 ones are calibrated; the card entries keep their permutation.
  int kernel_entries = 0;
  for (const auto& e : gna::sim::arch_models()) {
    const std::string name = e.name;
    const bool kernel = name.size() > 5 && (name.compare(name.size() - 5, 5, "-sm80") == 0 ||
                                            name.compare(name.size() - 5, 5, "-sm90") == 0);
    EXPECT_EQ(e.loads_in_place, kernel) << name;
    if (kernel) {
      ++kernel_entries;
      EXPECT_EQ(e.kv64_efficiency, 1.0) << name;
      EXPECT_EQ(e.calibrated, name == "h100-sm80" || name == "h100-sm90") << name;
      EXPECT_NO_THROW(gna::sim::arch_model(name.substr(0, name.size() - 5))) << name;
    }
  }
  EXPECT_EQ(kernel_entries, 6);
}

// h100-sm90 is fitted the same way, with all_full_factor, to the sm90 (warp-specialized TMA + wgmma) kernel's
// times on the same H100 (bench/results/h100-sm90-calibration.jsonl, 2026-11-27, session 19's kernel): each
// fitted preset within 2%; cosmos-na, left out of the fit, is predicted 6.1% fast (its 16x4x1 KV box costs
// more than the model's counts say; bench/calibration.md).
TEST(Sim, CalibratedSm90Model) {
  struct Row {
    const char* preset;
    std::array<int64_t, 3> q, kv;
    double measured_ms, tolerance;
  };
  const Row rows[] = {
      {"flux-na", {16, 8, 1}, {8, 8, 1}, 10.8578, 0.02},     {"flux-gna", {16, 8, 1}, {16, 4, 1}, 7.9995, 0.02},
      {"hunyuan-na", {8, 4, 4}, {2, 8, 4}, 44.0353, 0.02},   {"hunyuan-gna", {2, 8, 8}, {2, 8, 4}, 22.5849, 0.02},
      {"cosmos-na", {16, 4, 2}, {16, 4, 1}, 11.6257, 0.07},  {"1d-32k-na", {128, 1, 1}, {64, 1, 1}, 0.5057, 0.02},
      {"1d-32k-gna", {128, 1, 1}, {64, 1, 1}, 0.4364, 0.02},
  };
  const gna::sim::ArchModel& m = gna::sim::arch_model("h100-sm90");
  EXPECT_TRUE(m.calibrated);
  EXPECT_TRUE(m.loads_in_place);
  for (const Row& r : rows) {
    const Accounting a = preset_acc(r.preset, r.q, r.kv);
    SCOPED_TRACE(testing::Message() << r.preset << " " << a.tiling.str());
    const auto pr = gna::sim::predict(gna::preset_problem(r.preset), a, m);
    EXPECT_LT(std::abs(pr.kernel_ms / r.measured_ms - 1.0), r.tolerance);
    EXPECT_EQ(pr.layout_ms, 0.0);
  }
  // all_full_factor raises the full-tile rate of perfectly block-sparse problems only (the sm90 kernel's
  // ping-pong); every other entry leaves it at 1.
  EXPECT_GT(m.all_full_factor, 1.0);
  for (const auto& e : gna::sim::arch_models())
    if (std::string(e.name).find("sm90") == std::string::npos) {
      EXPECT_EQ(e.all_full_factor, 1.0) << e.name;
    }
  gna::sim::ArchModel plain = m;
  plain.all_full_factor = 1.0;
  const Accounting gna_acc = preset_acc("flux-gna", {16, 8, 1}, {16, 4, 1});
  const Accounting na_acc = preset_acc("flux-na", {16, 8, 1}, {8, 8, 1});
  ASSERT_TRUE(gna_acc.perfectly_block_sparse);
  ASSERT_FALSE(na_acc.perfectly_block_sparse);
  const auto fast = gna::sim::predict(gna::preset_problem("flux-gna"), gna_acc, m);
  const auto slow = gna::sim::predict(gna::preset_problem("flux-gna"), gna_acc, plain);
  EXPECT_NEAR(fast.full_tile_us * m.all_full_factor, slow.full_tile_us, 1e-9);
  EXPECT_EQ(gna::sim::predict(gna::preset_problem("flux-na"), na_acc, m).kernel_ms,
            gna::sim::predict(gna::preset_problem("flux-na"), na_acc, plain).kernel_ms);
}

// The planner's choice for the sm80 family under the calibrated model (what the sm80 backend runs when it
// passes "h100-sm80"): the measured tiles for the 7 large presets; for small-2d the tiling with the fewest
// visited tiles, since without a layout term the old copy-free 2x64/1x64 has no advantage left.
TEST(Sim, Sm80PlannerChoice) {
  const std::pair<const char*, const char*> want[] = {
      {"flux-na", "16x8/8x8"},          {"flux-gna", "16x8/16x4"},      {"hunyuan-na", "8x4x4/2x8x4"},
      {"hunyuan-gna", "2x8x8/2x8x4"},   {"cosmos-na", "16x4x2/16x4x1"}, {"1d-32k-na", "128/64"},
      {"1d-32k-gna", "128/64"},         {"small-2d", "16x8/8x8"},
  };
  for (const auto& w : want)
    EXPECT_EQ(gna::sim::plan(gna::preset_problem(w.first), "h100-sm80", gna::DType::bf16,
                             gna::na::KernelFamily::sm80)
                  .tiling.str(),
              w.second)
        << w.first;
  EXPECT_EQ(gna::sim::plan(gna::preset_problem("small-2d"), "h100", gna::DType::bf16, gna::na::KernelFamily::sm80)
                .tiling.str(),
            "2x64/1x64");
}

TEST(Sim, RejectsBadTilings) {
  const Problem p = gna::preset_problem("flux-gna");
  Tiling t;
  t.rank = 2;
  t.q_tile = {0, 8, 1};
  t.kv_tile = {16, 8, 1};
  EXPECT_THROW(gna::sim::account(p, t), gna::Error);
  t.q_tile = {16, 8, 1};
  t.rank = 1;
  EXPECT_THROW(gna::sim::account(p, t), gna::Error);
}
