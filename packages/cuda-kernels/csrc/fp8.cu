// fp8 — e4m3fn quantize e4m3(fp32(x·s)), dequantize cast_T(fp32(v·s)), and the FP8 GEMM:
// acc = Σ_k fp32(a·b) k ascending, out = cast_T(fp32(fp32(acc·fp32(sa·sb)) + bias)) (ref-math/src/ops/fp8.ts).
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void fp8QuantizeKernel(Fp8QuantizeParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) p.q[i] = toFp8Bits(fmul(loadf(p.xDtype, p.x, i), p.scale));
}

__global__ void fp8DequantizeKernel(Fp8DequantizeParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) storef(p.outDtype, p.out, i, fmul(fromFp8Bits(p.q[i]), p.scale));
}

// Σ_k fp32(a[i,k]·b[·]) in the oracle's order (k ascending, each e4m3 product exact), b [K, N] or [N, K].
__device__ __forceinline__ float fp8Dot(const uint8_t* a, const uint8_t* b, bool transB, int i, int j, int n, int k) {
  float acc = 0.f;
  for (int kk = 0; kk < k; kk++) {
    const size_t bi = transB ? (size_t)j * k + kk : (size_t)kk * n + j;
    acc = fadd(acc, fmul(fromFp8Bits(a[(size_t)i * k + kk]), fromFp8Bits(b[bi])));
  }
  return acc;
}

__global__ void fp8GemmKernel(Fp8GemmParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  float acc = fmul(fp8Dot(p.a, p.b, p.transB, i, j, p.n, p.k), fmul(p.scaleA, p.scaleB));
  if (p.bias) acc = fadd(acc, loadf(p.biasDtype, p.bias, j));
  storef(p.outDtype, p.out, idx, acc);
}

// fp8GemmLt where FP8 tensor cores cannot run it (a GPU below 8.9, N or K not a multiple of 16, an
// fp32 output, a view cuBLASLt cannot take, a shape with no algorithm): the same order as above, the
// scales read from the device as the production GEMM takes them, b [N, K], the bias in the output dtype.
__global__ void fp8GemmDeviceScalesKernel(Fp8GemmLtParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  float acc = fmul(fp8Dot(p.a, p.b, true, i, j, p.n, p.k), fmul(*p.scaleA, *p.scaleB));
  if (p.bias) acc = fadd(acc, loadf(p.outDtype, p.bias, j));
  storef(p.outDtype, p.out, idx, acc);
}

void invokeFp8GemmDeviceScales(const Fp8GemmLtParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("fp8GemmLt (reference fallback)", fp8GemmDeviceScalesKernel, (size_t)p.m * p.n, 256, s, p);
}

void invokeFp8Quantize(const Fp8QuantizeParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("fp8Quantize", fp8QuantizeKernel, p.n, 256, s, p);
}
void invokeFp8Dequantize(const Fp8DequantizeParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("fp8Dequantize", fp8DequantizeKernel, p.n, 256, s, p);
}
void invokeFp8Gemm(const Fp8GemmParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("fp8Gemm", fp8GemmKernel, (size_t)p.m * p.n, 256, s, p);
}

}  // namespace trt
