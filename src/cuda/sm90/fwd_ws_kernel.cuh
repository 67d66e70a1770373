// src/cuda/sm90/fwd_ws_kernel.cuh -- layer: cuda/sm90 forward kernel. The warp-specialized, persistent
// Hopper GNA forward (FlashAttention-3 structure) on the shared pieces of src/cuda/fwd/ (tile state, KV
// cursor, mask and softmax) and the wgmma GEMMs of sm90/fwd_config.cuh.
//
// A block of 3 warpgroups stays resident (one per SM; grid = min(tiles, SMs)) and walks the Q tiles
// blockIdx.x, blockIdx.x + gridDim.x, ... Roles:
//   warpgroup 0, producer (setmaxnreg.dec): warp 3 computes each tile's state (QTileState::init_warp) one
//     tile ahead into a ring of kStateSlots that the consumers read, published by the tile's q_full arrival
//     (so the consumers never build a state); lane 0 of warp 0 issues, per tile, the TMA loads of Q, then of K and
//     V for each KV tile of the box and the extra KV tiles into a kStages-deep ring, in place from the user's
//     layout (tma_maps.hpp: dilation by element strides, padding by out-of-bounds zero fill; one copy per
//     tile where a dimension is free, else one per 64-element head-dim half). Each fill completes on its
//     "full" mbarrier (expect_tx); a slot is refilled after its "empty" barrier. Its warps 1 and 2 (the mask
//     warps) build, for Q tiles with partial KV tiles, each KV tile's 64-bit row masks into a ring that the
//     consumers read (mask_warps).
//   warpgroups 1, 2, consumers (setmaxnreg.inc): query rows [64c, 64c + 64) of the tile. Each warp first copies its
//     16 Q rows into registers (ldmatrix) and releases Q's shared memory, so the producer loads the next tile's Q at
//     once and S = Q K^T reads only K from shared memory. Then per KV tile j, in the FlashAttention-3 order: issue S_j;
//     rescale O by the previous step's factor while S_j runs; issue O += P_{j-1} V_{j-1}; mask (partial tiles: the mask
//     warps' row masks) and softmax S_j while that PV GEMM runs (intra-warpgroup overlap; an unmasked steady step
//     takes no tile max: fwd::softmax_step_sumcheck); release K_j; wait for the
//     PV; release V_{j-1}; pack P_j. Across Q tiles the pipeline does not drain: the next tile's S_0 runs beside the
//     last PV, and the epilogue is deferred under the next S_1 (not before a padding-only tile: see the tile boundary).
//     Releases are one arrive per warp on the "empty" barrier. With `pingpong` (the launcher sets it for perfectly
//     block-sparse problems: 1.0-4.4% faster there, +-0.7% with masks), two named barriers alternate the GEMM
//     issue between the two consumers.
// The epilogue stores O (and LSE) from registers straight to the user's layout. Problems TMA cannot
// describe run the shared kernel of fwd_kernel.cuh instead (sm90/fwd_launch.cuh).
#pragma once

#include <cmath>
#include <cstdint>

#include "cuda/common/mbarrier.cuh"
#include "cuda/common/tma.cuh"
#include "cuda/common/wgmma.cuh"
#include "cuda/fwd/fwd_params.hpp"
#include "cuda/fwd/fwd_softmax.cuh"
#include "cuda/fwd/fwd_tile.cuh"
#include "cuda/sm90/fwd_config.cuh"
#include "cuda/sm90/tma_maps.hpp"
#include "cuda/sm90/trace.cuh"

