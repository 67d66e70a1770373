// tests/cuda/test_tma_maps.cpp -- layer: tests (CUDA build, host only: no device needed). Which problems the
// sm90 backend runs on the warp-specialized TMA kernel: the eligibility rules of src/cuda/sm90/tma_maps.hpp
// (tma_unsupported), on the bench presets' shapes and on each rule's violation. A rule that silently
// failed would send every problem to the shared kernel (correct, but ~20% slower), which no GPU test sees.
// Likewise the consumer ping-pong's default (fwd_policy.hpp): on exactly where no KV tile is partial.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "cuda/sm90/fwd_policy.hpp"
#include "cuda/sm90/tma_maps.hpp"

namespace {

using gna::cuda::FwdParams;

// FwdParams of a contiguous heads-last problem [B, X0, X1, X2, H, D] (K/V with `kv_heads`), the way the
// backend fills them. Pointers are never dereferenced: only their alignment matters.
FwdParams contiguous(int64_t batch, const int64_t (&extent)[3], int64_t heads, int64_t kv_heads, int64_t dim,
                     const int (&q_tile)[3], const int (&kv_tile)[3], const int64_t (&dilation)[3] = {1, 1, 1}) {
  FwdParams p{};
  p.q = p.k = p.v = reinterpret_cast<const void*>(uintptr_t(0x10000));
  p.batch = batch, p.heads = heads, p.kv_heads = kv_heads, p.dim = dim;
  for (int d = 0; d < 3; ++d) {
    p.axis[d] = gna::na::AxisSpec{extent[d], 1, 1, dilation[d], false};
    p.q_tile[d] = q_tile[d];
    p.kv_tile[d] = kv_tile[d];
  }
  auto fill = [&](int64_t (&s)[5], int64_t h) {
    s[4] = dim;
    s[3] = h * dim;
    s[2] = extent[2] * s[3];
    s[1] = extent[1] * s[2];
    s[0] = extent[0] * s[1];
  };
  fill(p.q_stride, heads);
  fill(p.k_stride, kv_heads);
  fill(p.v_stride, kv_heads);
  return p;
}

TEST(TmaMaps, BenchPresetsAreEligible) {
  // flux-gna / flux-na (2-D), hunyuan (3-D), 1d-32k: the planner's tiles (bench/README.md).
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(1, {256, 256, 1}, 24, 24, 128, {16, 8, 1}, {16, 4, 1}), 128), "");
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(1, {256, 256, 1}, 24, 24, 128, {16, 8, 1}, {8, 8, 1}), 128), "");
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(1, {30, 48, 80}, 24, 24, 128, {2, 8, 8}, {2, 8, 4}), 128), "");
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(1, {32768, 1, 1}, 8, 8, 128, {128, 1, 1}, {64, 1, 1}), 128), "");
  // GQA, batch 2, head dims 64 and 256, dilation within the limits.
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(2, {64, 64, 1}, 8, 2, 64, {16, 8, 1}, {8, 8, 1}), 64), "");
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(1, {64, 64, 1}, 4, 4, 256, {16, 8, 1}, {8, 8, 1}), 256), "");
  EXPECT_EQ(gna::cuda::sm90::tma_unsupported(contiguous(1, {64, 64, 1}, 4, 4, 128, {16, 8, 1}, {8, 8, 1}, {8, 2, 1}), 128),
            "");
}

// Each rule, violated alone, is reported with the tensor and the rule.
TEST(TmaMaps, EachRuleIsReported) {
  using gna::cuda::sm90::tma_unsupported;
  auto has = [](const std::string& why, const char* part) { return why.find(part) != std::string::npos; };
  const FwdParams base = contiguous(1, {64, 64, 1}, 8, 8, 128, {16, 8, 1}, {8, 8, 1});
  ASSERT_EQ(tma_unsupported(base, 128), "");

  FwdParams p = contiguous(1, {64, 64, 1}, 8, 8, 72, {16, 8, 1}, {8, 8, 1});
  EXPECT_TRUE(has(tma_unsupported(p, 128), "head dim")) << tma_unsupported(p, 128);  // 72 padded to 128

  p = base;
  p.k_stride[4] = 256;  // heads interleaved with something else
  EXPECT_TRUE(has(tma_unsupported(p, 128), "k: heads not contiguous"));

  p = base;
  p.v = reinterpret_cast<const void*>(uintptr_t(0x10008));
  EXPECT_TRUE(has(tma_unsupported(p, 128), "v: pointer not 16-byte aligned"));

  p = base;
  p.q_stride[2] += 4;  // rows of axis 1 padded by 4 elements = 8 bytes (stride[3] is unused here: extent 1)
  EXPECT_TRUE(has(tma_unsupported(p, 128), "q: a token stride is not a multiple of 16 bytes"));

  p = contiguous(1, {64, 64, 1}, 8, 8, 128, {16, 8, 1}, {8, 8, 1}, {9, 1, 1});
  EXPECT_TRUE(has(tma_unsupported(p, 128), "dilation above 8"));

  p = contiguous(1, {4096, 1, 1}, 8, 8, 128, {128, 1, 1}, {64, 1, 1}, {4, 1, 1});  // 128 x 4 = 512 > 256
  EXPECT_TRUE(has(tma_unsupported(p, 128), "q: tile extent x dilation above 256"));

  p = base;
  p.extra_kv = 77;
  p.extra_k = p.extra_v = reinterpret_cast<const void*>(uintptr_t(0x20000));
  p.extra_k_stride[2] = p.extra_v_stride[2] = 128;
  p.extra_k_stride[1] = p.extra_v_stride[1] = 8 * 128;
  p.extra_k_stride[0] = p.extra_v_stride[0] = 77 * 8 * 128;
  EXPECT_EQ(tma_unsupported(p, 128), "");
  p.extra_v_stride[2] = 136;
  EXPECT_TRUE(has(tma_unsupported(p, 128), "extra_v: heads not contiguous"));
}

