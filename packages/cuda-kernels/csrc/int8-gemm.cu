// int8-gemm — exact int32 accumulation (two's-complement wrap, as the oracle), and the SmoothQuant
// epilogue y = cast_T(fp32(fp32(acc) · fp32(αcol·αrow))), then + bias in T (ref-math/src/ops/int8-gemm.ts).
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__device__ __forceinline__ int32_t int8Dot(const int8_t* a, const int8_t* b, int i, int j, int m, int n, int k, bool transB) {
  uint32_t acc = 0;  // unsigned: wrap-around is defined
  for (int kk = 0; kk < k; kk++) {
    const size_t bi = transB ? (size_t)j * k + kk : (size_t)kk * n + j;
    acc += (uint32_t)((int32_t)a[(size_t)i * k + kk] * (int32_t)b[bi]);
  }
  return (int32_t)acc;
}

__global__ void int8GemmKernel(Int8GemmParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  p.c[idx] = int8Dot(p.a, p.b, (int)(idx / p.n), (int)(idx % p.n), p.m, p.n, p.k, p.transB);
}

// y = T(fp32(acc)·fp32(αcol·αrow)), then + bias in T
__device__ __forceinline__ float dequantAcc(int32_t acc, const float* alphaRow, const float* alphaCol, const void* bias, int i, int j, bool perToken, bool perChannel, DType d) {
  const float alpha = fmul(alphaCol[perChannel ? j : 0], alphaRow[perToken ? i : 0]);
  float y = roundTo(d, fmul(__int2float_rn(acc), alpha));
  if (bias) y = roundTo(d, fadd(y, loadf(d, bias, j)));
  return y;
}

__global__ void smoothQuantGemmKernel(SmoothQuantGemmParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  const int32_t acc = int8Dot(p.a, p.b, i, j, p.m, p.n, p.k, p.transB);
  storef(p.outDtype, p.out, idx, dequantAcc(acc, p.alphaRow, p.alphaCol, p.bias, i, j, p.perToken, p.perChannel, p.outDtype));
}

// The epilogue over a tensor-core GEMM's int32 output, then GELU and + residual, each rounded to T as
// the separate ops round (gelu: activation.cu, residualAdd: residual.cu). Elementwise: exact, tier 1.
__global__ void smoothQuantEpilogueKernel(SmoothQuantEpilogueParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  float y = dequantAcc(p.acc[idx], p.alphaRow, p.alphaCol, p.bias, i, j, p.perToken, p.perChannel, p.outDtype);
  if (p.gelu) y = roundTo(p.outDtype, geluF32(y));
  if (p.residual) y = fadd(loadf(p.outDtype, p.residual, idx), y);
  storef(p.outDtype, p.out, idx, y);
}

void invokeInt8Gemm(const Int8GemmParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("int8Gemm", int8GemmKernel, (size_t)p.m * p.n, 256, s, p);
}

void invokeSmoothQuantGemm(const SmoothQuantGemmParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("smoothQuantGemm", smoothQuantGemmKernel, (size_t)p.m * p.n, 256, s, p);
}

void invokeSmoothQuantEpilogue(const SmoothQuantEpilogueParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("smoothQuantEpilogue", smoothQuantEpilogueKernel, (size_t)p.m * p.n, 256, s, p);
}

// The reference kernel with b as [N, K]: where cuBLASLt's IMMA cannot run a shape (int8-gemm-lt.cu).
void invokeInt8GemmFallback(const Int8GemmLtParams& p, cudaStream_t s) {
  invokeInt8Gemm({.a = p.a, .b = p.b, .c = p.c, .m = p.m, .n = p.n, .k = p.k, .transB = true}, s);
}

}  // namespace trt