namespace gna::cuda::sm90 {

template <class T, int HEAD_DIM>
struct WsConfig : FwdConfig<T, HEAD_DIM> {
  static constexpr int kThreads = 384;  // producer warpgroup + 2 consumer warpgroups
  static constexpr int kConsumerWarps = 8;
  static constexpr int kStages = HEAD_DIM <= 64 ? 8 : HEAD_DIM <= 128 ? 5 : 2;  // K/V ring depth (smem-bound)
  // 128 * (producer + 2 * consumer) <= 64K. At head dim 256 (O alone takes 128 registers) the consumers
  // need 232 not to spill; the producer warpgroup then has 40.
  static constexpr int kProducerRegs = HEAD_DIM <= 128 ? 56 : 40, kConsumerRegs = HEAD_DIM <= 128 ? 224 : 232;
  // setmaxnreg moves registers inside the block's launch allocation (168 per thread at 384 threads): a
  // consumer's increase waits until the producer's decrease has freed enough, forever if it cannot (a
  // 32 / 240 split hung the kernel).
  static_assert(kProducerRegs + 2 * kConsumerRegs <= 3 * 168, "setmaxnreg beyond the launch allocation");
};

// Warps 1 and 2 of the producer warpgroup build the element masks (mask_warps), a slot of kKeepWords
// 32-bit words per KV tile (a 128-row Q tile's 64-bit row masks).
constexpr int kMaskWarps = 2;
constexpr int kKeepWords = 256;
// The column prefix masks (3, 65), padded so that the mask ring after them is 16-byte aligned (the
// barriers before them are an even number of words).
constexpr int kColBelowWords = kMaxRank * (kBlockN + 1) + 1;

// Dynamic shared memory: alignment slack, Q, the K and V rings, the mbarriers (Q, K/V and mask rings), the
// column prefix masks (3, 65, padded), the mask ring (kStages, kKeepWords words), the packed per-axis
// offsets of the KV-tile rows (64) and of the Q-tile rows (128), a "full" flag per mask slot, and a scratch
// word pair per consumer warp (softmax_pin: see the consumer loop).
template <class Cfg>
constexpr size_t ws_smem_bytes() {
  return Cfg::kSmemAlign + sizeof(typename Cfg::Element) * (size_t(Cfg::kQElems) + 2 * Cfg::kStages * size_t(Cfg::kKVElems)) +
         sizeof(uint64_t) * (2 + 6 * Cfg::kStages + kColBelowWords) + sizeof(uint32_t) * Cfg::kStages * kKeepWords +
         sizeof(int) * (kBlockN + Cfg::kBlockM + Cfg::kStages + (Cfg::kStages & 1)) + sizeof(float2) * Cfg::kConsumerWarps;
}

// A position in the K/V ring: slot and phase parity, advanced by one tile (no division by kStages).
template <int STAGES>
struct RingPos {
  int stage = 0, phase = 0;
  __device__ __forceinline__ void next() {
    if (++stage == STAGES) {
      stage = 0;
      phase ^= 1;
    }
  }
};

// The ring of Q-tile states (see the kernel) and a consumer's view of one tile.
constexpr int kStateSlots = 4;
// Small warp-uniform integers (not pointers): the consumers' registers are tight at head dim 256.
struct ConsumerTile {
  int slot;      // in the state ring
  int n_iter;    // KV tiles: the box's, then the extra ones
  int all_full;  // no KV tile needs the element mask
};

// Kernel flags (block-uniform run-time switches).
constexpr int kFlagPingPong = 1;

// Named barriers (0 is __syncthreads): 4 + c consumer c's GEMM turn (ping-pong).
constexpr int kBarTurn = 4;
// Named barriers of the producer warpgroup's warps 0 and 3: a state slot free / a state built (see the producer).
constexpr int kBarStateFree = 2, kBarStateBuilt = 3;
// The trace stream of the state warp (trace.cuh).
constexpr int kTraceStateStream = 3;

// A whole-tile copy (TmaMaps::halves_dim = drop > 0): the coordinates (c0, x2, x1, x0, b) of the
// (H*D, X2, X1, X0, B) list without the dropped size-1 dimension (its coordinate is 0), then half 0.
__device__ __forceinline__ void tma_load_tile(void* dst, const CUtensorMap* map, uint64_t* bar, int drop, int c0, int c1,
                                              int c2, int c3, int c4) {
  tma_load_5d(dst, map, bar, c0, drop <= 1 ? c2 : c1, drop <= 2 ? c3 : c2, drop <= 3 ? c4 : c3, 0);
}

// The TMA producer of one Q tile, in two parts. produce_q (one thread), once the Q slot is free: the q_full
// arrival with Q's byte count and Q's load; for a tile of padding only (`real` false) nothing is loaded and
// the arrival (0 bytes) just publishes the tile state. produce_kv (the load warp; lane 0 issues): K and
// V of every KV tile (one box, or one per 64-element half of the head dim, see TmaMaps::halves_dim), each
// completing on its slot's "full" barrier with its byte count, once the slot's "empty" barrier allows.
template <class Cfg>
__device__ __forceinline__ void produce_q(const FwdParams& p, const TmaMaps& maps, const fwd::QTileState& st, bool real,
                                          typename Cfg::Element* smem_q, uint64_t* q_full) {
  using T = typename Cfg::Element;
  constexpr int kHalves = Cfg::kHeadDim / 64;
  constexpr uint32_t kQBytes = Cfg::kQElems * sizeof(T);
  int coord[kMaxRank];  // the dilated coordinate of the Q tile's first row
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) coord[d] = st.q_origin[d] * int(p.axis[d].dilation) + st.group[d];
  mbar_arrive_expect_tx(q_full, real ? kQBytes : 0u);
  if (!real) return;
  if (maps.halves_dim > 0) {
    tma_load_tile(smem_q, &maps.q, q_full, maps.halves_dim, st.head * int(p.dim), coord[2], coord[1], coord[0], st.batch);
  } else {
#pragma unroll
    for (int h = 0; h < kHalves; ++h)
      tma_load_5d(smem_q + h * (Cfg::kBlockM * 64), &maps.q, q_full, st.head * int(p.dim) + 64 * h, coord[2], coord[1],
                  coord[0], st.batch);
  }
}
template <class Cfg>
__device__ __forceinline__ void produce_kv(const FwdParams& p, const TmaMaps& maps, const fwd::QTileState& st,
                                           typename Cfg::Element* smem_k, typename Cfg::Element* smem_v, uint64_t* k_full,
                                           uint64_t* k_empty, uint64_t* v_full, uint64_t* v_empty,
                                           RingPos<Cfg::kStages>& fill, int lane) {
  using T = typename Cfg::Element;
  constexpr int kHalves = Cfg::kHeadDim / 64;
  constexpr uint32_t kKVBytes = Cfg::kKVElems * sizeof(T);
  fwd::KvCursor cur;
  const int n_iter = st.spatial_tiles + st.extra_tiles;
  for (int it = 0; it < n_iter; ++it, fill.next()) {
    if (it > 0) cur.advance(st);
    const int stage = fill.stage, parity = fill.phase;
    const bool spatial = cur.is_spatial(st);
    int origin[kMaxRank];
    if (spatial) {
      cur.origin(p, st, origin);
#pragma unroll
      for (int d = 0; d < kMaxRank; ++d) origin[d] = origin[d] * int(p.axis[d].dilation) + st.group[d];
    }
    const int first = (it - st.spatial_tiles) * kBlockN;  // extra KV: first token of the tile
    const int c0 = st.kv_head * int(p.dim);
    for (int kv = 0; kv < 2; ++kv) {
      uint64_t* full = kv == 0 ? &k_full[stage] : &v_full[stage];
      mbar_wait(kv == 0 ? &k_empty[stage] : &v_empty[stage], parity ^ 1);
      if (lane != 0) continue;
      mbar_arrive_expect_tx(full, kKVBytes);
      T* dst = (kv == 0 ? smem_k : smem_v) + stage * Cfg::kKVElems;
      if (spatial && maps.halves_dim > 0) {
        tma_load_tile(dst, kv == 0 ? &maps.k : &maps.v, full, maps.halves_dim, c0, origin[2], origin[1], origin[0], st.batch);
        continue;
      }
#pragma unroll
      for (int h = 0; h < kHalves; ++h) {
        if (spatial)
          tma_load_5d(dst + h * (kBlockN * 64), kv == 0 ? &maps.k : &maps.v, full, c0 + 64 * h, origin[2], origin[1], origin[0],
                      st.batch);
        else
          tma_load_3d(dst + h * (kBlockN * 64), kv == 0 ? &maps.extra_k : &maps.extra_v, full, c0 + 64 * h, first, st.batch);
      }
    }
  }
}

