// The SmoothQuant epilogue of one output element, shared by every kernel that finishes an int32
// accumulator (int8-gemm.cu's reference and epilogue kernels, int8-gemm-decode.cu), so that all of
// them run the oracle's operation sequence (ref-math ops/int8-gemm.ts) and round where it rounds:
//   y = T(fp32(acc) · fp32(αcol · αrow)),  y = T(y + bias),  y = T(gelu(y)),  out = T(residual + y).
#pragma once
#include "numerics.cuh"

namespace trt {

/** y = T(fp32(acc)·fp32(αcol·αrow)), then + bias in T (returned as the float value of T). */
__device__ __forceinline__ float dequantAcc(int32_t acc, const float* alphaRow, const float* alphaCol, const void* bias, int i, int j, bool perToken, bool perChannel, DType d) {
  const float alpha = fmul(alphaCol[perChannel ? j : 0], alphaRow[perToken ? i : 0]);
  float y = roundTo(d, fmul(__int2float_rn(acc), alpha));
  if (bias) y = roundTo(d, fadd(y, loadf(d, bias, j)));
  return y;
}

/** The whole epilogue of output (i, j) of an [M, N] result (row-major, `at` = i·N + j), row i's αrow given, stored once as T. */
__device__ __forceinline__ void smoothQuantFinishRow(int32_t acc, float rowAlpha, const float* alphaCol, const void* bias, const void* residual, void* out, int j, size_t at,
                                                     bool perChannel, bool gelu, DType d) {
  const float alpha = fmul(alphaCol[perChannel ? j : 0], rowAlpha);
  float y = roundTo(d, fmul(__int2float_rn(acc), alpha));
  if (bias) y = roundTo(d, fadd(y, loadf(d, bias, j)));
  if (gelu) y = roundTo(d, geluF32(y));
  if (residual) y = fadd(loadf(d, residual, at), y);
  storef(d, out, at, y);
}

/** The same with αrow read from alphaRow ([M] per token, else [1]). */
__device__ __forceinline__ void smoothQuantFinish(int32_t acc, const float* alphaRow, const float* alphaCol, const void* bias, const void* residual, void* out, int i, int j, size_t at,
                                                  bool perToken, bool perChannel, bool gelu, DType d) {
  smoothQuantFinishRow(acc, alphaRow[perToken ? i : 0], alphaCol, bias, residual, out, j, at, perChannel, gelu, d);
}

}  // namespace trt
