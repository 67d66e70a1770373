// src/cuda/sm90/trace.cuh -- layer: cuda/sm90 diagnostics. A pipeline timeline of the warp-specialized
// kernel, compiled in only with -DGNA_SM90_TRACE (a measurement build: bench/trace_report.py reads it).
//
// Per block (the first kBlocks) and stream (0: the producer's load warp, 1 + c: warp 0 of consumer c, 3: the
// producer's state warp), lane 0
// records events as 64-bit words: event (8 bits) << 56 | argument (16 bits) << 40 | clock64 (40 bits; one
// block runs on one SM, so its stamps share a clock). After each launch the launcher synchronises and
// writes the buffer to $GNA_TRACE_FILE (overwriting it: the file holds the last launch), so a traced build
// must never be used for timing. Without the define every record is an empty inline call.
#pragma once

#include <cstdint>

#ifdef GNA_SM90_TRACE
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <vector>
#endif

namespace gna::cuda::sm90::trace {

enum Event : int {
  kProdQWaited = 1,   // producer: the Q slot is free (q_empty); arg: the block's tile index n
  kProdQIssued = 2,   // producer: state n published, Q's load issued
  kProdStateDone = 3, // producer's state warp: state n built (begun at kProdStateBegin)
  kProdKvDone = 4,    // producer: every K/V load of tile n issued
  kConsAcquire = 5,   // consumer: starts waiting for its next tile
  kConsReady = 6,     // consumer: tile acquired (state and Q in hand, row windows built)
  kConsSLanded = 7,   // consumer: S of KV tile `arg` of the current tile has landed
  kConsStored = 8,    // consumer: a tile's O stored (epilogue done)
  kProdStateBegin = 9,
  // consumer, inside a tile's steady steps (arg: the KV tile): the step begins (before the wait for K), its
  // S and PV GEMMs are issued, its softmax is done (K released), its PV GEMM has landed
  kConsStepTop = 10,
  kConsIssued = 11,
  kConsSoftmaxDone = 12,
  kConsPvDone = 13,
};
constexpr int kBlocks = 160, kStreams = 4, kEvents = 4096;

#ifdef GNA_SM90_TRACE
__device__ unsigned long long g_events[kBlocks][kStreams][kEvents];

struct Recorder {
  int stream, n = 0;
  bool on;  // this thread records (one per stream)
  __device__ explicit Recorder(int s, bool record = threadIdx.x % 128 == 0) : stream(s), on(record) {}
  __device__ __forceinline__ void operator()(int ev, int arg) {
    if (on && blockIdx.x < kBlocks && n < kEvents)
      g_events[blockIdx.x][stream][n] = (uint64_t(ev) << 56) | (uint64_t(arg & 0xffff) << 40) |
                                        (uint64_t(clock64()) & ((uint64_t(1) << 40) - 1));
    ++n;
  }
};

// After a launch: wait, write the buffer (int32 blocks, streams, events; then the words) and clear it.
inline void dump_and_clear() {
  const char* path = std::getenv("GNA_TRACE_FILE");
  if (cudaDeviceSynchronize() != cudaSuccess || path == nullptr) return;
  std::vector<unsigned long long> host(size_t(kBlocks) * kStreams * kEvents);
  cudaMemcpyFromSymbol(host.data(), g_events, host.size() * sizeof(host[0]));
  if (FILE* f = std::fopen(path, "wb")) {
    const int32_t dims[3] = {kBlocks, kStreams, kEvents};
    std::fwrite(dims, sizeof(dims), 1, f);
    std::fwrite(host.data(), sizeof(host[0]), host.size(), f);
    std::fclose(f);
  }
  void* dev = nullptr;
  cudaGetSymbolAddress(&dev, g_events);
  cudaMemset(dev, 0, host.size() * sizeof(host[0]));
}
#else
struct Recorder {
  __device__ explicit Recorder(int, bool = false) {}
  __device__ __forceinline__ void operator()(int, int) {}
};
inline void dump_and_clear() {}
#endif

}  // namespace gna::cuda::sm90::trace
