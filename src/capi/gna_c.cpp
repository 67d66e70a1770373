// gna_c.cpp -- layer: bindings (C ABI). Implements gna_c.h over the C++ API in include/gna/api.hpp.
//
// Owns only the translation: C structs -> gna::TensorView / Problem / Options, the Problem's sizes read
// from the tensor shapes (spec s1 layout), and exception -> (code, message). All validation of the
// problem and tensors stays in the C++ API (one set of rules, one set of messages); this file checks
// only what it needs to read shapes safely (ndim, dtype/device codes).
//
// Invariant: no exception escapes any extern "C" function.
#include "gna_c.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <sstream>
#include <string>

#include "gna/api.hpp"
#include "gna/error.hpp"
#include "gna/problem.hpp"
#include "gna/tensor.hpp"

namespace {

void copy_out(const std::string& s, char* buf, int64_t len) {
  if (buf == nullptr || len <= 0) return;
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(s.size()), len - 1);
  std::memcpy(buf, s.data(), static_cast<size_t>(n));
  buf[n] = '\0';
}

// Runs f, mapping exceptions to return codes with the message copied into err.
template <class F>
int guarded(char* err, int64_t err_len, F&& f) {
  try {
    f();
    copy_out("", err, err_len);
    return GNA_OK;
  } catch (const gna::Error& e) {
    copy_out(e.what(), err, err_len);
    return GNA_ERR_INVALID;
  } catch (const gna::RuntimeError& e) {
    copy_out(e.what(), err, err_len);
    return GNA_ERR_RUNTIME;
  } catch (const std::exception& e) {
    copy_out(std::string("internal error: ") + e.what(), err, err_len);
    return GNA_ERR_INTERNAL;
  } catch (...) {
    copy_out("internal error: unknown exception", err, err_len);
    return GNA_ERR_INTERNAL;
  }
}

gna::TensorView to_view(const gna_tensor* t, const char* name) {
  gna::TensorView v;
  if (t == nullptr || t->ndim == 0) return v;  // not given
  if (t->ndim < 0 || t->ndim > gna::kMaxTensorRank)
    gna::fail(name, ": ndim ", t->ndim, " is outside [1, ", gna::kMaxTensorRank, "]");
  if (t->dtype < GNA_F64 || t->dtype > GNA_BF16) gna::fail(name, ": unknown dtype code ", t->dtype);
  if (t->device != GNA_CPU && t->device != GNA_CUDA) gna::fail(name, ": unknown device code ", t->device);
  v.data = t->data;
  v.dtype = static_cast<gna::DType>(t->dtype);
  v.device = t->device == GNA_CUDA ? gna::DeviceKind::cuda : gna::DeviceKind::cpu;
  v.device_index = t->device_index;
  v.ndim = t->ndim;
  for (int i = 0; i < t->ndim; ++i) {
    v.shape[i] = t->shape[i];
    v.stride[i] = t->stride[i];
  }
  return v;
}

gna::Options to_options(const gna_options* o) {
  gna::Options opt;
  if (o == nullptr) return opt;
  if (o->backend != nullptr && o->backend[0] != '\0') opt.backend = o->backend;
  for (int d = 0; d < gna::kMaxRank; ++d) {
    opt.q_tile[d] = o->q_tile[d];
    opt.kv_tile[d] = o->kv_tile[d];
  }
  opt.stream = reinterpret_cast<void*>(o->stream);
  opt.num_threads = o->num_threads;
  return opt;
}

void require_ndim(const gna::TensorView& t, const char* name, int ndim, const char* layout) {
  if (!t.defined()) gna::fail(name, ": a tensor is required");
  if (t.ndim != ndim)
    gna::fail(name, ": expected ", ndim, " dims ", layout, ", got ", t.ndim, " dims with shape ", t.shape_str());
}

// The Problem of a call: per-axis parameters from `p`, every size from the tensors' shapes.
gna::Problem make_problem(const gna_params* p, const gna::TensorView& q, const gna::TensorView& k,
                          const gna::TensorView& v, const gna::TensorView& extra_k) {
  if (p == nullptr) gna::fail("params: a gna_params is required");
  if (p->rank < 1 || p->rank > gna::kMaxRank)
    gna::fail("rank: the number of spatial axes must be 1, 2 or 3, got ", p->rank);
  const int r = p->rank;
  const char* layouts[] = {"", "[B, X0, H, D]", "[B, X0, X1, H, D]", "[B, X0, X1, X2, H, D]"};
  require_ndim(q, "query", r + 3, layouts[r]);
  require_ndim(k, "key", r + 3, layouts[r]);
  require_ndim(v, "value", r + 3, layouts[r]);
  gna::Problem pr;
  pr.rank = r;
  pr.batch = q.shape[0];
  for (int d = 0; d < gna::kMaxRank; ++d) {
    const bool on = d < r;
    pr.extent[d] = on ? q.shape[1 + d] : 1;
    pr.window[d] = on ? p->window[d] : 1;
    pr.stride[d] = on ? p->stride[d] : 1;
    pr.dilation[d] = on ? p->dilation[d] : 1;
    pr.is_causal[d] = on ? p->is_causal[d] != 0 : false;
  }
  pr.heads = q.shape[r + 1];
  pr.dim_qk = q.shape[r + 2];
  pr.kv_heads = k.shape[r + 1];
  pr.dim_v = v.shape[r + 2];
  pr.scale = p->scale;
  if (extra_k.defined()) {
    if (extra_k.ndim < 2)
      gna::fail("additional_keys: expected 4 dims [B, Nx, Hkv, Dqk], got shape ", extra_k.shape_str());
    pr.extra_kv = extra_k.shape[1];
  }
  return pr;
}

}  // namespace

