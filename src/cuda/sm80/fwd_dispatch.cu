// src/cuda/sm80/fwd_dispatch.cu -- layer: cuda/sm80. Maps (dtype, head-dim bucket) to a compiled instance.
#include "cuda/sm80/fwd_instances.hpp"
#include "cuda/sm80/fwd_launch.cuh"

namespace gna::cuda::sm80 {

int head_dim_bucket(int64_t dim) {
  for (int b : {32, 64, 128, 256})
    if (dim <= b) return b;
  return 0;
}

bool instance_compiled(DType dtype, int bucket) {
#ifdef GNA_SM80_ALL_INSTANCES
  return (dtype == DType::f16 || dtype == DType::bf16) && head_dim_bucket(bucket) == bucket && bucket > 0;
#else
  return dtype == DType::bf16 && bucket == 128;
#endif
}

int block_m(int bucket) { return block_m_for(bucket); }

size_t smem_bytes(int bucket) {
  switch (bucket) {  // the element type does not change the size (both are 16-bit)
    case 32: return fwd::smem_bytes<FwdConfig<__nv_bfloat16, 32, m_blocks_for(32)>>();
    case 64: return fwd::smem_bytes<FwdConfig<__nv_bfloat16, 64, m_blocks_for(64)>>();
    case 128: return fwd::smem_bytes<FwdConfig<__nv_bfloat16, 128, m_blocks_for(128)>>();
    default: return fwd::smem_bytes<FwdConfig<__nv_bfloat16, 256, m_blocks_for(256)>>();
  }
}

void dispatch_fwd(DType dtype, int bucket, const FwdParams& p, cudaStream_t stream) {
#ifdef GNA_SM80_ALL_INSTANCES
  const bool half = dtype == DType::f16;
  switch (bucket) {
    case 32: return half ? launch_fwd<__half, 32>(p, stream) : launch_fwd<__nv_bfloat16, 32>(p, stream);
    case 64: return half ? launch_fwd<__half, 64>(p, stream) : launch_fwd<__nv_bfloat16, 64>(p, stream);
    case 128: return half ? launch_fwd<__half, 128>(p, stream) : launch_fwd<__nv_bfloat16, 128>(p, stream);
    case 256: return half ? launch_fwd<__half, 256>(p, stream) : launch_fwd<__nv_bfloat16, 256>(p, stream);
  }
#else
  if (dtype == DType::bf16 && bucket == 128) return launch_fwd<__nv_bfloat16, 128>(p, stream);
#endif
  throw RuntimeError("sm80: no compiled instance for this dtype / head dim");
}

}  // namespace gna::cuda::sm80
