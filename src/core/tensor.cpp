// src/core/tensor.cpp -- layer: api. TensorView helpers: shape_str() and make_view().
//
// Invariant: make_view() builds a row-major contiguous view (strides in elements, last stride 1).
#include "gna/error.hpp"
#include "gna/tensor.hpp"

#include <sstream>

namespace gna {

std::string TensorView::shape_str() const {
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < ndim && i < kMaxTensorRank; ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

TensorView make_view(void* data, DType dtype, const std::vector<int64_t>& shape, DeviceKind device,
                     int device_index) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd > kMaxTensorRank) fail("make_view: ", nd, " dimensions exceed the maximum ", kMaxTensorRank);
  TensorView t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.device_index = device_index;
  t.ndim = static_cast<int>(nd);
  int64_t s = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    if (shape[i] < 0) fail("make_view: dim ", i, " has negative size ", shape[i]);
    t.shape[i] = shape[i];
    t.stride[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
  return t;
}

}  // namespace gna