// One accumulator row of a quad as 16-byte chunks. In the m16n8 layout lane q (= lane % 4) of a quad holds
// columns 8j + 2q, 8j + 2q + 1 of fragment j (packed[j], 4 bytes). Two xor-shuffle rounds transpose each
// group of 4 fragments so that lane q ends with fragment 4g + q's 8 columns in chunks[g]: one 16-byte
// store instead of four 4-byte ones (whole 32-byte sectors). Every lane of the warp must call it.
template <int DF>
__device__ __forceinline__ void quad_gather_16B(const uint32_t (&packed)[DF], uint4 (&chunks)[DF / 4], int lane) {
  const bool odd = lane & 1, high = lane & 2;
  uint32_t lo[DF / 2], hi[DF / 2];  // round 1: pair p holds fragment 2p + odd, pieces (q & ~1, (q & ~1) + 1)
#pragma unroll
  for (int pr = 0; pr < DF / 2; ++pr) {
    const uint32_t got = __shfl_xor_sync(0xffffffff, odd ? packed[2 * pr] : packed[2 * pr + 1], 1);
    lo[pr] = odd ? got : packed[2 * pr];
    hi[pr] = odd ? packed[2 * pr + 1] : got;
  }
#pragma unroll
  for (int g = 0; g < DF / 4; ++g) {  // round 2: lanes q, q ^ 2 swap the pair the other one keeps
    const uint32_t glo = __shfl_xor_sync(0xffffffff, high ? lo[2 * g] : lo[2 * g + 1], 2);
    const uint32_t ghi = __shfl_xor_sync(0xffffffff, high ? hi[2 * g] : hi[2 * g + 1], 2);
    const uint32_t klo = high ? lo[2 * g + 1] : lo[2 * g], khi = high ? hi[2 * g + 1] : hi[2 * g];
    chunks[g] = high ? make_uint4(glo, ghi, klo, khi) : make_uint4(klo, khi, glo, ghi);
  }
}