// Which dimension the whole-tile maps give up for the head dim's halves (TmaMaps::halves_dim): batch at
// batch 1; else a size-1 axis whose boxes are 1 wide (rank 1 and 2 problems); else none (two copies per tile).
TEST(TmaMaps, HalvesDimension) {
  using gna::cuda::sm90::halves_dim;
  EXPECT_EQ(halves_dim(contiguous(1, {30, 48, 80}, 24, 24, 128, {2, 8, 8}, {2, 8, 4})), 4);
  EXPECT_EQ(halves_dim(contiguous(3, {256, 256, 1}, 24, 24, 128, {16, 8, 1}, {16, 4, 1})), 1);  // X2
  EXPECT_EQ(halves_dim(contiguous(2, {32768, 1, 1}, 8, 8, 128, {128, 1, 1}, {64, 1, 1})), 2);    // X1 (X2 too)
  EXPECT_EQ(halves_dim(contiguous(2, {1, 64, 64}, 8, 8, 128, {1, 16, 8}, {1, 8, 8})), 3);        // X0
  EXPECT_EQ(halves_dim(contiguous(2, {30, 48, 80}, 24, 24, 128, {2, 8, 8}, {2, 8, 4})), 0);     // no free dim
  // A size-1 axis with a 2-wide box (the tile overhangs it) cannot be dropped.
  EXPECT_EQ(halves_dim(contiguous(2, {1, 64, 64}, 8, 8, 128, {2, 8, 8}, {1, 8, 8})), 0);
}

// The ping-pong default: perfectly block-sparse problems (no partial KV tile, extra KV in whole tiles) only.
TEST(Sm90Policy, PingPongWhereNoTileIsPartial) {
  using gna::cuda::sm90::pingpong_default;
  auto with = [](FwdParams p, const int64_t (&window)[3], const int64_t (&stride)[3], int64_t extra_kv = 0) {
    for (int d = 0; d < 3; ++d) p.axis[d].window = window[d], p.axis[d].stride = stride[d];
    p.extra_kv = extra_kv;
    return p;
  };
  const FwdParams flux = contiguous(1, {256, 256, 1}, 24, 24, 128, {16, 8, 1}, {16, 4, 1});
  EXPECT_TRUE(pingpong_default(with(flux, {80, 80, 1}, {16, 16, 1})));    // flux-gna
  EXPECT_FALSE(pingpong_default(with(flux, {80, 80, 1}, {1, 1, 1})));     // flux-na: sliding window
  EXPECT_TRUE(pingpong_default(with(flux, {256, 256, 1}, {1, 1, 1})));    // dense
  EXPECT_TRUE(pingpong_default(with(flux, {80, 80, 1}, {16, 16, 1}, 128)));
  EXPECT_FALSE(pingpong_default(with(flux, {80, 80, 1}, {16, 16, 1}, 100)));  // a partial extra-KV tile
  const FwdParams hunyuan = contiguous(1, {30, 48, 80}, 24, 24, 128, {2, 8, 8}, {2, 8, 4});
  EXPECT_TRUE(pingpong_default(with(hunyuan, {18, 24, 24}, {16, 8, 8})));  // hunyuan-gna
  EXPECT_FALSE(pingpong_default(with(hunyuan, {18, 24, 24}, {1, 1, 1})));  // hunyuan-na
  const FwdParams seq = contiguous(1, {32768, 1, 1}, 8, 8, 128, {128, 1, 1}, {64, 1, 1});
  EXPECT_TRUE(pingpong_default(with(seq, {2048, 1, 1}, {256, 1, 1})));     // 1d-32k-gna
  EXPECT_FALSE(pingpong_default(with(seq, {2048, 1, 1}, {1, 1, 1})));      // 1d-32k-na
  // An extent that the KV tiles do not divide: the last tile holds padding keys, so it is partial.
  EXPECT_FALSE(pingpong_default(with(contiguous(1, {1000, 1, 1}, 8, 8, 128, {128, 1, 1}, {64, 1, 1}), {1000, 1, 1},
                                     {1, 1, 1})));
}

}  // namespace
