// src/core/api.cpp -- layer: api. The public entry points: forward, backward, merge, backend listing
// and selection, version and build info.
//
// Invariants: every call validates the problem, the options and every tensor (ndim, each dim against
// the problem, dtype, device, unit last stride, non-null data) BEFORE choosing a backend or touching
// any output; errors are gna::Error naming the tensor, the dimension and both values. Backends receive
// only validated inputs. Empty batch or heads: validated, then no work.
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/backend.hpp"
#include "gna/api.hpp"
#include "gna/numeric.hpp"

namespace gna {
namespace {

using detail::Backend;

// One expected dimension of a tensor: what it is, where its expected value comes from, the value.
struct Dim {
  std::string role;    // "batch", "axis 0", "heads", "head dim", "tokens"
  std::string source;  // "batch", "extent[0]", "kv_heads", "dim_v", "extra_kv"
  int64_t value;
};

std::string device_str(const TensorView& t) {
  std::ostringstream os;
  if (t.device == DeviceKind::cpu) os << "cpu";
  else os << "cuda:" << t.device_index;
  return os.str();
}

std::string layout_str(const std::vector<Dim>& dims) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i].role;
  os << ']';
  return os.str();
}

// Checks one tensor's ndim, every dim, strides and data pointer. `is_output`: also refuse zero strides
// on dims of size > 1 (writes would overlap).
void check_tensor(const char* name, const TensorView& t, const std::vector<Dim>& dims, bool is_output) {
  const int want = static_cast<int>(dims.size());
  if (t.ndim != want) {
    std::ostringstream shape;
    if (t.ndim >= 0 && t.ndim <= kMaxTensorRank) shape << " (shape " << t.shape_str() << ")";
    fail(name, ": expected ", want, " dimensions ", layout_str(dims), ", got ", t.ndim, shape.str());
  }
  for (int i = 0; i < want; ++i)
    if (t.shape[i] != dims[i].value)
      fail(name, ": dim ", i, " (", dims[i].role, ") is ", t.shape[i], ", expected ", dims[i].source, " ",
           dims[i].value);
  if (t.shape[want - 1] > 1 && t.stride[want - 1] != 1)
    fail(name, ": last dimension must have unit stride, got stride ", t.stride[want - 1]);
  if (is_output)
    for (int i = 0; i < want; ++i)
      if (t.shape[i] > 1 && t.stride[i] == 0)
        fail(name, ": dim ", i, " (", dims[i].role, ") has stride 0; outputs must not overlap");
  if (t.numel() > 0 && t.data == nullptr) fail(name, ": data is null but the tensor has ", t.numel(),
                                                " elements");
}

// Token-grid dims [B, X0.., then `tail`] of a problem.
std::vector<Dim> grid_dims(const Problem& p, std::vector<Dim> tail) {
  std::vector<Dim> dims{{"batch", "batch", p.batch}};
  for (int d = 0; d < p.rank; ++d)
    dims.push_back({"axis " + std::to_string(d), "extent[" + std::to_string(d) + "]", p.extent[d]});
  for (auto& t : tail) dims.push_back(std::move(t));
  return dims;
}

std::vector<Dim> q_dims(const Problem& p) {
  return grid_dims(p, {{"heads", "heads", p.heads}, {"head dim", "dim_qk", p.dim_qk}});
}
std::vector<Dim> k_dims(const Problem& p) {
  return grid_dims(p, {{"heads", "kv_heads", p.kv_heads}, {"head dim", "dim_qk", p.dim_qk}});
}
std::vector<Dim> v_dims(const Problem& p) {
  return grid_dims(p, {{"heads", "kv_heads", p.kv_heads}, {"head dim", "dim_v", p.dim_v}});
}
std::vector<Dim> o_dims(const Problem& p) {
  return grid_dims(p, {{"heads", "heads", p.heads}, {"head dim", "dim_v", p.dim_v}});
}
std::vector<Dim> lse_dims(const Problem& p) { return grid_dims(p, {{"heads", "heads", p.heads}}); }
std::vector<Dim> extra_dims(const Problem& p, int64_t dim, const char* dim_name) {
  return {{"batch", "batch", p.batch},
          {"tokens", "extra_kv", p.extra_kv},
          {"heads", "kv_heads", p.kv_heads},
          {"head dim", dim_name, dim}};
}

// Same dtype as the reference tensor (q).
void check_dtype(const char* name, const TensorView& t, const TensorView& ref) {
  if (t.dtype != ref.dtype)
    fail(name, ": dtype ", dtype_name(t.dtype), " differs from q's dtype ", dtype_name(ref.dtype),
         " (q, k, v, out and their gradients must share one dtype)");
}
void check_lse_dtype(const char* name, const TensorView& t) {
  if (t.dtype != DType::f32) fail(name, ": dtype ", dtype_name(t.dtype), " must be fp32");
}
void check_device(const char* name, const TensorView& t, const TensorView& ref) {
  if (t.device != ref.device || (t.device == DeviceKind::cuda && t.device_index != ref.device_index))
    fail(name, ": device ", device_str(t), " differs from q's device ", device_str(ref));
}

