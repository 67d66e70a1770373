// src/cuda/sm80/fwd_launch.cuh -- layer: cuda/sm80 device launcher. Sets the shared-memory limit and
// launches one instance of the forward kernel on the caller's stream (no host synchronisation).
// Included only by the generated instance files (one per dtype x head-dim bucket, see CMakeLists.txt).
#pragma once

#include <cuda_runtime.h>

#include "cuda/common/cuda_check.hpp"
#include "cuda/fwd/fwd_kernel.cuh"
#include "cuda/sm80/fwd_config.cuh"
#include "gna/na/tile_table.hpp"

namespace gna::cuda::sm80 {

// Query rows per warp (in 16-row blocks) per head-dim bucket, from the one tile table (na/tile_table.hpp):
// BLOCK_M = 4 warps x 16 x M_BLOCKS.
constexpr int block_m_for(int head_dim) {
  return static_cast<int>(na::kernel_tile_config(na::KernelFamily::sm80, head_dim).q_tokens);
}
constexpr int m_blocks_for(int head_dim) { return block_m_for(head_dim) / 64; }
static_assert(na::kernel_tile_config(na::KernelFamily::sm80, 128).kv_tokens == kBlockN &&
                  na::kernel_tile_config(na::KernelFamily::sm80, 256).kv_tokens == kBlockN,
              "the sm80 kernel is built for 64-token KV tiles");

template <class T, int HEAD_DIM>
void launch_fwd(const FwdParams& p, cudaStream_t stream) {
  using Cfg = FwdConfig<T, HEAD_DIM, m_blocks_for(HEAD_DIM)>;
  auto kernel = fwd::gna_fwd_kernel<Cfg>;
  constexpr size_t kSmem = fwd::smem_bytes<Cfg>();
  GNA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kSmem)));
  const int64_t blocks = p.q_tiles_total * p.batch * p.heads;
  kernel<<<dim3(static_cast<unsigned>(blocks)), dim3(Cfg::kThreads), kSmem, stream>>>(p);
  GNA_CUDA_CHECK_LAUNCH("gna_fwd_kernel<sm80>");
}

}  // namespace gna::cuda::sm80
