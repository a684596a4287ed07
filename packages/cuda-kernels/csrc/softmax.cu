// softmax — one thread per row, the oracle's order (ref-math/src/ops/softmax.ts):
// s = fp32(x·scale) for kept n; m = max; e = expF32(fp32(s − m)); Σ ascending; y = cast(fp32(e / Σ)).
// An all-masked row is zeros. The row kernel is shared with attention.cu.
#include "numerics.cuh"
#include "ops.h"
#include "softmax.cuh"

namespace trt {

__global__ void softmaxKernel(SoftmaxParams p, float* work) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= p.rows) return;
  float* s = work + (size_t)row * p.cols;
  const int8_t* keep = p.mask ? p.mask + (size_t)row * p.cols : nullptr;
  for (int j = 0; j < p.cols; j++) s[j] = loadf(p.xDtype, p.x, (size_t)row * p.cols + j);
  softmaxRow(s, p.cols, p.scale, keep);
  for (int j = 0; j < p.cols; j++) storef(p.outDtype, p.y, (size_t)row * p.cols + j, s[j]);
}

void invokeSoftmax(const SoftmaxParams& p, cudaStream_t s) {
  if (p.rows == 0 || p.cols == 0) return;
  float* work = nullptr;
  TRT_CUDA(cudaMallocAsync(&work, (size_t)p.rows * p.cols * sizeof(float), s));
  softmaxKernel<<<blocksFor(p.rows, 64), 64, 0, s>>>(p, work);
  TRT_LAUNCHED("softmax");
  TRT_CUDA(cudaFreeAsync(work, s));
}

}  // namespace trt