void check_options(const Options& o) {
  if (o.num_threads < 0) fail("options.num_threads ", o.num_threads, " must be >= 0");
  for (int d = 0; d < kMaxRank; ++d) {
    if (o.q_tile[d] < 0) fail("options.q_tile[", d, "] ", o.q_tile[d], " must be >= 0");
    if (o.kv_tile[d] < 0) fail("options.kv_tile[", d, "] ", o.kv_tile[d], " must be >= 0");
  }
}

// extra_k/extra_v: both or neither, and consistent with problem.extra_kv.
bool check_extra_presence(const Problem& p, const TensorView& ek, const TensorView& ev) {
  if (ek.defined() != ev.defined())
    fail(ek.defined() ? "extra_k is given but extra_v is not" : "extra_v is given but extra_k is not",
         "; pass both or neither");
  if (!ek.defined() && p.extra_kv > 0)
    fail("problem.extra_kv is ", p.extra_kv, " but extra_k/extra_v were not given");
  return ek.defined();
}

void validate_forward(const Problem& p, const ForwardTensors& t, const Options& o) {
  p.validate();
  check_options(o);
  check_tensor("q", t.q, q_dims(p), false);
  check_tensor("k", t.k, k_dims(p), false);
  check_tensor("v", t.v, v_dims(p), false);
  check_tensor("out", t.out, o_dims(p), true);
  for (auto [name, x] : {std::pair<const char*, const TensorView*>{"k", &t.k}, {"v", &t.v}, {"out", &t.out}}) {
    check_dtype(name, *x, t.q);
    check_device(name, *x, t.q);
  }
  if (t.lse.defined()) {
    check_tensor("lse", t.lse, lse_dims(p), true);
    check_lse_dtype("lse", t.lse);
    check_device("lse", t.lse, t.q);
  }
  if (check_extra_presence(p, t.extra_k, t.extra_v)) {
    check_tensor("extra_k", t.extra_k, extra_dims(p, p.dim_qk, "dim_qk"), false);
    check_tensor("extra_v", t.extra_v, extra_dims(p, p.dim_v, "dim_v"), false);
    for (auto [name, x] : {std::pair<const char*, const TensorView*>{"extra_k", &t.extra_k},
                           {"extra_v", &t.extra_v}}) {
      check_dtype(name, *x, t.q);
      check_device(name, *x, t.q);
    }
  }
}

void validate_backward(const Problem& p, const BackwardTensors& t, const Options& o) {
  p.validate();
  check_options(o);
  check_tensor("q", t.q, q_dims(p), false);
  check_tensor("k", t.k, k_dims(p), false);
  check_tensor("v", t.v, v_dims(p), false);
  check_tensor("out", t.out, o_dims(p), false);
  if (!t.lse.defined()) fail("lse: required by backward (pass the lse written by forward)");
  check_tensor("lse", t.lse, lse_dims(p), false);
  check_tensor("dout", t.dout, o_dims(p), false);
  check_tensor("dq", t.dq, q_dims(p), true);
  check_tensor("dk", t.dk, k_dims(p), true);
  check_tensor("dv", t.dv, v_dims(p), true);
  check_lse_dtype("lse", t.lse);
  check_device("lse", t.lse, t.q);
  for (auto [name, x] : {std::pair<const char*, const TensorView*>{"k", &t.k}, {"v", &t.v}, {"out", &t.out},
                         {"dout", &t.dout}, {"dq", &t.dq}, {"dk", &t.dk}, {"dv", &t.dv}}) {
    check_dtype(name, *x, t.q);
    check_device(name, *x, t.q);
  }
  if (check_extra_presence(p, t.extra_k, t.extra_v)) {
    if (!t.dextra_k.defined() || !t.dextra_v.defined())
      fail(!t.dextra_k.defined() ? "dextra_k" : "dextra_v", ": required when extra_k/extra_v are given");
    check_tensor("extra_k", t.extra_k, extra_dims(p, p.dim_qk, "dim_qk"), false);
    check_tensor("extra_v", t.extra_v, extra_dims(p, p.dim_v, "dim_v"), false);
    check_tensor("dextra_k", t.dextra_k, extra_dims(p, p.dim_qk, "dim_qk"), true);
    check_tensor("dextra_v", t.dextra_v, extra_dims(p, p.dim_v, "dim_v"), true);
    for (auto [name, x] : {std::pair<const char*, const TensorView*>{"extra_k", &t.extra_k},
                           {"extra_v", &t.extra_v}, {"dextra_k", &t.dextra_k}, {"dextra_v", &t.dextra_v}}) {
      check_dtype(name, *x, t.q);
      check_device(name, *x, t.q);
    }
  } else if (t.dextra_k.defined() || t.dextra_v.defined()) {
    fail(t.dextra_k.defined() ? "dextra_k" : "dextra_v", ": given but extra_k/extra_v are not");
  }
}

