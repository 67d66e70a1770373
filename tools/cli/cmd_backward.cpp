// tools/cli/cmd_backward.cpp -- layer: CLI. `gna backward`: gradients of one attention call from .npy
// inputs.
//
// gna::backward needs the forward's O and LSE; this command computes them first with gna::forward on
// the same backend and options (they are not read from files), then runs the backward and writes dQ,
// dK, dV (and dExtraK, dExtraV with extra KV) in the input dtype. All outputs are written together
// only after both calls succeeded (temp files renamed into place). The gradients are then checked against
// the definition in fp64 at sampled queries (dQ) and keys (dK/dV, within a work budget); exit 1 if not
// verified.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "gna/api.hpp"
#include "gna/error.hpp"
#include "options.hpp"
#include "run_common.hpp"

namespace gna::cli {
namespace {

const char* kBackwardHelp =
    "usage: gna backward --q Q.npy --k K.npy --v V.npy --dout DO.npy --window K\n"
    "                    --dq DQ.npy --dk DK.npy --dv DV.npy\n"
    "                    [--extra-k EK.npy --extra-v EV.npy --dextra-k DEK.npy --dextra-v DEV.npy]\n"
    "                    [problem options]\n"
    "\n"
    "Computes the gradients of O = GNA(Q, K, V) for the upstream gradient dO. O and LSE are\n"
    "computed first with a forward pass on the same backend (not read from files). Shapes are\n"
    "heads-last (spec s1): Q [B, X0.., H, Dqk], K [B, X0.., Hkv, Dqk], V [B, X0.., Hkv, Dv],\n"
    "dO [B, X0.., H, Dv], extra K/V [B, Nx, Hkv, D*]; gradients mirror their inputs and are\n"
    "written in the input dtype. Batch, extents, heads and dims come from the arrays; --window\n"
    "is required; --stride --dilation --causal --scale --backend apply. bfloat16 data is read\n"
    "from <u2 (uint16 bits) with --dtype bf16. The gradients are checked in fp64 at sampled\n"
    "queries (dQ) and keys (dK, dV); prints 'verified: yes|no' and exits 1 when not verified,\n"
    "2 on invalid input.\n"
    "\n";

}  // namespace

int cmd_backward(std::vector<std::string> args) {
  if (take_flag(args, "--help") || take_flag(args, "-h")) {
    std::cout << kBackwardHelp << problem_options_help();
    return 0;
  }
  const InputPaths paths = take_input_paths(args);
  const std::string dout_path = take_option(args, "--dout"), dq_path = take_option(args, "--dq"),
                    dk_path = take_option(args, "--dk"), dv_path = take_option(args, "--dv"),
                    dek_path = take_option(args, "--dextra-k"),
                    dev_path = take_option(args, "--dextra-v");
  if (dout_path.empty()) fail("gna backward needs --dout DO.npy (the gradient of the output)");
  if (dq_path.empty() || dk_path.empty() || dv_path.empty())
    fail("gna backward needs all of --dq, --dk and --dv (output files)");
  const bool extra = !paths.extra_k.empty() || !paths.extra_v.empty();
  if (extra && (dek_path.empty() || dev_path.empty()))
    fail("--extra-k/--extra-v need --dextra-k and --dextra-v (output files)");
  if (!extra && (!dek_path.empty() || !dev_path.empty()))
    fail("--dextra-k/--dextra-v need --extra-k and --extra-v");

  ForwardInputs in;
  const ProblemOptions po = load_inputs(args, paths, "gna backward", in);
  const Problem& p = po.problem;
  NpyArray dout = read_npy(dout_path);
  if (dtype_of_descr(dout.descr, dout_path, in.dtype == DType::bf16) != in.dtype)
    fail(dout_path, ": dtype ", dout.descr, " differs from ", paths.q, "'s ", in.q.descr);

  Options o;
  o.backend = po.backend;
  o.q_tile = po.q_tile;
  o.kv_tile = po.kv_tile;

  NpyArray out = make_array(in.dtype, o_shape(p));
  NpyArray lse = make_array(DType::f32, lse_shape(p));
  const ForwardTensors ft = forward_views(in, &out, &lse);
  forward(p, ft, o);

  NpyArray dq = make_array(in.dtype, in.q.shape), dk = make_array(in.dtype, in.k.shape),
           dv = make_array(in.dtype, in.v.shape), dek, dev;
  BackwardTensors bt;
  bt.q = ft.q;
  bt.k = ft.k;
  bt.v = ft.v;
  bt.out = ft.out;
  bt.lse = ft.lse;
  bt.dout = npy_view(dout, in.dtype);
  bt.dq = npy_view(dq, in.dtype);
  bt.dk = npy_view(dk, in.dtype);
  bt.dv = npy_view(dv, in.dtype);
  if (extra) {
    dek = make_array(in.dtype, in.extra_k.shape);
    dev = make_array(in.dtype, in.extra_v.shape);
    bt.extra_k = ft.extra_k;
    bt.extra_v = ft.extra_v;
    bt.dextra_k = npy_view(dek, in.dtype);
    bt.dextra_v = npy_view(dev, in.dtype);
  }
  const auto start = std::chrono::steady_clock::now();
  backward(p, bt, o);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  const GradCheckResult c = check_backward(p, bt, in.dtype, 64, 16, po.seed);

  std::vector<NpyOutput> files{{dq_path, &dq}, {dk_path, &dk}, {dv_path, &dv}};
  if (extra) {
    files.push_back({dek_path, &dek});
    files.push_back({dev_path, &dev});
  }
  write_npy_files(files);
  const double tflops = ms > 0 ? 2.5 * p.forward_flops() / (ms * 1e-3) / 1e12 : 0.0;
  std::printf("problem:  %s\n", p.describe().c_str());
  std::printf("dtype:    %s\n", dtype_name(in.dtype));
  std::printf("backend:  %s\n", select_backend(p, ft, o).c_str());
  std::printf("time:     %.3f ms backward (after one forward for O and LSE)   effective %s TFLOP/s\n", ms,
              fmt(tflops, 4).c_str());
  std::printf("check:    dQ at %lld sampled queries x %lld heads; ", static_cast<long long>(c.queries),
              static_cast<long long>(p.heads));
  if (c.keys_checked)
    std::printf("dK/dV at %lld sampled keys x %lld kv heads", static_cast<long long>(c.keys),
                static_cast<long long>(p.kv_heads));
  else
    std::printf("dK/dV not checked (over the sampled check's work budget)");
  if (extra) std::printf("; extra KV at %lld keys", static_cast<long long>(c.extra_keys));
  std::printf(" (vs the fp64 definition)\n");
  std::printf("normwise error (max|err| / max|ref|): dq %s  dk %s  dv %s", fmt(c.dq_err, 3).c_str(),
              fmt(c.dk_err, 3).c_str(), fmt(c.dv_err, 3).c_str());
  if (extra) std::printf("  dextra_k %s  dextra_v %s", fmt(c.dextra_k_err, 3).c_str(), fmt(c.dextra_v_err, 3).c_str());
  std::printf("   tolerance %s\n", fmt(c.tol, 2).c_str());
  std::printf("verified: %s\n", c.ok ? "yes" : "no");
  std::printf("wrote:    %s, %s, %s", dq_path.c_str(), dk_path.c_str(), dv_path.c_str());
  if (extra) std::printf(", %s, %s", dek_path.c_str(), dev_path.c_str());
  std::printf("\n");
  return c.ok ? 0 : 1;
}

}  // namespace gna::cli
