// src/reference/reference_attention.hpp -- layer: backend (reference). The definitional forward and
// backward passes of the oracle, on validated host tensors.
//
// Invariants: inputs were validated by api.cpp (shapes, dtypes, unit last stride, host memory). All
// arithmetic is in double; outputs are rounded once, on store. The neighborhood predicate is written
// straight from spec/semantics.md s3-s5 here and deliberately does not use gna/na/.
#pragma once

#include <cstdint>

#include "gna/api.hpp"

namespace gna::reference {

// Keys of one query on one axis: {first + step * t : 0 <= t < count} (spec s3 + s4).
struct AxisKeys {
  int64_t first;
  int64_t count;
  int64_t step;
};

// The keys query coordinate x attends on an axis of extent L with window K, stride S, dilation D.
AxisKeys axis_keys(int64_t x, int64_t L, int64_t K, int64_t S, int64_t D, bool is_causal);

void forward(const Problem& p, const ForwardTensors& t, int num_threads);
void backward(const Problem& p, const BackwardTensors& t, int num_threads);

}  // namespace gna::reference
