// src/cuda/sm90/tma_maps.cpp -- layer: cuda/sm90 (host). Builds the TMA tensor maps of tma_maps.hpp with
// the driver's cuTensorMapEncodeTiled, reached through the runtime's entry-point query (no libcuda link).
#include "cuda/sm90/tma_maps.hpp"

#include <cuda_runtime.h>
#include <cudaTypedefs.h>

#include <cstdint>

namespace gna::cuda::sm90 {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult status{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &status) != cudaSuccess ||
        status != cudaDriverEntryPointSuccess)
      ptr = nullptr;
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
  }();
  return fn;
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

// Byte stride of a dimension for the map: a size-1 dimension's stride is never used, so any legal value
// (a multiple of 16 below 2^40) stands in for it.
uint64_t dim_stride(int64_t elems, int64_t extent, uint64_t fallback) {
  return extent == 1 ? fallback : static_cast<uint64_t>(elems) * 2;
}

// Whether the byte strides of the dimensions that have more than one element are multiples of 16 below
// 2^40 (TMA's rule; strides of size-1 dimensions are never used).
bool strides_ok(const int64_t* stride, const int64_t* extent, int n) {
  for (int i = 0; i < n; ++i) {
    const uint64_t bytes = static_cast<uint64_t>(stride[i]) * 2;
    if (extent[i] > 1 && (bytes % 16 != 0 || bytes >= (uint64_t(1) << 40))) return false;
  }
  return true;
}

// Why a Q/K/V tensor cannot be described ("" when it can): alignment, contiguous heads, the TMA limits.
std::string check_tokens(const FwdParams& p, const void* data, const int64_t (&stride)[5], const int (&tile)[kMaxRank],
                         const char* name) {
  const std::string what = std::string(name) + ": ";
  if (!aligned16(data)) return what + "pointer not 16-byte aligned";
  if (stride[4] != p.dim) return what + "heads not contiguous (head stride != head dim)";
  for (int d = 0; d < kMaxRank; ++d) {
    const int64_t dil = p.axis[d].dilation;
    if (dil > 8) return what + "dilation above 8 (the TMA element-stride limit)";
    if (tile[d] * dil > 256) return what + "tile extent x dilation above 256 (the TMA box limit)";
  }
  const int64_t extents[4] = {p.batch, p.axis[0].extent, p.axis[1].extent, p.axis[2].extent};
  return strides_ok(stride, extents, 4) ? "" : what + "a token stride is not a multiple of 16 bytes";
}

std::string check_extra(const FwdParams& p, const void* data, const int64_t (&stride)[3], const char* name) {
  const std::string what = std::string(name) + ": ";
  if (!aligned16(data)) return what + "pointer not 16-byte aligned";
  if (stride[2] != p.dim) return what + "heads not contiguous (head stride != head dim)";
  const int64_t extents[2] = {p.batch, p.extra_kv};
  return strides_ok(stride, extents, 2) ? "" : what + "a token stride is not a multiple of 16 bytes";
}

