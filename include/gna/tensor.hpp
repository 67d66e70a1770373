// gna/tensor.hpp -- layer: api. A non-owning, torch-free view of a strided tensor.
//
// Sizes and strides are int64 and counted in elements (not bytes); the last dimension must have unit
// stride. Views never own memory; the caller keeps the data alive for the duration of a call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gna {

enum class DType { f64, f32, f16, bf16 };
enum class DeviceKind { cpu, cuda };

inline int64_t dtype_size(DType t) {
  switch (t) {
    case DType::f64: return 8;
    case DType::f32: return 4;
    default: return 2;
  }
}
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f64: return "fp64";
    case DType::f32: return "fp32";
    case DType::f16: return "fp16";
    default: return "bf16";
  }
}

constexpr int kMaxTensorRank = 6;  // [B, X0, X1, X2, H, D]

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;
  DeviceKind device = DeviceKind::cpu;
  int device_index = 0;
  int ndim = 0;
  int64_t shape[kMaxTensorRank] = {};
  int64_t stride[kMaxTensorRank] = {};  // elements

  // An optional tensor that was not given has ndim == 0.
  bool defined() const { return ndim > 0; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return ndim > 0 ? n : 0;
  }
  bool is_contiguous() const {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; --i) {
      if (shape[i] != 1 && stride[i] != s) return false;
      s *= shape[i];
    }
    return true;
  }
  std::string shape_str() const;  // "[1, 64, 64, 8, 64]"
};

// A contiguous (row-major) view over `data` with the given shape.
TensorView make_view(void* data, DType dtype, const std::vector<int64_t>& shape,
                     DeviceKind device = DeviceKind::cpu, int device_index = 0);

}  // namespace gna
