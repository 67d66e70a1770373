// bench/micro/wgmma_schedule.cu -- microbenchmark (H100/H200, sm_90a): how busy two consumer warpgroups keep
// the tensor pipe with the forward kernel's step schedule, with no loads and no barriers but the GEMM turns,
// for one KV tile per step (S: 8 x m64n64k16, P V: 4 x m64n128k16, head dim 128) against two (128 keys:
// 16 + 8 instructions, twice the softmax). Each warpgroup loops like a consumer of sm90/fwd_ws_kernel.cuh:
// [turn] issue S (A = Q from registers) and the previous step's P V (A = P from registers) [hand the turn
// over], wait for S, softmax (exp2 of every score, row sums, stored to shared memory before the P V wait as
// the kernel pins it), wait for P V, pack P. `reps` repeats the exponentials to lengthen the softmax.
// Prints cycles per step period (both warpgroups), the tensor pipe's share (1024 x tiles cycles of
// m64 work per period at the measured 32 / 64 cycles per instruction), and the mean segments of warp 0:
// issue (fence to the hand-over), to S (S landed), softmax, tail (P V landed, P packed).
//   build: nvcc -O3 -std=c++17 --use_fast_math -gencode=arch=compute_90a,code=sm_90a -Isrc
//          bench/micro/wgmma_schedule.cu -o wgmma_schedule
#include <cuda_bf16.h>

#include <cstdio>

#include "cuda/common/mbarrier.cuh"
#include "cuda/common/mma_sm80.cuh"
#include "cuda/common/wgmma.cuh"

using namespace gna::cuda;
using T = __nv_bfloat16;

constexpr int kIters = 400, kWarm = 40;
constexpr int kSmem = 4 * 16384 + 1024;  // two K tiles, two V tiles, scratch

template <int NT>
__global__ void __launch_bounds__(256, 1) schedule_kernel(int pingpong, int reps, unsigned long long* out) {
  extern __shared__ __align__(1024) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid % 32;
  for (int i = tid; i < 4 * 16384 / 4; i += blockDim.x) reinterpret_cast<uint32_t*>(smem)[i] = 0x3c003c00u * (i & 1);
  __syncthreads();
  const int c = __shfl_sync(0xffffffff, tid / 128, 0);
  float* scratch = reinterpret_cast<float*>(smem + 4 * 16384);
  uint64_t dk[2], dv[2];
#pragma unroll
  for (int t = 0; t < 2; ++t) {
    dk[t] = wgmma_desc_sw128(smem + t * 16384, 16, 1024);
    dv[t] = wgmma_desc_sw128(smem + 32768 + t * 16384, 64 * 128, 1024);
  }
  uint32_t qa[8][4], pa[4 * NT][4];
#pragma unroll
  for (int k = 0; k < 8; ++k)
#pragma unroll
    for (int e = 0; e < 4; ++e) qa[k][e] = reinterpret_cast<const uint32_t*>(smem)[(tid * 4 + 32 * k + e) % 4096] & 0x3bff3bffu;
#pragma unroll
  for (int k = 0; k < 4 * NT; ++k)
#pragma unroll
    for (int e = 0; e < 4; ++e) pa[k][e] = 0;
  float s[NT][32], o[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) o[i] = 0.f;
  float row_sum = 0.f;
  unsigned long long seg[4] = {0, 0, 0, 0}, t_begin = 0, t_end = 0;
  if (pingpong && c == 1) named_bar_arrive(1, 256);  // consumer 0 issues first
  for (int it = 0; it < kIters; ++it) {
    if (it == kWarm) t_begin = clock64();
    const long long t0 = clock64();
    if (pingpong) named_bar_sync(1 + c, 256);
    wgmma_fence();
#pragma unroll
    for (int t = 0; t < NT; ++t)
#pragma unroll
      for (int k = 0; k < 8; ++k)
        wgmma_rs<T, 64>(s[t], qa[k], wgmma_desc_advance(dk[t], ((k / 4) * 4096 + (k % 4) * 16) * 2), k > 0);
    wgmma_commit();
#pragma unroll
    for (int t = 0; t < NT; ++t)
#pragma unroll
      for (int k = 0; k < 4; ++k) wgmma_rs_tnsp_b<T, 128>(o, pa[4 * t + k], wgmma_desc_advance(dv[t], k * 2048));
    wgmma_commit();
    if (pingpong) named_bar_arrive(1 + (1 - c), 256);
    const long long t1 = clock64();
    wgmma_wait<1>();
#pragma unroll
    for (int t = 0; t < NT; ++t)
#pragma unroll
      for (int i = 0; i < 32; ++i) wgmma_fence_operand(s[t][i]);
    const long long t2 = clock64();
    float sum = 0.f;
    for (int r = 0; r < reps; ++r) {
      float part[NT][8];
#pragma unroll
      for (int t = 0; t < NT; ++t)
#pragma unroll
        for (int f = 0; f < 8; ++f) {
          s[t][4 * f] = exp2f(fmaf(s[t][4 * f], 0.088f, -1.f));
          s[t][4 * f + 1] = exp2f(fmaf(s[t][4 * f + 1], 0.088f, -1.f));
          s[t][4 * f + 2] = exp2f(fmaf(s[t][4 * f + 2], 0.088f, -1.f));
          s[t][4 * f + 3] = exp2f(fmaf(s[t][4 * f + 3], 0.088f, -1.f));
          part[t][f] = (s[t][4 * f] + s[t][4 * f + 1]) + (s[t][4 * f + 2] + s[t][4 * f + 3]);
        }
#pragma unroll
      for (int t = 0; t < NT; ++t)
#pragma unroll
        for (int w = 4; w >= 1; w /= 2)
#pragma unroll
          for (int f = 0; f < 4; ++f)
            if (f < w) part[t][f] += part[t][f + w];
#pragma unroll
      for (int t = 0; t < NT; ++t) sum += part[t][0];
    }
    row_sum += sum;
    if (lane == 0) scratch[tid / 32] = row_sum;  // pins the softmax before the P V wait (as the kernel)
    const long long t3 = clock64();
    wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < 64; ++i) wgmma_fence_operand(o[i]);
#pragma unroll
    for (int k = 0; k < 4 * NT; ++k)
#pragma unroll
      for (int e = 0; e < 4; ++e) wgmma_fence_operand(pa[k][e]);
#pragma unroll
    for (int t = 0; t < NT; ++t)
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        pa[4 * t + k][0] = pack2<T>(s[t][8 * k], s[t][8 * k + 1]);
        pa[4 * t + k][1] = pack2<T>(s[t][8 * k + 2], s[t][8 * k + 3]);
        pa[4 * t + k][2] = pack2<T>(s[t][8 * k + 4], s[t][8 * k + 5]);
        pa[4 * t + k][3] = pack2<T>(s[t][8 * k + 6], s[t][8 * k + 7]);
      }
    const long long t4 = clock64();
    if (it >= kWarm) {
      seg[0] += t1 - t0;
      seg[1] += t2 - t1;
      seg[2] += t3 - t2;
      seg[3] += t4 - t3;
    }
  }
  t_end = clock64();
  if (pingpong && c == 0) named_bar_sync(1, 256);  // consume consumer 1's last hand-over
  float acc = row_sum;
