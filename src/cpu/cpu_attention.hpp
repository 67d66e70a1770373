// src/cpu/cpu_attention.hpp -- layer: backend (cpu). The fast CPU forward: threads over
// (batch, head, query block), SIMD-friendly float32 inner loops.
//
// Contract: inputs were validated by api.cpp (shapes, dtypes, devices, unit last stride); tensors are on
// the host; storage dtype fp32 / fp16 / bf16 (float32 accumulation) or fp64 (double accumulation).
// Window keys come from na::window_of (the one home of the neighborhood math); nothing here re-derives
// them. Writes every element of O (and LSE when given); never reads the outputs.
#pragma once

#include <cstdint>

#include "gna/api.hpp"

namespace gna::cpu {

// Bytes of float (or double) K/V workspace one call may hold at once; (batch, kv head) pairs are
// processed in chunks that fit (at least one pair per chunk).
constexpr int64_t kWorkspaceBudgetBytes = int64_t(256) << 20;

// Target workspace bytes per worker thread for one chunk (bounded by kWorkspaceBudgetBytes).
constexpr int64_t kChunkBytesPerThread = int64_t(4) << 20;

// Group-local queries per task segment along the last axis (one task = one (batch, head, line,
// dilation group, segment)).
constexpr int64_t kQueryBlock = 64;

// O (and LSE) = GNA forward of spec/semantics.md s1-s5 on host tensors. num_threads 0 = hardware
// concurrency.
void forward(const Problem& p, const ForwardTensors& t, int num_threads);

// The instruction set the float kernel dispatched to on this machine ("avx512", "avx2", "baseline").
const char* simd_level();

}  // namespace gna::cpu
