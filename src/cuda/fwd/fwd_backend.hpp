// src/cuda/fwd/fwd_backend.hpp -- layer: backend (cuda). The fused-forward backend shared by "sm80" and
// "sm90": decides whether the kernel can run a validated call (and says why not), picks the N-d tile
// shapes (planner or caller), fills FwdParams and launches on the caller's stream. No host
// synchronisation, no workspace, no copies. `Arch` supplies the name, tile-table family, device rule and
// the compiled instances (src/cuda/sm80/backend.cpp, src/cuda/sm90/backend.cpp).
//
// Supported: CUDA tensors on a device the arch accepts, fp16/bf16, Dqk == Dv, head dim a multiple of 8 up
// to 256 (padded to the arch's bucket in registers, never in memory), 16-byte aligned pointers and strides
// that are multiples of 8 elements, per-axis extents below 2^31.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "core/backend.hpp"
#include "cuda/common/cuda_check.hpp"
#include "cuda/fwd/fwd_params.hpp"
#include "gna/na/tile_order.hpp"
#include "gna/na/tile_table.hpp"
#include "gna/sim.hpp"

namespace gna::cuda::fwd {


inline bool aligned16(const TensorView& t) {
  if (!t.defined() || t.numel() == 0) return true;
  if (reinterpret_cast<uintptr_t>(t.data) % 16 != 0) return false;
  for (int i = 0; i + 1 < t.ndim; ++i)
    if (t.shape[i] > 1 && t.stride[i] % 8 != 0) return false;
  return true;
}

inline int device_cc(int device) {
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) return 0;
  if (cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) return 0;
  return major * 10 + minor;
}

inline int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

// Copies [B, X0.., H] strides of a heads-last tensor into the kernel's 5-slot [B, X0, X1, X2, H] form.
inline void token_strides(const TensorView& t, int rank, int64_t (&out)[5]) {
  out[0] = t.stride[0];
  for (int d = 0; d < kMaxRank; ++d) out[1 + d] = d < rank ? t.stride[1 + d] : 0;
  out[4] = t.stride[1 + rank];
}

template <class Arch>
class FusedForwardBackend final : public detail::Backend {
 public:
  std::string name() const override { return Arch::kName; }

