// int8-gemm — exact int32 accumulation (two's-complement wrap, as the oracle), and the SmoothQuant
// epilogue y = cast_T(fp32(fp32(acc) · fp32(αcol·αrow))), then + bias in T (ref-math/src/ops/int8-gemm.ts).
#include <algorithm>

#include "launch.cuh"
#include "smoothquant.cuh"

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

__global__ void smoothQuantGemmKernel(SmoothQuantGemmParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  const int32_t acc = int8Dot(p.a, p.b, i, j, p.m, p.n, p.k, p.transB);
  storef(p.outDtype, p.out, idx, dequantAcc(acc, p.alphaRow, p.alphaCol, p.bias, i, j, p.perToken, p.perChannel, p.outDtype));
}

// The epilogue over a tensor-core GEMM's int32 output, then GELU and + residual, each rounded to T as
// the separate ops round (smoothquant.cuh). Elementwise: exact, tier 1.
// A block row per output row (no index division), four consecutive columns per thread (one 16-byte
// int32 load where N allows), the output dtype a template parameter.
constexpr int kEpiThreads = 128;

template <DType D>
__global__ void smoothQuantEpilogueKernel(SmoothQuantEpilogueParams p) {
  const int j0 = (blockIdx.x * kEpiThreads + threadIdx.x) * 4;
  if (j0 >= p.n) return;
  for (int i = blockIdx.y; i < p.m; i += gridDim.y) {
    const size_t base = (size_t)i * p.n;
    int32_t acc[4];
    if ((p.n & 3) == 0 && (reinterpret_cast<uintptr_t>(p.acc) & 15) == 0) {
      const int4 v = *reinterpret_cast<const int4*>(p.acc + base + j0);
      acc[0] = v.x, acc[1] = v.y, acc[2] = v.z, acc[3] = v.w;
    } else {
      for (int t = 0; t < 4; t++) acc[t] = j0 + t < p.n ? p.acc[base + j0 + t] : 0;
    }
#pragma unroll
    for (int t = 0; t < 4; t++) {
      const int j = j0 + t;
      if (j >= p.n) break;
      smoothQuantFinish(acc[t], p.alphaRow, p.alphaCol, p.bias, p.residual, p.out, i, j, base + j, p.perToken, p.perChannel, p.gelu, D);
    }
  }
}

void invokeInt8Gemm(const Int8GemmParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("int8Gemm", int8GemmKernel, (size_t)p.m * p.n, 256, s, p);
}

void invokeSmoothQuantGemm(const SmoothQuantGemmParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("smoothQuantGemm", smoothQuantGemmKernel, (size_t)p.m * p.n, 256, s, p);
}

void invokeSmoothQuantEpilogue(const SmoothQuantEpilogueParams& p, cudaStream_t s) {
  if (p.m == 0 || p.n == 0) return;
  const dim3 grid((unsigned)((p.n + 4 * kEpiThreads - 1) / (4 * kEpiThreads)), (unsigned)std::min(p.m, 65535));
  switch (p.outDtype) {
    case DType::F32: smoothQuantEpilogueKernel<DType::F32><<<grid, kEpiThreads, 0, s>>>(p); break;
    case DType::F16: smoothQuantEpilogueKernel<DType::F16><<<grid, kEpiThreads, 0, s>>>(p); break;
    case DType::BF16: smoothQuantEpilogueKernel<DType::BF16><<<grid, kEpiThreads, 0, s>>>(p); break;
    default: throw CudaError("smoothQuantEpilogue: output dtype must be f32, f16 or bf16");
  }
  check(cudaGetLastError(), "smoothQuantEpilogue launch", __FILE__, __LINE__);
}

// The reference kernel with b as [N, K]: where cuBLASLt's IMMA cannot run a shape (int8-gemm-lt.cu).
void invokeInt8GemmFallback(const Int8GemmLtParams& p, cudaStream_t s) {
  invokeInt8Gemm({.a = p.a, .b = p.b, .c = p.c, .m = p.m, .n = p.n, .k = p.k, .transB = true}, s);
}

}  // namespace trt