#pragma unroll
  for (int i = 0; i < 64; ++i) acc += o[i];
  if (tid % 128 == 0) {
    for (int i = 0; i < 4; ++i) atomicAdd(&out[5 * c + i], seg[i]);
    atomicAdd(&out[5 * c + 4], t_end - t_begin);
  }
  if (acc == 12345.f) out[15] = 1;  // keeps the work alive
}

template <int NT>
void run(int sms, unsigned long long* out) {
  for (int pp = 0; pp <= 1; ++pp)
    for (int reps : {1, 2}) {
      auto k = schedule_kernel<NT>;
      cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem);
      cudaMemset(out, 0, 16 * sizeof(unsigned long long));
      k<<<sms, 256, kSmem>>>(pp, reps, out);
      unsigned long long h[16];
      cudaMemcpy(h, out, sizeof(h), cudaMemcpyDeviceToHost);
      const double n = double(sms) * (kIters - kWarm);
      const double period = (h[4] + h[9]) / 2.0 / n;  // cycles per step, both warpgroups concurrently
      std::printf("tiles/step=%d pingpong=%d reps=%d  period %7.1f cycles (%6.1f per KV tile)  tensor %5.1f%%  "
                  "warpgroup 0: issue %6.1f  to S %6.1f  softmax %6.1f  tail %6.1f\n",
                  NT, pp, reps, period, period / NT, 100.0 * 1024.0 * NT / period, h[0] / n, h[1] / n, h[2] / n,
                  h[3] / n);
    }
}

int main() {
  int sms = 0;
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  unsigned long long* out = nullptr;
  cudaMalloc(&out, 16 * sizeof(unsigned long long));
  run<1>(sms, out);
  run<2>(sms, out);
  const cudaError_t err = cudaDeviceSynchronize();
  if (err != cudaSuccess) std::printf("CUDA error: %s\n", cudaGetErrorString(err));
  cudaFree(out);
  return err == cudaSuccess ? 0 : 1;
}
