// src/cuda/sm90/fwd_ws_kernel.cuh -- layer: cuda/sm90 forward kernel. The warp-specialized, persistent
// Hopper GNA forward (FlashAttention-3 structure) on the shared pieces of src/cuda/fwd/ (tile state, KV
// cursor, mask and softmax) and the wgmma GEMMs of sm90/fwd_config.cuh.
//
// A block of 3 warpgroups stays resident (one per SM; grid = min(tiles, SMs)) and walks the Q tiles
// blockIdx.x, blockIdx.x + gridDim.x, ... Roles:
//   warpgroup 0, producer (setmaxnreg.dec): one thread issues, per tile, the TMA loads of Q, then of K and V
//     for each KV tile of the box and the extra KV tiles into a kStages-deep ring, in place from the user's
//     layout (tma_maps.hpp: dilation by element strides, padding by out-of-bounds zero fill; one copy per
//     tile where a dimension is free, else one per 64-element head-dim half). Each fill completes on its
//     "full" mbarrier (expect_tx); a slot is refilled after its "empty" barrier.
//   warpgroups 1, 2, consumers (setmaxnreg.inc): query rows [64c, 64c + 64) of the tile. Each warp first
//     copies its 16 Q rows into registers (ldmatrix) and releases Q's shared memory, so the producer loads
//     the next tile's Q at once and S = Q K^T reads only K from shared memory. Then per KV tile j, in the
//     FlashAttention-3 order: issue S_j; rescale O by the previous step's factor while S_j runs; issue
//     O += P_{j-1} V_{j-1}; mask and softmax S_j while that PV GEMM runs (intra-warpgroup overlap); release
//     K_j; wait for the PV; release V_{j-1}; pack P_j. Releases are one arrive per warp on the "empty"
//     barrier. With `pingpong` (off by default: within +-2% on the presets), two named barriers alternate
//     the GEMM issue between the two consumers.
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

