// src/reference/reference_backend.cpp -- layer: backend (reference). The "reference" Backend: the
// oracle every other backend is tested against. Host tensors, fp64/fp32/fp16/bf16, any strides.
//
// Invariant: supports every validated call on host tensors; device tensors are refused with a reason.
#include "core/backend.hpp"
#include "reference/reference_attention.hpp"

namespace gna::detail {
namespace {

class ReferenceBackend final : public Backend {
 public:
  std::string name() const override { return "reference"; }
  BackendInfo info() const override {
    return {"reference", true, true,
            "CPU oracle: host tensors, fp64/fp32/fp16/bf16 storage, double accumulation, any strides, "
            "GQA/MQA, extra KV, forward + backward; O(tokens * window) per head, not fast"};
  }
  std::string forward_unsupported(const Problem&, const ForwardTensors& t, const Options&) const override {
    return t.q.device == DeviceKind::cpu ? "" : "reference runs on host tensors only";
  }
  void forward(const Problem& p, const ForwardTensors& t, const Options& o) const override {
    reference::forward(p, t, o.num_threads);
  }
  std::string backward_unsupported(const Problem&, const BackwardTensors& t, const Options&) const override {
    return t.q.device == DeviceKind::cpu ? "" : "reference runs on host tensors only";
  }
  void backward(const Problem& p, const BackwardTensors& t, const Options& o) const override {
    reference::backward(p, t, o.num_threads);
  }
};

}  // namespace

const Backend* reference_backend() {
  static const ReferenceBackend instance;
  return &instance;
}

}  // namespace gna::detail
