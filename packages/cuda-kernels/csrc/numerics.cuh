// Device numerics, op for op the same as @trtllm/ref-math/src/numerics (read those headers for the
// specs): fp32 ops with explicit round-to-nearest intrinsics (the build also passes -fmad=false),
// the minifloat conversions on binary32 bit patterns, int8 quantization, and the specified
// transcendentals with the same constants. Denormals are kept (no -ftz).
#pragma once
#include <cuda_fp16.h>
#include <stdint.h>

#include "common.h"

namespace trt {

__device__ __forceinline__ float fadd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float fsub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float fmul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float fdiv(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float fsqrt(float a) { return __fsqrt_rn(a); }

// ---- minifloat conversions (minifloat.ts) ----
// fromBinary32Bits for a format of EB exponent and MB mantissa bits; INF: IEEE infinities (else saturating).
template <int EB, int MB, bool INF, uint32_t NAN_BITS>
__device__ __forceinline__ uint32_t roundToMiniFloat(float x) {
  constexpr int bias = (1 << (EB - 1)) - 1;
  constexpr int minNormalExp = 1 - bias;
  constexpr uint32_t allOnes = (1u << EB) - 1;
  constexpr uint32_t maxBits = INF ? (((allOnes - 1) << MB) | ((1u << MB) - 1)) : ((allOnes << MB) | ((1u << MB) - 2));
  constexpr uint32_t overflowBits = INF ? (allOnes << MB) : maxBits;
  if (isnan(x)) return NAN_BITS;
  const uint32_t b = __float_as_uint(x);
  const uint32_t signBit = (b >> 31) << (EB + MB);
  const int exp = (b >> 23) & 0xff;
  if (exp == 0xff) return signBit | overflowBits;
  const int unbiased = exp == 0 ? -126 : exp - 127;
  const uint32_t sig = exp == 0 ? (b & 0x7fffffu) : ((b & 0x7fffffu) | 0x800000u);
  const int e = unbiased > minNormalExp ? unbiased : minNormalExp;
  const int shift = e - MB - unbiased + 23;
  if (shift > 25) return signBit;
  const uint32_t half = 1u << (shift - 1);
  const uint32_t rem = sig & ((half << 1) - 1);
  uint32_t q = sig >> shift;
  if (rem > half || (rem == half && (q & 1u))) q += 1;
  const uint32_t magnitude = q < (1u << MB) ? q : ((uint32_t)(e + bias) << MB) + q - (1u << MB);
  return signBit | (magnitude > maxBits ? overflowBits : magnitude);
}

__device__ __forceinline__ uint16_t toF16Bits(float x) { return (uint16_t)roundToMiniFloat<5, 10, true, 0x7e00u>(x); }
__device__ __forceinline__ uint8_t toFp8Bits(float x) { return (uint8_t)roundToMiniFloat<4, 3, false, 0x7fu>(x); }
__device__ __forceinline__ uint16_t toBf16Bits(float x) {
  if (isnan(x)) return 0x7fc0u;
  const uint32_t b = __float_as_uint(x);
  return (uint16_t)(((b + 0x7fffu + ((b >> 16) & 1u)) >> 16) & 0xffffu);
}
__device__ __forceinline__ float fromF16Bits(uint16_t b) { return __half2float(__ushort_as_half(b)); }
__device__ __forceinline__ float fromBf16Bits(uint16_t b) { return __uint_as_float((uint32_t)b << 16); }
__device__ __forceinline__ float fromFp8Bits(uint8_t b) {
  const int exp = (b >> 3) & 0xf;
  const int man = b & 7;
  const float sign = (b & 0x80) ? -1.f : 1.f;
  if (exp == 15 && man == 7) return __int_as_float(0x7fc00000);
  const float mag = exp == 0 ? ldexpf((float)man, -9) : ldexpf((float)(8 + man), exp - 10);  // exact
  return sign * mag;
}

// ---- element access by runtime dtype: one kernel body serves every dtype (a warp-uniform branch) ----
__host__ __device__ __forceinline__ size_t dtypeSize(DType d) { return d == DType::F32 || d == DType::I32 ? 4 : (d == DType::F16 || d == DType::BF16) ? 2 : 1; }

__device__ __forceinline__ float loadf(DType d, const void* p, size_t i) {
  switch (d) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::F16: return fromF16Bits(static_cast<const uint16_t*>(p)[i]);
    case DType::BF16: return fromBf16Bits(static_cast<const uint16_t*>(p)[i]);
    case DType::FP8E4M3: return fromFp8Bits(static_cast<const uint8_t*>(p)[i]);
    case DType::I8: return (float)static_cast<const int8_t*>(p)[i];
    default: return (float)static_cast<const int32_t*>(p)[i];
  }
}
// Round v once to dtype d and store it (float dtypes; ints are written by their own ops).
__device__ __forceinline__ void storef(DType d, void* p, size_t i, float v) {
  switch (d) {
    case DType::F32: static_cast<float*>(p)[i] = v; break;
    case DType::F16: static_cast<uint16_t*>(p)[i] = toF16Bits(v); break;
    case DType::BF16: static_cast<uint16_t*>(p)[i] = toBf16Bits(v); break;
    case DType::FP8E4M3: static_cast<uint8_t*>(p)[i] = toFp8Bits(v); break;
    default: break;
  }
}
// v rounded to dtype d and back (what a later op reads after storing v as d).
__device__ __forceinline__ float roundTo(DType d, float v) {
  switch (d) {
    case DType::F16: return fromF16Bits(toF16Bits(v));
    case DType::BF16: return fromBf16Bits(toBf16Bits(v));
    case DType::FP8E4M3: return fromFp8Bits(toFp8Bits(v));
    default: return v;
  }
}

// ---- int8 (int8.ts): sat_s8(rni(fp32(x · scale))), NaN → 0 ----
__device__ __forceinline__ int8_t quantizeInt8(float x, float scale) {
  const float p = fmul(x, scale);
  if (isnan(p)) return 0;
  const float r = rintf(p);  // half to even
  return (int8_t)(r < -128.f ? -128.f : r > 127.f ? 127.f : r);
}

// ---- transcendentals (transcendental.ts) ----
__device__ __forceinline__ float exp2i(int k) { return __int_as_float((k + 127) << 23); }  // 2^k, −126 ≤ k ≤ 127

__device__ __forceinline__ float scaleByPow2(float x, int n) {
  if (n > 127) return fmul(fmul(x, exp2i(127)), exp2i(n - 127));
  if (n < -126) return fmul(fmul(x, exp2i(n + 64)), exp2i(-64));
  return fmul(x, exp2i(n));
}

__device__ __forceinline__ float expF32(float x) {
  if (isnan(x)) return x;
  if (x > 89.f) return __int_as_float(0x7f800000);
  if (x < -104.f) return 0.f;
  const float n = rintf(fmul(x, 1.4426950216293335f));
  const float r = fsub(fsub(x, fmul(n, 0.693145751953125f)), fmul(n, 0.000001428606765330187f));
  float p = 0.00019841270113829523f;
  p = fadd(fmul(p, r), 0.0013888889225199819f);
  p = fadd(fmul(p, r), 0.008333333767950535f);
  p = fadd(fmul(p, r), 0.0416666679084301f);
  p = fadd(fmul(p, r), 0.1666666716337204f);
  p = fadd(fmul(p, r), 0.5f);
  p = fadd(1.f, fadd(r, fmul(fmul(r, r), p)));
  return scaleByPow2(p, (int)n);
}

__device__ __forceinline__ float tanhF32(float x) {
  if (isnan(x) || x == 0.f) return x;
  const float a = fabsf(x);
  if (a < 0.625f) {
    const float z = fmul(x, x);
    float p = 0.0000969153770711273f;
    p = fadd(fmul(p, z), -0.0002391291200183332f);
    p = fadd(fmul(p, z), 0.0005900274263694882f);
    p = fadd(fmul(p, z), -0.0014558343682438135f);
    p = fadd(fmul(p, z), 0.0035921279340982437f);
    p = fadd(fmul(p, z), -0.0088632358238101f);
    p = fadd(fmul(p, z), 0.021869488060474396f);
    p = fadd(fmul(p, z), -0.05396825447678566f);
    p = fadd(fmul(p, z), 0.13333334028720856f);
    p = fadd(fmul(p, z), -0.3333333432674408f);
    return fadd(x, fmul(fmul(x, z), p));
  }
  const float e = expF32(fmul(2.f, a));
  const float t = fsub(1.f, fdiv(2.f, fadd(e, 1.f)));
  return x < 0.f ? -t : t;
}

__device__ __forceinline__ float geluF32(float x) {
  const float x3 = fmul(fmul(x, x), x);
  const float u = fmul(0.7978845834732056f, fadd(x, fmul(0.044714998453855515f, x3)));
  return fmul(fmul(0.5f, x), fadd(1.f, tanhF32(u)));
}

__device__ __forceinline__ float siluF32(float x) { return fdiv(x, fadd(1.f, expF32(-x))); }

}  // namespace trt
