// tests/unit/test_tiles.cpp -- layer: tests. na/tiles.hpp (spec s8) vs brute force over (q, k) pairs.
//
// 1-D exhaustive (every group-local axis with L < 40, K in [2, L], S in [1, K], causal 0/1, tile extents
// 1..8 for Q and KV): the KV-tile box of every Q tile is exactly the set of KV tiles holding a neighbor of
// a real query; every KV tile is classified full/partial exactly; per-axis counts and the perfectly
// block-sparse predicate agree. 2-D/3-D with dilation: a random sample checked the same way on global
// coordinates. Plus the NATTEN trap of spec s8.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "gna/na/tiles.hpp"
#include "unit/brute.hpp"

using namespace gna::na;

namespace {
constexpr int64_t kMaxL = 40;
constexpr int64_t kMaxTile = 8;
}  // namespace

TEST(Tiles, AxisBoxAndFullExhaustive) {
  int64_t pairs_checked = 0;
  for (int64_t L = 2; L < kMaxL; ++L)
    for (int64_t K = 2; K <= L; ++K)
      for (int64_t S = 1; S <= K; ++S)
        for (int c = 0; c < 2; ++c) {
          const std::vector<char> m = brute::local_matrix(L, K, S, c == 1);
          const GroupAxis a{L, K, S, c == 1};
          for (int64_t tq = 1; tq <= kMaxTile; ++tq)
            for (int64_t tk = 1; tk <= kMaxTile; ++tk) {
              const int64_t nq = (L + tq - 1) / tq, nk = (L + tk - 1) / tk;
              int64_t visited = 0, full = 0;
              bool perfect = true;
              std::vector<char> any_m(static_cast<size_t>(nq * (nk + 1))), all_m(any_m.size());
              for (int64_t qt = 0; qt < nq; ++qt) {
                const int64_t q0 = qt * tq, q1 = std::min(q0 + tq, L);
                int64_t box_lo = -1, box_hi = -1, box_n = 0, full_n = 0;
                // also probe one KV tile past the last real one: it is padding only, never full
                for (int64_t kt = 0; kt <= nk; ++kt) {
                  const int64_t k0 = kt * tk, k1 = kt * tk + tk;
                  bool any = false, all = k1 <= L;
                  for (int64_t q = q0; q < q1; ++q)
                    for (int64_t k = k0; k < std::min(k1, L); ++k) {
                      const bool att = m[static_cast<size_t>(q * L + k)];
                      any |= att;
                      all &= att;
                    }
                  if (k0 >= L) all = false;
                  any_m[static_cast<size_t>(qt * (nk + 1) + kt)] = any;
                  all_m[static_cast<size_t>(qt * (nk + 1) + kt)] = all;
                  pairs_checked += (q1 - q0) * tk;
                  if (any) {
                    if (box_lo < 0) box_lo = kt;
                    box_hi = kt + 1;
                    ++box_n;
                  }
                  ASSERT_EQ(axis_tile_full(qt, kt, tq, tk, a), all)
                      << "L=" << L << " K=" << K << " S=" << S << " c=" << c << " Tq=" << tq << " Tkv=" << tk
                      << " qt=" << qt << " kt=" << kt;
                  full_n += all;
                }
                const Range box = axis_kv_box(qt, tq, tk, a);
                ASSERT_EQ(box_hi - box_lo, box_n) << "box not contiguous";
                ASSERT_EQ(box.start, box_lo) << "L=" << L << " K=" << K << " S=" << S << " c=" << c
                                             << " Tq=" << tq << " Tkv=" << tk << " qt=" << qt;
                ASSERT_EQ(box.end, box_hi) << "L=" << L << " K=" << K << " S=" << S << " c=" << c
                                           << " Tq=" << tq << " Tkv=" << tk << " qt=" << qt;
                const Range fr = axis_full_range(qt, tq, tk, a);
                ASSERT_EQ(fr.size(), full_n);
                if (full_n > 0) {
                  ASSERT_GE(fr.start, box.start);
                  ASSERT_LE(fr.end, box.end);
                }
                visited += box_n;
                full += full_n;
                perfect &= (box_n == full_n);
              }
              // key-major: the Q tiles visiting / full with each KV tile, from the inverse windows
              int64_t visited_km = 0;
              for (int64_t kt = 0; kt <= nk; ++kt) {
                int64_t lo = -1, hi = -1, n_any = 0, n_all = 0, f_lo = -1, f_hi = -1;
                for (int64_t qt = 0; qt < nq; ++qt) {
                  if (any_m[static_cast<size_t>(qt * (nk + 1) + kt)]) {
                    if (lo < 0) lo = qt;
                    hi = qt + 1;
                    ++n_any;
                  }
                  if (all_m[static_cast<size_t>(qt * (nk + 1) + kt)]) {
                    if (f_lo < 0) f_lo = qt;
                    f_hi = qt + 1;
                    ++n_all;
                  }
                }
                const Range qb = axis_q_box(kt, tq, tk, a);
                const Range qf = axis_q_full_range(kt, tq, tk, a);
                ASSERT_EQ(qb.size() > 0 ? qb.size() : 0, n_any)
                    << "L=" << L << " K=" << K << " S=" << S << " c=" << c << " Tq=" << tq << " Tkv=" << tk << " kt=" << kt;
                if (n_any > 0) {
                  ASSERT_EQ(qb.start, lo);
                  ASSERT_EQ(qb.end, hi);
                }
                ASSERT_EQ(f_hi - f_lo, n_all) << "full Q tiles not contiguous";
                ASSERT_EQ(qf.size(), n_all)
                    << "L=" << L << " K=" << K << " S=" << S << " c=" << c << " Tq=" << tq << " Tkv=" << tk << " kt=" << kt;
                if (n_all > 0) {
                  ASSERT_EQ(qf.start, f_lo);
                  ASSERT_EQ(qf.end, f_hi);
                }
                visited_km += n_any;
              }
              ASSERT_EQ(visited_km, visited);
              const AxisTileCounts cnt = axis_tile_counts(tq, tk, a);
              ASSERT_EQ(cnt.q_tiles, nq);
              ASSERT_EQ(cnt.visited, visited);
              ASSERT_EQ(cnt.full, full);
              ASSERT_EQ(axis_perfectly_block_sparse(tq, tk, a), perfect)
                  << "L=" << L << " K=" << K << " S=" << S << " c=" << c << " Tq=" << tq << " Tkv=" << tk;
            }
        }
  EXPECT_GT(pairs_checked, 100000000);
}