  BackendInfo info() const override {
    BackendInfo i{Arch::kName, false, false, ""};
    const int n = device_count();
    std::ostringstream os;
    os << Arch::kDescription << ", fp16/bf16, head dim <= 256 (multiple of 8), Dqk == Dv";
    if (!Arch::all_instances()) os << " [this build: bf16 / head dim 128 only]";
    if (n == 0) {
      os << "; unavailable: no CUDA device";
    } else {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) os << "; device 0: " << prop.name;
      i.available = Arch::device_ok(device_cc(0));
      if (!i.available) os << "; unavailable: needs " << Arch::kDeviceRule;
    }
    i.description = os.str();
    return i;
  }

  std::string forward_unsupported(const Problem& p, const ForwardTensors& t, const Options& o) const override {
    const std::string me = Arch::kName;
    if (t.q.device != DeviceKind::cuda) return me + " runs on CUDA tensors only";
    if (!Arch::device_ok(device_cc(t.q.device_index))) return me + " needs " + Arch::kDeviceRule;
    if (t.q.dtype != DType::f16 && t.q.dtype != DType::bf16)
      return me + " supports fp16 and bf16, got " + dtype_name(t.q.dtype);
    if (p.dim_qk != p.dim_v) return me + " needs dim_qk == dim_v (got " + std::to_string(p.dim_qk) + " and " +
                                   std::to_string(p.dim_v) + ")";
    if (p.dim_qk % 8 != 0 || p.dim_qk > 256)
      return me + " needs a head dim that is a multiple of 8 and at most 256, got " + std::to_string(p.dim_qk);
    const int bucket = Arch::head_dim_bucket(p.dim_qk);
    if (!Arch::instance_compiled(t.q.dtype, bucket))
      return me + ": no kernel for " + dtype_name(t.q.dtype) + " / head dim " +
             std::to_string(bucket) + " in this build (configure with -DGNA_CUDA_ALL_INSTANCES=ON)";
    int smem_optin = 0;
    cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, t.q.device_index);
    if (static_cast<size_t>(smem_optin) < Arch::smem_bytes(bucket))
      return me + ": head dim " + std::to_string(p.dim_qk) + " needs " + std::to_string(Arch::smem_bytes(bucket)) +
             " bytes of shared memory per block; this device allows " + std::to_string(smem_optin);
    for (const TensorView* v : {&t.q, &t.k, &t.v, &t.out, &t.extra_k, &t.extra_v})
      if (!aligned16(*v))
        return me + " needs 16-byte aligned data pointers and strides that are multiples of 8 elements";
    for (int d = 0; d < p.rank; ++d)
      if (p.extent[d] >= (int64_t(1) << 31)) return me + " needs per-axis extents below 2^31";
    std::string tile_error = check_tiles(p, o, bucket);
    if (!tile_error.empty()) return tile_error;
    const FwdParams fp = make_params(p, t, o, bucket);
    if (fp.q_tiles_total * p.batch * p.heads >= (int64_t(1) << 31))
      return me + ": more than 2^31 - 1 thread blocks (batch x heads x Q tiles)";
    return "";
  }

  void forward(const Problem& p, const ForwardTensors& t, const Options& o) const override {
    const int bucket = Arch::head_dim_bucket(p.dim_qk);
    const FwdParams fp = make_params(p, t, o, bucket);
    int current = 0;
    GNA_CUDA_CHECK(cudaGetDevice(&current));
    if (current != t.q.device_index) GNA_CUDA_CHECK(cudaSetDevice(t.q.device_index));
    Arch::dispatch(t.q.dtype, bucket, fp, static_cast<cudaStream_t>(o.stream));
    if (current != t.q.device_index) GNA_CUDA_CHECK(cudaSetDevice(current));
  }

  std::string backward_unsupported(const Problem&, const BackwardTensors&, const Options&) const override {
    return std::string(Arch::kName) + " has no backward kernel yet";
  }
  void backward(const Problem&, const BackwardTensors&, const Options&) const override {
    throw Error(std::string(Arch::kName) + " has no backward kernel yet");
  }

 private:
  // User tiles must factor the kernel's tile sizes; zeros mean "ask the planner".
  static std::string check_tiles(const Problem& p, const Options& o, int bucket) {
    for (const auto* tile : {&o.q_tile, &o.kv_tile}) {
      bool any = false;
      for (int d = 0; d < kMaxRank; ++d) any = any || (*tile)[d] != 0;
      if (!any) continue;
      int64_t prod = 1;
      for (int d = 0; d < p.rank; ++d) {
        if ((*tile)[d] < 1) return std::string(Arch::kName) + ": tile extents must be >= 1 on every axis";
        prod *= (*tile)[d];
      }
      const int64_t want = tile == &o.q_tile ? Arch::block_m(bucket) : kBlockN;
      if (prod != want)
        return std::string(Arch::kName) + ": the " + (tile == &o.q_tile ? "Q" : "KV") + " tile must hold " +
               std::to_string(want) + " tokens (product of per-axis extents), got " + std::to_string(prod);
    }
    return "";
  }

  static FwdParams make_params(const Problem& p, const ForwardTensors& t, const Options& o, int bucket) {
    FwdParams fp{};
    fp.q = t.q.data;
    fp.k = t.k.data;
    fp.v = t.v.data;
    fp.o = t.out.data;
    fp.lse = t.lse.defined() ? static_cast<float*>(t.lse.data) : nullptr;
    fp.extra_k = t.extra_k.defined() ? t.extra_k.data : nullptr;
    fp.extra_v = t.extra_v.defined() ? t.extra_v.data : nullptr;
    token_strides(t.q, p.rank, fp.q_stride);
    token_strides(t.k, p.rank, fp.k_stride);
    token_strides(t.v, p.rank, fp.v_stride);
    token_strides(t.out, p.rank, fp.o_stride);
    if (t.lse.defined()) token_strides(t.lse, p.rank, fp.lse_stride);
    for (int i = 0; i < 3; ++i) {
      fp.extra_k_stride[i] = t.extra_k.defined() ? t.extra_k.stride[i] : 0;
      fp.extra_v_stride[i] = t.extra_v.defined() ? t.extra_v.stride[i] : 0;
    }
    fp.batch = p.batch;
    fp.heads = p.heads;
    fp.kv_heads = p.kv_heads;
    fp.dim = p.dim_qk;
    fp.extra_kv = p.extra_kv;
    fp.scale_log2 = static_cast<float>(p.effective_scale() * 1.4426950408889634);

    const sim::Tiling tiling = choose_tiling(p, o, t.q.device_index);
    fp.q_tiles_total = 1;
    for (int d = 0; d < kMaxRank; ++d) {
      fp.axis[d] = d < p.rank ? p.axis(d) : na::AxisSpec{1, 1, 1, 1, false};
      fp.group_extent_max[d] = na::ceil_div(fp.axis[d].extent, fp.axis[d].dilation);
      fp.q_tile[d] = d < p.rank ? static_cast<int>(tiling.q_tile[d]) : 1;
      fp.kv_tile[d] = d < p.rank ? static_cast<int>(tiling.kv_tile[d]) : 1;
      fp.q_tiles[d] = na::ceil_div(fp.group_extent_max[d], fp.q_tile[d]);
      fp.q_tiles_total *= fp.q_tiles[d] * fp.axis[d].dilation;
      const int64_t dil = fp.axis[d].dilation;
      fp.q_step[d] = dil * fp.q_stride[1 + d];
      fp.k_step[d] = dil * fp.k_stride[1 + d];
      fp.v_step[d] = dil * fp.v_stride[1 + d];
      fp.o_step[d] = dil * fp.o_stride[1 + d];
      fp.lse_step[d] = dil * fp.lse_stride[1 + d];
    }
    const na::TileOrder order = tile_order(fp);
    for (int k = 0; k < kMaxRank; ++k) {
      const int64_t n = fp.q_tiles[order.axis[k]];
      fp.order_axis[k] = order.axis[k];
      fp.order_tiles[k] = static_cast<uint32_t>(n);
      fp.order_span[k] = static_cast<uint32_t>(na::level_span(order, k, n));
    }
    return fp;
  }

  // The order of the Q tiles (gna/na/tile_order.hpp): row-major over stride groups, the tiles of a group
  // together (the row-major order for every stride-1 problem). GNA_TILE_ORDER (forced_tile_order) overrides it.
  static na::TileOrder tile_order(const FwdParams& fp) {
    const ForcedOrder& forced = forced_tile_order();
    if (forced.set) return forced.order;
    na::GroupAxis axis[kMaxRank];
    int64_t q_tile[kMaxRank];
    for (int d = 0; d < kMaxRank; ++d) {
      axis[d] = na::group_axis(fp.axis[d], 0);
      q_tile[d] = fp.q_tile[d];
    }
    return na::stride_group_order(axis, q_tile);
  }

  // GNA_TILE_ORDER=AXES:SPANS (e.g. 021:8,2,1: levels axis 0, 2, 1 with spans 8, 2, 1; 012:0,0,0 is the
  // row-major order): a measurement switch, read once per process.
  struct ForcedOrder {
    bool set = false;
    na::TileOrder order;
  };
  static const ForcedOrder& forced_tile_order() {
    static const ForcedOrder forced = [] {
      ForcedOrder f;
      na::TileOrder& o = f.order;
      const char* v = std::getenv("GNA_TILE_ORDER");
      if (v == nullptr || *v == '\0') return f;
      if (std::strlen(v) < 4 || v[3] != ':')
        throw Error(std::string("GNA_TILE_ORDER: expected AXES:SPANS such as 021:8,2,1, got '") + v + "'");
      f.set = true;
      bool seen[kMaxRank] = {false, false, false};
      for (int k = 0; k < kMaxRank; ++k) {
        o.axis[k] = v[k] - '0';
        if (o.axis[k] < 0 || o.axis[k] >= kMaxRank || seen[o.axis[k]])
          throw Error(std::string("GNA_TILE_ORDER: the first three characters must be a permutation of 012, got '") + v + "'");
        seen[o.axis[k]] = true;
      }
      const char* c = v + 4;
      for (int k = 0; k < kMaxRank && *c; ++k) {
        o.span[k] = std::strtoll(c, const_cast<char**>(&c), 10);
        if (o.span[k] < 0) throw Error(std::string("GNA_TILE_ORDER: spans must be >= 0, got '") + v + "'");
        if (*c == ',') ++c;
      }
      return f;
    }();
    return forced;
  }

  // The simulator's cost model for this device class (Arch::cost_model picks the kernel's calibrated entry).
  // Looked up once per device (cudaGetDeviceProperties is slow): this runs on every forward call.
  static std::string arch_for_device(int device) {
    static std::mutex mutex;
    static std::map<int, std::string> known;
    std::lock_guard<std::mutex> lock(mutex);
    auto it = known.find(device);
    if (it != known.end()) return it->second;
    const int cc = device_cc(device);
    std::string card = cc == 89 ? "l40" : cc >= 90 ? "h100" : "a100";
    cudaDeviceProp prop{};
    if (cc >= 90 && cudaGetDeviceProperties(&prop, device) == cudaSuccess &&
        std::string(prop.name).find("H200") != std::string::npos)
      card = "h200";
    return known.emplace(device, Arch::cost_model(card)).first->second;
  }

  // Planning enumerates hundreds of tilings (~ms): memoise per problem shape, so repeated calls (every
  // layer of every step) pay one map lookup.
  static sim::Tiling cached_plan(const Problem& p, const std::string& arch) {
    static std::mutex mutex;
    static std::map<std::string, sim::Tiling> cache;
    std::ostringstream key;
    key << arch << '|' << p.describe() << '|' << p.extra_kv;
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key.str());
    if (it != cache.end()) return it->second;
    const sim::Tiling t = sim::plan(p, arch, DType::bf16, Arch::kFamily).tiling;
    if (cache.size() > 4096) cache.clear();
    cache.emplace(key.str(), t);
    return t;
  }

  // Tiles: the caller's (Options::q_tile / kv_tile, checked in check_tiles) or the planner's best tiling
  // of the arch's entries of the tile table.
  static sim::Tiling choose_tiling(const Problem& p, const Options& o, int device) {
    sim::Tiling tiling = cached_plan(p, arch_for_device(device));
    bool user_q = false, user_kv = false;
    for (int d = 0; d < p.rank; ++d) {
      user_q = user_q || o.q_tile[d] != 0;
      user_kv = user_kv || o.kv_tile[d] != 0;
    }
    for (int d = 0; d < p.rank; ++d) {
      if (user_q) tiling.q_tile[d] = o.q_tile[d];
      if (user_kv) tiling.kv_tile[d] = o.kv_tile[d];
    }
    return tiling;
  }
};

}  // namespace gna::cuda::fwd
