// src/cuda/sm80/fwd_instances.hpp -- layer: cuda/sm80. The compiled instance set and its dispatch.
//
// Instance budget (docs/kernels.md): dtype {fp16, bf16} x head-dim bucket {32, 64, 128, 256} = 8 kernels;
// everything else (rank, window, stride, dilation, causal, tile shape, extra KV, GQA) is a run-time value.
// With GNA_CUDA_ALL_INSTANCES=OFF (CI) only bf16 / 128 is compiled; dispatch reports the others as
// "not compiled in this build".
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/fwd/fwd_params.hpp"
#include "gna/tensor.hpp"

namespace gna::cuda::sm80 {

template <class T, int HEAD_DIM>
void launch_fwd(const FwdParams& p, cudaStream_t stream);

// The smallest compiled head-dim bucket >= dim (0 if none), and whether (dtype, bucket) is compiled.
int head_dim_bucket(int64_t dim);
bool instance_compiled(DType dtype, int bucket);
int block_m(int bucket);
// Dynamic shared memory one block of the (dtype, bucket) instance needs, in bytes.
size_t smem_bytes(int bucket);

// Launches the instance for (dtype, bucket); the caller checked instance_compiled().
void dispatch_fwd(DType dtype, int bucket, const FwdParams& p, cudaStream_t stream);

}  // namespace gna::cuda::sm80
