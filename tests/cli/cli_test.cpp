// tests/cli/cli_test.cpp -- layer: CLI tests. Runs the built `gna` binary (GNA_CLI_PATH) end to end:
// the default run verifies; option errors are one line on stderr with exit 2; real-data runs and
// backward over .npy files match gna::forward / gna::backward called directly; errors leave no output
// file (and no temp file) behind; `gna info` lists the backends.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>

#include "gna/api.hpp"
#include "gna/numeric.hpp"
#include "npy.hpp"
#include "run_common.hpp"

namespace gna::cli {
namespace {

struct Result {
  int rc = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gna_cli_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  Result gna(const std::string& args) const {
    Result r;
    const std::string out = path("stdout.txt"), err = path("stderr.txt");
    const std::string cmd = std::string("'") + GNA_CLI_PATH + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    std::remove(out.c_str());
    std::remove(err.c_str());
    return r;
  }

  // Files in the test directory (to prove nothing, not even a temp file, was left behind).
  std::vector<std::string> files() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(dir_.c_str())) {
      while (dirent* e = readdir(d))
        if (e->d_name[0] != '.') names.push_back(e->d_name);
      closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir_;
};

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// Expects exit 2 and exactly one stderr line "gna <cmd>: error: ..." containing `part`.
void expect_one_line_error(const Result& r, const std::string& cmd, const std::string& part) {
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("gna " + cmd + ": error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << "stderr: " << r.err << "expected: " << part;
}

double max_diff(const NpyArray& a, const NpyArray& b, DType t) {
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.descr, b.descr);
  double m = 0;
  for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i)
    m = std::max(m, std::fabs(load_scalar(a.data.data(), t, i) - load_scalar(b.data.data(), t, i)));
  return m;
}

TEST_F(Cli, DefaultRunVerifies) {
  const Result r = gna("run");
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("X=[64, 64] H=8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("window=[13, 13]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dtype:    bf16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("backend:  "), std::string::npos);
  EXPECT_NE(r.out.find("TFLOP/s"), std::string::npos);
  EXPECT_NE(r.out.find("max abs error"), std::string::npos);
  EXPECT_NE(r.out.find("verified: yes"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, RunWithEveryProblemOptionVerifies) {
  for (const char* args :
       {"run --shape 20 --window 5 --stride 2 --causal 1 --heads 4 --kv-heads 2 --dim 16 --dim-v 8 "
        "--extra-kv 3 --dtype fp32 --seed 7 --backend reference",
        "run --shape 9x10x11 --window 3x4x5 --dilation 2x1x2 --stride 1x2x3 --causal 0x1x0 --heads 2 --dim 8 "
        "--dtype fp16 --batch 2 --scale 0.3",
        "run --preset small-2d --dtype fp64 --heads 2"}) {
    const Result r = gna(args);
    EXPECT_EQ(r.rc, 0) << args << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("verified: yes"), std::string::npos) << args << "\n" << r.out;
  }
}

TEST_F(Cli, OptionErrorsAreOneLineExit2) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--heads abc", "--heads: 'abc' is not an integer"},
      {"--window 3x3x3", "--window: got 3 values but the problem has rank 2"},
      {"--causal 2", "must be 0 or 1"},
      {"--dtype fp8", "--dtype: 'fp8' is not one of"},
      {"--bogus", "unknown option --bogus for gna run"},
      {"--window 100", "window 100"},
      {"--heads 6 --kv-heads 4", "divisible"},
      {"--shape 8x8x8x8", "--shape: got 4 extents"},
      {"--scale 1e", "--scale: '1e' is not a number"},
      {"--backend sm99", "--backend: 'sm99'"},
      {"--preset nope", "nope"},
      {"--heads", "--heads: missing value"},
      {"--q only.npy", "--q, --k and --v"},
      {"--out o.npy", "--q, --k and --v"},
  };
  for (const auto& [args, part] : cases) {
    SCOPED_TRACE(args);
    const Result r = gna("run " + args);
    expect_one_line_error(r, "run", part);
  }
  expect_one_line_error(gna("backward --q q.npy"), "backward", "--dout");
  expect_one_line_error(gna("info --verbose"), "info", "unknown option --verbose");
  for (const char* bad : {"-1", "601", "5s", "x"}) {  // checked before any GPU work
    SCOPED_TRACE(bad);
    expect_one_line_error(gna(std::string("bench --preset flux-gna --sustain ") + bad), "bench",
                          std::string("--sustain must be a number of seconds in [0, 600], got '") + bad + "'");
  }
  const Result unknown = gna("frobnicate");
  EXPECT_EQ(unknown.rc, 2);
  EXPECT_EQ(lines(unknown.err), 1);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  EXPECT_TRUE(files().empty()) << "an error left a file behind";
}