// The mask warps (warps 1, 2 of the producer warpgroup; mt = 0..63 their thread index). For every Q tile of
// the block: wait for its state (q_full), arrive on q_empty (the producer reuses a state slot only after
// every mask warp has moved two tiles past it: see st_ring), and, for a real tile with partial KV tiles (not
// all_full, the test the consumers make), build each KV tile's 64-bit row masks (fwd::row_keep_bits,
// fwd::extra_keep_bits; quad-major bit order) into the next slot of a kStages-deep ring with a "full" flag
// (no mask needed), once the consumers have released the slot (mask_empty), publishing it on mask_full.
// A slot holds, per consumer thread, the one 32-bit word it reads (word 32 * (row / 16) + lane): its 16 bits
// of row lane / 4 (low half) and of row lane / 4 + 8 (high half) of its warp's 16 rows. Thread mt builds the
// row pair r0 = 16 * (mt / 8) + mt % 8, r0 + 8, i.e. the 4 consecutive words of one quad (a 16-byte store).
// The consumers read one word per thread instead of computing the windows, the clipping and the prefix-mask
// lookups in their softmax's dependency chain.
template <class Cfg>
__device__ __forceinline__ void mask_warps(const FwdParams& p, int64_t total_tiles, const fwd::QTileState* st_ring,
                                           const int* real_ring, const int* q_offsets, const uint64_t* col_below,
                                           uint32_t* keep_ring, int* keep_full, uint64_t* q_full, uint64_t* q_empty,
                                           uint64_t* mask_full, uint64_t* mask_empty, int mt, int lane) {
  RingPos<Cfg::kStages> mpos;
  static_assert(kKeepWords * 32 == Cfg::kBlockM * kBlockN, "a mask slot holds one bit per element of S");
  const int r0 = 16 * (mt / 8) + mt % 8;  // rows r0, r0 + 8; words 32 * (r0 / 16) + 4 * (r0 % 8) + q
  uint32_t n = 0;
  for (int64_t tile = blockIdx.x; tile < total_tiles; tile += gridDim.x, ++n) {
    const fwd::QTileState& st = st_ring[n % kStateSlots];
    mbar_wait(q_full, n & 1);
    const bool masked = real_ring[n % kStateSlots] && !st.all_full(p);
    int2 win[2][kMaxRank];
    if (masked) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        int off[kMaxRank];
        fwd::unpack_offsets(q_offsets[r0 + 8 * r], off);
        st.row_window_at(off, win[r]);
      }
    }
    __syncwarp();
    if (lane == 0) mbar_arrive(q_empty);
    if (!masked) continue;
    const int n_iter = st.spatial_tiles + st.extra_tiles;
    fwd::KvCursor cur;
    for (int it = 0; it < n_iter; ++it, mpos.next()) {
      if (it > 0) cur.advance(st);
      uint64_t keep[2] = {0, 0};
      bool full;
      if (cur.is_spatial(st)) {
        int origin[kMaxRank];
        full = cur.origin(p, st, origin);
        if (!full) {  // (these warps share schedulers with the consumers: no work for full tiles)
#pragma unroll
          for (int r = 0; r < 2; ++r) keep[r] = fwd::row_keep_bits(win[r], col_below, origin, p.kv_tile);
        }
      } else {
        const int64_t first = int64_t(it - st.spatial_tiles) * kBlockN;
        keep[0] = keep[1] = fwd::extra_keep_bits(first, p.extra_kv);
        full = keep[0] == ~uint64_t(0);
      }
      mbar_wait(&mask_empty[mpos.stage], mpos.phase ^ 1);
      if (!full) {
        uint32_t w[4];
#pragma unroll
        for (int q = 0; q < 4; ++q) w[q] = fwd::quad_bits(keep[0], q) | (fwd::quad_bits(keep[1], q) << 16);
        *reinterpret_cast<uint4*>(&keep_ring[mpos.stage * kKeepWords + 32 * (r0 / 16) + 4 * (r0 % 8)]) =
            make_uint4(w[0], w[1], w[2], w[3]);
      }
      if (mt == 0) keep_full[mpos.stage] = full;
      __syncwarp();
      if (lane == 0) mbar_arrive(&mask_full[mpos.stage]);
    }
  }
}

