// Element access with the storage dtype known at compile time, for the production kernels (tier 3):
// no per-element dtype switch, so the compiler issues a tile's loads together instead of one round
// trip per element. Conversions round to nearest even, as numerics.cuh (same results). One kernel
// body, instantiated per activation dtype through TRT_DISPATCH_ACT.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "numerics.cuh"

namespace trt {

template <DType D> struct Io;
template <> struct Io<DType::F32> {
  using Storage = float;
  static constexpr int kVec = 4;  // elements per 16-byte load
  __device__ __forceinline__ static float load(const void* p, size_t i) { return static_cast<const float*>(p)[i]; }
  __device__ __forceinline__ static void store(void* p, size_t i, float v) { static_cast<float*>(p)[i] = v; }
  __device__ __forceinline__ static void load16(const void* p, size_t i, float* out) {
    const float4 v = *reinterpret_cast<const float4*>(static_cast<const float*>(p) + i);
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
  }
};
template <> struct Io<DType::F16> {
  using Storage = __half;
  static constexpr int kVec = 8;
  __device__ __forceinline__ static float load(const void* p, size_t i) { return __half2float(static_cast<const __half*>(p)[i]); }
  __device__ __forceinline__ static void store(void* p, size_t i, float v) { static_cast<__half*>(p)[i] = __float2half_rn(v); }
  __device__ __forceinline__ static void load16(const void* p, size_t i, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(static_cast<const __half*>(p) + i);
    const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
    for (int k = 0; k < 4; k++) {
      const float2 f = __half22float2(h[k]);
      out[2 * k] = f.x, out[2 * k + 1] = f.y;
    }
  }
};
template <> struct Io<DType::BF16> {
  using Storage = __nv_bfloat16;
  static constexpr int kVec = 8;
  __device__ __forceinline__ static float load(const void* p, size_t i) { return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]); }
  __device__ __forceinline__ static void store(void* p, size_t i, float v) { static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); }
  __device__ __forceinline__ static void load16(const void* p, size_t i, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(static_cast<const __nv_bfloat16*>(p) + i);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int k = 0; k < 4; k++) {
      const float2 f = __bfloat1622float2(h[k]);
      out[2 * k] = f.x, out[2 * k + 1] = f.y;
    }
  }
};

// Quantized KV-cache storage, read only (the cache write is kvStore, kv-cache.cuh): raw values
// (int8 as an integer, e4m3 exactly, through fp16), the caller applies the scale. 16 per 16-byte load.
// int8 → float without the slow integer-to-float conversion: x + 128 placed in the low byte of the
// float 1.5·2^23 (one byte permute), minus 1.5·2^23 + 128 (one exact add) is x itself.
template <> struct Io<DType::I8> {
  using Storage = int8_t;
  static constexpr int kVec = 16;
  __device__ __forceinline__ static float load(const void* p, size_t i) { return (float)static_cast<const int8_t*>(p)[i]; }
  __device__ __forceinline__ static void load16(const void* p, size_t i, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(static_cast<const int8_t*>(p) + i);
    const uint32_t w[4] = {raw.x ^ 0x80808080u, raw.y ^ 0x80808080u, raw.z ^ 0x80808080u, raw.w ^ 0x80808080u};
#pragma unroll
    for (int k = 0; k < 4; k++)
#pragma unroll
      for (int b = 0; b < 4; b++) out[4 * k + b] = __uint_as_float(__byte_perm(w[k], 0x4B400000u, 0x7650u | b)) - 12583040.f;
  }
};
template <> struct Io<DType::FP8E4M3> {
  using Storage = uint8_t;
  static constexpr int kVec = 16;
  __device__ __forceinline__ static float load(const void* p, size_t i) { return fromFp8Bits(static_cast<const uint8_t*>(p)[i]); }
  __device__ __forceinline__ static void load16(const void* p, size_t i, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(p) + i);
    const __nv_fp8x2_storage_t* pairs = reinterpret_cast<const __nv_fp8x2_storage_t*>(&raw);
#pragma unroll
    for (int k = 0; k < 8; k++) {  // e4m3 → fp16 is exact (every e4m3 value, subnormals included, is an fp16)
      const float2 f = __half22float2(__half2(__nv_cvt_fp8x2_to_halfraw2(pairs[k], __NV_E4M3)));
      out[2 * k] = f.x, out[2 * k + 1] = f.y;
    }
  }
};

}  // namespace trt

// Call BODY with `D` bound to the activation dtype `dt` (f32, f16, bf16); anything else throws.
#define TRT_DISPATCH_ACT(dt, what, ...)                                                                          \
  switch (dt) {                                                                                                  \
    case ::trt::DType::F32: { constexpr ::trt::DType D = ::trt::DType::F32; __VA_ARGS__; break; }                \
    case ::trt::DType::F16: { constexpr ::trt::DType D = ::trt::DType::F16; __VA_ARGS__; break; }                \
    case ::trt::DType::BF16: { constexpr ::trt::DType D = ::trt::DType::BF16; __VA_ARGS__; break; }              \
    default: throw ::trt::CudaError(std::string(what) + ": dtype code " + std::to_string((int)(dt)) + " (f32, f16 or bf16)"); \
  }