TEST_F(Cli, HelpAndVersion) {
  const Result h = gna("--help");
  EXPECT_EQ(h.rc, 0);
  for (const char* c : {"run", "backward", "info", "sim", "check", "bench"})
    EXPECT_NE(h.out.find(std::string("  ") + c), std::string::npos) << c;
  const Result rh = gna("run --help");
  EXPECT_EQ(rh.rc, 0);
  EXPECT_NE(rh.out.find("--window"), std::string::npos);
  EXPECT_NE(rh.out.find("--extra-k"), std::string::npos);
  EXPECT_EQ(gna("backward --help").rc, 0);
  EXPECT_EQ(gna("info --help").rc, 0);
  const Result v = gna("--version");
  EXPECT_EQ(v.rc, 0);
  EXPECT_EQ(v.out, std::string("gna ") + version() + "\n");
  EXPECT_EQ(gna("").rc, 2);
}

TEST_F(Cli, InfoListsBackends) {
  const Result r = gna("info");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("gna ") + version()), std::string::npos);
  EXPECT_NE(r.out.find("build: " + build_info()), std::string::npos);
  for (const BackendInfo& b : list_backends()) EXPECT_NE(r.out.find("  " + b.name), std::string::npos) << b.name;
  EXPECT_NE(r.out.find("reference  available"), std::string::npos) << r.out;
}

struct FileCase {
  const char* name;
  Problem problem;
  DType dtype;
};

std::vector<FileCase> file_cases() {
  std::vector<FileCase> cases;
  Problem a = make_problem({17}, {5}, {2}, {1}, {1});
  a.heads = 4, a.kv_heads = 2, a.dim_qk = 8, a.dim_v = 12, a.batch = 2, a.extra_kv = 3;
  cases.push_back({"1d_causal_gqa_extra_fp32", a, DType::f32});
  Problem b = make_problem({12, 10}, {4, 3}, {2, 3}, {2, 1});
  b.heads = b.kv_heads = 2, b.dim_qk = b.dim_v = 16;
  cases.push_back({"2d_dilated_fp16", b, DType::f16});
  Problem c = make_problem({6, 7, 8}, {3, 3, 4}, {1, 1, 2}, {1, 2, 1}, {1, 0, 0});
  c.heads = 3, c.kv_heads = 1, c.dim_qk = c.dim_v = 8, c.scale = 0.2;
  cases.push_back({"3d_mqa_bf16", c, DType::bf16});
  Problem d = make_problem({32}, {7});
  d.heads = d.kv_heads = 1, d.dim_qk = d.dim_v = 4;
  cases.push_back({"1d_fp64", d, DType::f64});
  return cases;
}

std::string axis_list(const std::array<int64_t, kMaxRank>& a, int rank) {
  std::string s;
  for (int d = 0; d < rank; ++d) s += (d ? "x" : "") + std::to_string(a[d]);
  return s;
}
std::string problem_args(const Problem& p, DType t) {
  std::array<int64_t, kMaxRank> causal{};
  for (int d = 0; d < p.rank; ++d) causal[d] = p.is_causal[d];
  std::string s = " --window " + axis_list(p.window, p.rank) + " --stride " + axis_list(p.stride, p.rank) +
                  " --dilation " + axis_list(p.dilation, p.rank) + " --causal " + axis_list(causal, p.rank);
  if (p.scale > 0) s += " --scale " + std::to_string(p.scale);
  if (t == DType::bf16) s += " --dtype bf16";
  return s;
}

TEST_F(Cli, RunFromNpyMatchesDirectForward) {
  for (FileCase fc : file_cases()) {
    SCOPED_TRACE(fc.name);
    const Problem& p = fc.problem;
    ForwardInputs in = random_inputs(p, fc.dtype, 42);
    write_npy(path("q.npy"), in.q);
    write_npy(path("k.npy"), in.k);
    write_npy(path("v.npy"), in.v);
    std::string args = "run --q " + path("q.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                       " --out " + path("o.npy") + " --lse " + path("lse.npy") + problem_args(p, fc.dtype);
    if (p.extra_kv) {
      write_npy(path("ek.npy"), in.extra_k);
      write_npy(path("ev.npy"), in.extra_v);
      args += " --extra-k " + path("ek.npy") + " --extra-v " + path("ev.npy");
    }
    const Result r = gna(args);
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("verified: yes"), std::string::npos) << r.out;

    NpyArray out = make_array(fc.dtype, o_shape(p)), lse = make_array(DType::f32, lse_shape(p));
    forward(p, forward_views(in, &out, &lse), Options{});
    const NpyArray cli_out = read_npy(path("o.npy")), cli_lse = read_npy(path("lse.npy"));
    EXPECT_EQ(cli_out.descr, npy_descr(fc.dtype));
    EXPECT_EQ(cli_lse.descr, "<f4");
    EXPECT_EQ(max_diff(cli_out, out, fc.dtype), 0.0);
    EXPECT_EQ(max_diff(cli_lse, lse, DType::f32), 0.0);
  }
}

