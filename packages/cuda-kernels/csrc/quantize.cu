// quantize — int8 per tensor, per token (rowMax = max(1e-6, max|x|), q = sat(rni(fp32(x·fp32(127/rowMax)))),
// scale = fp32(rowMax/127)), dequantize fp32(q·scale), and calibration's running max |x| per column
// (ref-math/src/ops/quantize.ts). All exact (tier 1).
#include "numerics.cuh"
#include "launch.cuh"
#include "reduce.cuh"

namespace trt {

__global__ void quantizePerTensorKernel(QuantizePerTensorParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) p.q[i] = quantizeInt8(loadf(p.xDtype, p.x, i), p.scale);
}

// One block per row: the row max (exact in any order: max has no rounding) by a tree over the block,
// then each thread quantizes its columns. Same bits as one thread per row, a block's bandwidth per row.
constexpr int kQuantThreads = 256;

__global__ void quantizePerTokenKernel(QuantizePerTokenParams p) {
  __shared__ float warpMaxima[kQuantThreads / 32];
  const int row = blockIdx.x;
  const size_t base = (size_t)row * p.cols;
  float m = 9.999999974752427e-7f;  // fp32(1e-6)
  for (int h = threadIdx.x; h < p.cols; h += blockDim.x) m = fmaxf(m, fabsf(loadf(p.xDtype, p.x, base + h)));
  const float rowMax = blockMax(m, warpMaxima);
  const float qs = fdiv(127.f, rowMax);
  for (int h = threadIdx.x; h < p.cols; h += blockDim.x) p.q[base + h] = quantizeInt8(loadf(p.xDtype, p.x, base + h), qs);
  if (threadIdx.x == 0) p.scale[row] = fdiv(rowMax, 127.f);
}

__global__ void dequantizeKernel(DequantizeParams p) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)p.rows * p.cols) return;
  const float s = p.scale[p.perToken ? (int)(i / p.cols) : 0];
  storef(p.outDtype, p.out, i, fmul((float)p.q[i], s));
}

// One thread per column: rows in order (max is exact in any order), consecutive threads read consecutive columns.
__global__ void absMaxColumnsKernel(AbsMaxColumnsParams p) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= p.cols) return;
  float m = p.acc ? p.acc[j] : 0.f;
  for (int i = 0; i < p.rows; i++) m = fmaxf(m, fabsf(loadf(p.xDtype, p.x, (size_t)i * p.cols + j)));
  p.out[j] = m;
}

void invokeAbsMaxColumns(const AbsMaxColumnsParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("absMaxColumns", absMaxColumnsKernel, (size_t)p.cols, 128, s, p);
}

void invokeQuantizePerTensor(const QuantizePerTensorParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("quantizePerTensor", quantizePerTensorKernel, p.n, 256, s, p);
}
void invokeQuantizePerToken(const QuantizePerTokenParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  quantizePerTokenKernel<<<p.rows, kQuantThreads, 0, s>>>(p);
  check(cudaGetLastError(), "quantizePerToken launch", __FILE__, __LINE__);
}
void invokeDequantize(const DequantizeParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("dequantize", dequantizeKernel, (size_t)p.rows * p.cols, 256, s, p);
}

}  // namespace trt
