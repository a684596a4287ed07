// kv-cache — write the K and V of new tokens at (slot, position) with the storage rule of the cache
// dtype (ref-math/src/ops/kv-cache.ts). One thread per stored element; exact on every kernel (tier 1).
#include "kv-cache.cuh"
#include "launch.cuh"

namespace trt {

__global__ void kvCacheWriteKernel(KvCacheWriteParams p) {
  const KvCacheView& c = p.cache;
  const size_t perToken = (size_t)2 * c.numKvHeads * c.headSize;
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.tokens * perToken) return;
  const int t = (int)(idx / perToken);
  const size_t rest = idx % perToken;
  const int kv = (int)(rest / ((size_t)c.numKvHeads * c.headSize));
  const int h = (int)(rest / c.headSize % c.numKvHeads);
  const int d = (int)(rest % c.headSize);
  const long long at = kvOffset(c, p.slots[t], kv, h, p.positions[t]);
  if (at < 0) {
    atomicCAS(p.error, 0, t + 1);
    return;
  }
  const size_t src = ((size_t)t * c.numKvHeads + h) * c.headSize + d;
  kvStore(c, at + d, kv, loadf(p.kvDtype, kv == 0 ? p.k : p.v, src));
}

void invokeKvCacheWrite(const KvCacheWriteParams& p, cudaStream_t s) {
  TRT_LAUNCH_1D("kvCacheWrite", kvCacheWriteKernel, (size_t)p.tokens * 2 * p.cache.numKvHeads * p.cache.headSize, 256, s, p);
}

}  // namespace trt
