// src/cpu/cpu_attention.cpp -- layer: backend (cpu). The fast CPU forward.
//
// Plan of one call:
//   1. (batch, kv head) pairs are processed in chunks of about kChunkBytesPerThread of K/V per worker
//      (never over kWorkspaceBudgetBytes). For each chunk, K and V (window tokens, then extra tokens) are
//      converted once into dense row-major float (fp64: double) workspace rows [token, D] -- the storage
//      dtype and the user's strides are dealt with here, nowhere else.
//   2. Tasks = (pair, query head of its GQA group, line, axis-2 dilation group, segment of kQueryBlock
//      group-local queries), spread over std::threads. A line fixes the coordinates on the padded axes
//      0 and 1; its queries are taken kTile at a time (consecutive in their dilation group), and each
//      K / V row of the tile's key union is loaded once for all kTile queries. Keys come from
//      na::window_of per axis (keys of axis a are g + D * t, t in the returned group-local range), then
//      every extra token; scores are dot products over the head dim, softmax is two-pass (max, exp, sum),
//      O = sum p_j V_j / sum, LSE = max + log(sum) (natural log, of the scaled scores).
//
// Invariants: float32 accumulation for fp32/fp16/bf16 storage, double for fp64; every O element and
// every LSE element is written exactly once per call; outputs are never read; tasks write disjoint
// output rows, so no synchronisation beyond the join. The float kernel is compiled for several SIMD
// levels (GCC target_clones on x86-64 Linux) and the best one for the CPU is picked at load time.
#include "cpu/cpu_attention.hpp"
#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/cpu_kernel.hpp"
#include "gna/na/window.hpp"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define GNA_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define GNA_CPU_HAVE_CLONES 1
#else
#define GNA_CPU_CLONES
#endif

