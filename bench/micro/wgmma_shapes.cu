// bench/micro/wgmma_shapes.cu -- microbenchmark (H100/H200, sm_90a): tensor throughput of the warpgroup MMA
// shapes the forward kernels issue for S = Q K^T, m64nNk16 (bf16 -> f32) with N = 64 (one 64-key tile) or
// 128, A from shared memory (SS) or registers (RS), 1-3 warpgroups per SM; and of the P V shape
// (m64n128k16, A from registers, B MN-major). Each warpgroup issues groups of 8 instructions on one
// accumulator, commits and waits, as the kernels do. Operands are zeros: throughput does not depend on
// values. Prints TFLOP/s per configuration. Answers: does a 64-key S tile run the tensor cores as well as a
// 128-key one, and what does reading A from shared memory cost?
//   build: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Isrc bench/micro/wgmma_shapes.cu -o wgmma_shapes
#include <cuda_bf16.h>

#include <cstdio>

#include "cuda/common/wgmma.cuh"

using namespace gna::cuda;
using T = __nv_bfloat16;

enum Form { kSS = 0, kRS = 1, kRSTnsp = 2 };
constexpr int kGroups = 2048, kPerGroup = 8;

template <int N, int FORM>
__global__ void __launch_bounds__(384, 1) shape_kernel(float* sink) {
  extern __shared__ __align__(1024) unsigned char smem[];
  const int tid = threadIdx.x;
  for (int i = tid; i < 64 * 1024 / 4; i += blockDim.x) reinterpret_cast<uint32_t*>(smem)[i] = 0;  // A and B tiles
  __syncthreads();
  const T* a_tile = reinterpret_cast<const T*>(smem);            // 64 x 64 (8 KB)
  const T* b_tile = reinterpret_cast<const T*>(smem + 16384);    // up to 256 x 64 (32 KB)
  const int wg = __shfl_sync(0xffffffff, tid / 128, 0);
  const uint64_t da = wgmma_desc_sw128(a_tile, 16, 1024);
  const uint64_t db = FORM == kRSTnsp ? wgmma_desc_sw128(b_tile, 64 * 128, 1024) : wgmma_desc_sw128(b_tile, 16, 1024);
  const uint32_t a_regs[4] = {0u, 0u, 0u, 0u};
  float d[N / 2];
#pragma unroll
  for (int i = 0; i < N / 2; ++i) d[i] = 0.f;
  for (int g = 0; g < kGroups; ++g) {
    wgmma_fence();
#pragma unroll
    for (int k = 0; k < kPerGroup; ++k) {
      const uint32_t off = (k % 4) * 32;  // the four 16-wide k steps of a 64-element half
      if constexpr (FORM == kSS) wgmma_ss<T, N>(d, wgmma_desc_advance(da, off), wgmma_desc_advance(db, off), 1);
      if constexpr (FORM == kRS) wgmma_rs<T, N>(d, a_regs, wgmma_desc_advance(db, off), 1);
      if constexpr (FORM == kRSTnsp) wgmma_rs_tnsp_b<T, N>(d, a_regs, wgmma_desc_advance(db, (k % 4) * 2048));
    }
    wgmma_commit();
    wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < N / 2; ++i) wgmma_fence_operand(d[i]);
  }
  float acc = 0.f;
#pragma unroll
  for (int i = 0; i < N / 2; ++i) acc += d[i];
  if (acc != 0.f) sink[blockIdx.x * blockDim.x + tid] = acc + wg;  // never true (zeros): keeps the work alive
}

template <int N, int FORM>
void run(const char* name, int sms, float* sink) {
  for (int wgs = 1; wgs <= 3; ++wgs) {
    auto k = shape_kernel<N, FORM>;
    cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 65536);
    k<<<sms, 128 * wgs, 65536>>>(sink);  // warm-up
    cudaEvent_t e0, e1;
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    cudaEventRecord(e0);
    const int reps = 5;
    for (int r = 0; r < reps; ++r) k<<<sms, 128 * wgs, 65536>>>(sink);
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    float ms = 0.f;
    cudaEventElapsedTime(&ms, e0, e1);
    const double flops = 2.0 * 64 * N * 16 * kPerGroup * double(kGroups) * wgs * sms * reps;
    std::printf("%-26s N=%3d warpgroups/SM=%d  %7.1f TFLOP/s\n", name, N, wgs, flops / (ms * 1e-3) / 1e12);
  }
}

int main() {
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  float* sink = nullptr;
  cudaMalloc(&sink, sizeof(float) * sms * 384);
  run<64, kSS>("S, A smem (SS)", sms, sink);
  run<128, kSS>("S, A smem (SS)", sms, sink);
  run<64, kRS>("S, A registers (RS)", sms, sink);
  run<128, kRS>("S, A registers (RS)", sms, sink);
  run<128, kRSTnsp>("PV, A registers, B MN-major", sms, sink);
  const cudaError_t err = cudaDeviceSynchronize();
  if (err != cudaSuccess) std::printf("CUDA error: %s\n", cudaGetErrorString(err));
  cudaFree(sink);
  return err == cudaSuccess ? 0 : 1;
}
