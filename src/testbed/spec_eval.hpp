// src/testbed/spec_eval.hpp -- layer: test harness. Attention evaluated straight from the spec for single
// queries, over host tensor views of any strides: what `gna run`, `gna backward`, `gna check`, `gna bench`
// and the GPU tests compare against on sampled queries. Window membership comes from gna/na/window.hpp
// (the one home of that math); the independent oracle for na/ itself is src/reference (tests/reference).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "gna/api.hpp"

namespace gna::testbed {

// Element offset of (batch b, token coordinate x, head h, channel c) in a heads-last view; c < 0 omits the
// channel term (LSE tensors).
int64_t token_offset(const TensorView& v, int rank, int64_t b, const int64_t* x, int64_t h, int64_t c);

// Row-major token index -> per-axis coordinate (last axis fastest); unused axes are 0.
void unflatten(const Problem& p, int64_t token, int64_t* x);

// The neighborhood N(q) of query coordinate x: per axis, the keys of x's dilation group inside its window
// (spec s3-s5), all combinations, row-major.
std::vector<std::array<int64_t, kMaxRank>> neighborhood(const Problem& p, const int64_t* x);

// O and LSE of one (batch b, query coordinate x, head h) from t.q / t.k / t.v / t.extra_k / t.extra_v.
// Exact (fp64) unless `lowp`: then a naive low-precision implementation of `dtype` (fp32 scores, P rounded
// to dtype before P.V, output rounded), whose error sets the testbed's tolerance scale.
void evaluate_query(const Problem& p, const ForwardTensors& t, int64_t b, const int64_t* x, int64_t h, bool lowp,
                    DType dtype, std::vector<double>& out, double& lse);

}  // namespace gna::testbed
