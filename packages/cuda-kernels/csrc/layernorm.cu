// layernorm — one thread per row, the oracle's two-pass order (ref-math/src/ops/layernorm.ts):
// mean = fp32(Σx / H); var = fp32(Σ fp32(d²) / H); rstd = fp32(1 / sqrt(var + eps));
// y = cast_T(fp32(fp32(d · rstd) · γ') + β). Fused quant: per-token int8 of the rounded y (the production
// kernel below also per-tensor int8 and e4m3).
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

// ---- production path (tier 3): a warp (or a block, past 2,048 columns) per row, the row held in
// registers, tree sums within a lane and across lanes (the warp way's arithmetic is layernorm.cuh's,
// which the decode GEMM's fused LayerNorm shares); the dtype a template parameter (typed.cuh) so a
// row's loads issue together ----
#include "layernorm.cuh"
#include "reduce.cuh"
#include "typed.cuh"

namespace trt {
namespace {

// One row per group of `lanes` threads: a warp (lanes 32, sums by shuffles) or a whole block.
template <DType D, int PER, bool WARP>
__global__ void __launch_bounds__(256) layerNormFastKernel(LayerNormFastParams p) {
  __shared__ float shared[8];
  const int lanes = WARP ? 32 : blockDim.x;
  const int row = WARP ? blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32 : blockIdx.x;
  const int lane = WARP ? threadIdx.x % 32 : threadIdx.x;
  if (WARP && row >= p.rows) return;
  const size_t base = (size_t)row * p.cols;
  pdlLaunchDependents();
  // gamma and beta before the wait for the previous kernel (PDL): they do not depend on it
  float g[PER], b[PER];
#pragma unroll
  for (int i = 0; i < PER; i++) {
    const int h = min(lane + i * lanes, p.cols - 1);
    g[i] = Io<D>::load(p.gamma, h);
    b[i] = p.beta ? Io<D>::load(p.beta, h) : 0.f;
  }
  pdlWait();
  // Loads at clamped (always valid) indices, then selects: no branch around a load, so all of a
  // thread's loads are in flight at once instead of one round trip each.
  float v[PER];
#pragma unroll
  for (int i = 0; i < PER; i++) v[i] = Io<D>::load(p.x, base + min(lane + i * lanes, p.cols - 1));
#pragma unroll
  for (int i = 0; i < PER; i++) v[i] = lane + i * lanes < p.cols ? v[i] : 0.f;
  float mean, rstd;
  if constexpr (WARP) {
    lnRowStats(v, lane, p.cols, p.eps, mean, rstd);
  } else {
    mean = blockSum(laneSum<PER>([&](int i) { return v[i]; }), shared) / (float)p.cols;
    rstd = rsqrtf(blockSum(laneSum<PER>([&](int i) {
                             const float d = lane + i * lanes < p.cols ? v[i] - mean : 0.f;
                             return d * d;
                           }), shared) / (float)p.cols + p.eps);
  }
  if (!p.q && !p.qFp8) {  // the plain LayerNorm: y through the dtype's own store conversion (no software rounding)
#pragma unroll
    for (int i = 0; i < PER; i++) {
      const int h = lane + i * lanes;
      if (h < p.cols) Io<D>::store(p.y, base + h, lnApply(v[i], mean, rstd, g[i], b[i], p.weightPlusOne));
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < PER; i++) {
    const int h = lane + i * lanes;
    v[i] = h < p.cols ? roundTo(D, lnApply(v[i], mean, rstd, g[i], b[i], p.weightPlusOne)) : 0.f;  // y as stored
    if (p.y && h < p.cols) Io<D>::store(p.y, base + h, v[i]);
  }
  if (p.qFp8) {  // FP8: e4m3 of the rounded y, as quantizeFp8 computes it (elementwise: exact)
#pragma unroll
    for (int i = 0; i < PER; i++) {
      const int h = lane + i * lanes;
      if (h < p.cols) p.qFp8[base + h] = toFp8Bits(fmul(v[i], p.fp8Scale));
    }
    return;
  }
  // SmoothQuant: int8 of the rounded y, as quantizePerToken / quantizePerTensor compute it (max is exact in any order)
  float qs = p.qStatic;
  if (p.qScale) {
    float m = 9.999999974752427e-7f;  // fp32(1e-6)
#pragma unroll
    for (int i = 0; i < PER; i++) m = fmaxf(m, fabsf(v[i]));
    m = WARP ? warpMax(m) : blockMax(m, shared);
    qs = fdiv(127.f, m);
    if (lane == 0) p.qScale[row] = fdiv(m, 127.f);
  }
#pragma unroll
  for (int i = 0; i < PER; i++) {
    const int h = lane + i * lanes;
    if (h < p.cols) p.q[base + h] = quantizeInt8(v[i], qs);
  }
}

template <DType D>
void launchLayerNorm(const LayerNormFastParams& p, cudaStream_t s) {
  const unsigned warpBlocks = (unsigned)((p.rows + 3) / 4);  // 4 rows (warps) per block of 128
  if (p.cols <= 256) TRT_LAUNCH_PDL("layerNormFast", (layerNormFastKernel<D, 8, true>), dim3(warpBlocks), dim3(128), 0, s, p);
  else if (p.cols <= 512) TRT_LAUNCH_PDL("layerNormFast", (layerNormFastKernel<D, 16, true>), dim3(warpBlocks), dim3(128), 0, s, p);
  else if (p.cols <= 1024) TRT_LAUNCH_PDL("layerNormFast", (layerNormFastKernel<D, 32, true>), dim3(warpBlocks), dim3(128), 0, s, p);
  else if (p.cols <= 2048) TRT_LAUNCH_PDL("layerNormFast", (layerNormFastKernel<D, 64, true>), dim3(warpBlocks), dim3(128), 0, s, p);
  else if (p.cols <= 256 * 32) TRT_LAUNCH_PDL("layerNormFast", (layerNormFastKernel<D, 32, false>), dim3(p.rows), dim3(256), 0, s, p);
  else throw CudaError("layerNormFast: " + std::to_string(p.cols) + " columns (at most 8,192)");
}

}  // namespace

void invokeLayerNormFast(const LayerNormFastParams& p, cudaStream_t s) {
  if (p.rows == 0) return;
  TRT_DISPATCH_ACT(p.dtype, "layerNormFast", launchLayerNorm<D>(p, s));
  check(cudaGetLastError(), "layerNormFast launch", __FILE__, __LINE__);
}

}  // namespace trt
