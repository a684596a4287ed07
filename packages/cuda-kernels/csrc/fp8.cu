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

__global__ void fp8GemmKernel(Fp8GemmParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  float acc = 0.f;
  for (int kk = 0; kk < p.k; kk++) {
    const size_t bi = p.transB ? (size_t)j * p.k + kk : (size_t)kk * p.n + j;
    acc = fadd(acc, fmul(fromFp8Bits(p.a[(size_t)i * p.k + kk]), fromFp8Bits(p.b[bi])));
  }
  acc = fmul(acc, fmul(p.scaleA, p.scaleB));
  if (p.bias) acc = fadd(acc, loadf(p.biasDtype, p.bias, j));
  storef(p.outDtype, p.out, idx, acc);
}

// fp8GemmLt's fallback (a shape or pointer cuBLASLt cannot take): the reference order, the scales
// read from the device as the production GEMM takes them, b [N, K], the output f16 / bf16.
__global__ void fp8GemmDeviceScalesKernel(Fp8GemmLtParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.m * p.n) return;
  const int i = (int)(idx / p.n), j = (int)(idx % p.n);
  float acc = 0.f;
  for (int kk = 0; kk < p.k; kk++) acc = fadd(acc, fmul(fromFp8Bits(p.a[(size_t)i * p.k + kk]), fromFp8Bits(p.b[(size_t)j * p.k + kk])));
  acc = fmul(acc, fmul(*p.scaleA, *p.scaleB));
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
