// src/cuda/sm80/fwd_launch.cuh -- layer: cuda/sm80 device launcher. Sets the shared-memory limit and
// launches one instance of the forward kernel on the caller's stream (no host synchronisation).
// Included only by the generated instance files (one per dtype x head-dim bucket, see CMakeLists.txt).
#pragma once

#include <cuda_runtime.h>

#include "cuda/common/cuda_check.hpp"
#include "cuda/sm80/fwd_kernel.cuh"

namespace gna::cuda::sm80 {

// BLOCK_M per head-dim bucket: 128 query rows (8 warps), 64 for head dim 256 (register/smem budget).
constexpr int block_m_for(int head_dim) { return head_dim > 128 ? 64 : 128; }

template <class T, int HEAD_DIM>
void launch_fwd(const FwdParams& p, cudaStream_t stream) {
  using Cfg = FwdConfig<T, HEAD_DIM, block_m_for(HEAD_DIM)>;
  auto kernel = gna_fwd_sm80_kernel<Cfg>;
  GNA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(Cfg::kSmemBytes)));
  const int64_t blocks = p.q_tiles_total * p.batch * p.heads;
  kernel<<<dim3(static_cast<unsigned>(blocks)), dim3(Cfg::kThreads), Cfg::kSmemBytes, stream>>>(p);
  GNA_CUDA_CHECK_LAUNCH("gna_fwd_sm80_kernel");
}

}  // namespace gna::cuda::sm80