namespace gna::cuda::sm90 {

template <class T, int HEAD_DIM>
struct WsConfig : FwdConfig<T, HEAD_DIM> {
  static constexpr int kThreads = 384;  // producer warpgroup + 2 consumer warpgroups
  static constexpr int kConsumerWarps = 8;
  static constexpr int kStages = HEAD_DIM <= 64 ? 8 : HEAD_DIM <= 128 ? 5 : 2;  // K/V ring depth (smem-bound)
  static constexpr int kProducerRegs = 56, kConsumerRegs = 224;           // 128 * (56 + 2 * 224) <= 64K
};

// Dynamic shared memory: alignment slack, Q, the K and V rings, the mbarriers, the column prefix masks
// (3, 65), the packed per-axis offsets of the KV-tile rows (64), per consumer the query rows' windows
// (64, 3) as int2, and a scratch word pair per consumer warp (softmax_pin: see the consumer loop).
template <class Cfg>
constexpr size_t ws_smem_bytes() {
  return Cfg::kSmemAlign + sizeof(typename Cfg::Element) * (size_t(Cfg::kQElems) + 2 * Cfg::kStages * size_t(Cfg::kKVElems)) +
         sizeof(uint64_t) * (2 + 4 * Cfg::kStages) + sizeof(uint64_t) * kMaxRank * (kBlockN + 1) +
         sizeof(int) * kBlockN + sizeof(int2) * Cfg::kBlockM * kMaxRank + sizeof(float2) * Cfg::kConsumerWarps;
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

// Kernel flags (block-uniform run-time switches).
constexpr int kFlagPingPong = 1;

// Named barriers (0 is __syncthreads): 1 producer warpgroup, 2 + c consumer c, 4 + c consumer c's GEMM turn.
constexpr int kBarProducer = 1, kBarConsumer = 2, kBarTurn = 4;

// A whole-tile copy (TmaMaps::halves_dim = drop > 0): the coordinates (c0, x2, x1, x0, b) of the
// (H*D, X2, X1, X0, B) list without the dropped size-1 dimension (its coordinate is 0), then half 0.
__device__ __forceinline__ void tma_load_tile(void* dst, const CUtensorMap* map, uint64_t* bar, int drop, int c0, int c1,
                                              int c2, int c3, int c4) {
  tma_load_5d(dst, map, bar, c0, drop <= 1 ? c2 : c1, drop <= 2 ? c3 : c2, drop <= 3 ? c4 : c3, 0);
}

// The TMA producer of one Q tile (one thread): Q, then K and V of every KV tile (one box, or one per
// 64-element half of the head dim, see TmaMaps::halves_dim), completing on the slot's "full" barrier with
// its byte count.
template <class Cfg>
__device__ __forceinline__ void produce_tile_tma(const FwdParams& p, const TmaMaps& maps, const fwd::QTileState& st, int n_iter,
                                                 typename Cfg::Element* smem_q, typename Cfg::Element* smem_k,
                                                 typename Cfg::Element* smem_v, uint64_t* q_full, uint64_t* q_empty,
                                                 uint64_t* k_full, uint64_t* k_empty, uint64_t* v_full, uint64_t* v_empty,
                                                 uint32_t& q_fill, RingPos<Cfg::kStages>& fill) {
  using T = typename Cfg::Element;
  constexpr int kHalves = Cfg::kHeadDim / 64;
  constexpr uint32_t kQBytes = Cfg::kQElems * sizeof(T), kKVBytes = Cfg::kKVElems * sizeof(T);
  int coord[kMaxRank];  // the dilated coordinate of the Q tile's first row
#pragma unroll
  for (int d = 0; d < kMaxRank; ++d) coord[d] = st.q_origin[d] * int(p.axis[d].dilation) + st.group[d];
  mbar_wait(q_empty, (q_fill & 1) ^ 1);
  mbar_arrive_expect_tx(q_full, kQBytes);
  if (maps.halves_dim > 0) {
    tma_load_tile(smem_q, &maps.q, q_full, maps.halves_dim, st.head * int(p.dim), coord[2], coord[1], coord[0], st.batch);
  } else {
#pragma unroll
    for (int h = 0; h < kHalves; ++h)
      tma_load_5d(smem_q + h * (Cfg::kBlockM * 64), &maps.q, q_full, st.head * int(p.dim) + 64 * h, coord[2], coord[1],
                  coord[0], st.batch);
  }
  ++q_fill;
  fwd::KvCursor cur;
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

template <class Cfg>
__global__ void __launch_bounds__(Cfg::kThreads, 1)
    gna_fwd_ws_kernel(const __grid_constant__ FwdParams p, const __grid_constant__ TmaMaps maps, const int64_t total_tiles,
                      const int flags) {
  using T = typename Cfg::Element;
  using fwd::KvCursor;
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
  uint64_t* col_below = v_empty + kStages;  // (3, 65)
  int* kv_offsets = reinterpret_cast<int*>(col_below + kMaxRank * (kBlockN + 1));
  int2* row_window_all = reinterpret_cast<int2*>(kv_offsets + kBlockN);  // (2 consumers, 64, 3)
  float2* softmax_pin = reinterpret_cast<float2*>(row_window_all + Cfg::kBlockM * kMaxRank);  // per consumer warp

  // Per role (producer, consumer 0, consumer 1): its current Q tile's state, filled by the role's first
  // warp (init_warp).
  __shared__ __align__(16) unsigned char st_raw[3 * sizeof(QTileState)];
  QTileState* st_all = reinterpret_cast<QTileState*>(st_raw);
  __shared__ int real_all[3];
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
  if (tid == 0) {
    // "full": one arrive.expect_tx per fill (the producer thread); "empty": one arrival per consumer warp.
    mbar_init(q_full, 1);
    mbar_init(q_empty, Cfg::kConsumerWarps);
    for (int s = 0; s < kStages; ++s) {
      mbar_init(&k_full[s], 1);
      mbar_init(&v_full[s], 1);
      mbar_init(&k_empty[s], Cfg::kConsumerWarps);
      mbar_init(&v_empty[s], Cfg::kConsumerWarps);
    }
  }
  __syncthreads();
  fwd::build_col_below(col_below, kv_offsets, tid, Cfg::kThreads);
  __syncthreads();

  if (wg == 0) {
    // ---------------------------------------------------------------- producer
    setmaxnreg_dec<Cfg::kProducerRegs>();
    QTileState& st = st_all[0];
    RingPos<kStages> fill;  // the ring position of the next K/V fill
    uint32_t q_fill = 0;
    for (int64_t tile = blockIdx.x; tile < total_tiles; tile += gridDim.x) {
      named_bar_sync(kBarProducer, 128);  // every producer thread is done with the previous tile's state
      if (wtid < 32) {
        const bool real = st.init_warp(p, tile, lane);
        if (lane == 0) real_all[0] = real;
      }
      named_bar_sync(kBarProducer, 128);
      if (!real_all[0]) continue;
      if (wtid == 0)
        produce_tile_tma<Cfg>(p, maps, st, st.spatial_tiles + st.extra_tiles, smem_q, smem_k, smem_v, q_full, q_empty, k_full,
                              k_empty, v_full, v_empty, q_fill, fill);
    }
    return;
  }

  // ------------------------------------------------------------------ consumers
  setmaxnreg_inc<Cfg::kConsumerRegs>();
  const int c = wg - 1;
  const int warp_row = c * 64 + (wtid / 32) * 16;  // first Q row of this warp
  QTileState& st = st_all[wg];
  int2* row_window = row_window_all + c * 64 * kMaxRank;
  const int bar_self = kBarConsumer + c;
  RingPos<kStages> ring;  // the ring position of the next KV tile to read
  uint32_t q_read = 0;
  if (pingpong && c == 1) named_bar_arrive(kBarTurn + 0, 256);  // consumer 0 issues first

  for (int64_t tile = blockIdx.x; tile < total_tiles; tile += gridDim.x) {
    named_bar_sync(bar_self, 128);
    if (wtid < 32) {
      const bool real = st.init_warp(p, tile, lane);
      if (lane == 0) real_all[wg] = real;
    }
    named_bar_sync(bar_self, 128);
    if (!real_all[wg]) continue;
    const int n_iter = st.spatial_tiles + st.extra_tiles;
    const bool all_full = st.all_full(p);
    if (!all_full) {  // this consumer's query rows' key windows
      if (wtid < 64) st.row_window(p, c * 64 + wtid, row_window + wtid * kMaxRank);
      named_bar_sync(bar_self, 128);
    }
    const int2* warp_windows = row_window + (warp_row - c * 64) * kMaxRank;

    // This warp's Q rows as registers for the whole tile where they fit (head dim <= 128: 32 registers):
    // S = Q K^T then reads only K from shared memory, and Q's shared memory is released at once, so the
    // producer loads the next tile's Q during this one. At head dim 256 Q's 64 registers do not fit beside
    // O's 128 (ptxas spills and serialises the wgmma, C7512): S reads Q from shared memory, released once
    // the tile's last S has landed.
    constexpr bool kQRegs = Cfg::kHeadDim <= 128;
    uint32_t qa[Cfg::kHeadDim / 16][4];
    mbar_wait(q_full, q_read & 1);
    if constexpr (kQRegs) {
      Cfg::load_q_frags(qa, smem_q, warp_row, lane);
      __syncwarp();
      if (lane == 0) mbar_arrive(q_empty);
    }

    float acc_o[1][kDFrag][4];
#pragma unroll
    for (int j = 0; j < kDFrag; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[0][j][e] = 0.f;
    float row_max[1][2] = {{-INFINITY, -INFINITY}}, row_sum[1][2] = {{0.f, 0.f}}, alpha[1][2];
    float s[1][fwd::kNFrag][4];
    uint32_t pa[kKSteps][4];
    KvCursor cur;
    // Mask (partial tiles only) and softmax of S for KV tile `it` (the cursor's tile).
    // When every tile of the Q tile is full (a perfectly block-sparse problem) no mask test runs at all.
    auto mask_softmax = [&](int it) {
      if (!all_full) {
        if (cur.is_spatial(st)) {
          int origin[kMaxRank];
          if (!cur.origin(p, st, origin)) fwd::mask_spatial<1>(s, warp_windows, col_below, origin, p.kv_tile, lane);
        } else if (int64_t(it - st.spatial_tiles + 1) * kBlockN > p.extra_kv) {
          fwd::mask_extra<1>(s, int64_t(it - st.spatial_tiles) * kBlockN, p.extra_kv, lane);
        }
      }
      fwd::softmax_step<1>(s, row_max, row_sum, alpha, p.scale_log2);
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
    // kpos: the ring position of KV tile `it` (its K), vpos: of tile it - 1 (its V). A slot's wgmma
    // descriptor is the first slot's plus the slot offset (one uniform add).
    RingPos<kStages> kpos = ring, vpos;
    constexpr uint32_t kSlotBytes = Cfg::kKVElems * sizeof(T);
    const uint64_t k_desc0 = wgmma_desc_pin(Cfg::k_desc(smem_k)), v_desc0 = wgmma_desc_pin(Cfg::v_desc(smem_v));
    auto v_desc = [&] { return wgmma_desc_advance(v_desc0, vpos.stage * kSlotBytes); };
    auto issue_s = [&] {
      const uint64_t kd = wgmma_desc_advance(k_desc0, kpos.stage * kSlotBytes);
      wgmma_fence();
      if constexpr (kQRegs)
        Cfg::qk_mma_rs(s, qa, kd);
      else
        Cfg::qk_mma(s, smem_q, kd, c * 64);
      wgmma_commit();
    };

    // KV tile 0: S_0 and its softmax.
    mbar_wait(&k_full[kpos.stage], kpos.phase);
    issue_s();
    wgmma_wait<0>();
    fence_s();
    if (lane == 0) {
      mbar_arrive(&k_empty[kpos.stage]);
      if (!kQRegs && n_iter == 1) mbar_arrive(q_empty);  // the tile's last S has landed
    }
    mask_softmax(0);
    Cfg::pack_p(pa, s);
    vpos = kpos;
    kpos.next();
    // KV tile j >= 1 (FlashAttention-3 order): issue S_j; rescale O by alpha_{j-1} while S_j runs (O is
    // idle: PV_{j-2} has been waited for); issue PV_{j-1}; mask and softmax S_j while PV_{j-1} runs; wait;
    // pack P_j. After tile 0 O is zero, so its rescale is harmless.
    for (int it = 1; it < n_iter; ++it) {
      if (!all_full) cur.advance(st);
      mbar_wait(&k_full[kpos.stage], kpos.phase);
      if (pingpong) named_bar_sync(kBarTurn + c, 256);
      issue_s();
      fwd::rescale_o<1, kDFrag>(acc_o, alpha);
      mbar_wait(&v_full[vpos.stage], vpos.phase);
      Cfg::pv_issue(acc_o, pa, v_desc());
      if (pingpong) named_bar_arrive(kBarTurn + 1 - c, 256);
      wgmma_wait<1>();  // S_j has landed; the PV GEMM may still run
      fence_s();
      mask_softmax(it);
      // Pin the softmax before the PV wait. ptxas schedules the wait as early as it can and sinks arithmetic
      // past it, which serialised softmax and PV (seen in the SASS); it keeps memory operations in order with
      // the wait, though. So the warp's row sums (which depend on every exponential) are stored to a scratch
      // word before the K release (an arrive, release semantics) that precedes the wait.
      if (lane == 0) {
        softmax_pin[wtid / 32 + 4 * c] = make_float2(row_sum[0][0], row_sum[0][1]);
        mbar_arrive(&k_empty[kpos.stage]);
        if (!kQRegs && it == n_iter - 1) mbar_arrive(q_empty);  // S_j, the tile's last, has landed
      }
      wgmma_wait<0>();
      fence_o();
      if (lane == 0) mbar_arrive(&v_empty[vpos.stage]);
      Cfg::pack_p(pa, s);
      vpos = kpos;
      kpos.next();
    }
    // The last PV.
    fwd::rescale_o<1, kDFrag>(acc_o, alpha);
    mbar_wait(&v_full[vpos.stage], vpos.phase);
    Cfg::pv_issue(acc_o, pa, v_desc());
    wgmma_wait<0>();
    fence_o();
    if (lane == 0) mbar_arrive(&v_empty[vpos.stage]);
    ring = kpos;
    ++q_read;

    // Epilogue: normalise and store this thread's two rows in place, 16 bytes per store (quad_gather_16B;
    // padding rows and columns past `dim` are never written), LSE from the quad leader.
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float l = fwd::quad_row_sum(row_sum[0][i]);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      uint32_t packed[kDFrag];
#pragma unroll
      for (int j = 0; j < kDFrag; ++j) packed[j] = pack2<T>(acc_o[0][j][2 * i] * inv, acc_o[0][j][2 * i + 1] * inv);
      uint4 chunks[kDFrag / 4];
      quad_gather_16B<kDFrag>(packed, chunks, lane);  // every lane: shuffles
      const int row = warp_row + lane / 4 + 8 * i;
      const int64_t off = fwd::query_row_offset(p, st, row, st.o_base, p.o_step);
      if (off < 0) continue;
      T* dst = static_cast<T*>(p.o) + off;
#pragma unroll
      for (int g = 0; g < kDFrag / 4; ++g) {
        const int col = (4 * g + lane % 4) * 8;
        if (col < p.dim) *reinterpret_cast<uint4*>(dst + col) = chunks[g];
      }
      if (p.lse != nullptr && lane % 4 == 0)
        p.lse[fwd::query_row_offset(p, st, row, st.lse_base, p.lse_step)] = fwd::row_lse(row_max[0][i], l);
    }
  }
  if (pingpong && c == 0) named_bar_sync(kBarTurn + 0, 256);  // consume consumer 1's last hand-over
}

}  // namespace gna::cuda::sm90
