// src/cpu/cpu_kernel.hpp -- layer: backend (cpu), internal. The inner loops of the CPU forward: row
// conversion between storage dtypes and the accumulator type, dot / axpy / weighted row sums, the
// query-tile versions (kTile queries share each K / V row load: tile_scores, tile_weighted_rows) and an
// in-place exp. Float paths use GCC/Clang vector extensions (16-float vectors: one AVX-512 register, two
// AVX2 ones) so accumulators stay in registers; generic templates serve the double (fp64) path.
//
// Invariants: functions are header-only and GNA_CPU_INLINE so they inline into each SIMD clone of the
// kernel (cpu_attention.cpp); float exp_inplace is accurate to a few ulp for x <= 0 and returns exactly
// 0 for x < -87.3 (including -inf: masked keys); the double path uses std::exp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "gna/numeric.hpp"
#include "gna/tensor.hpp"

#if defined(__GNUC__)
#define GNA_CPU_INLINE inline __attribute__((always_inline))
#else
#define GNA_CPU_INLINE inline
#endif

namespace gna::cpu::kernel {

// Lanes of the partial sums of dot(): 16 floats (one AVX-512 register, two AVX2 ones), 8 doubles.
template <class Acc>
constexpr int kLanes = 64 / int(sizeof(Acc));

// sum_i a[i] * b[i], with kLanes independent partial sums (vectorizes without -ffast-math). The float
// version uses GCC/Clang vector extensions so the 16 lanes stay in registers and the final horizontal
// sum is a shuffle tree.
template <class Acc>
GNA_CPU_INLINE Acc dot(const Acc* __restrict a, const Acc* __restrict b, int64_t n) {
  constexpr int L = kLanes<Acc>;
  Acc acc[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) acc[l] += a[i + l] * b[i + l];
  for (int l = 0; i + l < n; ++l) acc[l] += a[i + l] * b[i + l];
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}
#if defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 12)
typedef float F16 __attribute__((vector_size(64)));
typedef float F8 __attribute__((vector_size(32)));
typedef float F4 __attribute__((vector_size(16)));
GNA_CPU_INLINE F16 load16(const float* p) {
  F16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
GNA_CPU_INLINE void store16(float* p, F16 v) { std::memcpy(p, &v, sizeof v); }
template <>
GNA_CPU_INLINE float dot<float>(const float* __restrict a, const float* __restrict b, int64_t n) {
  F16 acc0 = {}, acc1 = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 += load16(a + i) * load16(b + i);
    acc1 += load16(a + i + 16) * load16(b + i + 16);
  }
  if (i + 16 <= n) {
    acc0 += load16(a + i) * load16(b + i);
    i += 16;
  }
  acc0 += acc1;
  const F8 h8 = __builtin_shufflevector(acc0, acc0, 0, 1, 2, 3, 4, 5, 6, 7) +
                __builtin_shufflevector(acc0, acc0, 8, 9, 10, 11, 12, 13, 14, 15);
  const F4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
  float s = (h4[0] + h4[2]) + (h4[1] + h4[3]);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}
#endif

// y[i] += alpha * x[i].
template <class Acc>
GNA_CPU_INLINE void axpy(Acc alpha, const Acc* __restrict x, Acc* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// Columns [c, c + W) of o = sum_j p[j] v[key[j]], accumulated in W registers while the keys stream by.
template <int W, class Acc>
GNA_CPU_INLINE void weighted_block(const Acc* __restrict p, const int64_t* __restrict key, int64_t n,
                                   const Acc* __restrict v, int64_t dv, int64_t c, Acc* __restrict o) {
  Acc acc[W] = {};
  for (int64_t j = 0; j < n; ++j) {
    const Acc* row = v + key[j] * dv + c;
    const Acc w = p[j];
    for (int l = 0; l < W; ++l) acc[l] += w * row[l];
  }
  for (int l = 0; l < W; ++l) o[c + l] = acc[l];
}

// Columns [c, dv) of the same sum (fewer than 16), one axpy per key.
template <class Acc>
GNA_CPU_INLINE void weighted_tail(const Acc* __restrict p, const int64_t* __restrict key, int64_t n,
                                  const Acc* __restrict v, int64_t dv, int64_t c, Acc* __restrict o) {
  if (c == dv) return;
  for (int64_t i = c; i < dv; ++i) o[i] = 0;
  for (int64_t j = 0; j < n; ++j) axpy(p[j], v + key[j] * dv + c, o + c, dv - c);
}

// o[0, dv) = sum_j p[j] * v[key[j] * dv + (0, dv)]: the accumulator is held in registers per chunk of
// 64 (then 16) columns while the keys stream by, instead of a load/store of o per key.
template <class Acc>
GNA_CPU_INLINE void weighted_rows(const Acc* __restrict p, const int64_t* __restrict key, int64_t n,
                                  const Acc* __restrict v, int64_t dv, Acc* __restrict o) {
  int64_t c = 0;
  for (; c + 64 <= dv; c += 64) weighted_block<64>(p, key, n, v, dv, c, o);
  for (; c + 16 <= dv; c += 16) weighted_block<16>(p, key, n, v, dv, c, o);
  weighted_tail(p, key, n, v, dv, c, o);
}

#if defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 12)
template <>
GNA_CPU_INLINE void weighted_rows<float>(const float* __restrict p, const int64_t* __restrict key, int64_t n,
                                         const float* __restrict v, int64_t dv, float* __restrict o) {
  int64_t c = 0;
  for (; c + 64 <= dv; c += 64) {
    // Two accumulator sets (even / odd keys): eight independent FMA chains hide the FMA latency.
    F16 a0 = {}, a1 = {}, a2 = {}, a3 = {}, b0 = {}, b1 = {}, b2 = {}, b3 = {};
    int64_t j = 0;
    for (; j + 2 <= n; j += 2) {
      const float* row = v + key[j] * dv + c;
      const float* row2 = v + key[j + 1] * dv + c;
      const float w = p[j], w2 = p[j + 1];
      a0 += w * load16(row);
      a1 += w * load16(row + 16);
      a2 += w * load16(row + 32);
      a3 += w * load16(row + 48);
      b0 += w2 * load16(row2);
      b1 += w2 * load16(row2 + 16);
      b2 += w2 * load16(row2 + 32);
      b3 += w2 * load16(row2 + 48);
    }
    if (j < n) {
      const float* row = v + key[j] * dv + c;
      const float w = p[j];
      a0 += w * load16(row);
      a1 += w * load16(row + 16);
      a2 += w * load16(row + 32);
      a3 += w * load16(row + 48);
    }
    store16(o + c, a0 + b0);
    store16(o + c + 16, a1 + b1);
    store16(o + c + 32, a2 + b2);
    store16(o + c + 48, a3 + b3);
  }
  for (; c + 16 <= dv; c += 16) {
    F16 a0 = {};
    for (int64_t j = 0; j < n; ++j) a0 += p[j] * load16(v + key[j] * dv + c);
    store16(o + c, a0);
  }
  weighted_tail(p, key, n, v, dv, c, o);
}
#endif

// ---- query tiles: kTile queries share every K / V row load -----------------------------------------

constexpr int kTile = 4;

// s[qq * ns + j] = dot(q + qq * d, k + key[j] * d) for the kTile query rows qq and keys j in [0, n).
template <class Acc>
GNA_CPU_INLINE void tile_scores(const Acc* __restrict q, const Acc* __restrict k, const int64_t* __restrict key,
                                int64_t n, int64_t d, Acc* __restrict s, int64_t ns) {
  for (int64_t j = 0; j < n; ++j)
    for (int qq = 0; qq < kTile; ++qq) s[qq * ns + j] = dot(q + qq * d, k + key[j] * d, d);
}

// o[qq * dv + (0, dv)] = sum_j p[qq * ns + j] * v[key[j] * dv + (0, dv)] for the kTile query rows.
template <class Acc>
GNA_CPU_INLINE void tile_weighted_rows(const Acc* __restrict p, int64_t ns, const int64_t* __restrict key, int64_t n,
                                       const Acc* __restrict v, int64_t dv, Acc* __restrict o) {
  for (int qq = 0; qq < kTile; ++qq) weighted_rows(p + qq * ns, key, n, v, dv, o + qq * dv);
}

#if defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 12)
template <>
GNA_CPU_INLINE void tile_scores<float>(const float* __restrict q, const float* __restrict k,
                                       const int64_t* __restrict key, int64_t n, int64_t d, float* __restrict s,
                                       int64_t ns) {
  static_assert(kTile == 4, "the shuffle tree below reduces four sums");
  const int64_t d16 = d - d % 16;
  const float* q0 = q;
  const float* q1 = q + d;
  const float* q2 = q + 2 * d;
  const float* q3 = q + 3 * d;
  for (int64_t j = 0; j < n; ++j) {
    const float* kr = k + key[j] * d;
    F16 a = {}, b = {}, c = {}, e = {};
    for (int64_t i = 0; i < d16; i += 16) {
      const F16 x = load16(kr + i);
      a += load16(q0 + i) * x;
      b += load16(q1 + i) * x;
      c += load16(q2 + i) * x;
      e += load16(q3 + i) * x;
    }
    const F8 a8 = __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(a, a, 8, 9, 10, 11, 12, 13, 14, 15);
    const F8 b8 = __builtin_shufflevector(b, b, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(b, b, 8, 9, 10, 11, 12, 13, 14, 15);
    const F8 c8 = __builtin_shufflevector(c, c, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(c, c, 8, 9, 10, 11, 12, 13, 14, 15);
    const F8 e8 = __builtin_shufflevector(e, e, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(e, e, 8, 9, 10, 11, 12, 13, 14, 15);
    const F8 ab = __builtin_shufflevector(a8, b8, 0, 1, 2, 3, 8, 9, 10, 11) +
                  __builtin_shufflevector(a8, b8, 4, 5, 6, 7, 12, 13, 14, 15);
    const F8 ce = __builtin_shufflevector(c8, e8, 0, 1, 2, 3, 8, 9, 10, 11) +
                  __builtin_shufflevector(c8, e8, 4, 5, 6, 7, 12, 13, 14, 15);
    const F8 z = __builtin_shufflevector(ab, ce, 0, 1, 4, 5, 8, 9, 12, 13) +
                 __builtin_shufflevector(ab, ce, 2, 3, 6, 7, 10, 11, 14, 15);
    F4 r = __builtin_shufflevector(z, z, 0, 2, 4, 6) + __builtin_shufflevector(z, z, 1, 3, 5, 7);
    for (int64_t i = d16; i < d; ++i) {
      r[0] += q0[i] * kr[i];
      r[1] += q1[i] * kr[i];
      r[2] += q2[i] * kr[i];
      r[3] += q3[i] * kr[i];
    }
    s[j] = r[0];
    s[ns + j] = r[1];
    s[2 * ns + j] = r[2];
    s[3 * ns + j] = r[3];
  }
}

template <>
GNA_CPU_INLINE void tile_weighted_rows<float>(const float* __restrict p, int64_t ns, const int64_t* __restrict key,
                                              int64_t n, const float* __restrict v, int64_t dv,
                                              float* __restrict o) {
  const float* p0 = p;
  const float* p1 = p + ns;
  const float* p2 = p + 2 * ns;
  const float* p3 = p + 3 * ns;
  int64_t c = 0;
  for (; c + 64 <= dv; c += 64) {  // 16 accumulators (4 queries x 64 columns) stay in registers
    F16 a[4] = {}, b[4] = {}, e[4] = {}, f[4] = {};
    for (int64_t j = 0; j < n; ++j) {
      const float* row = v + key[j] * dv + c;
      const float w0 = p0[j], w1 = p1[j], w2 = p2[j], w3 = p3[j];
      for (int u = 0; u < 4; ++u) {
        const F16 x = load16(row + 16 * u);
        a[u] += w0 * x;
        b[u] += w1 * x;
        e[u] += w2 * x;
        f[u] += w3 * x;
      }
    }
    for (int u = 0; u < 4; ++u) {
      store16(o + c + 16 * u, a[u]);
      store16(o + dv + c + 16 * u, b[u]);
      store16(o + 2 * dv + c + 16 * u, e[u]);
      store16(o + 3 * dv + c + 16 * u, f[u]);
    }
  }
  for (; c + 16 <= dv; c += 16) {
    F16 a = {}, b = {}, e = {}, f = {};
    for (int64_t j = 0; j < n; ++j) {
      const F16 x = load16(v + key[j] * dv + c);
      a += p0[j] * x;
      b += p1[j] * x;
      e += p2[j] * x;
      f += p3[j] * x;
    }
    store16(o + c, a);
    store16(o + dv + c, b);
    store16(o + 2 * dv + c, e);
    store16(o + 3 * dv + c, f);
  }
  if (c < dv) {
    for (int qq = 0; qq < kTile; ++qq) {
      float* oq = o + qq * dv;
      for (int64_t i = c; i < dv; ++i) oq[i] = 0;
      for (int64_t j = 0; j < n; ++j) axpy(p[qq * ns + j], v + key[j] * dv + c, oq + c, dv - c);
    }
  }
}
#endif

// x[i] = exp(x[i]) for x[i] <= 0 (float: Cody-Waite range reduction + degree-6 polynomial, branch free).
GNA_CPU_INLINE void exp_inplace(float* __restrict x, int64_t n) {
  const float log2e = 1.44269504088896341f;
  const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to the nearest integer
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    v = v < -87.3f ? -87.3f : v;  // 2^-126 floor; NaN passes through unchanged
    const float t = v * log2e + magic;
    const float k = t - magic;     // round(v / ln 2)
    const float r = (v - k * ln2_hi) - k * ln2_lo;
    float p = 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    x[i] = x[i] < -87.3f ? 0.0f : p * scale;
  }
}
GNA_CPU_INLINE void exp_inplace(double* __restrict x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

// dst[i] = float/double(src[off + i]) for a row of n elements of a host tensor of dtype t.
template <class Acc>
inline void load_row(const void* data, DType t, int64_t off, int64_t n, Acc* __restrict dst) {
  switch (t) {
    case DType::f64: {
      const double* s = static_cast<const double*>(data) + off;
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Acc>(s[i]);
      break;
    }
    case DType::f32: {
      const float* s = static_cast<const float*>(data) + off;
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Acc>(s[i]);
      break;
    }
    case DType::f16: {
      const uint16_t* s = static_cast<const uint16_t*>(data) + off;
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Acc>(fp16_to_float(s[i]));
      break;
    }
    default: {  // bf16: the top half of a float, so a shift (vectorizes)
      const uint16_t* s = static_cast<const uint16_t*>(data) + off;
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Acc>(bf16_to_float(s[i]));
      break;
    }
  }
}

// dst[off + i] = src[i] rounded to dtype t (nearest even).
template <class Acc>
inline void store_row(void* data, DType t, int64_t off, int64_t n, const Acc* __restrict src) {
  switch (t) {
    case DType::f64: {
      double* d = static_cast<double*>(data) + off;
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<double>(src[i]);
      break;
    }
    case DType::f32: {
      float* d = static_cast<float*>(data) + off;
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(src[i]);
      break;
    }
    case DType::f16: {
      uint16_t* d = static_cast<uint16_t*>(data) + off;
      for (int64_t i = 0; i < n; ++i) d[i] = float_to_fp16(static_cast<float>(src[i]));
      break;
    }
    default: {
      uint16_t* d = static_cast<uint16_t*>(data) + off;
      for (int64_t i = 0; i < n; ++i) d[i] = float_to_bf16(static_cast<float>(src[i]));
      break;
    }
  }
}

}  // namespace gna::cpu::kernel
