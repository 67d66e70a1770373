/* gna_c.h -- layer: bindings (C ABI). A plain C interface over the C++ API (include/gna/api.hpp).
 *
 * Why a C ABI: the Python package loads this one shared library with ctypes, so a single built binary
 * works with any Python and any torch version (no libtorch or CPython C++ ABI in it). Everything that
 * crosses the boundary is a POD: raw data pointers, dtype/device codes, int64 shapes and strides in
 * elements, per-axis parameters, a backend name, a CUDA stream as an integer, and an error buffer.
 *
 * Invariants:
 *  - Every function returns GNA_OK (0) or an error code; on error the message (the gna::Error text for
 *    bad input) is copied into `err` (always NUL-terminated when err_len > 0) and no output is written.
 *  - No C++ exception ever crosses this boundary.
 *  - The problem's batch, extents, heads and head dims are read from the tensors' shapes (heads-last
 *    layout of spec s1): Q [B, X0.., H, Dqk], K [B, X0.., Hkv, Dqk], V [B, X0.., Hkv, Dv],
 *    extra K/V [B, Nx, Hkv, D*]; only the per-axis window parameters travel in gna_params.
 *  - A tensor with ndim == 0 means "not given" (optional tensors: lse in forward, extra K/V).
 *  - GNA_C_ABI_VERSION changes whenever a struct or signature here changes; Python checks it on load.
 */
#ifndef GNA_C_H_
#define GNA_C_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define GNA_C_EXPORT __declspec(dllexport)
#else
#define GNA_C_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define GNA_C_ABI_VERSION 1
#define GNA_C_MAX_RANK 3
#define GNA_C_MAX_TENSOR_RANK 6

/* Return codes. */
enum {
  GNA_OK = 0,
  GNA_ERR_INVALID = 1, /* gna::Error: the caller's input broke a rule (Python: ValueError) */
  GNA_ERR_RUNTIME = 2, /* gna::RuntimeError: device / runtime failure (Python: RuntimeError) */
  GNA_ERR_INTERNAL = 3 /* any other exception (Python: RuntimeError) */
};

/* Codes of gna::DType and gna::DeviceKind (same order as include/gna/tensor.hpp). */
enum { GNA_F64 = 0, GNA_F32 = 1, GNA_F16 = 2, GNA_BF16 = 3 };
enum { GNA_CPU = 0, GNA_CUDA = 1 };

typedef struct gna_tensor {
  void* data;
  int32_t dtype;        /* GNA_F64 .. GNA_BF16 */
  int32_t device;       /* GNA_CPU | GNA_CUDA */
  int32_t device_index;
  int32_t ndim;         /* 0 = not given */
  int64_t shape[GNA_C_MAX_TENSOR_RANK];
  int64_t stride[GNA_C_MAX_TENSOR_RANK]; /* in elements */
} gna_tensor;

typedef struct gna_params {
  int32_t rank;                         /* spatial axes, 1..3 */
  int32_t is_causal[GNA_C_MAX_RANK];    /* 0 / 1 per axis */
  int64_t window[GNA_C_MAX_RANK];
  int64_t stride[GNA_C_MAX_RANK];
  int64_t dilation[GNA_C_MAX_RANK];
  double scale;                         /* <= 0: the default Dqk ** -0.5 */
} gna_params;

typedef struct gna_options {
  const char* backend;                  /* NULL or "" = "auto" */
  int64_t q_tile[GNA_C_MAX_RANK];       /* all zero = planner's choice */
  int64_t kv_tile[GNA_C_MAX_RANK];
  uintptr_t stream;                     /* cudaStream_t as an integer; 0 = default stream */
  int32_t num_threads;                  /* CPU backends; 0 = hardware concurrency */
} gna_options;

GNA_C_EXPORT int gna_c_abi_version(void);
GNA_C_EXPORT const char* gna_c_version(void);

/* Copies build_info() into buf (NUL-terminated, truncated to buf_len). Returns the full length. */
GNA_C_EXPORT int64_t gna_c_build_info(char* buf, int64_t buf_len);

/* One line per backend: "name\tavailable(0/1)\thas_backward(0/1)\tdescription\n". Returns full length
 * (call again with a larger buffer if it exceeds buf_len - 1). */
GNA_C_EXPORT int64_t gna_c_list_backends(char* buf, int64_t buf_len);

/* The backend "auto" would pick for this forward call (copied into name), or an error. */
GNA_C_EXPORT int gna_c_select_backend(const gna_params* params, const gna_tensor* q, const gna_tensor* k,
                                      const gna_tensor* v, const gna_tensor* out, const gna_tensor* lse,
                                      const gna_tensor* extra_k, const gna_tensor* extra_v,
                                      const gna_options* options, char* name, int64_t name_len, char* err,
                                      int64_t err_len);

GNA_C_EXPORT int gna_c_forward(const gna_params* params, const gna_tensor* q, const gna_tensor* k,
                               const gna_tensor* v, const gna_tensor* out, const gna_tensor* lse,
                               const gna_tensor* extra_k, const gna_tensor* extra_v,
                               const gna_options* options, char* err, int64_t err_len);

GNA_C_EXPORT int gna_c_backward(const gna_params* params, const gna_tensor* q, const gna_tensor* k,
                                const gna_tensor* v, const gna_tensor* out, const gna_tensor* lse,
                                const gna_tensor* dout, const gna_tensor* dq, const gna_tensor* dk,
                                const gna_tensor* dv, const gna_tensor* extra_k, const gna_tensor* extra_v,
                                const gna_tensor* dextra_k, const gna_tensor* dextra_v,
                                const gna_options* options, char* err, int64_t err_len);

/* spec s7: out/lse_out = merge of (o0, lse0) and (o1, lse1). */
GNA_C_EXPORT int gna_c_merge(const gna_tensor* o0, const gna_tensor* lse0, const gna_tensor* o1,
                             const gna_tensor* lse1, const gna_tensor* out, const gna_tensor* lse_out,
                             char* err, int64_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* GNA_C_H_ */