namespace gna::cpu {
namespace {

// The token grid padded to three axes: unused leading axes have extent 1 and a 1-key window, so one
// loop nest serves ranks 1-3. Axis a of the padded grid is problem axis a - (3 - rank).
struct Grid {
  na::AxisSpec axis[3];
  int64_t tokens = 1;
  int lead = 0;  // 3 - rank: number of padded leading axes
};

Grid make_grid(const Problem& p) {
  Grid g;
  g.lead = 3 - p.rank;
  for (int a = 0; a < 3; ++a) {
    const int d = a - g.lead;
    g.axis[a] = d >= 0 ? p.axis(d) : na::AxisSpec{1, 1, 1, 1, false};
    g.tokens *= g.axis[a].extent;
  }
  return g;
}

// Element strides of a [B, X0.., H, (D)] tensor on the padded grid (padded axes: stride 0).
struct GridStrides {
  int64_t batch = 0;
  int64_t axis[3] = {0, 0, 0};
  int64_t head = 0;
};

GridStrides grid_strides(const TensorView& t, const Grid& g, int rank) {
  GridStrides s;
  s.batch = t.stride[0];
  for (int a = g.lead; a < 3; ++a) s.axis[a] = t.stride[1 + a - g.lead];
  s.head = t.stride[1 + rank];
  return s;
}

// Padded coordinates of flat token `tok` (row-major, last axis fastest).
inline void coords_of(int64_t tok, const Grid& g, int64_t c[3]) {
  c[2] = tok % g.axis[2].extent;
  tok /= g.axis[2].extent;
  c[1] = tok % g.axis[1].extent;
  c[0] = tok / g.axis[1].extent;
}

inline int64_t token_offset(const int64_t c[3], const GridStrides& s) {
  return c[0] * s.axis[0] + c[1] * s.axis[1] + c[2] * s.axis[2];
}

using detail::parallel_for;  // src/core/parallel.hpp

// Per-thread scratch of a line task (grown on demand, reused across the task's tiles).
template <class Acc>
struct Scratch {
  std::vector<Acc> q;        // (kTile, dim_qk): the tile's pre-scaled Q rows
  std::vector<Acc> o;        // (kTile, dim_v)
  std::vector<Acc> s;        // (kTile, ns): scores, then probabilities, of the union keys
  std::vector<int64_t> key;  // (ns): workspace row of each union key
};

// One task: the queries of one line (fixed coordinates on padded axes 0 and 1) in dilation group g2 of
// axis 2, group-local indices [i_begin, i_end), for one (batch, query head). Pointers into the workspace
// are for the task's (b, kv head).
template <class Acc>
struct LineTask {
  const Grid* grid;
  const Acc* kf;        // (tokens + extra, dim_qk) row-major: window tokens, then extra tokens
  const Acc* vf;        // (tokens + extra, dim_v)
  int64_t extra;        // Nx
  int64_t dim_qk, dim_v;
  Acc scale;
  const TensorView* q;  // Q / O / LSE views and their grid strides
  const TensorView* out;
  const TensorView* lse;  // nullptr when not wanted
  GridStrides qs, os, ls;
  int64_t b, h;           // batch item and query head
  int64_t line, g2, i_begin, i_end;
  Scratch<Acc>* scratch;
};

// max over x[0, n) with kLanes partial maxima (vectorizes; n >= 1).
template <class Acc>
GNA_CPU_INLINE Acc row_max(const Acc* __restrict x, int64_t n) {
  constexpr int L = kernel::kLanes<Acc>;
  Acc m[L];
  for (int l = 0; l < L; ++l) m[l] = x[0];
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
  for (int l = 0; i + l < n; ++l) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
  Acc r = m[0];
  for (int l = 1; l < L; ++l) r = m[l] > r ? m[l] : r;
  return r;
}

// x[i] = exp(x[i] - m); returns the sum (kLanes partial sums).
template <class Acc>
GNA_CPU_INLINE Acc exp_sum(Acc* __restrict x, int64_t n, Acc m) {
  for (int64_t i = 0; i < n; ++i) x[i] -= m;
  kernel::exp_inplace(x, n);
  constexpr int L = kernel::kLanes<Acc>;
  Acc acc[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) acc[l] += x[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += x[i + l];
  Acc r = 0;
  for (int l = 0; l < L; ++l) r += acc[l];
  return r;
}

// Tiles of kTile consecutive group-local queries of the line: on axes 0 and 1 they share one window (same
// coordinates); on axis 2 their windows are monotone (spec s3), so their union is [start(first),
// end(last)) and each K / V row of the union is loaded once for all kTile queries. Union keys outside a
// query's own axis-2 window get score -inf (probability exactly 0). A short last tile repeats its last
// query in the unused slots (computed, not stored).
template <class Acc>
GNA_CPU_INLINE void run_line_impl(const LineTask<Acc>& t) {
  using kernel::kTile;
  const Grid& g = *t.grid;
  const int64_t dqk = t.dim_qk, dv = t.dim_v;
  const int64_t e1 = g.axis[1].extent, e2 = g.axis[2].extent;
  const int64_t c0 = t.line / e1, c1 = t.line % e1;
  const na::Range r0 = na::window_of(c0, g.axis[0]), r1 = na::window_of(c1, g.axis[1]);
  const int64_t grp0 = c0 % g.axis[0].dilation, grp1 = c1 % g.axis[1].dilation;
  const int64_t d0 = g.axis[0].dilation, d1 = g.axis[1].dilation, d2 = g.axis[2].dilation;
  Scratch<Acc>& sc = *t.scratch;
  sc.q.resize(static_cast<size_t>(kTile * dqk));
  sc.o.resize(static_cast<size_t>(kTile * dv));
  const Acc neg_inf = -std::numeric_limits<Acc>::infinity();

  for (int64_t i0 = t.i_begin; i0 < t.i_end; i0 += kTile) {
    const int64_t nq = std::min<int64_t>(kTile, t.i_end - i0);
    na::Range r2[kTile];
    int64_t c[kTile][3];
    for (int qq = 0; qq < kTile; ++qq) {
      const int64_t x2 = t.g2 + d2 * (i0 + std::min<int64_t>(qq, nq - 1));
      r2[qq] = na::window_of(x2, g.axis[2]);
      c[qq][0] = c0;
      c[qq][1] = c1;
      c[qq][2] = x2;
      Acc* q = sc.q.data() + qq * dqk;
      kernel::load_row(t.q->data, t.q->dtype, t.b * t.qs.batch + token_offset(c[qq], t.qs) + t.h * t.qs.head,
                       dqk, q);
      for (int64_t i = 0; i < dqk; ++i) q[i] *= t.scale;
    }
    const int64_t u_start = r2[0].start, u_end = r2[kTile - 1].end, n2 = u_end - u_start;
    const int64_t n_win = r0.size() * r1.size() * n2, n = n_win + t.extra;
    const int64_t ns = n;
    if (static_cast<int64_t>(sc.key.size()) < n) sc.key.resize(static_cast<size_t>(n));
    if (static_cast<int64_t>(sc.s.size()) < kTile * ns) sc.s.resize(static_cast<size_t>(kTile * ns));
    int64_t* key = sc.key.data();
    Acc* s = sc.s.data();

    // Union keys (spec s3-s5 via na::window_of): product of per-axis ranges, group-local -> global.
    int64_t m = 0;
    for (int64_t t0 = r0.start; t0 < r0.end; ++t0) {
      const int64_t row0 = (grp0 + d0 * t0) * e1;
      for (int64_t t1 = r1.start; t1 < r1.end; ++t1) {
        const int64_t row1 = (row0 + grp1 + d1 * t1) * e2 + t.g2;
        for (int64_t t2 = u_start; t2 < u_end; ++t2) key[m++] = row1 + d2 * t2;
      }
    }
    // Extra tokens: attended by every query, unmasked; they follow the grid tokens in the workspace.
    for (int64_t x = 0; x < t.extra; ++x) key[m++] = g.tokens + x;

    kernel::tile_scores(sc.q.data(), t.kf, key, n, dqk, s, ns);
    Acc lse[kTile], inv[kTile];
    for (int qq = 0; qq < kTile; ++qq) {
      Acc* sq = s + qq * ns;
      const int64_t lo = r2[qq].start - u_start, hi = r2[qq].end - u_start;
      if (lo > 0 || hi < n2)
        for (int64_t run = 0; run < n_win; run += n2) {
          for (int64_t j = 0; j < lo; ++j) sq[run + j] = neg_inf;
          for (int64_t j = hi; j < n2; ++j) sq[run + j] = neg_inf;
        }
      const Acc mx = row_max(sq, n);
      const Acc sum = exp_sum(sq, n, mx);
      lse[qq] = mx + std::log(sum);
      inv[qq] = Acc(1) / sum;
    }
    kernel::tile_weighted_rows(s, ns, key, n, t.vf, dv, sc.o.data());

    for (int64_t qq = 0; qq < nq; ++qq) {
      Acc* o = sc.o.data() + qq * dv;
      for (int64_t i = 0; i < dv; ++i) o[i] *= inv[qq];
      kernel::store_row(t.out->data, t.out->dtype, t.b * t.os.batch + token_offset(c[qq], t.os) + t.h * t.os.head,
                        dv, o);
      if (t.lse) {
        const int64_t l_off = t.b * t.ls.batch + token_offset(c[qq], t.ls) + t.h * t.ls.head;
        static_cast<float*>(t.lse->data)[l_off] = static_cast<float>(lse[qq]);
      }
    }
  }
}

// The float kernel, cloned per SIMD level; the double kernel (fp64 storage) is plain.
GNA_CPU_CLONES void run_line_f32(const LineTask<float>& t) { run_line_impl(t); }
void run_line_f64(const LineTask<double>& t) { run_line_impl(t); }
inline void run_line(const LineTask<float>& t) { run_line_f32(t); }
inline void run_line(const LineTask<double>& t) { run_line_f64(t); }

// The K / V workspace of the calling thread. Default-initialised (not zeroed): every row is written by
// the conversion before it is read. Kept between calls (so its pages are touched once, not per call)
// while it is at most kWorkspaceKeepBytes; a larger one is released by the next call that needs less.
template <class Acc>
struct Workspace {
  std::unique_ptr<Acc[]> data;
  int64_t size = 0;
};
constexpr int64_t kWorkspaceKeepBytes = int64_t(64) << 20;

template <class Acc>
Workspace<Acc>& workspace(int64_t elements) {
  thread_local Workspace<Acc> ws;
  const bool too_big_to_keep = ws.size * int64_t(sizeof(Acc)) > kWorkspaceKeepBytes && ws.size > elements;
  if (ws.size < elements || too_big_to_keep) {
    ws.data.reset();
    ws.data.reset(new Acc[static_cast<size_t>(elements)]);
    ws.size = elements;
  }
  return ws;
}

template <class Acc>
void forward_typed(const Problem& p, const ForwardTensors& t, int num_threads) {
  const Grid g = make_grid(p);
  const int64_t n_tok = g.tokens, nx = p.extra_kv, rows = n_tok + nx;
  const int64_t dqk = p.dim_qk, dv = p.dim_v;
  const int64_t group = p.heads / p.kv_heads;
  const GridStrides ks = grid_strides(t.k, g, p.rank), vs = grid_strides(t.v, g, p.rank);
  LineTask<Acc> proto{};
  proto.grid = &g;
  proto.extra = nx;
  proto.dim_qk = dqk;
  proto.dim_v = dv;
  proto.scale = static_cast<Acc>(p.effective_scale());
  proto.q = &t.q;
  proto.out = &t.out;
  proto.lse = t.lse.defined() ? &t.lse : nullptr;
  proto.qs = grid_strides(t.q, g, p.rank);
  proto.os = grid_strides(t.out, g, p.rank);
  if (proto.lse) {
    // LSE is [B, X.., H]: its head stride is the last one (there is no head-dim axis).
    proto.ls = grid_strides(t.lse, g, p.rank);
  }

  const int64_t pairs = p.batch * p.kv_heads;
  const int64_t pair_bytes = rows * (dqk + dv) * int64_t(sizeof(Acc));
  // Chunk: about kChunkBytesPerThread of K/V per worker (a cache-sized, reused workspace: its pages are
  // touched once per call), never over kWorkspaceBudgetBytes, at least one pair.
  const int64_t workers = num_threads > 0 ? num_threads : std::max(1u, std::thread::hardware_concurrency());
  const int64_t want = std::min(kChunkBytesPerThread * workers, kWorkspaceBudgetBytes);
  const int64_t chunk = std::max<int64_t>(1, std::min(pairs, want / std::max<int64_t>(pair_bytes, 1)));
  Workspace<Acc>& ws = workspace<Acc>(chunk * rows * (dqk + dv));
  Acc* const kbase = ws.data.get();
  Acc* const vbase = kbase + chunk * rows * dqk;

  constexpr int64_t kConvertRows = 512;
  const int64_t convert_blocks = na::ceil_div(rows, kConvertRows);
  const int64_t lines = g.axis[0].extent * g.axis[1].extent;
  const int64_t d2 = g.axis[2].dilation;
  const int64_t segs = na::ceil_div(na::ceil_div(g.axis[2].extent, d2), kQueryBlock);
  const int64_t line_tasks = lines * d2 * segs;
  for (int64_t first = 0; first < pairs; first += chunk) {
    const int64_t count = std::min(chunk, pairs - first);
    // 1. K / V of each pair of the chunk -> dense Acc rows.
    parallel_for(count * convert_blocks, num_threads, [&](int64_t task) {
      const int64_t lp = task / convert_blocks, blk = task % convert_blocks;
      const int64_t pair = first + lp, b = pair / p.kv_heads, kvh = pair % p.kv_heads;
      Acc* kd = kbase + lp * rows * dqk;
      Acc* vd = vbase + lp * rows * dv;
      const int64_t end = std::min(rows, (blk + 1) * kConvertRows);
      for (int64_t row = blk * kConvertRows; row < end; ++row) {
        int64_t k_off, v_off;
        if (row < n_tok) {
          int64_t c[3];
          coords_of(row, g, c);
          k_off = b * ks.batch + token_offset(c, ks) + kvh * ks.head;
          v_off = b * vs.batch + token_offset(c, vs) + kvh * vs.head;
        } else {
          const int64_t x = row - n_tok;
          k_off = b * t.extra_k.stride[0] + x * t.extra_k.stride[1] + kvh * t.extra_k.stride[2];
          v_off = b * t.extra_v.stride[0] + x * t.extra_v.stride[1] + kvh * t.extra_v.stride[2];
        }
        const TensorView& kt = row < n_tok ? t.k : t.extra_k;
        const TensorView& vt = row < n_tok ? t.v : t.extra_v;
        kernel::load_row(kt.data, kt.dtype, k_off, dqk, kd + row * dqk);
        kernel::load_row(vt.data, vt.dtype, v_off, dv, vd + row * dv);
      }
    });
    // 2. Line tasks: (pair, head of the group, line, axis-2 dilation group, segment of kQueryBlock
    //    group-local queries); a head's tasks are adjacent so its K / V stay warm in cache.
    parallel_for(count * group * line_tasks, num_threads, [&](int64_t task) {
      const int64_t seg = task % segs;
      const int64_t g2 = (task / segs) % d2;
      const int64_t line = (task / (segs * d2)) % lines;
      const int64_t hg = (task / line_tasks) % group;
      const int64_t lp = task / (line_tasks * group);
      const int64_t pair = first + lp;
      const int64_t lg = na::group_extent(g.axis[2].extent, d2, g2);
      LineTask<Acc> lt = proto;
      lt.i_begin = std::min(lg, seg * kQueryBlock);
      lt.i_end = std::min(lg, lt.i_begin + kQueryBlock);
      if (lt.i_begin >= lt.i_end) return;  // a shorter dilation group has fewer segments
      thread_local Scratch<Acc> scratch;
      lt.kf = kbase + lp * rows * dqk;
      lt.vf = vbase + lp * rows * dv;
      lt.b = pair / p.kv_heads;
      lt.h = (pair % p.kv_heads) * group + hg;  // GQA: query head h reads kv head h / group
      lt.line = line;
      lt.g2 = g2;
      lt.scratch = &scratch;
      run_line(lt);
    });
  }
}

}  // namespace

void forward(const Problem& p, const ForwardTensors& t, int num_threads) {
  if (p.batch == 0 || p.heads == 0 || p.tokens() == 0) return;
  if (t.q.dtype == DType::f64) forward_typed<double>(p, t, num_threads);
  else forward_typed<float>(p, t, num_threads);
}

const char* simd_level() {
#if defined(GNA_CPU_HAVE_CLONES)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
#endif
  return "baseline";
}

}  // namespace gna::cpu
