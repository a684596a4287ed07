// The production LayerNorm's arithmetic (tier 3), shared by layerNormFastKernel and the decode GEMM's
// fused LayerNorm so that the two give the same bits: a row of `cols` held by a warp, lane ℓ holding
// its elements ℓ, ℓ + 32, ℓ + 64, … (P of them, zero past the row) and adding them in groups of 8 then
// pairwise (laneSum: a short dependent chain), the 32 lane sums added by a butterfly of shuffles;
//   mean = Σx / cols;  rstd = rsqrt(Σ(x − mean)² / cols + eps);  y = (x − mean) · rstd · γ' + β
// (γ' = γ + 1 for NeMo's layernorm1p, β = 0 without a bias), in fp32, rounded once to the output
// dtype. The kernels build with -fmad=false, so these expressions compile to the same operations
// wherever they are used. Elements past `cols` add +0, which changes no sum.
#pragma once
#include <cuda_runtime.h>

namespace trt {

/**
 * 0 + Σ f(i) for i in [0, P), P a power of two ≥ 8: serially within each group of 8 consecutive i,
 * then the groups pairwise ((g0 + g1) + (g2 + g3)) + … — a dependent chain of 7 + log₂(P/8)
 * additions instead of P, and no array. With f zero past the row a larger P gives the same bits (the
 * extra groups are +0; the leading 0 + turns a −0 into +0), so kernels that hold a row in arrays of
 * different P agree.
 */
template <int P, typename F>
__device__ __forceinline__ float laneSum(F f) {
  static_assert(P >= 8 && (P & (P - 1)) == 0, "P a power of two, at least 8");
  float g[P / 8];
#pragma unroll
  for (int j = 0; j < P / 8; j++) {
    float s = f(8 * j);
#pragma unroll
    for (int i = 1; i < 8; i++) s = s + f(8 * j + i);
    g[j] = s;
  }
#pragma unroll
  for (int w = 1; w < P / 8; w *= 2) {
#pragma unroll
    for (int j = 0; j < P / 8; j += 2 * w) g[j] = g[j] + g[j + w];
  }
  return 0.f + g[0];
}

/** The sum of v over the 32 lanes of a warp (xor butterfly: every lane gets the same bits). */
__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/** The row's mean from the lane sums (every lane of the warp calls it). */
__device__ __forceinline__ float lnMean(float laneSum, int cols) { return warpSum(laneSum) / (float)cols; }

/** 1 / √(variance + eps) from the lane sums of (x − mean)² (every lane of the warp calls it). */
__device__ __forceinline__ float lnRstd(float laneSquares, int cols, float eps) { return rsqrtf(warpSum(laneSquares) / (float)cols + eps); }

/**
 * mean and rstd of a row from the lane's P elements v (zero past the row): laneSum of v, then of the
 * squared deviations (zero past the row). Every lane of the warp calls it.
 */
template <int P>
__device__ __forceinline__ void lnRowStats(const float (&v)[P], int lane, int cols, float eps, float& mean, float& rstd) {
  mean = lnMean(laneSum<P>([&](int i) { return v[i]; }), cols);
  rstd = lnRstd(laneSum<P>([&](int i) {
                  const float d = lane + 32 * i < cols ? v[i] - mean : 0.f;
                  return d * d;
                }), cols, eps);
}

/** One normalized element, before rounding. */
__device__ __forceinline__ float lnApply(float x, float mean, float rstd, float gamma, float beta, bool weightPlusOne) {
  return (x - mean) * rstd * (weightPlusOne ? gamma + 1.f : gamma) + beta;
}

}  // namespace trt
