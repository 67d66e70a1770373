// tests/unit/test_tile_order.cpp -- layer: tests. na/tile_order.hpp: the Q-tile order is a bijection of the
// grid for every level permutation and span, spans equal to the extents give the row-major order, and the
// default order (stride groups together) is row-major without groups and otherwise runs each stride
// group's tiles (identical KV boxes, brute force) consecutively.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "gna/na/tile_order.hpp"

using namespace gna::na;

namespace {

std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> walk(const uint32_t (&n)[3], const int (&axis)[3], const uint32_t (&s)[3]) {
  const uint32_t ln[3] = {n[axis[0]], n[axis[1]], n[axis[2]]};
  std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> out;
  for (uint32_t lin = 0; lin < n[0] * n[1] * n[2]; ++lin) {
    uint32_t t[3] = {~0u, ~0u, ~0u};
    ordered_tile(lin, axis, ln, s, t);
    out.emplace_back(t[0], t[1], t[2]);
  }
  return out;
}

// One (batch, head, group)'s axes and tiles.
struct OrderAxes {
  GroupAxis axis[3];
  int64_t q_tile[3], kv_tile[3];
};

OrderAxes axes(std::vector<int64_t> L, std::vector<int64_t> w, std::vector<int64_t> s, std::vector<int64_t> q,
               std::vector<int64_t> k) {
  OrderAxes o;
  for (int d = 0; d < 3; ++d) {
    o.axis[d] = GroupAxis{L[d], w[d], s[d], false};
    o.q_tile[d] = q[d];
    o.kv_tile[d] = k[d];
  }
  return o;
}

// The Q-tile sequence of an order on the grid of `o`.
std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> sequence(const OrderAxes& o, const TileOrder& t) {
  uint32_t n[3], s[3];
  for (int d = 0; d < 3; ++d) n[d] = uint32_t(num_tiles(o.axis[d].extent, o.q_tile[d]));
  for (int k = 0; k < 3; ++k) s[k] = uint32_t(level_span(t, k, n[t.axis[k]]));
  return walk(n, t.axis, s);
}
TileOrder default_order(const OrderAxes& o) { return stride_group_order(o.axis, o.q_tile); }

}  // namespace

TEST(TileOrder, FullSpansAreRowMajor) {
  const uint32_t n[3] = {3, 5, 4};
  const auto w = walk(n, {0, 1, 2}, {3, 5, 4});
  for (uint32_t lin = 0; lin < w.size(); ++lin)
    EXPECT_EQ(w[lin], std::make_tuple(lin / 20, (lin / 4) % 5, lin % 4)) << lin;
}

