// tools/cli/run_common.hpp -- layer: CLI. What `gna run` and `gna backward` share: owning host arrays
// (NpyArray), seeded random inputs, tensor views over them, the sampled fp64 check of a forward result
// and the per-dtype tolerances.
//
// The check is independent of every backend: for sampled queries it evaluates spec/semantics.md s1
// directly in double (window membership from include/gna/na/window.hpp, the one home of that math),
// over all heads, and compares O and LSE.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gna/api.hpp"
#include "npy.hpp"
#include "options.hpp"
#include "testbed/spec_eval.hpp"

namespace gna::cli {

// Shapes of the tensors of spec s1 (heads-last).
std::vector<int64_t> q_shape(const Problem& p);     // [B, X.., H, Dqk]
std::vector<int64_t> k_shape(const Problem& p);     // [B, X.., Hkv, Dqk]
std::vector<int64_t> v_shape(const Problem& p);     // [B, X.., Hkv, Dv]
std::vector<int64_t> o_shape(const Problem& p);     // [B, X.., H, Dv]
std::vector<int64_t> lse_shape(const Problem& p);   // [B, X.., H]
std::vector<int64_t> extra_k_shape(const Problem& p);  // [B, Nx, Hkv, Dqk]
std::vector<int64_t> extra_v_shape(const Problem& p);  // [B, Nx, Hkv, Dv]

// A number for a JSON file: `null` when it is not finite (JSON has no inf / nan; a kernel that produced
// them must still leave a parsable results line), else as an ostream writes it (6 significant digits).
std::string json_number(double v);

// A zero-filled array of the dtype (bf16 is stored as "<u2").
NpyArray make_array(DType t, const std::vector<int64_t>& shape);
// Standard-normal values rounded to the dtype, from a generator seeded with `seed`.
NpyArray random_array(DType t, const std::vector<int64_t>& shape, uint64_t seed);

// The inputs of one forward call (extra K/V empty when the problem has none).
struct ForwardInputs {
  DType dtype = DType::f32;
  NpyArray q, k, v, extra_k, extra_v;
};
ForwardInputs random_inputs(const Problem& p, DType t, uint64_t seed);
// Views over the inputs plus the given outputs (out may be undefined for backward's use).
ForwardTensors forward_views(ForwardInputs& in, NpyArray* out, NpyArray* lse);

struct Tolerance {
  double atol, rtol;      // for O: |err| <= atol + rtol * |ref|
  double lse_atol;        // for LSE
};
Tolerance tolerance_for(DType t);

struct CheckResult {
  int64_t queries = 0;     // sampled (batch, token) positions, each over all heads
  double max_abs = 0;      // max |O - ref|
  double max_rel = 0;      // max |O - ref| / max |ref| (normwise over the sample)
  double lse_max_abs = 0;  // max |LSE - ref|
  bool ok = true;
  Tolerance tol{};
};

// Checks `t.out` (and `t.lse` if defined) of a finished forward call on host tensors against the
// definition in double, at `samples` random query positions (all of them if there are fewer).
CheckResult check_forward(const Problem& p, const ForwardTensors& t, DType dtype, int64_t samples,
                          uint64_t seed);

// Helpers of the sampled checks (also used by check_backward.cpp). token_offset, unflatten, neighborhood
// and the single-query evaluation live in the shared harness (src/testbed/spec_eval.hpp).
using testbed::neighborhood;
using testbed::token_offset;
using testbed::unflatten;
// `samples` random indices in [0, n) (all of them, in order, if n <= samples).
std::vector<int64_t> sample_positions(int64_t n, int64_t samples, uint64_t seed);

// The .npy inputs of a real-data call (--q --k --v [--extra-k --extra-v]).
struct InputPaths {
  std::string q, k, v, extra_k, extra_v;
  bool empty() const { return q.empty() && k.empty() && v.empty() && extra_k.empty() && extra_v.empty(); }
};
InputPaths take_input_paths(std::vector<std::string>& args);

// Whether "--name" or "--name=..." is among args.
bool has_option(const std::vector<std::string>& args, const std::string& name);

// Reads the input arrays, parses the problem options (window/stride/dilation/causal/scale/dtype/
// backend/seed/tiles; sizes come from the arrays, so --shape --batch --heads --kv-heads --dim --dim-v
// --extra-kv --preset are rejected and --window is required), rejects leftover arguments of `command`,
// fills and validates the problem. Errors name the file.
ProblemOptions load_inputs(std::vector<std::string>& args, const InputPaths& paths,
                           const std::string& command, ForwardInputs& in);

// The sampled fp64 check of a backward result (check_backward.cpp). Errors are normwise over the sample:
// max |grad - ref| / max |ref| per gradient, each <= tol.
struct GradCheckResult {
  int64_t queries = 0;      // sampled query positions for dQ (all heads)
  int64_t keys = 0;         // sampled key positions for dK/dV (all KV heads); 0 when over the budget
  int64_t extra_keys = 0;   // sampled extra keys for dExtraK/dExtraV
  bool keys_checked = false;
  double dq_err = 0, dk_err = 0, dv_err = 0, dextra_k_err = 0, dextra_v_err = 0;
  double tol = 0;
  bool ok = true;
};
double grad_tolerance_for(DType t);
GradCheckResult check_backward(const Problem& p, const BackwardTensors& t, DType dtype,
                               int64_t query_samples, int64_t key_samples, uint64_t seed);

// "12.3 ms" style number formatting helpers for reports.
std::string fmt(double v, int precision = 4);

}  // namespace gna::cli
