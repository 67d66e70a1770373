// src/testbed/cases.cpp -- layer: test harness. The shared case list: hand-picked hard cases, then random
// ones. Every case is valid (Problem::validate passes) and small enough for the fp64 reference.
#include <algorithm>
#include <random>

#include "testbed/testbed.hpp"

namespace gna::testbed {
namespace {

Case make(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> window,
          std::vector<int64_t> stride = {}, std::vector<int64_t> dilation = {}, std::vector<int64_t> causal = {},
          int64_t heads = 2, int64_t kv_heads = 2, int64_t dim = 64, DType dtype = DType::bf16, int64_t extra = 0,
          int64_t batch = 1) {
  Case c;
  c.name = name;
  c.problem = make_problem(shape, window, stride, dilation, causal);
  c.problem.heads = heads;
  c.problem.kv_heads = kv_heads;
  c.problem.dim_qk = c.problem.dim_v = dim;
  c.problem.extra_kv = extra;
  c.problem.batch = batch;
  c.dtype = dtype;
  return c;
}

std::vector<Case> hand_picked(bool include_large) {
  std::vector<Case> v;
  v.push_back(make("1d-indivisible", {1000}, {17}));
  v.push_back(make("1d-blocked-S=K", {513}, {64}, {64}));
  v.push_back(make("1d-dense-K=L", {300}, {300}));
  v.push_back(make("1d-causal-stride", {777}, {100}, {7}, {}, {1}));
  v.push_back(make("1d-causal-dilated", {301}, {9}, {3}, {4}, {1}));
  v.push_back(make("2d-dilation-indivisible", {37, 53}, {7, 12}, {2, 3}, {2, 3}));
  v.push_back(make("2d-mixed-causal", {30, 40}, {8, 9}, {1, 1}, {1, 1}, {1, 0}));
  v.push_back(make("3d-everything", {9, 17, 20}, {3, 5, 6}, {1, 2, 3}, {2, 1, 3}, {1, 0, 0}));
  v.push_back(make("3d-dense-S=K=L", {8, 12, 16}, {8, 12, 16}, {8, 12, 16}));
  v.push_back(make("2d-block-sparse", {64, 64}, {16, 16}, {8, 8}));
  {  // NATTEN's closed-form trap: per-axis Q tile extent 1, L=5, K=4, S=1, Tkv=2.
    Case c = make("2d-tile-extent-1", {5, 64}, {4, 9});
    c.q_tile = {1, 128, 1};
    c.kv_tile = {2, 32, 1};
    v.push_back(c);
  }
  {
    Case c = make("3d-odd-tiles", {6, 10, 14}, {3, 4, 5}, {1, 2, 1});
    c.q_tile = {2, 8, 8};
    c.kv_tile = {1, 4, 16};
    v.push_back(c);
  }
  {  // Padding-only Q tiles between real ones (dilation groups of unequal extents, a Q tile 8x the extent
     // of axis 1): the sm90 kernel once let a real tile's deferred epilogue read a state slot the producer
     // had refilled after two padding tiles (found by random case 88 of seed 30470973934 on an H200).
    Case c = make("padding-tiles-between-real", {13, 4, 13}, {2, 2, 2}, {}, {3, 1, 3}, {0, 1, 1}, 4, 2, 128, DType::f16,
                  0, 2);
    c.q_tile = {4, 32, 1};
    c.kv_tile = {16, 1, 4};
    v.push_back(c);
  }
  v.push_back(make("gqa-2", {24, 24}, {5, 7}, {}, {}, {}, 4, 2));
  v.push_back(make("gqa-3", {24, 24}, {5, 7}, {}, {}, {}, 6, 2));
  v.push_back(make("gqa-4", {24, 24}, {5, 7}, {}, {}, {}, 8, 2));
  v.push_back(make("mqa", {24, 24}, {5, 7}, {}, {}, {}, 4, 1));
  v.push_back(make("extra-kv-1", {20, 20}, {6, 6}, {}, {}, {}, 2, 2, 64, DType::bf16, 1));
  v.push_back(make("extra-kv-77", {20, 20}, {6, 6}, {2, 3}, {}, {1, 0}, 2, 1, 64, DType::bf16, 77));
  // A sharp softmax (scale 2: scores spread over tens of units in the log2 domain), so the running max
  // often jumps by more than the kernels' lazy-max slack (fwd_softmax.cuh) between KV tiles, and P reaches
  // 2^8 otherwise; fp16 too (P <= 256 must stay in range).
  for (DType t : {DType::bf16, DType::f16}) {
    Case c = make(std::string("sharp-softmax-") + dtype_name(t), {40, 36}, {13, 11}, {}, {}, {}, 2, 2, 64, t, 9);
    c.problem.scale = 2.0;
    v.push_back(c);
  }
  // The same sharp softmax where every KV tile is full (dense 1-D, block-sparse 2-D): the sm90 kernel's
  // steady steps then skip the max reduction and redo a step only when its row sums pass the bound
  // (fwd::softmax_step_sumcheck), which these scores make frequent; head dim 128 takes that kernel.
  for (DType t : {DType::bf16, DType::f16}) {
    Case d = make(std::string("sharp-softmax-dense-") + dtype_name(t), {700}, {700}, {}, {}, {}, 2, 2, 128, t);
    d.problem.scale = 2.0;
    v.push_back(d);
    Case b = make(std::string("sharp-softmax-blocked-") + dtype_name(t), {64, 64}, {32, 32}, {16, 16}, {}, {}, 2, 2,
                  128, t);
    b.problem.scale = 2.0;
    v.push_back(b);
  }
  for (int64_t dim : {32, 40, 64, 72, 128, 256})
    for (DType t : {DType::bf16, DType::f16})
      v.push_back(make(std::string("hdim-") + std::to_string(dim) + "-" + dtype_name(t), {12, 18}, {5, 6},
                       {1, 2}, {1, 1}, {0, 0}, 2, 2, dim, t, dim == 72 ? 5 : 0, 2));
  if (include_large)  // more than 65535 (batch x heads) blocks along what would be a grid y/z dimension
    v.push_back(make("batch-heads-65600", {16}, {4}, {}, {}, {}, 32800, 32800, 32, DType::bf16, 0, 2));
  return v;
}

// A random power-of-two factorisation of `tokens` over `rank` axes.
std::array<int64_t, kMaxRank> random_tile(std::mt19937_64& rng, int rank, int64_t tokens) {
  std::array<int64_t, kMaxRank> t{1, 1, 1};
  for (int64_t n = tokens; n > 1; n /= 2) t[rng() % rank] *= 2;
  return t;
}

Case random_case(std::mt19937_64& rng, int index) {
  auto uni = [&](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(rng() % uint64_t(hi - lo + 1)); };
  const int rank = static_cast<int>(uni(1, 3));
  std::vector<int64_t> shape(rank), window(rank), stride(rank), dilation(rank), causal(rank);
  for (int d = 0; d < rank; ++d) {
    const int64_t L = rank == 1 ? uni(16, 1500) : rank == 2 ? uni(4, 48) : uni(3, 16);
    int64_t D = uni(0, 9) < 7 ? 1 : uni(2, 4);
    while (2 * D > L) --D;
    const int64_t K = uni(2, std::min<int64_t>(L / D, rank == 1 ? 300 : 24));
    shape[d] = L;
    window[d] = K;
    dilation[d] = D;
    stride[d] = uni(0, 1) ? 1 : uni(1, K);
    causal[d] = uni(0, 3) == 0;
  }
  static const int64_t dims[] = {32, 64, 128, 256, 40, 96};
  const int64_t dim = dims[uni(0, 5)];
  const int64_t kv_heads = uni(1, 2);
  const int64_t heads = kv_heads * uni(1, 3);
  Case c = make("random-" + std::to_string(index), shape, window, stride, dilation, causal, heads, kv_heads, dim,
                uni(0, 1) ? DType::bf16 : DType::f16, uni(0, 9) < 7 ? 0 : uni(1, 100), uni(1, 2));
  if (dim <= 128 && uni(0, 9) < 4) {  // explicit tile shapes for the 128 x 64 kernels
    c.q_tile = random_tile(rng, rank, 128);
    c.kv_tile = random_tile(rng, rank, 64);
  }
  return c;
}

}  // namespace

std::vector<Case> case_list(uint64_t seed, int random_cases, bool include_large) {
  std::vector<Case> v = hand_picked(include_large);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < random_cases; ++i) v.push_back(random_case(rng, i));
  for (const Case& c : v) c.problem.validate();
  return v;
}

}  // namespace gna::testbed