template <class Cfg>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    gna_fwd_ws_kernel(const __grid_constant__ FwdParams p, const __grid_constant__ TmaMaps maps, const int64_t total_tiles,
                      const int flags) {
  using T = typename Cfg::Element;
  using fwd::QTileState;
  constexpr int kStages = Cfg::kStages, kDFrag = Cfg::kHeadDim / 8, kKSteps = kBlockN / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  unsigned char* smem_base = smem_raw + ((Cfg::kSmemAlign - smem_addr(smem_raw) % Cfg::kSmemAlign) % Cfg::kSmemAlign);
  T* smem_q = reinterpret_cast<T*>(smem_base);
  T* smem_k = smem_q + Cfg::kQElems;
  T* smem_v = smem_k + kStages * Cfg::kKVElems;
  uint64_t* q_full = reinterpret_cast<uint64_t*>(smem_v + kStages * Cfg::kKVElems);
  uint64_t* q_empty = q_full + 1;
  uint64_t* k_full = q_full + 2;
  uint64_t* k_empty = k_full + kStages;
  uint64_t* v_full = k_empty + kStages;
  uint64_t* v_empty = v_full + kStages;
  uint64_t* mask_full = v_empty + kStages;
  uint64_t* mask_empty = mask_full + kStages;
  uint64_t* col_below = mask_empty + kStages;  // (3, 65)
  uint32_t* keep_ring = reinterpret_cast<uint32_t*>(col_below + kColBelowWords);  // (kStages, 256): mask_warps
  int* kv_offsets = reinterpret_cast<int*>(keep_ring + kStages * kKeepWords);
  int* q_offsets = kv_offsets + kBlockN;  // (128): packed per-axis offsets of the Q-tile rows
  int* keep_full = q_offsets + Cfg::kBlockM;  // (kStages): the mask slot's KV tile is full (no mask)
  float2* softmax_pin = reinterpret_cast<float2*>(keep_full + kStages + (kStages & 1));  // per consumer warp

  // The Q tiles' states, a ring of kStateSlots: the state warp fills slot n % 4 for the block's n-th
  // tile (init_warp) once Q of tile n - 2 is released (q_empty, waited for by the load warp), and the load
  // warp publishes it with tile n's q_full arrival; producer, mask warps and consumers read it. The mask warps arrive on q_empty for tile n - 2
  // once they are done with tile n - 3 (mask_warps). The consumers release Q of tile n - 2 at the boundary between
  // tiles n - 3 and n - 2, before the epilogue of tile n - 3 (which reads its state, and is deferred into
  // tile n - 2): so four slots, the slot's previous user, tile n - 4, being done. That needs tiles n - 2
  // and n - 1 real; a consumer that meets a padding tile (released at once) first finishes its current tile
  // (see the tile boundary). Whether the tile holds real queries, per slot.
  __shared__ __align__(16) unsigned char st_raw[kStateSlots * sizeof(QTileState)];
  QTileState* st_ring = reinterpret_cast<QTileState*>(st_raw);
  __shared__ int real_ring[kStateSlots];
  // The warpgroup index, broadcast from lane 0 so the compiler knows it is warp-uniform (the smem
  // addresses and wgmma descriptors derived from it then live in uniform registers).
  const int tid = threadIdx.x, wg = __shfl_sync(0xffffffff, tid / 128, 0), wtid = tid % 128, lane = tid % 32;
  const bool pingpong = flags & kFlagPingPong;

  // Tile-independent tables and the barriers, once per block.
  if (tid < kBlockN) {
    int off[kMaxRank];
    fwd::tile_row_offsets(tid, p.kv_tile, off);
    kv_offsets[tid] = fwd::pack_offsets(off);
  }
  if (tid < Cfg::kBlockM) {
    int off[kMaxRank];
    fwd::tile_row_offsets(tid, p.q_tile, off);
    q_offsets[tid] = fwd::pack_offsets(off);
  }
  if (tid == 0) {
    // "full": one arrive.expect_tx per fill (the producer thread); "empty": one arrival per consumer warp.
    // q_empty: the consumer warps release Q, the two mask warps have read the tile's state (see mask_warps).
    mbar_init(q_full, 1);
    mbar_init(q_empty, Cfg::kConsumerWarps + kMaskWarps);
    for (int s = 0; s < kStages; ++s) {
      mbar_init(&k_full[s], 1);
      mbar_init(&v_full[s], 1);
      mbar_init(&k_empty[s], Cfg::kConsumerWarps);
      mbar_init(&v_empty[s], Cfg::kConsumerWarps);
      mbar_init(&mask_full[s], kMaskWarps);
      mbar_init(&mask_empty[s], Cfg::kConsumerWarps);
    }
  }
  __syncthreads();
  fwd::build_col_below(col_below, kv_offsets, tid, Cfg::kThreads);
  __syncthreads();

  if (wg == 0) {
    // ---------------------------------------------------------------- producer
    setmaxnreg_dec<Cfg::kProducerRegs>();
    // The tile states: warp 3 builds state n + 1 (init_warp, a chain of divisions: about 6000 cycles on one
    // warp beside the consumers, traced) into its ring slot while warp 0 issues tile n's loads, so the loads
    // never pause for it. Two named barriers hand the slots over (bar.arrive / bar.sync, ordered like
    // __syncthreads for shared memory): kBarStateFree, warp 0 -> warp 3, once warp 0 has waited for the Q slot
    // of tile n (q_empty: then the slot of state n + 1's previous user, tile n - 3, is free; see st_ring);
    // kBarStateBuilt, warp 3 -> warp 0, once state n + 1 is written, before warp 0 publishes it. Built by warp 0
    // in the middle of tile n's loads instead (sessions 13-17), the state held the loads back for 6000 cycles
    // while the ring holds 5 KV tiles (about 7000 cycles) of work; built twice there, 1d-32k-gna was 8% slower.
    if (wtid >= 96) {
      trace::Recorder rec(kTraceStateStream, lane == 0);
      uint32_t n = 0;
      for (int64_t tile = blockIdx.x; tile < total_tiles; tile += gridDim.x, ++n) {
        if (n > 0) named_bar_sync(kBarStateFree, 64);
        rec(trace::kProdStateBegin, n);
        const bool real = st_ring[n % kStateSlots].init_warp(p, tile, lane);
        if (lane == 0) real_ring[n % kStateSlots] = real;
        rec(trace::kProdStateDone, n);
        named_bar_arrive(kBarStateBuilt, 64);
      }
      return;
    }
    static_assert(kMaskWarps == 2, "warps 1, 2 build the masks, warp 3 the states");
    if (wtid >= 32) {  // warps 1, 2: the element masks
      mask_warps<Cfg>(p, total_tiles, st_ring, real_ring, q_offsets, col_below, keep_ring, keep_full, q_full, q_empty,
                      mask_full, mask_empty, wtid - 32, lane);
      return;
    }
    // warp 0: the loads (lane 0; the whole warp waits)
    RingPos<kStages> fill;   // the ring position of the next K/V fill
    trace::Recorder rec(0);
    uint32_t q_fill = 0;
    for (int64_t tile = blockIdx.x; tile < total_tiles; tile += gridDim.x, ++q_fill) {
      const int slot = int(q_fill % kStateSlots);
      const QTileState& st = st_ring[slot];
      mbar_wait(q_empty, (q_fill & 1) ^ 1);
      rec(trace::kProdQWaited, q_fill);
      named_bar_sync(kBarStateBuilt, 64);  // state n is written (warp 3) before lane 0's q_full arrival publishes it
      if (tile + gridDim.x < total_tiles) named_bar_arrive(kBarStateFree, 64);  // warp 3: build state n + 1
      const bool real = real_ring[slot];
      if (lane == 0) produce_q<Cfg>(p, maps, st, real, smem_q, q_full);
      rec(trace::kProdQIssued, q_fill);
      if (real) produce_kv<Cfg>(p, maps, st, smem_k, smem_v, k_full, k_empty, v_full, v_empty, fill, lane);
      rec(trace::kProdKvDone, q_fill);
      __syncwarp();
    }
    return;
  }

  // ------------------------------------------------------------------ consumers
  setmaxnreg_inc<Cfg::kConsumerRegs>();
  const int c = wg - 1;
  const int warp_row = c * 64 + (wtid / 32) * 16;  // first Q row of this warp
  trace::Recorder rec(1 + c);
  const int pin_slot = __shfl_sync(0xffffffff, wtid / 32 + 4 * c, 0);  // warp-uniform: a uniform register
  // This warp's Q rows as registers for the whole tile where they fit (head dim <= 128: 32 registers):
  // S = Q K^T then reads only K from shared memory, and Q's shared memory is released at once, so the
  // producer loads the next tile's Q during this one. At head dim 256 Q's 64 registers do not fit beside
  // O's 128 (ptxas spills and serialises the wgmma, C7512): S reads Q from shared memory, released once
  // the tile's last S has landed.
  constexpr bool kQRegs = Cfg::kHeadDim <= 128;
  uint32_t qa[Cfg::kHeadDim / 16][4];
  int64_t tile = blockIdx.x;  // the next tile to acquire
  uint32_t q_read = 0;        // how many tiles were acquired, padding ones too (q_full phases, state slots)
  uint32_t n_real = 0;        // how many real tiles were acquired (trace)
  if (pingpong && c == 1) named_bar_arrive(kBarTurn + 0, 256);  // consumer 0 issues first
  auto turn_begin = [&] {
    if (pingpong) named_bar_sync(kBarTurn + c, 256);
  };
  auto turn_end = [&] {
    if (pingpong) named_bar_arrive(kBarTurn + 1 - c, 256);
  };

  // Acquires the block's next Q tile that holds real queries: waits for its state and Q (q_full), releases
  // the Q slot of padding tiles, and (head dim <= 128) copies Q into registers and releases its slot.
  // Returns 1, or 0 past the last tile; with `stop_at_padding`, 2 at a padding tile, which it leaves
  // unreleased (see the tile boundary). No wgmma may be in flight (qa).
  auto acquire = [&](ConsumerTile& t, bool stop_at_padding) -> int {
    rec(trace::kConsAcquire, 0);
    for (; tile < total_tiles; tile += gridDim.x, ++q_read) {
      const int slot = int(q_read % kStateSlots);
      mbar_wait(q_full, q_read & 1);
      if (!real_ring[slot]) {
        if (stop_at_padding) return 2;
        if (lane == 0) mbar_arrive(q_empty);
        continue;
      }
      t.slot = slot;
      const QTileState* st = &st_ring[slot];
      // Broadcast from lane 0: the compiler then knows the branches on them are warp-uniform (a branch it
      // takes as divergent around a wgmma commit made it serialise the wgmma, C7520).
      t.n_iter = __shfl_sync(0xffffffff, st->spatial_tiles + st->extra_tiles, 0);
      t.all_full = __shfl_sync(0xffffffff, int(st->all_full(p)), 0);
      if constexpr (kQRegs) {
        Cfg::load_q_frags(qa, smem_q, warp_row, lane);
        __syncwarp();
        if (lane == 0) mbar_arrive(q_empty);
      }
      tile += gridDim.x;
      ++q_read;
      ++n_real;
      rec(trace::kConsReady, n_real - 1);
      return 1;
    }
    return 0;
  };

  float acc_o[1][kDFrag][4];
  auto zero_o = [&] {
#pragma unroll
    for (int j = 0; j < kDFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[0][j][e] = 0.f;
  };
  float row_max[1][2], row_sum[1][2], alpha[1][2];
  auto reset_rows = [&] {
    row_max[0][0] = row_max[0][1] = -INFINITY;
    row_sum[0][0] = row_sum[0][1] = 0.f;
  };
  float s[1][fwd::kNFrag][4];
  uint32_t pa[kKSteps][4];
  // The steady steps' P (fp32) when the softmax leaves S raw (fwd::softmax_step_sumcheck); building
  // with -DGNA_SM90_SUMCHECK=0 uses the plain step everywhere (for A/B timing).
#ifndef GNA_SM90_SUMCHECK
#define GNA_SM90_SUMCHECK 1
#endif
  constexpr bool kSumCheck = GNA_SM90_SUMCHECK != 0 && Cfg::kHeadDim <= 128;  // pe does not fit beside O at 256
  float pe[1][fwd::kNFrag][4];
  // The element masks of a Q tile with partial KV tiles come from the mask warps (mask_warps), one slot of
  // their ring per KV tile: mpos, the slot of the KV tile whose S is next masked.
  RingPos<kStages> mpos;
  // Mask (from the mask ring; partial tiles only) and softmax of S of the current KV tile of tile t. When
  // every KV tile of the Q tile is full (a perfectly block-sparse problem) no mask is read at all.
  // The row masks of the KV tile at mpos (fetch_mask; kept in keep / keep_is_full), then mask and softmax.
  // Reading the slot before the wait for S instead, off the softmax's dependency chain, measured within
  // noise (session 15).
  uint32_t keep = 0;  // this thread's 16 bits of each of its two rows (mask_warps)
  int keep_is_full = 1;
  auto fetch_mask = [&](const ConsumerTile& t) {
    if (!t.all_full) {
      mbar_wait(&mask_full[mpos.stage], mpos.phase);
      keep_is_full = __shfl_sync(0xffffffff, lane == 0 ? keep_full[mpos.stage] : 0, 0);  // warp-uniform
      if (!keep_is_full) keep = keep_ring[mpos.stage * kKeepWords + 2 * warp_row + lane];  // 32 * (warp_row / 16)
      __syncwarp();  // every lane has read the slot
      if (lane == 0) mbar_arrive(&mask_empty[mpos.stage]);
      mpos.next();
    }
  };
  // steady: a step after the tile's first, whose P then goes to pe in every case. A KV tile without mask
  // takes fwd::softmax_step_sumcheck (no max reduction before the exponentials: 3-6% on the block-sparse
  // and dense presets); a masked one the plain step (the sum check there measured 1.5-3% slower on
  // hunyuan-na and cosmos-na, bench/README.md session 17).
  auto mask_softmax = [&](const ConsumerTile& t, bool steady) {
    fetch_mask(t);
    const bool masked = !t.all_full && !keep_is_full;
    if (kSumCheck && steady && !masked) {
      fwd::softmax_step_sumcheck(s, pe, row_max, row_sum, alpha, p.scale_log2);
      return;
    }
    if (masked) {
      fwd::apply_keep<1>(s, 0, 0, keep & 0xffffu);
      fwd::apply_keep<1>(s, 0, 1, keep >> 16);
    }
    fwd::softmax_step<1>(s, row_max, row_sum, alpha, p.scale_log2);
    if (kSumCheck && steady) {
#pragma unroll
      for (int f = 0; f < fwd::kNFrag; ++f)
#pragma unroll
        for (int e = 0; e < 4; ++e) pe[0][f][e] = s[0][f][e];
    }
  };
  auto fence_s = [&] {
#pragma unroll
    for (int j = 0; j < fwd::kNFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(s[0][j][e]);
  };
  auto fence_o = [&] {
#pragma unroll
    for (int j = 0; j < kDFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(acc_o[0][j][e]);
#pragma unroll
    for (int k = 0; k < kKSteps; ++k)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(pa[k][e]);
  };
  // kpos: the ring position of the KV tile whose S is next issued or in flight (its K), vpos: of the tile
  // whose PV is next (its V). A slot's wgmma descriptor is the first slot's plus the slot offset.
  RingPos<kStages> kpos, vpos;
  constexpr uint32_t kSlotBytes = Cfg::kKVElems * sizeof(T);
  const uint64_t k_desc0 = wgmma_desc_pin(Cfg::k_desc(smem_k)), v_desc0 = wgmma_desc_pin(Cfg::v_desc(smem_v));
  auto issue_s = [&] {
    mbar_wait(&k_full[kpos.stage], kpos.phase);
    const uint64_t kd = wgmma_desc_advance(k_desc0, kpos.stage * kSlotBytes);
    wgmma_fence();
    if constexpr (kQRegs)
      Cfg::qk_mma_rs(s, qa, kd);
    else
      Cfg::qk_mma(s, smem_q, kd, c * 64);
    wgmma_commit();
  };
  // S of the current tile's next KV tile, in a GEMM turn that the next PV closes.
  auto issue_next_s = [&] {
    turn_begin();
    issue_s();
  };
  auto issue_pv = [&] {
    fwd::rescale_o<1, kDFrag>(acc_o, alpha);
    mbar_wait(&v_full[vpos.stage], vpos.phase);
    Cfg::pv_issue(acc_o, pa, wgmma_desc_advance(v_desc0, vpos.stage * kSlotBytes));
  };
  // After S of KV tile `it` of tile t has landed (and the PV GEMM issued after it may still run): mask and
  // softmax it, then release K. The softmax is pinned before the PV wait that follows: ptxas schedules the
  // wait as early as it can and sinks arithmetic past it, which serialised softmax and PV (seen in the
  // SASS); it keeps memory operations in order with the wait, though. So the warp's row sums (which depend
  // on every exponential) are stored to a scratch word before the K release (an arrive, release semantics).
  auto softmax_release_k = [&](const ConsumerTile& t, int it, bool steady) {
    fence_s();
    mask_softmax(t, steady);
    if (lane == 0) {
      softmax_pin[pin_slot] = make_float2(row_sum[0][0], row_sum[0][1]);
      mbar_arrive(&k_empty[kpos.stage]);
      if (!kQRegs && it == t.n_iter - 1) mbar_arrive(q_empty);  // S_it, the tile's last, has landed
    }
  };
  // After the PV GEMM of the tile at vpos has landed: release its V.
  auto finish_pv = [&] {
    fence_o();
    if (lane == 0) mbar_arrive(&v_empty[vpos.stage]);
  };
  // P of the tile at kpos as the next PV's A operand; move both ring positions on.
  auto pack_advance = [&](bool steady) {
    Cfg::pack_p(pa, kSumCheck && steady ? pe : s);
    vpos = kpos;
    kpos.next();
  };
  // The epilogue of the tile of state st: normalise and store this thread's two rows in place, 16 bytes per store
  // (quad_gather_16B; padding rows and columns past `dim` are never written), LSE from the quad leader.
  // fin_max / fin_sum: the tile's row statistics.
  auto store_o = [&](const QTileState& st, const float (&fin_max)[2], const float (&fin_sum)[2]) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float l = fwd::quad_row_sum(fin_sum[i]);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      uint32_t packed[kDFrag];
#pragma unroll
      for (int j = 0; j < kDFrag; ++j) packed[j] = pack2<T>(acc_o[0][j][2 * i] * inv, acc_o[0][j][2 * i + 1] * inv);
      uint4 chunks[kDFrag / 4];
      quad_gather_16B<kDFrag>(packed, chunks, lane);  // every lane: shuffles
      const int row = warp_row + lane / 4 + 8 * i;
      int row_off[kMaxRank];
      fwd::unpack_offsets(q_offsets[row], row_off);
      const int64_t off = fwd::query_row_offset_at(st, row_off, st.o_base, p.o_step);
      if (off < 0) continue;
      T* dst = static_cast<T*>(p.o) + off;
#pragma unroll
      for (int g = 0; g < kDFrag / 4; ++g) {
        const int col = (4 * g + lane % 4) * 8;
        if (col < p.dim) *reinterpret_cast<uint4*>(dst + col) = chunks[g];
      }
      if (p.lse != nullptr && lane % 4 == 0)
        p.lse[fwd::query_row_offset_at(st, row_off, st.lse_base, p.lse_step)] = fwd::row_lse(fin_max[i], l);
    }
  };

  // The KV tiles of all the block's Q tiles form one software pipeline (FlashAttention-3's order inside a
  // tile): while S_j is in flight, rescale O and issue O += P_{j-1} V_{j-1}; softmax S_j while that PV
  // runs; wait; pack P_j. At a tile boundary the next tile's S_0 is issued before the last PV of the
  // current one and its softmax runs while that PV does; the current tile's epilogue is deferred until the
  // next tile's S_1 is in flight (O is not touched before its PV_0), so this warpgroup's tensor work goes on
  // while it stores O. At head dim 256 (O takes 128 registers) this boundary spilled registers in the
  // loop: there the boundary is the plain sequence (last PV, epilogue, next S_0). Every path meets with no
  // wgmma in flight at the loop heads: ptxas tracks the groups in flight per path, and joins of different
  // states made it serialise every wgmma (C7515).
  constexpr bool kOverlapBoundary = Cfg::kHeadDim <= 128;
  ConsumerTile t;            // the current tile
  int done = 0;              // the previous one's state slot, whose epilogue is pending
  bool pending = false;      // O holds `done`'s result, to be stored
  float fin_max[2], fin_sum[2];  // `done`'s row statistics
  auto store_pending = [&] {
    store_o(st_ring[done], fin_max, fin_sum);
    rec(trace::kConsStored, 0);
    zero_o();
    pending = false;
  };
  // A tile's start without overlap (the block's first tile; every tile at head dim 256): S_0, its softmax.
  auto start_tile = [&](const ConsumerTile& t) {
    zero_o();
    reset_rows();
    issue_s();
    wgmma_wait<0>();
    rec(trace::kConsSLanded, 0);
    softmax_release_k(t, 0, false);
    pack_advance(false);
  };
  // A tile's end without overlap: its last PV, then its epilogue.
  auto finish_tile = [&](const ConsumerTile& t) {
    issue_pv();
    wgmma_wait<0>();
    finish_pv();
    store_o(st_ring[t.slot], row_max[0], row_sum[0]);
    rec(trace::kConsStored, 0);
  };
  // got: 2 while a tile is to be acquired and started without overlap (the block's first; after a padding
  // tile; every tile at head dim 256), 1 while t runs, 0 past the last tile. One site each for acquire,
  // start_tile and finish_tile: code size of the Q-tile loop.
  int got = 2;
  while (got == 2 && (got = acquire(t, false)) == 1) {
    start_tile(t);
    while (true) {  // no wgmma in flight; P_0 of t packed
      for (int it = 1; it < t.n_iter; ++it) {
        rec(trace::kConsStepTop, it);
        issue_next_s();
        if (it == 1 && pending) store_pending();  // while S_1 runs
        issue_pv();
        turn_end();
        rec(trace::kConsIssued, it);
        wgmma_wait<1>();  // S_it has landed; the PV GEMM may still run
        rec(trace::kConsSLanded, it);
        softmax_release_k(t, it, true);
        rec(trace::kConsSoftmaxDone, it);
        wgmma_wait<0>();
        rec(trace::kConsPvDone, it);
        finish_pv();
        pack_advance(true);
      }
      if (pending) store_pending();  // t has a single KV tile
      // Tile boundary: every S of t has landed, P of its last KV tile is packed, no wgmma is in flight.
      // t's epilogue is deferred into the next tile and reads t's state slot, which the producer refills
      // once Q of two later tiles is released: releasing two padding tiles here did that (rows of t were
      // stored wrongly or not at all). So a padding tile next ends t without overlap first, as the last
      // tile of the block and every tile at head dim 256 do.
      ConsumerTile nt;
      got = kOverlapBoundary ? acquire(nt, true) : 2;
      if (got != 1) {
        finish_tile(t);
        break;
      }
      turn_begin();
      issue_s();   // S_0 of the next tile
      issue_pv();  // the last PV of t
      turn_end();
      fin_max[0] = row_max[0][0], fin_max[1] = row_max[0][1];
      fin_sum[0] = row_sum[0][0], fin_sum[1] = row_sum[0][1];
      wgmma_wait<1>();
      rec(trace::kConsSLanded, 0);
      reset_rows();
      softmax_release_k(nt, 0, false);
      wgmma_wait<0>();
      finish_pv();
      pack_advance(false);
      done = t.slot;
      pending = true;
      t = nt;
    }
  }
  if (pingpong && c == 0) named_bar_sync(kBarTurn + 0, 256);  // consume consumer 1's last hand-over
}

}  // namespace gna::cuda::sm90
