// src/cuda/sm90/backend.cpp -- layer: backend (cuda/sm90). The "sm90" backend = the shared fused-forward
// backend (src/cuda/fwd/fwd_backend.hpp) with the wgmma kernel instances (sm_90a: H100, H200).
// Preferred over sm80 by the registry; problems it cannot run fall through to sm80.
#include "cuda/fwd/fwd_backend.hpp"
#include "cuda/sm90/fwd_instances.hpp"

namespace gna::cuda::sm90 {
namespace {

struct Sm90Arch {
  static constexpr const char* kName = "sm90";
  static constexpr const char* kDescription = "fused wgmma forward (sm_90a; cp.async, in-place N-d tiles)";
  static constexpr const char* kDeviceRule = "a CUDA device of compute capability 9.0 (H100/H200)";
  static constexpr na::KernelFamily kFamily = na::KernelFamily::sm90;
  static bool device_ok(int cc) { return cc == 90; }
  static bool all_instances() { return instance_compiled(DType::f16, 64); }
  static int head_dim_bucket(int64_t dim) { return sm90::head_dim_bucket(dim); }
  static bool instance_compiled(DType t, int bucket) { return sm90::instance_compiled(t, bucket); }
  static int block_m(int) { return 128; }
  static size_t smem_bytes(int bucket) { return sm90::smem_bytes(bucket); }
  static void dispatch(DType t, int bucket, const FwdParams& p, cudaStream_t s) { dispatch_fwd(t, bucket, p, s); }
  // Calibrated on H100 (h100-sm90, bench/calibration.md); H200 derived; other cards never run sm_90a.
  static std::string cost_model(const std::string& card) { return card == "h200" ? "h200-sm90" : "h100-sm90"; }
};

}  // namespace
}  // namespace gna::cuda::sm90

namespace gna::detail {
const Backend* sm90_backend() {
  static const cuda::fwd::FusedForwardBackend<cuda::sm90::Sm90Arch> backend;
  return &backend;
}
}  // namespace gna::detail