// spec s8: NATTEN's closed-form shortcut reports "fully block-sparse" here; the exact rule must not.
TEST(Tiles, NattenTrapTileExtentOne) {
  const GroupAxis a{5, 4, 1, false};
  // windows: 0,1,2 -> [0,4); 3,4 -> [1,5). KV tiles of 2: {0,1} {2,3} {4,pad}.
  EXPECT_EQ(axis_kv_box(0, 1, 2, a).start, 0);
  EXPECT_EQ(axis_kv_box(0, 1, 2, a).end, 2);
  EXPECT_TRUE(axis_tile_full(0, 0, 1, 2, a));
  EXPECT_TRUE(axis_tile_full(0, 1, 1, 2, a));
  EXPECT_EQ(axis_kv_box(3, 1, 2, a).start, 0);
  EXPECT_EQ(axis_kv_box(3, 1, 2, a).end, 3);
  EXPECT_FALSE(axis_tile_full(3, 0, 1, 2, a));  // key 0 not attended by query 3
  EXPECT_TRUE(axis_tile_full(3, 1, 1, 2, a));
  EXPECT_FALSE(axis_tile_full(3, 2, 1, 2, a));  // key 4 attended but the tile holds padding
  EXPECT_FALSE(axis_perfectly_block_sparse(1, 2, a));
  const AxisTileCounts c = axis_tile_counts(1, 2, a);
  EXPECT_EQ(c.visited, 2 + 2 + 2 + 3 + 3);
  EXPECT_EQ(c.full, 2 + 2 + 2 + 1 + 1);
}

