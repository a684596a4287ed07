// embedding — row lookups copied bit for bit (plain, vocab-sharded with zero rows for ids another
// rank owns, prompt table for ids ≥ V) and the position add cast_T(fp32(x + wpe[pos]))
// (ref-math/src/ops/embedding.ts). One thread per output element; bad ids set the error flag.
#include "numerics.cuh"
#include "launch.cuh"

namespace trt {

__global__ void embeddingKernel(EmbeddingParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.tokens * p.hidden) return;
  const int t = (int)(idx / p.hidden), d = (int)(idx % p.hidden);
  const size_t bytes = dtypeSize(p.dtype);
  const int id = p.ids[t];
  const int limit = p.vocabSize + (p.promptTable ? p.promptTokens : 0);
  if (id < 0 || id >= limit) { atomicCAS(p.error, 0, t + 1); return; }
  const char* src = nullptr;
  if (id >= p.vocabSize) {
    const int task = p.tasks[t];
    if (task < 0 || task >= p.numTasks) { atomicCAS(p.error, 0, t + 1); return; }
    src = (const char*)p.promptTable + (((size_t)task * p.promptTokens + (id - p.vocabSize)) * p.hidden + d) * bytes;
  } else {
    const int local = id - p.rowOffset;
    if (local < 0 || local >= p.tableRows) {
      if (!p.zeroOutOfRange) { atomicCAS(p.error, 0, t + 1); return; }
      memset((char*)p.out + idx * bytes, 0, bytes);
      return;
    }
    src = (const char*)p.table + ((size_t)local * p.hidden + d) * bytes;
  }
  memcpy((char*)p.out + idx * bytes, src, bytes);
}

__global__ void positionAddKernel(PositionAddParams p) {
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.tokens * p.hidden) return;
  const int t = (int)(idx / p.hidden), d = (int)(idx % p.hidden);
  const int pos = p.positions[t];
  if (pos < 0 || pos >= p.numPositions) { atomicCAS(p.error, 0, t + 1); return; }
  storef(p.dtype, p.y, idx, fadd(loadf(p.dtype, p.x, idx), loadf(p.dtype, p.wpe, (size_t)pos * p.hidden + d)));
}

void invokeEmbedding(const EmbeddingParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("embedding", embeddingKernel, (size_t)p.tokens * p.hidden, 256, s, p);
}

void invokePositionAdd(const PositionAddParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("addPositionEmbedding", positionAddKernel, (size_t)p.tokens * p.hidden, 256, s, p);
}

}  // namespace trt
