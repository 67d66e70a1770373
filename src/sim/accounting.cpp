// src/sim/accounting.cpp -- layer: plan. Exact tile accounting of a problem under a tiling.
//
// Windows factor over axes and tiles are products of per-axis ranges, so every N-d count is a product of
// per-axis counts: for each axis, sum over its dilation groups and over its Q tiles of the per-tile box
// size / full-range size (na/tiles.hpp, O(1) per Q tile); then multiply over axes. Dilation groups of one
// axis have only two distinct extents (ceil(L/D) for the first L % D groups, floor(L/D) for the rest), so
// each axis costs O(L / (D * Tq)) work (O(L) for the attended pairs of a causal axis). Nothing enumerates
// token pairs; tests/unit/test_sim.cpp checks every count against enumeration.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "gna/error.hpp"
#include "gna/na/layout.hpp"
#include "gna/sim.hpp"

namespace gna {
namespace sim {

int64_t Tiling::q_tokens() const {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= q_tile[d];
  return n;
}

int64_t Tiling::kv_tokens() const {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= kv_tile[d];
  return n;
}

na::TileShape Tiling::shape() const {
  na::TileShape s;
  s.rank = rank;
  for (int d = 0; d < kMaxRank; ++d) {
    s.q[d] = d < rank ? q_tile[d] : 1;
    s.kv[d] = d < rank ? kv_tile[d] : 1;
  }
  return s;
}

std::string Tiling::str() const {
  std::ostringstream os;
  for (int d = 0; d < rank; ++d) os << (d ? "x" : "") << q_tile[d];
  os << "/";
  for (int d = 0; d < rank; ++d) os << (d ? "x" : "") << kv_tile[d];
  return os.str();
}

void validate_tiling(const Problem& p, const Tiling& t) {
  if (t.rank != p.rank) fail("tiling: rank ", t.rank, " does not match the problem's rank ", p.rank);
  for (int d = 0; d < t.rank; ++d) {
    if (t.q_tile[d] < 1) fail("q_tile: axis ", d, ": extent ", t.q_tile[d], " must be >= 1");
    if (t.kv_tile[d] < 1) fail("kv_tile: axis ", d, ": extent ", t.kv_tile[d], " must be >= 1");
    if (t.q_tile[d] > (int64_t{1} << 20) || t.kv_tile[d] > (int64_t{1} << 20))
      fail("tiling: axis ", d, ": tile extents ", t.q_tile[d], "/", t.kv_tile[d], " exceed 2^20");
  }
}

namespace {

// Counts of one axis, for one dilation group or summed over several.
struct AxisCounts {
  int64_t tokens = 0;
  int64_t q_tiles = 0;
  int64_t kv_tiles = 0;  // KV tiles holding at least one real key
  int64_t visited = 0;
  int64_t full = 0;
  int64_t attended = 0;