TEST(TileOrder, EveryOrderIsABijection) {
  std::mt19937 rng(7);
  auto pick = [&](uint32_t m) { return 1 + uint32_t(rng() % m); };
  const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const uint32_t n[3] = {pick(7), pick(7), pick(7)};
    for (const auto& p : perms) {
      const int axis[3] = {p[0], p[1], p[2]};
      const uint32_t s[3] = {pick(n[p[0]]), pick(n[p[1]]), pick(n[p[2]])};
      const auto w = walk(n, axis, s);
      std::set<std::tuple<uint32_t, uint32_t, uint32_t>> seen(w.begin(), w.end());
      ASSERT_EQ(seen.size(), w.size()) << "a tile taken twice: n " << n[0] << "," << n[1] << "," << n[2];
      for (const auto& t : w) {
        ASSERT_LT(std::get<0>(t), n[0]);
        ASSERT_LT(std::get<1>(t), n[1]);
        ASSERT_LT(std::get<2>(t), n[2]);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 360);
}

TEST(TileOrder, SweepTakesACrossSectionPerStep) {
  // levels (axis 1 span 2, axis 2 span 1, axis 0 span 1) on a 4 x 3 x 2 grid: the first slab of axis 1 (t1 in
  // {0, 1}), swept along axis 0 one cross-section (t1 in {0, 1}, t2) at a time, t2 slabs of 1 outside it.
  const uint32_t n[3] = {4, 3, 2};
  const auto w = walk(n, {1, 2, 0}, {2, 1, 1});
  EXPECT_EQ(w[0], std::make_tuple(0u, 0u, 0u));
  EXPECT_EQ(w[1], std::make_tuple(0u, 1u, 0u));
  EXPECT_EQ(w[2], std::make_tuple(1u, 0u, 0u));
  EXPECT_EQ(w[7], std::make_tuple(3u, 1u, 0u));
  EXPECT_EQ(w[8], std::make_tuple(0u, 0u, 1u));
  EXPECT_EQ(w[16], std::make_tuple(0u, 2u, 0u));  // the short last slab of axis 1
  EXPECT_EQ(w[23], std::make_tuple(3u, 2u, 1u));
}

TEST(TileOrder, StrideGroupOrderIsRowMajorWithoutGroups) {
  // Stride 1 (flux-na, hunyuan-na), and flux-gna, whose stride groups (16 x 16 over 16 x 8 Q tiles) are
  // already adjacent in the row-major order: the default order is the row-major one.
  for (const OrderAxes& o : {axes({256, 256, 1}, {80, 80, 1}, {1, 1, 1}, {16, 8, 1}, {8, 8, 1}),
                             axes({30, 48, 80}, {18, 24, 24}, {1, 1, 1}, {8, 4, 4}, {2, 8, 4}),
                             axes({256, 256, 1}, {80, 80, 1}, {16, 16, 1}, {16, 8, 1}, {16, 4, 1}),
                             axes({50, 40, 1}, {9, 9, 1}, {6, 6, 1}, {4, 4, 1}, {8, 8, 1})})  // 4 does not divide 6
    EXPECT_EQ(sequence(o, default_order(o)), sequence(o, TileOrder{}));
  // A causal axis: the windows of a stride group end at each query, so its tiles' boxes differ.
  OrderAxes causal = axes({30, 48, 80}, {18, 24, 24}, {16, 8, 8}, {2, 8, 8}, {2, 8, 4});
  causal.axis[0].is_causal = true;
  EXPECT_EQ(sequence(causal, default_order(causal)), sequence(causal, TileOrder{}));
}

TEST(TileOrder, StrideGroupTilesRunTogether) {
  // hunyuan-gna: stride 16 over Q tiles of 2 frames, 8 tiles per group on axis 0 (the last group 7); a
  // 720p-like grid with groups on two axes. Each stride group is one run of consecutive positions, and its
  // tiles have identical KV boxes on every axis.
  for (const OrderAxes& o : {axes({30, 48, 80}, {18, 24, 24}, {16, 8, 8}, {2, 8, 8}, {2, 8, 4}),
                             axes({30, 90, 160}, {18, 24, 24}, {16, 8, 8}, {16, 2, 4}, {2, 4, 8})}) {
    int64_t g[3], group = 1;
    for (int d = 0; d < 3; ++d) group *= (g[d] = stride_group_tiles(o.axis[d], o.q_tile[d]));
    EXPECT_GT(group, 1);
    const auto seq = sequence(o, default_order(o));
    // Each stride group (t_d / g_d per axis) is one run of consecutive positions, with one KV box.
    std::set<std::tuple<int64_t, int64_t, int64_t>> finished;
    std::tuple<int64_t, int64_t, int64_t> current{-1, -1, -1};
    Range box[3];
    for (size_t i = 0; i < seq.size(); ++i) {
      const uint32_t ti[3] = {std::get<0>(seq[i]), std::get<1>(seq[i]), std::get<2>(seq[i])};
      const auto id = std::make_tuple(ti[0] / g[0], ti[1] / g[1], ti[2] / g[2]);
      if (id != current) {
        ASSERT_TRUE(finished.insert(current).second || i == 0) << "a stride group split at position " << i;
        ASSERT_EQ(finished.count(id), 0u) << "a stride group split at position " << i;
        current = id;
        for (int d = 0; d < 3; ++d) box[d] = axis_kv_box(ti[d], o.q_tile[d], o.kv_tile[d], o.axis[d]);
        continue;
      }
      for (int d = 0; d < 3; ++d) {
        const Range b = axis_kv_box(ti[d], o.q_tile[d], o.kv_tile[d], o.axis[d]);
        ASSERT_EQ(b.start, box[d].start) << "position " << i << " axis " << d;
        ASSERT_EQ(b.end, box[d].end) << "position " << i << " axis " << d;
      }
    }
  }
}
