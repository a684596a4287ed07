// Element access with the storage dtype known at compile time, for the production kernels (tier 3):
// no per-element dtype switch, so the compiler issues a tile's loads together instead of one round
// trip per element. Conversions round to nearest even, as numerics.cuh (same results). One kernel
// body, instantiated per activation dtype through TRT_DISPATCH_ACT.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

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

}  // namespace trt

// Call BODY with `D` bound to the activation dtype `dt` (f32, f16, bf16); anything else throws.
#define TRT_DISPATCH_ACT(dt, what, ...)                                                                          \
  switch (dt) {                                                                                                  \
    case ::trt::DType::F32: { constexpr ::trt::DType D = ::trt::DType::F32; __VA_ARGS__; break; }                \
    case ::trt::DType::F16: { constexpr ::trt::DType D = ::trt::DType::F16; __VA_ARGS__; break; }                \
    case ::trt::DType::BF16: { constexpr ::trt::DType D = ::trt::DType::BF16; __VA_ARGS__; break; }              \
    default: throw ::trt::CudaError(std::string(what) + ": dtype code " + std::to_string((int)(dt)) + " (f32, f16 or bf16)"); \
  }