extern "C" {

int gna_c_abi_version(void) { return GNA_C_ABI_VERSION; }

const char* gna_c_version(void) {
  try {
    return gna::version();
  } catch (...) {
    return "unknown";
  }
}

int64_t gna_c_build_info(char* buf, int64_t buf_len) {
  try {
    const std::string s = gna::build_info();
    copy_out(s, buf, buf_len);
    return static_cast<int64_t>(s.size());
  } catch (...) {
    copy_out("", buf, buf_len);
    return 0;
  }
}

int64_t gna_c_list_backends(char* buf, int64_t buf_len) {
  try {
    std::ostringstream os;
    for (const gna::BackendInfo& b : gna::list_backends()) {
      std::string desc = b.description;
      std::replace(desc.begin(), desc.end(), '\n', ' ');
      std::replace(desc.begin(), desc.end(), '\t', ' ');
      os << b.name << '\t' << (b.available ? 1 : 0) << '\t' << (b.has_backward ? 1 : 0) << '\t' << desc << '\n';
    }
    const std::string s = os.str();
    copy_out(s, buf, buf_len);
    return static_cast<int64_t>(s.size());
  } catch (...) {
    copy_out("", buf, buf_len);
    return 0;
  }
}

int gna_c_select_backend(const gna_params* params, const gna_tensor* q, const gna_tensor* k, const gna_tensor* v,
                         const gna_tensor* out, const gna_tensor* lse, const gna_tensor* extra_k,
                         const gna_tensor* extra_v, const gna_options* options, char* name, int64_t name_len,
                         char* err, int64_t err_len) {
  return guarded(err, err_len, [&] {
    gna::ForwardTensors t;
    t.q = to_view(q, "query");
    t.k = to_view(k, "key");
    t.v = to_view(v, "value");
    t.out = to_view(out, "output");
    t.lse = to_view(lse, "lse");
    t.extra_k = to_view(extra_k, "additional_keys");
    t.extra_v = to_view(extra_v, "additional_values");
    const gna::Problem pr = make_problem(params, t.q, t.k, t.v, t.extra_k);
    copy_out(gna::select_backend(pr, t, to_options(options)), name, name_len);
  });
}

int gna_c_forward(const gna_params* params, const gna_tensor* q, const gna_tensor* k, const gna_tensor* v,
                  const gna_tensor* out, const gna_tensor* lse, const gna_tensor* extra_k, const gna_tensor* extra_v,
                  const gna_options* options, char* err, int64_t err_len) {
  return guarded(err, err_len, [&] {
    gna::ForwardTensors t;
    t.q = to_view(q, "query");
    t.k = to_view(k, "key");
    t.v = to_view(v, "value");
    t.out = to_view(out, "output");
    t.lse = to_view(lse, "lse");
    t.extra_k = to_view(extra_k, "additional_keys");
    t.extra_v = to_view(extra_v, "additional_values");
    const gna::Problem pr = make_problem(params, t.q, t.k, t.v, t.extra_k);
    gna::forward(pr, t, to_options(options));
  });
}

int gna_c_backward(const gna_params* params, const gna_tensor* q, const gna_tensor* k, const gna_tensor* v,
                   const gna_tensor* out, const gna_tensor* lse, const gna_tensor* dout, const gna_tensor* dq,
                   const gna_tensor* dk, const gna_tensor* dv, const gna_tensor* extra_k, const gna_tensor* extra_v,
                   const gna_tensor* dextra_k, const gna_tensor* dextra_v, const gna_options* options, char* err,
                   int64_t err_len) {
  return guarded(err, err_len, [&] {
    gna::BackwardTensors t;
    t.q = to_view(q, "query");
    t.k = to_view(k, "key");
    t.v = to_view(v, "value");
    t.out = to_view(out, "output");
    t.lse = to_view(lse, "lse");
    t.dout = to_view(dout, "grad_output");
    t.dq = to_view(dq, "grad_query");
    t.dk = to_view(dk, "grad_key");
    t.dv = to_view(dv, "grad_value");
    t.extra_k = to_view(extra_k, "additional_keys");
    t.extra_v = to_view(extra_v, "additional_values");
    t.dextra_k = to_view(dextra_k, "grad_additional_keys");
    t.dextra_v = to_view(dextra_v, "grad_additional_values");
    const gna::Problem pr = make_problem(params, t.q, t.k, t.v, t.extra_k);
    gna::backward(pr, t, to_options(options));
  });
}

int gna_c_merge(const gna_tensor* o0, const gna_tensor* lse0, const gna_tensor* o1, const gna_tensor* lse1,
                const gna_tensor* out, const gna_tensor* lse_out, char* err, int64_t err_len) {
  return guarded(err, err_len, [&] {
    gna::merge(to_view(o0, "output0"), to_view(lse0, "lse0"), to_view(o1, "output1"), to_view(lse1, "lse1"),
               to_view(out, "output"), to_view(lse_out, "lse_output"));
  });
}

}  // extern "C"
