// quantize — int8 per tensor, per token (rowMax = max(1e-6, max|x|), q = sat(rni(fp32(x·fp32(127/rowMax)))),
// scale = fp32(rowMax/127)), and dequantize fp32(q·scale) (ref-math/src/ops/quantize.ts).
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void quantizePerTensorKernel(QuantizePerTensorParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) p.q[i] = quantizeInt8(loadf(p.xDtype, p.x, i), p.scale);
}

// One thread per row: the row max is exact in any order, the rest is elementwise.
__device__ void quantizeRow(DType d, const void* x, int8_t* q, float* scale, int row, int cols) {
  float rowMax = 9.999999974752427e-7f;  // fp32(1e-6)
  for (int h = 0; h < cols; h++) rowMax = fmaxf(rowMax, fabsf(loadf(d, x, (size_t)row * cols + h)));
  const float qs = fdiv(127.f, rowMax);
  for (int h = 0; h < cols; h++) q[(size_t)row * cols + h] = quantizeInt8(loadf(d, x, (size_t)row * cols + h), qs);
  scale[row] = fdiv(rowMax, 127.f);
}

__global__ void quantizePerTokenKernel(QuantizePerTokenParams p) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row < p.rows) quantizeRow(p.xDtype, p.x, p.q, p.scale, row, p.cols);
}

__global__ void dequantizeKernel(DequantizeParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)p.rows * p.cols) return;
  const float s = p.scale[p.perToken ? (int)(i / p.cols) : 0];
  storef(p.outDtype, p.out, i, fmul((float)p.q[i], s));
}

void invokeQuantizePerTensor(const QuantizePerTensorParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("quantizePerTensor", quantizePerTensorKernel, p.n, 256, s, p);
}
void invokeQuantizePerToken(const QuantizePerTokenParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("quantizePerToken", quantizePerTokenKernel, (size_t)p.rows, 64, s, p);
}
void invokeDequantize(const DequantizeParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("dequantize", dequantizeKernel, (size_t)p.rows * p.cols, 256, s, p);
}

}  // namespace trt
