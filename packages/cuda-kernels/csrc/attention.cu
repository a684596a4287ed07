// attention — reference order (ref-math/src/ops/attention.ts), one block of 64 threads per
// (token, query head); every number is computed by one thread in the oracle's order, the block only
// spreads independent numbers over its threads:
//   score_j = Σ_d fp32(q_d·k_jd) (d ascending), one thread per j, over positions 0 … p; keys before
//             the chunk's start read from the cache (dequantized), the chunk's own from k;
//   softmax (softmaxRowF32): s_j = fp32(score_j·scale) per j; m = max_j s_j (order-free);
//             e_j = expF32(s_j − m) per j; Σ_j e_j ascending by one thread; p_j = e_j / Σ per j;
//   out_d = cast_T(Σ_j fp32(p_j·v_jd)) (j ascending), one thread per d.
// Scores live in scratch [T, NH, maxCtx]. (The first version ran one thread per (token, head) for all
// of it: bit-identical, but a decode step of gpt2-medium took ~1.5 s on an H200 for lack of threads.)
#include "kv-cache.cuh"
#include "launch.cuh"

namespace trt {

constexpr int kAttnThreads = 64;

__global__ void attentionKernel(AttentionParams p) {
  const size_t idx = blockIdx.x;  // (token, head)
  if (idx >= (size_t)p.tokens * p.numHeads) return;
  const int tid = threadIdx.x;
  const int row = (int)(idx / p.numHeads), h = (int)(idx % p.numHeads);
  int s = 0;
  while (s + 1 < p.numSeqs && row >= p.seqRow[s] + p.seqLength[s]) s++;
  const int start = p.seqStart[s], row0 = p.seqRow[s], slot = p.seqSlot[s];
  const int n = start + (row - row0) + 1;
  const int g = h / (p.numHeads / p.numKvHeads);
  const int hs = p.headSize;
  const size_t qAt = ((size_t)row * p.numHeads + h) * hs;
  float* scores = p.scratch + idx * p.maxCtx;
  __shared__ float redMax[kAttnThreads];
  __shared__ float total;
  __shared__ int missing;
  if (tid == 0) missing = 0;
  __syncthreads();

  float m = -__int_as_float(0x7f800000);
  for (int j = tid; j < n; j += kAttnThreads) {
    float acc = 0.f;
    if (j < start) {
      const long long at = kvOffset(p.cache, slot, 0, g, j);
      if (at < 0) {
        atomicCAS(p.error, 0, s + 1);
        missing = 1;
        continue;
      }
      for (int d = 0; d < hs; d++) acc = fadd(acc, fmul(loadf(p.dtype, p.q, qAt + d), kvLoad(p.cache, at + d, 0)));
    } else {
      const size_t kAt = ((size_t)(row0 + j - start) * p.numKvHeads + g) * hs;
      for (int d = 0; d < hs; d++) acc = fadd(acc, fmul(loadf(p.dtype, p.q, qAt + d), loadf(p.dtype, p.k, kAt + d)));
    }
    const float sj = fmul(acc, p.scale);
    scores[j] = sj;
    m = fmaxf(m, sj);
  }
  redMax[tid] = m;
  __syncthreads();
  if (missing) return;  // the host reports the sequence; the output is discarded
  for (int w = kAttnThreads / 2; w > 0; w /= 2) {
    if (tid < w) redMax[tid] = fmaxf(redMax[tid], redMax[tid + w]);
    __syncthreads();
  }
  m = redMax[0];
  if (m == -__int_as_float(0x7f800000)) {  // softmaxRowF32: nothing finite → all zeros
    for (int j = tid; j < n; j += kAttnThreads) scores[j] = 0.f;
  } else {
    for (int j = tid; j < n; j += kAttnThreads) scores[j] = expF32(fsub(scores[j], m));
    __syncthreads();
    if (tid == 0) {
      float sum = 0.f;
      for (int j = 0; j < n; j++) sum = fadd(sum, scores[j]);
      total = sum;
    }
    __syncthreads();
    for (int j = tid; j < n; j += kAttnThreads) scores[j] = fdiv(scores[j], total);
  }
  __syncthreads();
  for (int d = tid; d < hs; d += kAttnThreads) {
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
  // one block of kAttnThreads per (token, head)
  TRT_LAUNCH_1D("attention", attentionKernel, (size_t)p.tokens * p.numHeads * kAttnThreads, kAttnThreads, s, p);
}

}  // namespace trt
