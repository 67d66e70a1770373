// src/testbed/device_buffer.hpp -- layer: test harness. An owning device copy of a contiguous host tensor
// (CUDA builds), used by check_case/bench_case. Without CUDA, constructing one throws gna::Error.
#pragma once

#include <cstring>
#include <utility>

#include "gna/api.hpp"
#ifdef GNA_HAVE_CUDA
#include <cuda_runtime.h>

#include "cuda/common/cuda_check.hpp"
#endif

namespace gna::testbed {

class DeviceBuffer {
 public:
  TensorView view;  // device view with the host tensor's shape and dtype

  DeviceBuffer() = default;
  explicit DeviceBuffer(const TensorView& host) {
#ifdef GNA_HAVE_CUDA
    view = host;
    view.device = DeviceKind::cuda;
    bytes_ = static_cast<size_t>(host.numel() * dtype_size(host.dtype));
    GNA_CUDA_CHECK(cudaMalloc(&ptr_, bytes_ > 0 ? bytes_ : 16));
    if (bytes_ > 0) GNA_CUDA_CHECK(cudaMemcpy(ptr_, host.data, bytes_, cudaMemcpyHostToDevice));
    view.data = ptr_;
#else
    (void)host;
    throw Error("this build has no CUDA support");
#endif
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(view, o.view);
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~DeviceBuffer() {
#ifdef GNA_HAVE_CUDA
    if (ptr_) cudaFree(ptr_);
#endif
  }
  // Copies the device contents back into a host tensor of the same size (synchronises the device).
  void download(const TensorView& host) const {
#ifdef GNA_HAVE_CUDA
    GNA_CUDA_CHECK(cudaDeviceSynchronize());
    if (bytes_ > 0) GNA_CUDA_CHECK(cudaMemcpy(host.data, ptr_, bytes_, cudaMemcpyDeviceToHost));
#else
    (void)host;
#endif
  }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace gna::testbed

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace gna::testbed {

// Runs fn `warmup` times, then back to back for `sustain_s` seconds of wall time (so that a card at its
// power limit has settled to the clock it holds under load: bench/README.md, session 17), then `reps`
// times each bracketed by CUDA events on the default stream; returns the per-call milliseconds.
inline std::vector<double> time_device_calls(const std::function<void()>& fn, int warmup, int reps,
                                             double sustain_s = 0) {
  std::vector<double> ms;
#ifdef GNA_HAVE_CUDA
  for (int i = 0; i < warmup; ++i) fn();
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < sustain_s) {
    fn();
    GNA_CUDA_CHECK(cudaStreamSynchronize(nullptr));
  }
  cudaEvent_t a, b;
  GNA_CUDA_CHECK(cudaEventCreate(&a));
  GNA_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < reps; ++i) {
    GNA_CUDA_CHECK(cudaEventRecord(a));
    fn();
    GNA_CUDA_CHECK(cudaEventRecord(b));
    GNA_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    GNA_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
#else
  (void)fn, (void)warmup, (void)reps, (void)sustain_s;
  throw Error("this build has no CUDA support");
#endif
  return ms;
}

inline std::string cuda_device_name_impl() {
#ifdef GNA_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    cudaGetLastError();
    return "";
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "";
  return prop.name;
#else
  return "";
#endif
}

}  // namespace gna::testbed
