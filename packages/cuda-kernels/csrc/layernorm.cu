// layernorm — one thread per row, the oracle's two-pass order (ref-math/src/ops/layernorm.ts):
// mean = fp32(Σx / H); var = fp32(Σ fp32(d²) / H); rstd = fp32(1 / sqrt(var + eps));
// y = cast_T(fp32(fp32(d · rstd) · γ') + β). Fused quant: per-token int8 of the rounded y.
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void layerNormKernel(LayerNormParams p) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row >= p.rows) return;
  const size_t base = (size_t)row * p.cols;
  float sum = 0.f;
  for (int h = 0; h < p.cols; h++) sum = fadd(sum, loadf(p.xDtype, p.x, base + h));
  const float mean = fdiv(sum, (float)p.cols);
  float sq = 0.f;
  for (int h = 0; h < p.cols; h++) {
    const float d = fsub(loadf(p.xDtype, p.x, base + h), mean);
    sq = fadd(sq, fmul(d, d));
  }
  const float variance = fdiv(sq, (float)p.cols);
  const float rstd = fdiv(1.f, fsqrt(fadd(variance, p.eps)));
  float rowMax = 9.999999974752427e-7f;  // fused quant: fp32(1e-6) floor, as quantize.cu
  for (int h = 0; h < p.cols; h++) {
    float g = loadf(p.gammaDtype, p.gamma, h);
    if (p.weightPlusOne) g = fadd(g, 1.f);
    float y = fmul(fmul(fsub(loadf(p.xDtype, p.x, base + h), mean), rstd), g);
    if (p.beta) y = fadd(y, loadf(p.betaDtype, p.beta, h));
    storef(p.xDtype, p.y, base + h, y);
    rowMax = fmaxf(rowMax, fabsf(roundTo(p.xDtype, y)));
  }
  if (!p.q) return;
  const float qs = fdiv(127.f, rowMax);
  for (int h = 0; h < p.cols; h++) p.q[base + h] = quantizeInt8(loadf(p.xDtype, p.y, base + h), qs);
  p.qScale[row] = fdiv(rowMax, 127.f);
}

void invokeLayerNorm(const LayerNormParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("layerNorm", layerNormKernel, (size_t)p.rows, 64, s, p);
}

}  // namespace trt
