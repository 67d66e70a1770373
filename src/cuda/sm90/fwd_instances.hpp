// src/cuda/sm90/fwd_instances.hpp -- layer: cuda/sm90. The compiled instance set and its dispatch.
//
// Instance budget (docs/kernels.md): dtype {fp16, bf16} x head-dim bucket {64, 128, 256} = 6 kernels, all
// for sm_90a; with GNA_CUDA_ALL_INSTANCES=OFF (CI) only bf16 / 128. Head dims below 64 are padded to 64.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/fwd/fwd_params.hpp"
#include "gna/tensor.hpp"

namespace gna::cuda::sm90 {

template <class T, int HEAD_DIM>
void launch_fwd(const FwdParams& p, cudaStream_t stream);

int head_dim_bucket(int64_t dim);
bool instance_compiled(DType dtype, int bucket);
size_t smem_bytes(int bucket);
void dispatch_fwd(DType dtype, int bucket, const FwdParams& p, cudaStream_t stream);

}  // namespace gna::cuda::sm90