// (H*D, X2, X1, X0, B) map of a Q/K/V tensor with `tile` boxes (tile * dilation elements traversed). With
// `halves_dim` = k > 0, dimension k (extent 1) is dropped and the head dim's 64-element halves (stride 128
// bytes) are appended, so a box holds every half, laid out half-major in shared memory as the kernel
// expects. The tensor passed check_tokens.
std::string encode_tokens(CUtensorMap& map, const FwdParams& p, const void* data, const int64_t (&stride)[5], int64_t heads,
                          const int (&tile)[kMaxRank], bool bf16, int halves_dim, const char* name) {
  const uint64_t row = static_cast<uint64_t>(heads * p.dim) * 2;
  cuuint64_t dims[5] = {static_cast<cuuint64_t>(heads * p.dim), static_cast<cuuint64_t>(p.axis[2].extent),
                        static_cast<cuuint64_t>(p.axis[1].extent), static_cast<cuuint64_t>(p.axis[0].extent),
                        static_cast<cuuint64_t>(p.batch)};
  cuuint64_t strides[4] = {dim_stride(stride[3], p.axis[2].extent, row), dim_stride(stride[2], p.axis[1].extent, row),
                           dim_stride(stride[1], p.axis[0].extent, row), dim_stride(stride[0], p.batch, row)};
  cuuint32_t box[5] = {64, 1, 1, 1, 1}, estride[5] = {1, 1, 1, 1, 1};
  for (int d = 0; d < kMaxRank; ++d) {
    box[3 - d] = static_cast<cuuint32_t>(tile[d] * p.axis[d].dilation);
    estride[3 - d] = static_cast<cuuint32_t>(p.axis[d].dilation);
  }
  if (halves_dim > 0) {  // drop dimension halves_dim (extent 1, box 1), append the halves
    for (int i = halves_dim; i < 4; ++i) {
      dims[i] = dims[i + 1];
      strides[i - 1] = strides[i];
      box[i] = box[i + 1];
      estride[i] = estride[i + 1];
    }
    dims[4] = static_cast<cuuint64_t>(p.dim / 64);
    strides[3] = 128;
    box[4] = static_cast<cuuint32_t>(p.dim / 64);
    estride[4] = 1;
  }
  const CUresult r = encoder()(&map, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 5,
                               const_cast<void*>(data), dims, strides, box, estride, CU_TENSOR_MAP_INTERLEAVE_NONE,
                               CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS ? "" : std::string(name) + ": cuTensorMapEncodeTiled failed (" + std::to_string(static_cast<int>(r)) + ")";
}

// (Hkv*D, Nx, B) map of an extra K/V tensor with (64, 64, 1) boxes. The tensor passed check_extra.
std::string encode_extra(CUtensorMap& map, const FwdParams& p, const void* data, const int64_t (&stride)[3], bool bf16,
                         const char* name) {
  const uint64_t row = static_cast<uint64_t>(p.kv_heads * p.dim) * 2;
  cuuint64_t dims[3] = {static_cast<cuuint64_t>(p.kv_heads * p.dim), static_cast<cuuint64_t>(p.extra_kv),
                        static_cast<cuuint64_t>(p.batch)};
  cuuint64_t strides[2] = {dim_stride(stride[1], p.extra_kv, row), dim_stride(stride[0], p.batch, row)};
  cuuint32_t box[3] = {64, static_cast<cuuint32_t>(kBlockN), 1}, estride[3] = {1, 1, 1};
  const CUresult r = encoder()(&map, bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 3,
                               const_cast<void*>(data), dims, strides, box, estride, CU_TENSOR_MAP_INTERLEAVE_NONE,
                               CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  return r == CUDA_SUCCESS ? "" : std::string(name) + ": cuTensorMapEncodeTiled failed (" + std::to_string(static_cast<int>(r)) + ")";
}

}  // namespace

int halves_dim(const FwdParams& p) {
  if (p.batch == 1) return 4;
  for (int k = 3; k >= 1; --k) {  // map dimension k is axis 3 - k (X0, X1, X2); its boxes must be 1 wide
    const int a = 3 - k;
    const int64_t dil = p.axis[a].dilation;
    if (p.axis[a].extent == 1 && p.q_tile[a] * dil == 1 && p.kv_tile[a] * dil == 1) return k;
  }
  return 0;
}

std::string tma_unsupported(const FwdParams& p, int head_dim) {
  if (p.dim != head_dim) return "head dim below the kernel's bucket (the box would read the next head)";
  std::string why = check_tokens(p, p.q, p.q_stride, p.q_tile, "q");
  if (why.empty()) why = check_tokens(p, p.k, p.k_stride, p.kv_tile, "k");
  if (why.empty()) why = check_tokens(p, p.v, p.v_stride, p.kv_tile, "v");
  if (why.empty() && p.extra_kv > 0) why = check_extra(p, p.extra_k, p.extra_k_stride, "extra_k");
  if (why.empty() && p.extra_kv > 0) why = check_extra(p, p.extra_v, p.extra_v_stride, "extra_v");
  return why;
}

std::string make_tma_maps(const FwdParams& p, bool bf16, int head_dim, TmaMaps& maps) {
  std::string why = tma_unsupported(p, head_dim);
  if (!why.empty()) return why;
  if (encoder() == nullptr) return "the driver has no cuTensorMapEncodeTiled";
  // One copy per tile instead of one per head-dim half wherever a dimension is free (batch 1, or an axis of
  // extent 1 as in every rank-1 and rank-2 problem): measured 2-14% faster on the H100 presets (fewer,
  // larger TMA copies).
  maps.halves_dim = halves_dim(p);
  why = encode_tokens(maps.q, p, p.q, p.q_stride, p.heads, p.q_tile, bf16, maps.halves_dim, "q");
  if (why.empty()) why = encode_tokens(maps.k, p, p.k, p.k_stride, p.kv_heads, p.kv_tile, bf16, maps.halves_dim, "k");
  if (why.empty()) why = encode_tokens(maps.v, p, p.v, p.v_stride, p.kv_heads, p.kv_tile, bf16, maps.halves_dim, "v");
  if (why.empty() && p.extra_kv > 0) why = encode_extra(maps.extra_k, p, p.extra_k, p.extra_k_stride, bf16, "extra_k");
  if (why.empty() && p.extra_kv > 0) why = encode_extra(maps.extra_v, p, p.extra_v, p.extra_v_stride, bf16, "extra_v");
  return why;
}

}  // namespace gna::cuda::sm90
