// src/cuda/common/wgmma.cuh -- layer: cuda/common. Thin PTX wrappers for Hopper warpgroup MMA (sm_90a):
// shared-memory matrix descriptors (128-byte swizzle), wgmma.fence / commit_group / wait_group, and the
// three instruction forms the forward kernels use:
//   wgmma_ss<T, N>:         D(64xN, f32) (+)= A(64x16, smem, K-major) * B(16xN, smem, K-major)     [S = Q K^T]
//   wgmma_rs<T, N>:         D(64xN, f32) (+)= A(64x16, registers) * B(16xN, smem, K-major)        [S = Q K^T]
//   wgmma_rs_tnsp_b<T, N>:  D(64xN, f32) += A(64x16, registers) * B(16xN, smem, MN-major)          [O += P V]
// Accumulator fragments: a warp's 16 rows in the m16n8 layout, d[4j + e] = n8-block j, element e.
// The specialisations below are spelled out per (type, N) because PTX takes one register per element.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common/mma_sm80.cuh"

namespace gna::cuda {

// Descriptor of a shared-memory operand in the 128-byte-swizzle canonical layout (the tile's base must be
// 1024-byte aligned). lbo / sbo in bytes: leading / stride byte offsets as the PTX ISA defines them.
__device__ __forceinline__ uint64_t wgmma_desc_sw128(const void* smem_ptr, uint32_t lbo, uint32_t sbo) {
  const uint32_t addr = smem_addr(smem_ptr);
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t((lbo >> 4) & 0x3FFF) << 16) |
         (uint64_t((sbo >> 4) & 0x3FFF) << 32) | (uint64_t(1) << 62);
}

// The descriptor of the operand `bytes` further on (a multiple of 16) in the same swizzled tile. Only the
// start-address field (bits 0-13, 16-byte units) changes and it cannot carry into the next field: shared
// addresses are below 256 KB. So one 32-bit add, which stays on the uniform datapath for uniform bases.
__device__ __forceinline__ uint64_t wgmma_desc_advance(uint64_t desc, uint32_t bytes) {
  return (desc & 0xFFFFFFFF00000000ull) | uint32_t(uint32_t(desc) + (bytes >> 4));
}

// `desc` through an opaque move: the compiler keeps the value in a (uniform) register instead of
// recomputing it from the shared-memory address at every use (it did, in the sm90 main loop).
__device__ __forceinline__ uint64_t wgmma_desc_pin(uint64_t desc) {
  uint64_t r;
  asm volatile("mov.b64 %0, %1;\n" : "=l"(r) : "l"(desc));
  return r;
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Keeps the compiler from moving accesses of an accumulator register across wgmma fences/waits.
__device__ __forceinline__ void wgmma_fence_operand(float& r) { asm volatile("" : "+f"(r)::"memory"); }
__device__ __forceinline__ void wgmma_fence_operand(uint32_t& r) { asm volatile("" : "+r"(r)::"memory"); }

template <class T, int N>
__device__ __forceinline__ void wgmma_ss(float (&d)[N / 2], uint64_t desc_a, uint64_t desc_b, int accumulate);
template <class T, int N>
__device__ __forceinline__ void wgmma_rs(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc_b, int accumulate);
template <class T, int N>
__device__ __forceinline__ void wgmma_rs_tnsp_b(float (&d)[N / 2], const uint32_t (&a)[4], uint64_t desc_b);

// The specialisations. PTX takes one register per accumulator element: the register lists are spelled out
// once here, and each (form, N) is generated for both 16-bit types (only the PTX type word differs).
#define GNA_WGMMA_REGS32 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"
#define GNA_WGMMA_REGS64 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}"
#define GNA_WGMMA_REGS128 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"
#define GNA_WGMMA_ACC8(d, i) \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
#define GNA_WGMMA_ACC32(d, i) GNA_WGMMA_ACC8(d, i), GNA_WGMMA_ACC8(d, i + 8), GNA_WGMMA_ACC8(d, i + 16), GNA_WGMMA_ACC8(d, i + 24)
#define GNA_WGMMA_ACC64(d, i) GNA_WGMMA_ACC32(d, i), GNA_WGMMA_ACC32(d, i + 32)
#define GNA_WGMMA_ACC128(d) GNA_WGMMA_ACC64(d, 0), GNA_WGMMA_ACC64(d, 64)

// D(64xN) (+)= A(smem) * B(smem), both K-major. Operands: N/2 accumulators, desc_a (the string DA), desc_b
// (DB), the accumulate flag (C).
#define GNA_WGMMA_SS(T, TY, N, REGS, ACC, DA, DB, C)                                                             \
  template <>                                                                                                   \
  __device__ __forceinline__ void wgmma_ss<T, N>(float(&d)[N / 2], uint64_t desc_a, uint64_t desc_b, int accumulate) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " C ", 0;\n"                                                \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " REGS ", " DA ", " DB            \
                 ", p, 1, 1, 0, 0;\n}\n"                                                                         \
                 : ACC                                                                                          \
                 : "l"(desc_a), "l"(desc_b), "r"(accumulate));                                                   \
  }

