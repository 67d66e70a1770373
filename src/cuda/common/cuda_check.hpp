// src/cuda/common/cuda_check.hpp -- layer: cuda/common. Error checks for CUDA runtime calls and launches.
// Every runtime call goes through GNA_CUDA_CHECK; every launch is followed by GNA_CUDA_CHECK_LAUNCH.
// Failures throw gna::RuntimeError naming the call, file and line (never abort, never silently pass).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "gna/error.hpp"

namespace gna::cuda {

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess)
    throw RuntimeError(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                       "): " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}

}  // namespace gna::cuda

#define GNA_CUDA_CHECK(call) ::gna::cuda::check((call), #call, __FILE__, __LINE__)
#define GNA_CUDA_CHECK_LAUNCH(name) ::gna::cuda::check(cudaGetLastError(), name, __FILE__, __LINE__)
