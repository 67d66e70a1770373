// src/cuda/sm90/fwd_dispatch.cu -- layer: cuda/sm90. Maps (dtype, head-dim bucket) to a compiled instance.
#include "cuda/sm90/fwd_instances.hpp"
#include "cuda/sm90/fwd_launch.cuh"

namespace gna::cuda::sm90 {

int head_dim_bucket(int64_t dim) {
  for (int b : {64, 128, 256})
    if (dim <= b) return b;
  return 0;
}

bool instance_compiled(DType dtype, int bucket) {
#ifdef GNA_SM90_ALL_INSTANCES
  return (dtype == DType::f16 || dtype == DType::bf16) && (bucket == 64 || bucket == 128 || bucket == 256);
#else
  return dtype == DType::bf16 && bucket == 128;
#endif
}

// The larger of the two kernels' needs (the launcher picks one per problem); 16-bit types share sizes.
template <int D>
size_t smem_both() {
  return std::max(ws_smem_bytes<WsConfig<__nv_bfloat16, D>>(), fwd::smem_bytes<FwdConfig<__nv_bfloat16, D>>());
}
size_t smem_bytes(int bucket) {
  switch (bucket) {
    case 64: return smem_both<64>();
    case 128: return smem_both<128>();
    default: return smem_both<256>();
  }
}

void dispatch_fwd(DType dtype, int bucket, const FwdParams& p, cudaStream_t stream) {
#ifdef GNA_SM90_ALL_INSTANCES
  const bool half = dtype == DType::f16;
  switch (bucket) {
    case 64: return half ? launch_fwd<__half, 64>(p, stream) : launch_fwd<__nv_bfloat16, 64>(p, stream);
    case 128: return half ? launch_fwd<__half, 128>(p, stream) : launch_fwd<__nv_bfloat16, 128>(p, stream);
    case 256: return half ? launch_fwd<__half, 256>(p, stream) : launch_fwd<__nv_bfloat16, 256>(p, stream);
  }
#else
  if (dtype == DType::bf16 && bucket == 128) return launch_fwd<__nv_bfloat16, 128>(p, stream);
#endif
  throw RuntimeError("sm90: no compiled instance for this dtype / head dim");
}

}  // namespace gna::cuda::sm90