// D(64xN) (+)= A(registers) * B(smem, K-major). Operands: N/2 accumulators, a[0..3] (the string A), desc_b
// (B), the accumulate flag (C).
#define GNA_WGMMA_RS_K(T, TY, N, REGS, ACC, A, B, C)                                                             \
  template <>                                                                                                   \
  __device__ __forceinline__ void wgmma_rs<T, N>(float(&d)[N / 2], const uint32_t(&a)[4], uint64_t desc_b, int accumulate) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " C ", 0;\n"                                                \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " REGS ", " A ", " B                \
                 ", p, 1, 1, 0;\n}\n"                                                                            \
                 : ACC                                                                                          \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));                    \
  }

// D(64xN) += A(registers) * B(smem, MN-major). Operands: N/2 accumulators, a[0..3] (the string A), desc_b
// (B), the scale-d flag (C, always 1).
#define GNA_WGMMA_RS(T, TY, N, REGS, ACC, A, B, C)                                                               \
  template <>                                                                                                   \
  __device__ __forceinline__ void wgmma_rs_tnsp_b<T, N>(float(&d)[N / 2], const uint32_t(&a)[4], uint64_t desc_b) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, " C ", 0;\n"                                                \
                 "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " " REGS ", " A ", " B                \
                 ", p, 1, 1, 1;\n}\n"                                                                            \
                 : ACC                                                                                          \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(1));                             \
  }

#define GNA_WGMMA_ALL(T, TY)                                                                                     \
  GNA_WGMMA_SS(T, TY, 64, GNA_WGMMA_REGS32, GNA_WGMMA_ACC32(d, 0), "%32", "%33", "%34")                          \
  GNA_WGMMA_SS(T, TY, 128, GNA_WGMMA_REGS64, GNA_WGMMA_ACC64(d, 0), "%64", "%65", "%66")                         \
  GNA_WGMMA_RS_K(T, TY, 64, GNA_WGMMA_REGS32, GNA_WGMMA_ACC32(d, 0), "{%32, %33, %34, %35}", "%36", "%37")        \
  GNA_WGMMA_RS_K(T, TY, 128, GNA_WGMMA_REGS64, GNA_WGMMA_ACC64(d, 0), "{%64, %65, %66, %67}", "%68", "%69")       \
  GNA_WGMMA_RS(T, TY, 64, GNA_WGMMA_REGS32, GNA_WGMMA_ACC32(d, 0), "{%32, %33, %34, %35}", "%36", "%37")          \
  GNA_WGMMA_RS(T, TY, 128, GNA_WGMMA_REGS64, GNA_WGMMA_ACC64(d, 0), "{%64, %65, %66, %67}", "%68", "%69")         \
  GNA_WGMMA_RS(T, TY, 256, GNA_WGMMA_REGS128, GNA_WGMMA_ACC128(d), "{%128, %129, %130, %131}", "%132", "%133")

GNA_WGMMA_ALL(__nv_bfloat16, "bf16")
GNA_WGMMA_ALL(__half, "f16")

#undef GNA_WGMMA_ALL
#undef GNA_WGMMA_RS
#undef GNA_WGMMA_SS
#undef GNA_WGMMA_RS_K
#undef GNA_WGMMA_ACC128
#undef GNA_WGMMA_ACC64
#undef GNA_WGMMA_ACC32
#undef GNA_WGMMA_ACC8
#undef GNA_WGMMA_REGS128
#undef GNA_WGMMA_REGS64
#undef GNA_WGMMA_REGS32

}  // namespace gna::cuda
