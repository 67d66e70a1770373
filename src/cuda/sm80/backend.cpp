// src/cuda/sm80/backend.cpp -- layer: backend (cuda/sm80). The "sm80" backend = the shared fused-forward
// backend (src/cuda/fwd/fwd_backend.hpp) with the mma.sync kernel instances: any device of compute
// capability >= 8.0 (A100, L40, RTX 30/40/50, and H100/H200 as a fallback).
#include "cuda/fwd/fwd_backend.hpp"
#include "cuda/sm80/fwd_instances.hpp"

namespace gna::cuda::sm80 {
namespace {

struct Sm80Arch {
  static constexpr const char* kName = "sm80";
  static constexpr const char* kDescription = "fused mma.sync forward (cp.async, in-place N-d tiles)";
  static constexpr const char* kDeviceRule = "a CUDA device of compute capability >= 8.0";
  static constexpr na::KernelFamily kFamily = na::KernelFamily::sm80;
  static bool device_ok(int cc) { return cc >= 80; }
  static bool all_instances() { return instance_compiled(DType::f16, 64); }
  static int head_dim_bucket(int64_t dim) { return sm80::head_dim_bucket(dim); }
  static bool instance_compiled(DType t, int bucket) { return sm80::instance_compiled(t, bucket); }
  static int block_m(int bucket) { return sm80::block_m(bucket); }
  static size_t smem_bytes(int bucket) { return sm80::smem_bytes(bucket); }
  static void dispatch(DType t, int bucket, const FwdParams& p, cudaStream_t s) { dispatch_fwd(t, bucket, p, s); }
  static std::string cost_model(const std::string& card) { return card + "-sm80"; }
};

}  // namespace
}  // namespace gna::cuda::sm80

namespace gna::detail {
const Backend* sm80_backend() {
  static const cuda::fwd::FusedForwardBackend<cuda::sm80::Sm80Arch> backend;
  return &backend;
}
}  // namespace gna::detail
