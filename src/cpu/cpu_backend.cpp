// src/cpu/cpu_backend.cpp -- layer: backend (cpu). The "cpu" Backend: the fast host forward
// (threads + SIMD, src/cpu/cpu_attention.cpp). Registered in src/core/registry.cpp after the CUDA
// backends and before the reference, so "auto" picks it for host tensors.
//
// Invariants: forward only (backward is refused with a reason, so "auto" backward falls through to the
// reference); host tensors only; fp32 / fp16 / bf16 storage with float32 accumulation, fp64 storage
// with double accumulation; any strides with a unit last stride (validated by api.cpp).
#include <string>

#include "core/backend.hpp"
#include "cpu/cpu_attention.hpp"

namespace gna::detail {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  BackendInfo info() const override {
    return {"cpu", true, false,
            std::string("fast CPU forward: host tensors, fp32/fp16/bf16 storage with float32 accumulation "
                        "(fp64 with double), any strides, GQA/MQA, extra KV, ranks 1-3; threads + SIMD (") +
                cpu::simd_level() + "); no backward (use the reference backend)"};
  }
  std::string forward_unsupported(const Problem&, const ForwardTensors& t, const Options&) const override {
    if (t.q.device != DeviceKind::cpu) return "cpu runs on host tensors only";
    return "";
  }
  void forward(const Problem& p, const ForwardTensors& t, const Options& o) const override {
    cpu::forward(p, t, o.num_threads);
  }
  std::string backward_unsupported(const Problem&, const BackwardTensors&, const Options&) const override {
    return "cpu has no backward; use the reference backend";
  }
  void backward(const Problem&, const BackwardTensors&, const Options&) const override {
    fail("backend 'cpu' has no backward; use the reference backend");
  }
};

}  // namespace

const Backend* cpu_backend() {
  static const CpuBackend instance;
  return &instance;
}

}  // namespace gna::detail
