// src/cuda/sm90/fwd_launch.cuh -- layer: cuda/sm90 device launcher. Launches the warp-specialized
// persistent forward (fwd_ws_kernel.cuh: one resident block per SM, grid = min(Q tiles, SMs)) on the
// caller's stream. Included only by the generated instance files and the dispatcher (sm_90a only).
//
// The warp-specialized kernel loads with TMA, so it runs when tma_maps.hpp can describe the problem (head
// dim = bucket, contiguous heads, 16-byte strides, dilation <= 8, boxes <= 256). Every other problem runs
// the shared non-specialized kernel (fwd_kernel.cuh, cp.async loads) with the same wgmma policy. (A
// cp.async producer warpgroup inside the specialized kernel measured 1.9x slower than that kernel on H100.)
//
// Environment (measurement switches, read once per process): GNA_SM90_KERNEL=classic always runs the
// shared kernel (A/B timing, and tests of that path); GNA_SM90_PINGPONG=1 / 0 forces the consumer ping-pong
// on / off (unset: on for perfectly block-sparse problems, see pingpong_for).
// A test switch, read at every launch: GNA_SM90_GRID=N caps the persistent grid at N blocks, so that each
// block walks many Q tiles and small problems exercise the cross-tile pipeline (tile boundaries, the
// deferred epilogue, the state ring, padding tiles between real ones); with one block per SM the test
// cases rarely give a block more than one tile.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "cuda/common/cuda_check.hpp"
#include "cuda/fwd/fwd_kernel.cuh"
#include "cuda/sm90/fwd_config.cuh"
#include "cuda/sm90/fwd_policy.hpp"
#include "cuda/sm90/fwd_ws_kernel.cuh"
#include "gna/na/tile_table.hpp"

namespace gna::cuda::sm90 {

static_assert(na::kernel_tile_config(na::KernelFamily::sm90, 256).q_tokens == 128 &&
                  na::kernel_tile_config(na::KernelFamily::sm90, 256).kv_tokens == kBlockN,
              "the sm90 kernel is built for 128-token Q tiles and 64-token KV tiles");

inline bool classic_kernel() {
  static const bool classic = [] {
    const char* v = std::getenv("GNA_SM90_KERNEL");
    return v != nullptr && std::strcmp(v, "classic") == 0;
  }();
  return classic;
}
inline int64_t grid_cap() {
  const char* v = std::getenv("GNA_SM90_GRID");
  return v == nullptr || *v == '\0' ? INT64_MAX : std::max<int64_t>(1, std::atoll(v));
}
// The consumer ping-pong: fwd_policy.hpp's choice, unless GNA_SM90_PINGPONG=0 / 1 forces it off / on (A/B
// timing, tests of both paths).
inline bool pingpong_for(const FwdParams& p) {
  static const int forced = [] {
    const char* v = std::getenv("GNA_SM90_PINGPONG");
    return v == nullptr || *v == '\0' ? -1 : int(std::strcmp(v, "0") != 0);
  }();
  return forced >= 0 ? forced == 1 : pingpong_default(p);
}

template <class T, int HEAD_DIM>
void launch_fwd(const FwdParams& p, cudaStream_t stream) {
  const int64_t tiles = p.q_tiles_total * p.batch * p.heads;
  TmaMaps maps{};
  if (!classic_kernel() && make_tma_maps(p, std::is_same_v<T, __nv_bfloat16>, HEAD_DIM, maps).empty()) {
    using Cfg = WsConfig<T, HEAD_DIM>;
    auto kernel = gna_fwd_ws_kernel<Cfg>;
    constexpr size_t kSmem = ws_smem_bytes<Cfg>();
    GNA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem)));
    int device = 0, sms = 0;
    GNA_CUDA_CHECK(cudaGetDevice(&device));
    GNA_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    const int64_t grid = std::min<int64_t>({tiles, int64_t(sms), grid_cap()});
    kernel<<<dim3(static_cast<unsigned>(grid)), dim3(Cfg::kThreads), kSmem, stream>>>(p, maps, tiles,
                                                                                        pingpong_for(p) ? kFlagPingPong : 0);
    GNA_CUDA_CHECK_LAUNCH("gna_fwd_ws_kernel<sm90>");
    trace::dump_and_clear();  // a -DGNA_SM90_TRACE build only (trace.cuh)
    return;
  }
  using Cfg = FwdConfig<T, HEAD_DIM>;
  auto kernel = fwd::gna_fwd_kernel<Cfg>;
  constexpr size_t kSmem = fwd::smem_bytes<Cfg>();
  GNA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem)));
  kernel<<<dim3(static_cast<unsigned>(tiles)), dim3(Cfg::kThreads), kSmem, stream>>>(p);
  GNA_CUDA_CHECK_LAUNCH("gna_fwd_kernel<sm90>");
}

}  // namespace gna::cuda::sm90