namespace {

struct NdCase {
  int rank;
  AxisSpec axes[gna::kMaxRank];
  TileShape t;
};

NdCase random_case(std::mt19937_64& rng, int rank) {
  NdCase c;
  c.rank = rank;
  c.t.rank = rank;
  auto uni = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int d = 0; d < rank; ++d) {
    AxisSpec& a = c.axes[d];
    a.extent = uni(2, rank == 2 ? 14 : 9);
    a.window = uni(2, a.extent);
    a.stride = uni(1, a.window);
    a.dilation = uni(1, a.extent / a.window);
    a.is_causal = uni(0, 3) == 0;
    c.t.q[d] = uni(1, 5);
    c.t.kv[d] = uni(1, 5);
  }
  return c;
}

// Brute force over global coordinates of one N-d case: for every dilation group and every Q tile,
// compare the box, the full sub-box, the iteration helpers and the per-pair classification.
void check_nd(const NdCase& c) {
  const int r = c.rank;
  brute::Axis b[gna::kMaxRank];
  for (int d = 0; d < r; ++d)
    b[d] = brute::Axis{c.axes[d].extent, c.axes[d].window, c.axes[d].stride, c.axes[d].dilation,
                       c.axes[d].is_causal};
  int64_t groups[gna::kMaxRank] = {1, 1, 1};
  int64_t ngroups = 1;
  for (int d = 0; d < r; ++d) ngroups *= (groups[d] = c.axes[d].dilation);
  bool perfect = true;
  for (int64_t gl = 0; gl < ngroups; ++gl) {
    int64_t g[gna::kMaxRank] = {0, 0, 0};
    tile_coord(gl, groups, r, g);
    GroupAxis ga[gna::kMaxRank];
    int64_t nq[gna::kMaxRank] = {1, 1, 1}, nk[gna::kMaxRank] = {1, 1, 1};
    int64_t nq_total = 1, nk_total = 1;
    for (int d = 0; d < r; ++d) {
      ga[d] = group_axis(c.axes[d], g[d]);
      nq_total *= (nq[d] = num_tiles(ga[d].extent, c.t.q[d]));
      nk_total *= (nk[d] = num_tiles(ga[d].extent, c.t.kv[d]) + 1);  // one padding-only tile past the end
    }
    for (int64_t ql = 0; ql < nq_total; ++ql) {
      int64_t qc[gna::kMaxRank] = {0, 0, 0};
      tile_coord(ql, nq, r, qc);
      const TileBox box = kv_tile_box(qc, c.t, ga);
      const TileBox fbox = full_tile_box(qc, c.t, ga);
      int64_t n_any = 0, n_full = 0;
      for (int64_t kl = 0; kl < nk_total; ++kl) {
        int64_t kc[gna::kMaxRank] = {0, 0, 0};
        tile_coord(kl, nk, r, kc);
        // enumerate every (q, k) pair of the two tiles in global coordinates
        bool any = false, all = true;
        int64_t qn = 1, kn = 1;
        for (int d = 0; d < r; ++d) {
          qn *= c.t.q[d];
          kn *= c.t.kv[d];
        }
        int64_t nreal_q = 0;
        for (int64_t qi = 0; qi < qn; ++qi) {
          int64_t qx[gna::kMaxRank], rem = qi;
          bool q_real = true;
          for (int d = r - 1; d >= 0; --d) {
            const int64_t local = qc[d] * c.t.q[d] + rem % c.t.q[d];
            rem /= c.t.q[d];
            qx[d] = local * c.axes[d].dilation + g[d];
            q_real &= qx[d] < c.axes[d].extent;
          }
          if (!q_real) continue;  // padding queries don't count
          ++nreal_q;
          for (int64_t ki = 0; ki < kn; ++ki) {
            int64_t kx[gna::kMaxRank];
            int64_t rem2 = ki;
            bool k_real = true;
            for (int d = r - 1; d >= 0; --d) {
              const int64_t local = kc[d] * c.t.kv[d] + rem2 % c.t.kv[d];
              rem2 /= c.t.kv[d];
              kx[d] = local * c.axes[d].dilation + g[d];
              k_real &= kx[d] < c.axes[d].extent;
            }
            if (!k_real) {
              all = false;
              continue;
            }
            bool att = true;
            for (int d = 0; d < r; ++d) att &= brute::axis_attends(qx[d], kx[d], b[d]);
            any |= att;
            all &= att;
          }
        }
        ASSERT_GT(nreal_q, 0);
        ASSERT_EQ(box.contains(kc), any) << "rank " << r << " group " << gl << " q tile " << ql << " kv " << kl;
        ASSERT_EQ(is_full_tile(qc, kc, c.t, ga), all) << "rank " << r << " q tile " << ql << " kv " << kl;
        ASSERT_EQ(fbox.contains(kc), all);
        n_any += any;
        n_full += all;
      }
      ASSERT_EQ(box.count(), n_any);
      ASSERT_EQ(fbox.count(), n_full);
      ASSERT_EQ(num_visited_kv_tiles(qc, c.t, ga), n_any);
      perfect &= (n_any == n_full);
      // iteration helpers: kv_tile_at enumerates the box exactly once, row-major, and inverts
      std::set<std::vector<int64_t>> seen;
      for (int64_t n = 0; n < box.count(); ++n) {
        int64_t kc[gna::kMaxRank] = {0, 0, 0};
        kv_tile_at(box, n, kc);
        ASSERT_TRUE(box.contains(kc));
        ASSERT_EQ(kv_tile_index(box, kc), n);
        seen.insert(std::vector<int64_t>(kc, kc + r));
      }
      ASSERT_EQ(static_cast<int64_t>(seen.size()), box.count());
      // full-first order: the first fbox.count() tiles are the full ones, then the partial ones, each once
      seen.clear();
      for (int64_t n = 0; n < box.count(); ++n) {
        int64_t kc[gna::kMaxRank] = {0, 0, 0};
        const bool f = tile_at_full_first(box, fbox, n, kc);
        ASSERT_TRUE(box.contains(kc));
        ASSERT_EQ(f, n < fbox.count());
        ASSERT_EQ(f, is_full_tile(qc, kc, c.t, ga));
        seen.insert(std::vector<int64_t>(kc, kc + r));
      }
      ASSERT_EQ(static_cast<int64_t>(seen.size()), box.count());
    }
    // key-major boxes: Q tile qc is in q_tile_box(kc) iff kc is in kv_tile_box(qc); same for full
    for (int64_t kl = 0; kl < nk_total; ++kl) {
      int64_t kc[gna::kMaxRank] = {0, 0, 0};
      tile_coord(kl, nk, r, kc);
      const TileBox qb = q_tile_box(kc, c.t, ga);
      const TileBox qf = full_q_tile_box(kc, c.t, ga);
      int64_t n_any = 0, n_full = 0;
      for (int64_t ql = 0; ql < nq_total; ++ql) {
        int64_t qc[gna::kMaxRank] = {0, 0, 0};
        tile_coord(ql, nq, r, qc);
        const bool v = kv_tile_box(qc, c.t, ga).contains(kc);
        const bool f = is_full_tile(qc, kc, c.t, ga);
        ASSERT_EQ(qb.contains(qc), v) << "key-major box, rank " << r;
        ASSERT_EQ(qf.contains(qc), f) << "key-major full, rank " << r;
        n_any += v;
        n_full += f;
      }
      ASSERT_EQ(qb.count(), n_any);
      ASSERT_EQ(qf.count(), n_full);
    }
  }
  ASSERT_EQ(perfectly_block_sparse(c.axes, c.t), perfect);
}

}  // namespace

TEST(Tiles, NdRandomSampleWithDilation) {
  std::mt19937_64 rng(20261126);
  for (int rank = 1; rank <= 3; ++rank)
    for (int it = 0; it < (rank == 1 ? 400 : 250); ++it) {
      const NdCase c = random_case(rng, rank);
      SCOPED_TRACE(testing::Message() << "rank " << rank << " sample " << it);
      check_nd(c);
      if (testing::Test::HasFatalFailure()) return;
    }
}

// Perfectly block-sparse cases must exist in the sample space: strides aligned to the tiles.
TEST(Tiles, PerfectlyBlockSparseAlignedStride) {
  // 1-D: L=32768, K=2048, S=256, tiles 128/128 (spec s8 / anchors: 16x, no mask).
  const AxisSpec a{32768, 2048, 256, 1, false};
  TileShape t;
  t.rank = 1;
  t.q[0] = 128;
  t.kv[0] = 128;
  EXPECT_TRUE(perfectly_block_sparse(&a, t));
  const AxisSpec s1{32768, 2048, 1, 1, false};
  EXPECT_FALSE(perfectly_block_sparse(&s1, t));
}
