// tests/cuda/test_mask_bits.cpp -- layer: tests (CUDA build, host only: no device needed). The column-mask
// bit order of src/cuda/fwd/mask_bits.hpp against its definition: keep_bit is a permutation of the 64
// bits, a lane's 16-bit field (quad_bits) holds exactly the columns that lane holds in the m16n8 layout
// (8j + 2q + c at bit 2j + c), and extra_keep_bits' closed form equals the mask built column by column.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>

#include "cuda/fwd/mask_bits.hpp"

namespace {

using namespace gna::cuda::fwd;

TEST(MaskBits, KeepBitIsAPermutation) {
  std::set<int> bits;
  for (int col = 0; col < 64; ++col) bits.insert(keep_bit(col));
  EXPECT_EQ(bits.size(), 64u);
  EXPECT_EQ(*bits.begin(), 0);
  EXPECT_EQ(*bits.rbegin(), 63);
}

TEST(MaskBits, QuadBitsAreTheLanesColumns) {
  for (int col = 0; col < 64; ++col) {
    const uint64_t one = uint64_t(1) << keep_bit(col);
    const int j = col / 8, q = (col % 8) / 2, c = col % 2;
    for (int lane = 0; lane < 32; ++lane)
      EXPECT_EQ(quad_bits(one, lane), lane % 4 == q ? 1u << (2 * j + c) : 0u) << "column " << col << " lane " << lane;
  }
}

TEST(MaskBits, ExtraKeepBitsEqualsColumnByColumn) {
  for (int64_t first : {int64_t(0), int64_t(64), int64_t(1) << 33})
    for (int64_t n = -70; n <= 140; ++n) {
      uint64_t want = 0;
      for (int col = 0; col < 64; ++col)
        if (col < n) want |= uint64_t(1) << keep_bit(col);
      EXPECT_EQ(extra_keep_bits(first, first + n), want) << "first " << first << " keys " << n;
    }
}

}  // namespace
