// src/cuda/sm90/fwd_launch.cuh -- layer: cuda/sm90 device launcher. Sets the shared-memory limit and
// launches one instance of the shared forward kernel with the wgmma policy on the caller's stream.
// Included only by the generated instance files and the dispatcher (compiled for sm_90a only).
#pragma once

#include <cuda_runtime.h>

#include "cuda/common/cuda_check.hpp"
#include "cuda/fwd/fwd_kernel.cuh"
#include "cuda/sm90/fwd_config.cuh"
#include "gna/na/tile_table.hpp"

namespace gna::cuda::sm90 {

static_assert(na::kernel_tile_config(na::KernelFamily::sm90, 256).q_tokens == 128 &&
                  na::kernel_tile_config(na::KernelFamily::sm90, 256).kv_tokens == kBlockN,
              "the sm90 kernel is built for 128-token Q tiles and 64-token KV tiles");

template <class T, int HEAD_DIM>
void launch_fwd(const FwdParams& p, cudaStream_t stream) {
  using Cfg = FwdConfig<T, HEAD_DIM>;
  auto kernel = fwd::gna_fwd_kernel<Cfg>;
  constexpr size_t kSmem = fwd::smem_bytes<Cfg>();
  GNA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem)));
  const int64_t blocks = p.q_tiles_total * p.batch * p.heads;
  kernel<<<dim3(static_cast<unsigned>(blocks)), dim3(Cfg::kThreads), kSmem, stream>>>(p);
  GNA_CUDA_CHECK_LAUNCH("gna_fwd_kernel<sm90>");
}

}  // namespace gna::cuda::sm90
