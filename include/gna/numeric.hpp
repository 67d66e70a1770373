// gna/numeric.hpp -- layer: api (host utilities). Host-side fp16 / bf16 <-> float conversion and typed
// scalar load/store over the four storage dtypes. Header-only; used by the reference backend, the CLI's
// .npy I/O and the tests.
//
// Invariants: float -> fp16/bf16 rounds to nearest, ties to even; overflow goes to +-Inf; NaN stays NaN
// (quiet, sign kept); Inf stays Inf; fp16 subnormals are produced and read exactly. Conversions from
// double go through float (a double-rounding tie can, very rarely, differ by one ulp from a direct
// double -> fp16 rounding; that is far below every test tolerance).
#pragma once

#include <cstdint>
#include <cstring>

#include "gna/tensor.hpp"

namespace gna {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE binary16 bits -> float (exact).
inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (man << 13));  // Inf / NaN (payload kept)
  if (exp == 0) {
    if (man == 0) return bits_float(sign);                                // +-0
    const float mag = float(man) * 5.9604644775390625e-8f;                // man * 2^-24, exact
    return sign ? -mag : mag;
  }
  return bits_float(sign | ((exp + 112u) << 23) | (man << 13));
}

// float -> IEEE binary16 bits, round to nearest even.
inline uint16_t float_to_fp16(float f) {
  const uint32_t x = float_bits(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) {                                // Inf or NaN
    if (ax == 0x7f800000u) return uint16_t(sign | 0x7c00u);
    return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // quiet NaN, top payload bits kept
  }
  if (ax >= 0x47800000u) return uint16_t(sign | 0x7c00u);  // >= 65536: overflow to Inf
  if (ax < 0x38800000u) {                                  // below 2^-14: fp16 subnormal or zero
    if (ax < 0x33000000u) return sign;                     // < 2^-25: rounds to zero
    const uint32_t e = ax >> 23;                           // 102..112
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;                       // 14..24
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) ++r;      // may carry into the smallest normal: correct
    return uint16_t(sign | r);
  }
  uint32_t h = (ax - 0x38000000u) >> 13;                   // rebias exponent 127 -> 15
  const uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // carry may reach 0x7c00 = Inf: correct
  return uint16_t(sign | h);
}

// bfloat16 bits -> float (exact).
inline float bf16_to_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }

// float -> bfloat16 bits, round to nearest even.
inline uint16_t float_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return uint16_t((x + rounding) >> 16);                   // Inf stays Inf; overflow rounds to Inf
}

// Rounds a value to what the dtype can store (the identity for fp64).
inline double round_to_dtype(double v, DType t) {
  switch (t) {
    case DType::f64: return v;
    case DType::f32: return double(float(v));
    case DType::f16: return double(fp16_to_float(float_to_fp16(float(v))));
    default: return double(bf16_to_float(float_to_bf16(float(v))));
  }
}

// Element `index` (in elements) of a host buffer of dtype t, widened to double.
inline double load_scalar(const void* data, DType t, int64_t index) {
  switch (t) {
    case DType::f64: return static_cast<const double*>(data)[index];
    case DType::f32: return static_cast<const float*>(data)[index];
    case DType::f16: return fp16_to_float(static_cast<const uint16_t*>(data)[index]);
    default: return bf16_to_float(static_cast<const uint16_t*>(data)[index]);
  }
}

// Stores v (rounded to nearest even) as element `index` of a host buffer of dtype t.
inline void store_scalar(void* data, DType t, int64_t index, double v) {
  switch (t) {
    case DType::f64: static_cast<double*>(data)[index] = v; break;
    case DType::f32: static_cast<float*>(data)[index] = float(v); break;
    case DType::f16: static_cast<uint16_t*>(data)[index] = float_to_fp16(float(v)); break;
    default: static_cast<uint16_t*>(data)[index] = float_to_bf16(float(v)); break;
  }
}

}  // namespace gna