TEST_F(Cli, BackwardFromNpyMatchesDirectBackward) {
  for (FileCase fc : file_cases()) {
    SCOPED_TRACE(fc.name);
    const Problem& p = fc.problem;
    ForwardInputs in = random_inputs(p, fc.dtype, 5);
    const NpyArray dout = random_array(fc.dtype, o_shape(p), 77);
    write_npy(path("q.npy"), in.q);
    write_npy(path("k.npy"), in.k);
    write_npy(path("v.npy"), in.v);
    write_npy(path("do.npy"), dout);
    std::string args = "backward --q " + path("q.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                       " --dout " + path("do.npy") + " --dq " + path("dq.npy") + " --dk " + path("dk.npy") +
                       " --dv " + path("dv.npy") + problem_args(p, fc.dtype);
    if (p.extra_kv) {
      write_npy(path("ek.npy"), in.extra_k);
      write_npy(path("ev.npy"), in.extra_v);
      args += " --extra-k " + path("ek.npy") + " --extra-v " + path("ev.npy") + " --dextra-k " +
              path("dek.npy") + " --dextra-v " + path("dev.npy");
    }
    const Result r = gna(args);
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("verified: yes"), std::string::npos) << r.out;

    NpyArray out = make_array(fc.dtype, o_shape(p)), lse = make_array(DType::f32, lse_shape(p));
    const ForwardTensors ft = forward_views(in, &out, &lse);
    forward(p, ft, Options{});
    NpyArray d_out = dout;
    NpyArray dq = make_array(fc.dtype, in.q.shape), dk = make_array(fc.dtype, in.k.shape),
             dv = make_array(fc.dtype, in.v.shape), dek, dev;
    BackwardTensors bt;
    bt.q = ft.q, bt.k = ft.k, bt.v = ft.v, bt.out = ft.out, bt.lse = ft.lse;
    bt.dout = npy_view(d_out, fc.dtype);
    bt.dq = npy_view(dq, fc.dtype), bt.dk = npy_view(dk, fc.dtype), bt.dv = npy_view(dv, fc.dtype);
    if (p.extra_kv) {
      dek = make_array(fc.dtype, in.extra_k.shape);
      dev = make_array(fc.dtype, in.extra_v.shape);
      bt.extra_k = ft.extra_k, bt.extra_v = ft.extra_v;
      bt.dextra_k = npy_view(dek, fc.dtype), bt.dextra_v = npy_view(dev, fc.dtype);
    }
    backward(p, bt, Options{});
    EXPECT_EQ(max_diff(read_npy(path("dq.npy")), dq, fc.dtype), 0.0);
    EXPECT_EQ(max_diff(read_npy(path("dk.npy")), dk, fc.dtype), 0.0);
    EXPECT_EQ(max_diff(read_npy(path("dv.npy")), dv, fc.dtype), 0.0);
    if (p.extra_kv) {
      EXPECT_EQ(max_diff(read_npy(path("dek.npy")), dek, fc.dtype), 0.0);
      EXPECT_EQ(max_diff(read_npy(path("dev.npy")), dev, fc.dtype), 0.0);
    }
    // Every gradient is non-trivial (a CLI that wrote zeros would fail here).
    double norm = 0;
    const NpyArray dq_cli = read_npy(path("dq.npy"));
    for (int64_t i = 0; i < dq_cli.numel(); ++i) norm += std::fabs(load_scalar(dq_cli.data.data(), fc.dtype, i));
    EXPECT_GT(norm, 0.0);
  }
}

