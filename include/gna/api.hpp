// gna/api.hpp -- layer: api. The public, torch-free entry points: forward, backward, merge, backends.
//
// Contract: every call validates the Problem and every tensor (shape, dtype, device, strides, heads)
// before any work and throws gna::Error naming the argument, the rule and the values. Outputs are
// written only after validation succeeds. Empty batch or heads: no work, no error. CUDA backends run on
// `Options::stream` and never synchronise the host.
//
// Tensor layouts (heads-last, spec s1): Q [B, X0.., H, Dqk]; K [B, X0.., Hkv, Dqk]; V [B, X0.., Hkv, Dv];
// O [B, X0.., H, Dv]; LSE [B, X0.., H] float32; extra K/V [B, Nx, Hkv, D*]. Gradients mirror their inputs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/error.hpp"
#include "gna/problem.hpp"
#include "gna/tensor.hpp"

namespace gna {

struct Options {
  std::string backend = "auto";          // "auto" | "reference" | "cpu" | "sm80" | "sm90"
  std::array<int64_t, kMaxRank> q_tile{};   // per-axis Q tile; all zero = the planner's choice
  std::array<int64_t, kMaxRank> kv_tile{};  // per-axis KV tile; all zero = the planner's choice
  void* stream = nullptr;                // cudaStream_t for CUDA backends (nullptr = default stream)
  int num_threads = 0;                   // CPU backends; 0 = hardware concurrency
};

struct ForwardTensors {
  TensorView q, k, v;
  TensorView out;
  TensorView lse;                // optional (ndim == 0 when not wanted)
  TensorView extra_k, extra_v;   // optional, both or neither; Problem::extra_kv == their token count
};

struct BackwardTensors {
  TensorView q, k, v, out, lse, dout;   // lse is required (from forward)
  TensorView dq, dk, dv;
  TensorView extra_k, extra_v;          // optional
  TensorView dextra_k, dextra_v;        // required when extra_k/extra_v are given
};

void forward(const Problem& problem, const ForwardTensors& t, const Options& options = {});
void backward(const Problem& problem, const BackwardTensors& t, const Options& options = {});

// spec s7: merges two attentions over disjoint key sets. o*: [..., H, Dv], lse*: [..., H] float32.
void merge(const TensorView& o0, const TensorView& lse0, const TensorView& o1, const TensorView& lse1,
           const TensorView& out, const TensorView& lse_out);

struct BackendInfo {
  std::string name;          // reference | cpu | sm80 | sm90
  bool available;            // compiled in and (for CUDA) a suitable device present
  bool has_backward;
  std::string description;   // dtypes, devices, limits; or why it is unavailable
};
std::vector<BackendInfo> list_backends();

// The backend "auto" would pick for this call, or a gna::Error saying why none can run it.
std::string select_backend(const Problem& problem, const ForwardTensors& t, const Options& options = {});

// Library version string, e.g. "0.1.0", and the build options ("cuda=on sm90a=on ...").
const char* version();
std::string build_info();

}  // namespace gna
