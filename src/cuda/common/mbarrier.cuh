// src/cuda/common/mbarrier.cuh -- layer: cuda/common. Thin PTX wrappers (sm_90) for the warp-specialized
// pipeline: shared-memory mbarriers (init, parity wait, arrive), named barriers (bar.sync / bar.arrive
// over a subset of warps) and setmaxnreg. TMA arrivals with a byte count are in tma.cuh.
//
// Phase convention: a consumer waits for parity (n & 1) of fill n of a slot; a producer waits on the
// slot's "empty" barrier with the opposite parity, which a fresh barrier satisfies at once.
#pragma once

#include <cstdint>

#include "cuda/common/mma_sm80.cuh"

namespace gna::cuda {

__device__ __forceinline__ void mbar_init(uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count) : "memory");
}
// Non-blocking test for completion of the phase with the given parity (acquire, CTA scope).
__device__ __forceinline__ bool mbar_test(uint64_t* bar, int parity) {
  uint32_t done;
  asm volatile(
      "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
      : "=r"(done)
      : "r"(smem_addr(bar)), "r"(parity)
      : "memory");
  return done != 0;
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, int parity) {
  while (!mbar_test(bar, parity)) {
  }
}
// Arrive (release, CTA scope).
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void named_bar_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_bar_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

template <int N>
__device__ __forceinline__ void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}
template <int N>
__device__ __forceinline__ void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}

}  // namespace gna::cuda