TEST_F(Cli, ErrorsLeaveNoOutputFiles) {
  Problem p = make_problem({16}, {5});
  p.heads = p.kv_heads = 2, p.dim_qk = p.dim_v = 8;
  ForwardInputs in = random_inputs(p, DType::f32, 1);
  write_npy(path("q.npy"), in.q);
  write_npy(path("v.npy"), in.v);
  // K with the wrong head dim: the library rejects it after the inputs were read.
  Problem bad = p;
  bad.dim_qk = 4;
  write_npy(path("k.npy"), random_array(DType::f32, k_shape(bad), 3));
  const std::vector<std::string> before = files();
  const std::string io = " --q " + path("q.npy") + " --k " + path("k.npy") + " --v " + path("v.npy");
  const Result r = gna("run" + io + " --window 5 --out " + path("o.npy") + " --lse " + path("lse.npy"));
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_EQ(files(), before) << "run left a file behind";

  const Result w = gna("run" + io + " --window 99 --out " + path("o.npy"));
  expect_one_line_error(w, "run", "window 99");
  EXPECT_EQ(files(), before);

  // An existing output file is untouched by a failing run.
  { std::ofstream(path("o.npy")) << "keep"; }
  EXPECT_EQ(gna("run" + io + " --window 5 --out " + path("o.npy")).rc, 2);
  EXPECT_EQ(slurp(path("o.npy")), "keep");
  std::remove(path("o.npy").c_str());

  write_npy(path("do.npy"), random_array(DType::f32, o_shape(p), 2));
  const Result b = gna("backward" + io + " --window 5 --dout " + path("do.npy") + " --dq " + path("dq.npy") +
                       " --dk " + path("dk.npy") + " --dv " + path("dv.npy"));
  EXPECT_EQ(b.rc, 2);
  EXPECT_EQ(lines(b.err), 1) << b.err;
  EXPECT_EQ(files(), std::vector<std::string>({"do.npy", "k.npy", "q.npy", "v.npy"}));
}

TEST_F(Cli, RealDataInputErrorsNameTheFile) {
  Problem p = make_problem({16}, {5});
  p.heads = p.kv_heads = 2, p.dim_qk = p.dim_v = 8;
  ForwardInputs in = random_inputs(p, DType::f32, 1);
  write_npy(path("q.npy"), in.q);
  write_npy(path("k.npy"), in.k);
  write_npy(path("v.npy"), in.v);
  const std::string io = " --q " + path("q.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                         " --out " + path("o.npy");
  expect_one_line_error(gna("run" + io), "run", "--window is required");
  expect_one_line_error(gna("run" + io + " --window 5 --shape 16"), "run", "--shape cannot be used with --q");
  expect_one_line_error(gna("run" + io + " --window 5 --dtype fp16"), "run", "does not match --dtype fp16");
  expect_one_line_error(gna("run" + io + " --window 5 --extra-k " + path("k.npy")), "run",
                        "--extra-k and --extra-v must be given together");

  // bf16 bits (<u2) need --dtype bf16.
  NpyArray qb = random_array(DType::bf16, q_shape(p), 1);
  write_npy(path("qb.npy"), qb);
  expect_one_line_error(gna("run --q " + path("qb.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                            " --out " + path("o.npy") + " --window 5"),
                        "run", "qb.npy: dtype <u2");
  // Mixed dtypes.
  expect_one_line_error(gna("run --q " + path("qb.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                            " --out " + path("o.npy") + " --window 5 --dtype bf16"),
                        "run", "k.npy: dtype <f4 differs");

  // Truncated, Fortran-ordered and big-endian files.
  std::string bytes = slurp(path("k.npy"));
  { std::ofstream(path("cut.npy"), std::ios::binary) << bytes.substr(0, bytes.size() - 5); }
  expect_one_line_error(gna("run --q " + path("q.npy") + " --k " + path("cut.npy") + " --v " + path("v.npy") +
                            " --out " + path("o.npy") + " --window 5"),
                        "run", "cut.npy: truncated data");
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  { std::ofstream(path("f.npy"), std::ios::binary) << fortran; }
  expect_one_line_error(gna("run --q " + path("f.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                            " --out " + path("o.npy") + " --window 5"),
                        "run", "f.npy: fortran_order True");
  std::string big = bytes;
  big.replace(big.find("<f4"), 3, ">f4");
  { std::ofstream(path("be.npy"), std::ios::binary) << big; }
  expect_one_line_error(gna("run --q " + path("q.npy") + " --k " + path("be.npy") + " --v " + path("v.npy") +
                            " --out " + path("o.npy") + " --window 5"),
                        "run", "be.npy: big-endian");
  expect_one_line_error(gna("run --q " + path("missing.npy") + " --k " + path("k.npy") + " --v " + path("v.npy") +
                            " --out " + path("o.npy") + " --window 5"),
                        "run", "missing.npy: cannot open");
  std::ifstream o(path("o.npy"));
  EXPECT_FALSE(o.good());
}

}  // namespace
}  // namespace gna::cli
