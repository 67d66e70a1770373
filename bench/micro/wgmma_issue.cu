// bench/micro/wgmma_issue.cu -- microbenchmark (H100/H200, sm_90a): how long a warp is held at the issue of
// a group of warpgroup MMAs, A from shared memory (SS) or from registers (RS), before it gets past the
// commit and can run other instructions. The forward kernel's consumers issue S = Q K^T (8 x m64n64k16 at
// head dim 128) and O += P V (4 x m64n128k16, A = P from registers) and want to run their softmax while
// the tensor pipe works: if the issue holds the warp until the pipe has taken the group, the softmax cannot
// overlap the warp's own GEMMs. Per configuration, each warpgroup loops: clock, fence, issue, commit, clock
// (the issue time), `busy` dependent FMAs (a stand-in for the softmax), wait for the group, clock. Prints
// the mean issue time and the mean iteration time in cycles (warp 0 of each warpgroup, every block).
//   build: nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -Isrc bench/micro/wgmma_issue.cu -o wgmma_issue
#include <cuda_bf16.h>

#include <cstdio>

#include "cuda/common/wgmma.cuh"

using namespace gna::cuda;
using T = __nv_bfloat16;

enum Mode { kSSonly = 0, kRSonly = 1, kPVonly = 2, kSSthenPV = 3, kRSthenPV = 4 };
constexpr int kIters = 512;

template <int MODE>
__global__ void __launch_bounds__(256, 1) issue_kernel(int busy, unsigned long long* out) {
  extern __shared__ __align__(1024) unsigned char smem[];
  const int tid = threadIdx.x;
  for (int i = tid; i < 64 * 1024 / 4; i += blockDim.x) reinterpret_cast<uint32_t*>(smem)[i] = 0x3c003c00u * (i & 1);
  __syncthreads();
  const int wg = __shfl_sync(0xffffffff, tid / 128, 0);
  const uint64_t da = wgmma_desc_sw128(smem, 16, 1024);
  const uint64_t db = wgmma_desc_sw128(smem + 16384, 16, 1024);
  const uint64_t dv = wgmma_desc_sw128(smem + 32768, 64 * 128, 1024);
  uint32_t a[8][4];
#pragma unroll
  for (int k = 0; k < 8; ++k)
#pragma unroll
    for (int e = 0; e < 4; ++e) a[k][e] = reinterpret_cast<const uint32_t*>(smem)[(tid * 4 + 32 * k + e) % 4096];
  float s[32], o[64];
#pragma unroll
  for (int i = 0; i < 32; ++i) s[i] = 0.f;
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0.f;
  float x = float(tid);
  unsigned long long issue = 0, total = 0;
  for (int it = 0; it < kIters; ++it) {
    const long long t0 = clock64();
    wgmma_fence();
    if constexpr (MODE == kSSonly || MODE == kSSthenPV) {
#pragma unroll
      for (int k = 0; k < 8; ++k)
        wgmma_ss<T, 64>(s, wgmma_desc_advance(da, (k % 4) * 32 + (k / 4) * 8192), wgmma_desc_advance(db, (k % 4) * 32), k > 0);
      wgmma_commit();
    }
    if constexpr (MODE == kRSonly || MODE == kRSthenPV) {
#pragma unroll
      for (int k = 0; k < 8; ++k) wgmma_rs<T, 64>(s, a[k], wgmma_desc_advance(db, (k % 4) * 32), k > 0);
      wgmma_commit();
    }
    if constexpr (MODE >= kPVonly) {
#pragma unroll
      for (int k = 0; k < 4; ++k) wgmma_rs_tnsp_b<T, 128>(o, a[k], wgmma_desc_advance(dv, k * 2048));
      wgmma_commit();
    }
    const long long t1 = clock64();
    for (int b = 0; b < busy; ++b) x = fmaf(x, 1.0001f, 0.5f);
    wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < 32; ++i) wgmma_fence_operand(s[i]);
#pragma unroll
    for (int i = 0; i < 64; ++i) wgmma_fence_operand(o[i]);
    const long long t2 = clock64();
    if (it >= 16) {  // warm
      issue += t1 - t0;
      total += t2 - t0;
    }
  }
  float acc = x;
#pragma unroll
  for (int i = 0; i < 32; ++i) acc += s[i];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc += o[i];
  if (tid % 128 == 0) {
    atomicAdd(&out[2 * wg], issue);
    atomicAdd(&out[2 * wg + 1], total);
  }
  if (acc == 12345.f) out[8] = 1;  // keeps the work alive
}

template <int MODE>
void run(const char* name, int sms, unsigned long long* out) {
  for (int wgs = 1; wgs <= 2; ++wgs)
    for (int busy : {0, 150}) {
      auto k = issue_kernel<MODE>;
      cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 65536);
      cudaMemset(out, 0, 16 * sizeof(unsigned long long));
      k<<<sms, 128 * wgs, 65536>>>(busy, out);
      unsigned long long h[16];
      cudaMemcpy(h, out, sizeof(h), cudaMemcpyDeviceToHost);
      const double n = double(sms) * (kIters - 16);
      std::printf("%-30s warpgroups=%d busy=%3d  issue %7.1f cycles  iteration %7.1f cycles\n", name, wgs, busy,
                  (h[0] + h[2]) / n / wgs, (h[1] + h[3]) / n / wgs);
    }
}

int main() {
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  unsigned long long* out = nullptr;
  cudaMalloc(&out, 16 * sizeof(unsigned long long));
  run<kSSonly>("S 8x m64n64k16 SS", sms, out);
  run<kRSonly>("S 8x m64n64k16 RS", sms, out);
  run<kPVonly>("PV 4x m64n128k16 RS", sms, out);
  run<kSSthenPV>("S SS, then PV RS", sms, out);
  run<kRSthenPV>("S RS, then PV RS (kernel)", sms, out);
  const cudaError_t err = cudaDeviceSynchronize();
  if (err != cudaSuccess) std::printf("CUDA error: %s\n", cudaGetErrorString(err));
  cudaFree(out);
  return err == cudaSuccess ? 0 : 1;
}