std::string backend_names() {
  std::ostringstream os;
  const auto& all = detail::backends();
  for (size_t i = 0; i < all.size(); ++i) os << (i ? ", " : "") << all[i]->name();
  return os.str();
}

// Picks the backend for a call: "auto" = the first (most preferred) that supports it; a named backend
// must exist and support it. `unsupported` is forward_unsupported or backward_unsupported.
template <class Why>
const Backend* pick(const Options& o, const char* call, Why unsupported) {
  const auto& all = detail::backends();
  if (o.backend == "auto" || o.backend.empty()) {
    std::ostringstream reasons;
    for (const Backend* b : all) {
      const std::string why = unsupported(b);
      if (why.empty()) return b;
      reasons << "; " << b->name() << ": " << why;
    }
    fail("no backend can run this ", call, reasons.str());
  }
  for (const Backend* b : all) {
    if (b->name() != o.backend) continue;
    const std::string why = unsupported(b);
    if (!why.empty()) fail("backend '", o.backend, "' cannot run this ", call, ": ", why);
    return b;
  }
  fail("unknown backend '", o.backend, "'; available: ", backend_names());
}

const Backend* pick_forward(const Problem& p, const ForwardTensors& t, const Options& o) {
  return pick(o, "forward call", [&](const Backend* b) { return b->forward_unsupported(p, t, o); });
}
const Backend* pick_backward(const Problem& p, const BackwardTensors& t, const Options& o) {
  return pick(o, "backward call", [&](const Backend* b) { return b->backward_unsupported(p, t, o); });
}

}  // namespace

void forward(const Problem& problem, const ForwardTensors& t, const Options& options) {
  validate_forward(problem, t, options);
  if (problem.batch == 0 || problem.heads == 0) return;
  pick_forward(problem, t, options)->forward(problem, t, options);
}

void backward(const Problem& problem, const BackwardTensors& t, const Options& options) {
  validate_backward(problem, t, options);
  if (problem.batch == 0 || problem.heads == 0) return;
  pick_backward(problem, t, options)->backward(problem, t, options);
}

std::string select_backend(const Problem& problem, const ForwardTensors& t, const Options& options) {
  validate_forward(problem, t, options);
  return pick_forward(problem, t, options)->name();
}

