// softmax — one thread per row, the oracle's order (ref-math/src/ops/softmax.ts):
// s = fp32(x·scale) for kept n; m = max; e = expF32(fp32(s − m)); Σ ascending; y = cast(fp32(e / Σ)).
// An all-masked row is zeros. The row kernel is shared with attention.cu.
#include "launch.cuh"
#include "numerics.cuh"
#include "softmax.cuh"

namespace trt {

__global__ void softmaxKernel(SoftmaxParams p) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= p.rows) return;
  float* s = p.scratch + (size_t)row * p.cols;
  const int8_t* keep = p.mask ? p.mask + (size_t)row * p.cols : nullptr;
  for (int j = 0; j < p.cols; j++) s[j] = loadf(p.xDtype, p.x, (size_t)row * p.cols + j);
  softmaxRow(s, p.cols, p.scale, keep);
  for (int j = 0; j < p.cols; j++) storef(p.outDtype, p.y, (size_t)row * p.cols + j, s[j]);
}

void invokeSoftmax(const SoftmaxParams& p, cudaStream_t s) {
  if (p.cols == 0) return;
  TRT_LAUNCH_1D("softmax", softmaxKernel, (size_t)p.rows, 64, s, p);
}

}  // namespace trt
