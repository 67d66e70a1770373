// tools/cli/cmd_run.cpp -- layer: CLI. `gna run`: one forward call, timed and verified.
//
// Without --q it runs the default problem (2-D 64x64, 8 heads, head dim 64, window 13x13, bf16; every
// problem option can change it) on seeded random inputs. With --q/--k/--v/--out it runs on real data
// from .npy files (shapes per spec s1, heads-last; extents, heads and dims come from the arrays) and
// writes O in the input dtype (and LSE as float32 with --lse). In both modes the result is checked
// against the definition evaluated in double at sampled query positions; exit 1 if it does not verify.
// Outputs are written only after the forward succeeded, through temp files renamed into place.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "gna/api.hpp"
#include "gna/error.hpp"
#include "options.hpp"
#include "run_common.hpp"
#include "testbed/device_buffer.hpp"

namespace gna::cli {
namespace {

constexpr int64_t kCheckSamples = 256;

const char* kRunHelp =
    "usage: gna run [problem options]                       (random inputs, default problem)\n"
    "       gna run --q Q.npy --k K.npy --v V.npy --out O.npy [--lse LSE.npy]\n"
    "               [--extra-k EK.npy --extra-v EV.npy] --window K [problem options]\n"
    "\n"
    "Runs one forward pass on the best available backend (--backend auto), times it, and checks\n"
    "O and LSE against the definition evaluated in double at 256 sampled query positions (all\n"
    "heads). Prints the problem, backend, time, effective TFLOP/s (useful FLOPs / time), the max\n"
    "errors and 'verified: yes|no'; exits 1 when not verified, 2 on invalid input.\n"
    "\n"
    "Default problem: --shape 64x64 --window 13 --heads 8 --dim 64 --dtype bf16 --seed 0.\n"
    "\n"
    "Real data (.npy, C order, little-endian): Q [B, X0.., H, Dqk], K [B, X0.., Hkv, Dqk],\n"
    "V [B, X0.., Hkv, Dv], extra K/V [B, Nx, Hkv, D*]. Batch, extents, heads and dims come from\n"
    "the arrays (so --shape --batch --heads --kv-heads --dim --dim-v --extra-kv --preset are not\n"
    "accepted); --window is required; --stride --dilation --causal --scale apply. Arrays are\n"
    "<f8, <f4 or <f2; bfloat16 data is read from <u2 (uint16 bits) with --dtype bf16. O is\n"
    "written in the input dtype, LSE [B, X0.., H] as float32.\n"
    "\n";

bool is_cuda_backend(const std::string& name) { return name == "sm80" || name == "sm90"; }

// Runs the forward on a CUDA backend over device copies of the inputs (testbed::DeviceBuffer), timed
// with CUDA events as the median of 5 calls after 2 warm-up calls, and copies O and LSE back. Returns
// false, doing nothing, when the requested backend is a host one, when no CUDA backend is available
// (gna::list_backends()), or, for --backend auto, when no CUDA backend can run this problem (then the
// host path runs the reference). An explicitly requested CUDA backend that cannot run it throws.
bool run_on_device(const Problem& p, const Options& o, ForwardInputs& in, NpyArray& out, NpyArray& lse,
                   double& ms, std::string& backend) {
  if (o.backend != "auto" && !is_cuda_backend(o.backend)) return false;
  bool cuda_available = false;
  for (const BackendInfo& b : list_backends())
    if (is_cuda_backend(b.name) && b.available && (o.backend == "auto" || o.backend == b.name))
      cuda_available = true;
  if (!cuda_available) return false;

  const ForwardTensors host = forward_views(in, &out, &lse);
  testbed::DeviceBuffer q(host.q), k(host.k), v(host.v), o_dev(host.out), lse_dev(host.lse), ek, ev;
  if (host.extra_k.defined()) {
    ek = testbed::DeviceBuffer(host.extra_k);
    ev = testbed::DeviceBuffer(host.extra_v);
  }
  ForwardTensors dev;
  dev.q = q.view, dev.k = k.view, dev.v = v.view, dev.out = o_dev.view, dev.lse = lse_dev.view;
  dev.extra_k = ek.view, dev.extra_v = ev.view;
  try {
    backend = select_backend(p, dev, o);
  } catch (const Error&) {
    if (o.backend == "auto") return false;  // e.g. a dtype or head dim no kernel covers: use the host
    throw;
  }
  std::vector<double> times = testbed::time_device_calls([&] { forward(p, dev, o); }, 2, 5);
  std::sort(times.begin(), times.end());
  ms = times[times.size() / 2];
  o_dev.download(host.out);
  lse_dev.download(host.lse);
  return true;
}

void print_report(const Problem& p, DType dtype, const std::string& backend, double ms,
                  const CheckResult& c, uint64_t seed, bool random_inputs) {
  std::printf("problem:  %s\n", p.describe().c_str());
  std::printf("dtype:    %s%s\n", dtype_name(dtype),
              random_inputs ? (", random inputs, seed " + std::to_string(seed)).c_str() : "");
  std::printf("backend:  %s\n", backend.c_str());
  const double tflops = ms > 0 ? p.forward_flops() / (ms * 1e-3) / 1e12 : 0.0;
  std::printf("time:     %.3f ms   effective %s TFLOP/s (%.4g GFLOP useful)\n", ms,
              fmt(tflops, 4).c_str(), p.forward_flops() * 1e-9);
  std::printf("check:    %lld sampled query positions x %lld heads vs the fp64 definition\n",
              static_cast<long long>(c.queries), static_cast<long long>(p.heads));
  std::printf("max abs error: %s   max rel error: %s   lse max abs error: %s\n",
              fmt(c.max_abs, 3).c_str(), fmt(c.max_rel, 3).c_str(), fmt(c.lse_max_abs, 3).c_str());
  std::printf("tolerance (%s): |err| <= %s + %s * |ref|, lse |err| <= %s * (1 + |lse|)\n",
              dtype_name(dtype), fmt(c.tol.atol, 2).c_str(), fmt(c.tol.rtol, 2).c_str(),
              fmt(c.tol.lse_atol, 2).c_str());
  std::printf("verified: %s\n", c.ok ? "yes" : "no");
  std::fflush(stdout);
}

// One forward on host tensors (or a device, when run_on_device takes it); returns the backend used.
std::string timed_forward(const Problem& p, const Options& o, ForwardInputs& in, NpyArray& out,
                          NpyArray& lse, double& ms) {
  std::string backend;
  if (run_on_device(p, o, in, out, lse, ms, backend)) return backend + " (device, median of 5 calls)";
  const ForwardTensors t = forward_views(in, &out, &lse);
  backend = select_backend(p, t, o);
  const auto start = std::chrono::steady_clock::now();
  forward(p, t, o);
  ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return backend;
}

Options library_options(const ProblemOptions& po) {
  Options o;
  o.backend = po.backend;
  o.q_tile = po.q_tile;
  o.kv_tile = po.kv_tile;
  return o;
}

int run_default(std::vector<std::string>& args) {
  ProblemOptions defaults;
  defaults.problem = make_problem({64, 64}, {13, 13});
  defaults.problem.heads = 8;
  defaults.problem.kv_heads = 8;
  defaults.problem.dim_qk = 64;
  defaults.problem.dim_v = 64;
  defaults.dtype = DType::bf16;
  ProblemOptions po = parse_problem_options(args, defaults);
  reject_leftovers(args, "gna run");
  const Problem& p = po.problem;
  p.validate();

  ForwardInputs in = random_inputs(p, po.dtype, po.seed);
  NpyArray out = make_array(po.dtype, o_shape(p));
  NpyArray lse = make_array(DType::f32, lse_shape(p));
  const Options o = library_options(po);
  double ms = 0;
  const std::string backend = timed_forward(p, o, in, out, lse, ms);
  const CheckResult c = check_forward(p, forward_views(in, &out, &lse), po.dtype, kCheckSamples, po.seed);
  print_report(p, po.dtype, backend, ms, c, po.seed, true);
  return c.ok ? 0 : 1;
}

int run_real(std::vector<std::string>& args, const InputPaths& paths, const std::string& out_path,
             const std::string& lse_path) {
  if (paths.q.empty() || paths.k.empty() || paths.v.empty())
    fail("real data needs all of --q, --k and --v");
  if (out_path.empty()) fail("real data needs --out O.npy");
  ForwardInputs in;
  ProblemOptions po = load_inputs(args, paths, "gna run", in);
  const Problem& p = po.problem;

  NpyArray out = make_array(in.dtype, o_shape(p));
  NpyArray lse = make_array(DType::f32, lse_shape(p));
  const Options o = library_options(po);
  double ms = 0;
  const std::string backend = timed_forward(p, o, in, out, lse, ms);
  const CheckResult c = check_forward(p, forward_views(in, &out, &lse), in.dtype, kCheckSamples, po.seed);

  std::vector<NpyOutput> files{{out_path, &out}};
  if (!lse_path.empty()) files.push_back({lse_path, &lse});
  write_npy_files(files);
  print_report(p, in.dtype, backend, ms, c, po.seed, false);
  std::printf("wrote:    %s%s%s\n", out_path.c_str(), lse_path.empty() ? "" : ", ", lse_path.c_str());
  return c.ok ? 0 : 1;
}

}  // namespace

int cmd_run(std::vector<std::string> args) {
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::cout << kRunHelp << problem_options_help();
    return 0;
  }
  const InputPaths paths = take_input_paths(args);
  const std::string out = take_option(args, "--out"), lse = take_option(args, "--lse");
  if (paths.empty() && out.empty() && lse.empty()) return run_default(args);
  return run_real(args, paths, out, lse);
}

}  // namespace gna::cli
