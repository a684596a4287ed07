// attention — reference order (ref-math/src/ops/attention.ts), one thread per (token, query head):
// score_j = Σ_d fp32(q_d·k_jd) (d ascending) over positions 0 … p, keys before the chunk's start read
// from the cache (dequantized), the chunk's own from k; softmaxRow (softmax.cuh) with the scale;
// out_d = cast_T(Σ_j fp32(p_j·v_jd)) (j ascending). Scores live in scratch [T, NH, maxCtx].
#include "kv-cache.cuh"
#include "launch.cuh"
#include "softmax.cuh"

namespace trt {

__global__ void attentionKernel(AttentionParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.tokens * p.numHeads) return;
  const int row = (int)(idx / p.numHeads), h = (int)(idx % p.numHeads);
  int s = 0;
  while (s + 1 < p.numSeqs && row >= p.seqRow[s] + p.seqLength[s]) s++;
  const int start = p.seqStart[s], row0 = p.seqRow[s], slot = p.seqSlot[s];
  const int n = start + (row - row0) + 1;
  const int g = h / (p.numHeads / p.numKvHeads);
  const int hs = p.headSize;
  const size_t qAt = ((size_t)row * p.numHeads + h) * hs;
  float* scores = p.scratch + idx * p.maxCtx;
  for (int j = 0; j < n; j++) {
    float acc = 0.f;
    if (j < start) {
      const long long at = kvOffset(p.cache, slot, 0, g, j);
      if (at < 0) { atomicCAS(p.error, 0, s + 1); return; }
      for (int d = 0; d < hs; d++) acc = fadd(acc, fmul(loadf(p.dtype, p.q, qAt + d), kvLoad(p.cache, at + d, 0)));
    } else {
      const size_t kAt = ((size_t)(row0 + j - start) * p.numKvHeads + g) * hs;
      for (int d = 0; d < hs; d++) acc = fadd(acc, fmul(loadf(p.dtype, p.q, qAt + d), loadf(p.dtype, p.k, kAt + d)));
    }
    scores[j] = acc;
  }
  softmaxRow(scores, n, p.scale, nullptr);
  for (int d = 0; d < hs; d++) {
    float acc = 0.f;
    for (int j = 0; j < n; j++) {
      const float v = j < start ? kvLoad(p.cache, kvOffset(p.cache, slot, 1, g, j) + d, 1)
                                : loadf(p.dtype, p.v, ((size_t)(row0 + j - start) * p.numKvHeads + g) * hs + d);
      acc = fadd(acc, fmul(scores[j], v));
    }
    storef(p.dtype, p.out, qAt + d, acc);
  }
}

void invokeAttention(const AttentionParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("attention", attentionKernel, (size_t)p.tokens * p.numHeads, 64, s, p);
}

}  // namespace trt