// spec s7, on host tensors, computed in double. Every o* / lse* pair shares its leading dims; lse is
// fp32 and has o's shape without the last dim. Exact aliasing (out == o0, lse_out == lse0) is allowed:
// each row is read completely before it is written.
void merge(const TensorView& o0, const TensorView& lse0, const TensorView& o1, const TensorView& lse1,
           const TensorView& out, const TensorView& lse_out) {
  if (o0.ndim < 2 || o0.ndim > kMaxTensorRank)
    fail("merge: o0 must have 2 to ", kMaxTensorRank, " dimensions [..., heads, dim_v], got ", o0.ndim);
  const int nd = o0.ndim;
  auto same_shape = [&](const char* name, const TensorView& t, int ndim, const char* ref) {
    if (t.ndim != ndim)
      fail("merge: ", name, " must have ", ndim, " dimensions (", ref, "), got ", t.ndim);
    for (int i = 0; i < ndim; ++i)
      if (t.shape[i] != o0.shape[i])
        fail("merge: ", name, ": dim ", i, " is ", t.shape[i], ", expected ", o0.shape[i], " (from o0)");
  };
  same_shape("o1", o1, nd, "as o0");
  same_shape("out", out, nd, "as o0");
  same_shape("lse0", lse0, nd - 1, "o0's shape without the last dim");
  same_shape("lse1", lse1, nd - 1, "o0's shape without the last dim");
  if (lse_out.defined()) same_shape("lse_out", lse_out, nd - 1, "o0's shape without the last dim");
  struct Named { const char* name; const TensorView* t; };
  const Named all[] = {{"o0", &o0}, {"lse0", &lse0}, {"o1", &o1}, {"lse1", &lse1}, {"out", &out},
                       {"lse_out", &lse_out}};
  for (const Named& x : all) {
    if (!x.t->defined()) continue;
    if (x.t->device != DeviceKind::cpu)
      fail("merge: ", x.name, " is on ", device_str(*x.t), "; merge runs on host tensors only");
    const int last = x.t->ndim - 1;
    if (x.t->shape[last] > 1 && x.t->stride[last] != 1)
      fail("merge: ", x.name, ": last dimension must have unit stride, got stride ", x.t->stride[last]);
    if (x.t->numel() > 0 && x.t->data == nullptr)
      fail("merge: ", x.name, ": data is null but the tensor has ", x.t->numel(), " elements");
  }
  if (o1.dtype != o0.dtype) fail("merge: o1: dtype ", dtype_name(o1.dtype), " differs from o0's ", dtype_name(o0.dtype));
  if (out.dtype != o0.dtype) fail("merge: out: dtype ", dtype_name(out.dtype), " differs from o0's ", dtype_name(o0.dtype));
  for (const Named& x : {all[1], all[3], all[5]})
    if (x.t->defined() && x.t->dtype != DType::f32)
      fail("merge: ", x.name, ": dtype ", dtype_name(x.t->dtype), " must be fp32");

  const int64_t dv = o0.shape[nd - 1];
  int64_t rows = 1;
  for (int i = 0; i < nd - 1; ++i) rows *= o0.shape[i];
  auto offset = [](const TensorView& t, int64_t row, int dims) {
    int64_t off = 0;
    for (int i = dims - 1; i >= 0; --i) {
      off += (row % t.shape[i]) * t.stride[i];
      row /= t.shape[i];
    }
    return off;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    const double l0 = load_scalar(lse0.data, DType::f32, offset(lse0, r, nd - 1));
    const double l1 = load_scalar(lse1.data, DType::f32, offset(lse1, r, nd - 1));
    const double m = std::max(l0, l1);
    double w0 = 0, w1 = 0, l = -inf;
    if (m == -inf) {
      // Both partial attentions are empty: the merged one is empty too (O = 0, lse = -inf).
    } else if (std::isnan(l0) || std::isnan(l1)) {
      w0 = w1 = l = std::numeric_limits<double>::quiet_NaN();
    } else {
      l = m + std::log(std::exp(l0 - m) + std::exp(l1 - m));
      w0 = std::exp(l0 - l);
      w1 = std::exp(l1 - l);
    }
    const int64_t a0 = offset(o0, r, nd - 1), a1 = offset(o1, r, nd - 1), ao = offset(out, r, nd - 1);
    for (int64_t j = 0; j < dv; ++j) {
      const double x0 = load_scalar(o0.data, o0.dtype, a0 + j);
      const double x1 = load_scalar(o1.data, o1.dtype, a1 + j);
      // A zero weight contributes exactly nothing (avoids 0 * Inf from an empty side's garbage).
      const double v = (w0 != 0 ? w0 * x0 : 0.0) + (w1 != 0 ? w1 * x1 : 0.0);
      store_scalar(out.data, out.dtype, ao + j, std::isnan(w0) ? w0 : v);
    }
    if (lse_out.defined()) store_scalar(lse_out.data, DType::f32, offset(lse_out, r, nd - 1), l);
  }
}

std::vector<BackendInfo> list_backends() {
  std::vector<BackendInfo> out;
  for (const Backend* b : detail::backends()) out.push_back(b->info());
  // Known backends that are not in this build, so `gna info` can say why.
  const char* known[] = {"sm90", "sm80", "cpu", "reference"};
  for (const char* name : known) {
    bool present = false;
    for (const auto& i : out) present = present || i.name == name;
    if (!present) {
      const bool cuda = std::string(name).rfind("sm", 0) == 0;
      out.push_back({name, false, false,
                     cuda ? "not compiled into this build (needs GNA_CUDA and its kernel instances)"
                          : "not compiled into this build"});
    }
  }
  return out;
}

const char* version() { return GNA_VERSION; }

std::string build_info() {
  std::ostringstream os;
  os << "gna " << GNA_VERSION;
#if defined(GNA_HAVE_CUDA)
  os << " cuda=on";
#else
  os << " cuda=off";
#endif
#if defined(GNA_HAVE_CUDA) && defined(GNA_HAVE_SM90)
  os << " sm90=on";
#else
  os << " sm90=off";
#endif
#if defined(GNA_HAVE_CUDA) && defined(GNA_HAVE_SM80)
  os << " sm80=on";
#else
  os << " sm80=off";
#endif
#if defined(GNA_HAVE_CPU_BACKEND)
  os << " cpu=on";
#else
  os << " cpu=off";
#endif
  os << " backends=" << backend_names();
#if defined(__clang__)
  os << " compiler=clang-" << __clang_major__ << "." << __clang_minor__;
#elif defined(__GNUC__)
  os << " compiler=gcc-" << __GNUC__ << "." << __GNUC_MINOR__;
#endif
#if defined(NDEBUG)
  os << " asserts=off";
#else
  os << " asserts=on";
#endif
  return os.str();
}

}  // namespace gna