  AxisCounts& add(const AxisCounts& o, int64_t times) {
    tokens += times * o.tokens;
    q_tiles += times * o.q_tiles;
    kv_tiles += times * o.kv_tiles;
    visited += times * o.visited;
    full += times * o.full;
    attended += times * o.attended;
    return *this;
  }
};

AxisCounts group_counts(const na::AxisSpec& a, int64_t g, int64_t tq, int64_t tkv) {
  const na::GroupAxis ga = na::group_axis(a, g);
  const na::AxisTileCounts c = na::axis_tile_counts(tq, tkv, ga);
  AxisCounts r;
  r.tokens = ga.extent;
  r.q_tiles = c.q_tiles;
  r.kv_tiles = na::num_tiles(ga.extent, tkv);
  r.visited = c.visited;
  r.full = c.full;
  if (!a.is_causal) {
    r.attended = ga.extent * a.window;
  } else {
    for (int64_t i = 0; i < ga.extent; ++i) r.attended += na::window_in(i, ga).size();
  }
  return r;
}

// Sum over the D groups of an axis: the first L % D groups (all D when L % D == 0) have extent ceil(L/D),
// the others floor(L/D); groups of equal extent have equal counts.
AxisCounts axis_totals(const na::AxisSpec& a, int64_t tq, int64_t tkv) {
  const int64_t n_long = a.extent % a.dilation == 0 ? a.dilation : a.extent % a.dilation;
  const int64_t n_short = a.dilation - n_long;
  AxisCounts total;
  total.add(group_counts(a, 0, tq, tkv), n_long);
  if (n_short > 0) total.add(group_counts(a, a.dilation - 1, tq, tkv), n_short);
  return total;
}

na::TokenLayout layout_of(const Problem& p, const std::array<int64_t, kMaxRank>& tile) {
  na::TokenLayout l;
  l.rank = p.rank;
  for (int d = 0; d < p.rank; ++d) {
    l.extent[d] = p.extent[d];
    l.tile[d] = tile[d];
    l.dilation[d] = p.dilation[d];
  }
  return l;
}

}  // namespace

Accounting account(const Problem& p, const Tiling& t, DType dtype) {
  p.validate();
  validate_tiling(p, t);
  Accounting a;
  a.tiling = t;
  const int64_t aq = t.q_tokens(), akv = t.kv_tokens();

  int64_t q_tiles = 1, kv_tiles = 1, visited = 1, full = 1, attended = 1, tokens = 1;
  int64_t dense_q = 1, dense_kv = 1;
  na::AxisSpec axes[kMaxRank];
  for (int d = 0; d < p.rank; ++d) {
    const na::AxisSpec ax = axes[d] = p.axis(d);
    const AxisCounts c = axis_totals(ax, t.q_tile[d], t.kv_tile[d]);
    tokens *= c.tokens;
    q_tiles *= c.q_tiles;
    kv_tiles *= c.kv_tiles;
    visited *= c.visited;
    full *= c.full;
    attended *= c.attended;
    dense_q *= na::ceil_div(p.extent[d], t.q_tile[d]);
    dense_kv *= na::ceil_div(p.extent[d], t.kv_tile[d]);
  }
  a.tokens = tokens;
  a.groups = 1;
  for (int d = 0; d < p.rank; ++d) a.groups *= p.dilation[d];

  // Extra KV tokens: every query attends all of them, unmasked; they occupy ceil(Nx / Akv) more KV tiles
  // per Q tile, all full except a last one holding padding keys.
  const int64_t nx = p.extra_kv;
  a.extra_kv_tiles = na::ceil_div(nx, akv);
  const int64_t extra_full = nx / akv;

  a.q_tiles = q_tiles;
  a.visited_tiles = visited + q_tiles * a.extra_kv_tiles;
  a.full_tiles = full + q_tiles * extra_full;
  a.partial_tiles = a.visited_tiles - a.full_tiles;
  a.dense_tiles = dense_q * (dense_kv + a.extra_kv_tiles);
  a.attended_pairs = attended + tokens * nx;
  a.computed_pairs = a.visited_tiles * aq * akv;
  a.q_padding = q_tiles * aq - tokens;
  a.kv_padding = kv_tiles * akv - tokens + (a.extra_kv_tiles * akv - nx);
  const double dense_pairs = static_cast<double>(tokens) * static_cast<double>(tokens + nx);
  a.flop_speedup_bound = a.attended_pairs > 0 ? dense_pairs / static_cast<double>(a.attended_pairs) : 0;
  a.tile_speedup_bound =
      a.visited_tiles > 0 ? static_cast<double>(a.dense_tiles) / static_cast<double>(a.visited_tiles) : 0;
  a.pair_speedup_bound = a.computed_pairs > 0 ? dense_pairs / static_cast<double>(a.computed_pairs) : 0;
  a.full_share =
      a.visited_tiles > 0 ? static_cast<double>(a.full_tiles) / static_cast<double>(a.visited_tiles) : 0;
  a.perfectly_block_sparse = na::perfectly_block_sparse(axes, t.shape(), nx);

  // Token permutation (na/layout.hpp): Q and O use the Q-tile layout, K and V the KV-tile layout. Each
  // permuted tensor is read once and written once (padding slots included on the permuted side).
  const na::TokenLayout lq = layout_of(p, t.q_tile), lkv = layout_of(p, t.kv_tile);
  a.q_needs_copy = na::needs_copy(lq);
  a.kv_needs_copy = na::needs_copy(lkv);
  const int64_t e = dtype_size(dtype);
  int64_t bytes = 0;
  if (a.q_needs_copy) {
    const int64_t slots = tokens + lq.padded_tokens();
    bytes += p.batch * p.heads * slots * (p.dim_qk + p.dim_v) * e;  // Q in, O out
  }
  if (a.kv_needs_copy) {
    const int64_t slots = tokens + lkv.padded_tokens();
    bytes += p.batch * p.kv_heads * slots * (p.dim_qk + p.dim_v) * e;  // K and V in
  }
  a.permute_bytes = bytes;
  return a;
}

std::vector<GroupAccounting> account_groups(const Problem& p, const Tiling& t, int64_t max_groups) {
  p.validate();
  validate_tiling(p, t);
  int64_t dil[kMaxRank] = {1, 1, 1};
  int64_t ngroups = 1;
  for (int d = 0; d < p.rank; ++d) ngroups *= (dil[d] = p.dilation[d]);
  std::vector<GroupAccounting> out;
  for (int64_t gl = 0; gl < std::min(ngroups, max_groups); ++gl) {
    int64_t g[kMaxRank] = {0, 0, 0};
    na::tile_coord(gl, dil, p.rank, g);
    GroupAccounting ga;
    ga.tokens = ga.q_tiles = ga.visited_tiles = ga.full_tiles = ga.attended_pairs = 1;
    for (int d = 0; d < p.rank; ++d) {
      const AxisCounts c = group_counts(p.axis(d), g[d], t.q_tile[d], t.kv_tile[d]);
      ga.group[d] = g[d];
      ga.extent[d] = c.tokens;
      ga.tokens *= c.tokens;
      ga.q_tiles *= c.q_tiles;
      ga.visited_tiles *= c.visited;
      ga.full_tiles *= c.full;
      ga.attended_pairs *= c.attended;
    }
    out.push_back(ga);
  }
  return out;
}

bool perfectly_block_sparse(const Problem& p, const Tiling& t) {
  p.validate();
  validate_tiling(p, t);
  na::AxisSpec axes[kMaxRank];
  for (int d = 0; d < p.rank; ++d) axes[d] = p.axis(d);
  return na::perfectly_block_sparse(axes, t.shape(), p.extra_kv);
}

std::vector<std::vector<int64_t>> find_strides(const Problem& p, const Tiling& t) {
  p.validate();
  validate_tiling(p, t);
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(p.rank));
  for (int d = 0; d < p.rank; ++d) {
    na::AxisSpec ax = p.axis(d);
    const int64_t s0 = ax.stride;
    std::vector<int64_t>& list = out[static_cast<size_t>(d)];
    for (int64_t s = 1; s <= ax.window; ++s) {
      ax.stride = s;
      if (na::axis_perfectly_block_sparse(t.q_tile[d], t.kv_tile[d], ax)) list.push_back(s);
    }
    std::stable_sort(list.begin(), list.end(), [s0](int64_t x, int64_t y) {
      const int64_t dx = x > s0 ? x - s0 : s0 - x, dy = y > s0 ? y - s0 : s0 - y;
      return dx != dy ? dx < dy : x < y;
    });
  }
  return out;
}

}  // namespace sim
}  // namespace gna
