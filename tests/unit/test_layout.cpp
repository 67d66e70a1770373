// tests/unit/test_layout.cpp -- layer: tests. na/layout.hpp (spec s8 token permutation) round trips.
//
// For many rank 1-3 layouts (extents, tiles incl. 1, dilations): every real token maps to a distinct
// in-range permuted slot, from_permuted inverts it, every slot not hit is padding, the folded batch
// and tile coordinates agree with the group-local tiles of na/tiles.hpp, and needs_copy is right.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "gna/na/layout.hpp"
#include "gna/na/tiles.hpp"

using namespace gna::na;

namespace {

void check_layout(const TokenLayout& l, int64_t batch) {
  const int64_t slots = l.group_tokens();
  const int64_t folded = batch * l.groups();
  std::vector<char> hit(static_cast<size_t>(folded * slots), 0);
  int64_t n = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < l.tokens(); ++t) {
      int64_t x[gna::kMaxRank] = {0, 0, 0}, rem = t;
      for (int d = l.rank - 1; d >= 0; --d) {
        x[d] = rem % l.extent[d];
        rem /= l.extent[d];
      }
      const PermutedIndex p = to_permuted(l, b, x);
      ASSERT_GE(p.batch, 0);
      ASSERT_LT(p.batch, folded);
      ASSERT_GE(p.index, 0);
      ASSERT_LT(p.index, slots);
      char& h = hit[static_cast<size_t>(p.batch * slots + p.index)];
      ASSERT_EQ(h, 0) << "two tokens map to one slot";
      h = 1;
      ++n;
      int64_t b2 = -1, y[gna::kMaxRank] = {0, 0, 0};
      ASSERT_TRUE(from_permuted(l, p, &b2, y));
      ASSERT_EQ(b2, b);
      for (int d = 0; d < l.rank; ++d) {
        ASSERT_EQ(y[d], x[d]);
        // the tile coordinate is the group-local tile of tiles.hpp: (x / D) / T
        const int64_t tiles_d = l.tiles(d);
        int64_t tl = p.index / l.tile_tokens();
        for (int e = l.rank - 1; e > d; --e) tl /= l.tiles(e);
        ASSERT_EQ(tl % tiles_d, (x[d] / l.dilation[d]) / l.tile[d]);
      }
    }
  // every other slot is padding
  for (int64_t fb = 0; fb < folded; ++fb)
    for (int64_t s = 0; s < slots; ++s) {
      int64_t b2 = 0, y[gna::kMaxRank] = {0, 0, 0};
      const bool real = from_permuted(l, PermutedIndex{fb, s}, &b2, y);
      ASSERT_EQ(real, hit[static_cast<size_t>(fb * slots + s)] != 0) << "slot " << fb << "," << s;
      if (real) {
        const PermutedIndex back = to_permuted(l, b2, y);
        ASSERT_EQ(back.batch, fb);
        ASSERT_EQ(back.index, s);
      }
    }
  ASSERT_EQ(n, batch * l.tokens());
  // padded extents are multiples of T*D and cover L
  for (int d = 0; d < l.rank; ++d) {
    ASSERT_EQ(l.padded_extent(d) % (l.tile[d] * l.dilation[d]), 0);
    ASSERT_GE(l.padded_extent(d), l.extent[d]);
    ASSERT_LT(l.padded_extent(d) - l.extent[d], l.tile[d] * l.dilation[d]);
    // group-local padded extent covers the longest group
    ASSERT_GE(l.group_padded_extent(d), group_extent(l.extent[d], l.dilation[d], 0));
  }
}

}  // namespace

TEST(Layout, RoundTripExhaustive1d) {
  for (int64_t L = 1; L < 40; ++L)
    for (int64_t T = 1; T <= 9; ++T)
      for (int64_t D = 1; D <= L; ++D) {
        TokenLayout l;
        l.extent[0] = L;
        l.tile[0] = T;
        l.dilation[0] = D;
        SCOPED_TRACE(testing::Message() << "L=" << L << " T=" << T << " D=" << D);
        check_layout(l, 2);
        if (HasFatalFailure()) return;
        EXPECT_EQ(needs_copy(l), D != 1);
      }
}

TEST(Layout, RoundTripRandomNd) {
  std::mt19937_64 rng(7);
  auto uni = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int rank = 2; rank <= 3; ++rank)
    for (int it = 0; it < 300; ++it) {
      TokenLayout l;
      l.rank = rank;
      for (int d = 0; d < rank; ++d) {
        l.extent[d] = uni(1, rank == 2 ? 13 : 7);
        l.tile[d] = uni(1, 5);
        l.dilation[d] = uni(1, 3);
      }
      SCOPED_TRACE(testing::Message() << "rank " << rank << " sample " << it);
      check_layout(l, uni(1, 2));
      if (HasFatalFailure()) return;
    }
}

TEST(Layout, NeedsCopy) {
  TokenLayout l;
  l.rank = 2;
  l.extent[0] = 10;
  l.extent[1] = 6;
  l.tile[0] = 4;
  l.tile[1] = 6;
  EXPECT_FALSE(needs_copy(l));  // tiles are contiguous row-major runs
  l.tile[1] = 3;
  EXPECT_TRUE(needs_copy(l));
  l.tile[1] = 6;
  l.dilation[0] = 2;
  EXPECT_TRUE(needs_copy(l));
  // FLUX 256x256 with tiles (16, 8): 16-row tiles are not contiguous runs
  TokenLayout f;
  f.rank = 2;
  f.extent[0] = f.extent[1] = 256;
  f.tile[0] = 16;
  f.tile[1] = 8;
  EXPECT_TRUE(needs_copy(f));
  EXPECT_EQ(f.padded_tokens(), 65536);
  // identity map when no copy is needed
  TokenLayout one;
  one.extent[0] = 37;
  one.tile[0] = 8;
  for (int64_t x = 0; x < 37; ++x) {
    const PermutedIndex p = to_permuted(one, 1, &x);
    EXPECT_EQ(p.batch, 1);
    EXPECT_EQ(p.index, x);
  }
}
