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

// ---- beam forks: rows of every pool copied in one launch (blockIdx.z a layer, blockIdx.y a pair) ----
template <typename Word>
__global__ void kvCopyRowsKernel(KvCopyRowsParams p, int firstPair) {
  pdlWait();  // the rows were written by the step before
  const int pair = firstPair + (int)blockIdx.y;
  char* pool = static_cast<char*>(p.pools[blockIdx.z]);
  const Word* src = reinterpret_cast<const Word*>(pool + (size_t)p.pairs[2 * pair] * p.rowBytes);
  Word* dst = reinterpret_cast<Word*>(pool + (size_t)p.pairs[2 * pair + 1] * p.rowBytes);
  const size_t n = p.rowBytes / sizeof(Word);
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) dst[i] = src[i];
}

void invokeKvCopyRows(const KvCopyRowsParams& p, cudaStream_t s) {
  if (p.numPairs == 0 || p.layers == 0 || p.rowBytes == 0) return;
  if (p.layers > kMaxKvCopyLayers) throw CudaError("kvCopyRows: at most " + std::to_string(kMaxKvCopyLayers) + " pools a launch, got " + std::to_string(p.layers));
  const bool wide = p.rowBytes % sizeof(uint4) == 0;  // pools start 512-byte aligned, so every row is then 16-byte aligned
  const size_t words = wide ? p.rowBytes / sizeof(uint4) : p.rowBytes;
  const unsigned chunks = (unsigned)std::min<size_t>(blocksFor(words, 256), 64);
  for (int first = 0; first < p.numPairs; first += 65535) {
    const dim3 grid(chunks, (unsigned)std::min(65535, p.numPairs - first), (unsigned)p.layers);
    if (wide) TRT_LAUNCH_PDL("kvCopyRows", kvCopyRowsKernel<uint4>, grid, dim3(256), 0, s, p, first);
    else TRT_LAUNCH_PDL("kvCopyRows", kvCopyRowsKernel<unsigned char>, grid, dim3(256), 0, s, p, first);
  }
}

}  // namespace trt

// ---- production path: the fused step after the QKV GEMM (exact: the reference RoPE and store rules) ----
// With RoPE: one thread per (token, qkv element). A RoPE pair (i, i + rot/2) belongs to the thread of i, which
// reads both before writing both, so the rotation is in place.
namespace trt {

__global__ void qkvPrepareKernel(QkvPrepareParams p) {
  pdlLaunchDependents();
  pdlWait();  // qkv is the GEMM's output
  const int width = (p.numHeads + 2 * p.numKvHeads) * p.headSize;
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= (size_t)p.tokens * width) return;
  const int t = (int)(idx / width), e = (int)(idx % width);
  const int head = e / p.headSize, d = e % p.headSize;
  const int part = head < p.numHeads ? 0 : head < p.numHeads + p.numKvHeads ? 1 : 2;  // q, k, v
  const int pos = p.positions[t];
  const size_t row = (size_t)t * width;
  const int half = p.rotaryDim / 2;
  const bool rotated = p.cos != nullptr && part < 2 && d < p.rotaryDim;
  long long at = 0;
  if (part > 0) {
    at = kvOffset(p.cache, p.slots[t], part - 1, part == 1 ? head - p.numHeads : head - p.numHeads - p.numKvHeads, pos);
    if (at < 0) { atomicCAS(p.error, 0, t + 1); return; }
  }
  if (!rotated) {
    if (part > 0) kvStore(p.cache, at + d, part - 1, loadf(p.dtype, p.qkv, row + e));
    return;
  }
  if (d >= half) return;  // the pair's owner writes it
  if (pos < 0 || pos >= p.tablePositions) { atomicCAS(p.error, 0, t + 1); return; }
  const float c = p.cos[(size_t)pos * half + d], sn = p.sin[(size_t)pos * half + d];
  const float x1 = loadf(p.dtype, p.qkv, row + e), x2 = loadf(p.dtype, p.qkv, row + e + half);
  const float y1 = roundTo(p.dtype, fsub(fmul(x1, c), fmul(x2, sn)));
  const float y2 = roundTo(p.dtype, fadd(fmul(x2, c), fmul(x1, sn)));
  storef(p.dtype, p.qkv, row + e, y1);
  storef(p.dtype, p.qkv, row + e + half, y2);
  if (part == 1) {
    kvStore(p.cache, at + d, 0, y1);
    kvStore(p.cache, at + d + half, 0, y2);
  }
}

// Without RoPE only the k and v parts move: one thread per 8 consecutive elements of a k or v head
// (head size a multiple of 8), the same values and storage rule as above — one 16-byte store into an
// f16 / bf16 cache. The cache address depends only on the step's inputs (slots, positions, the block
// table), so it is computed before pdlWait(); the qkv values after it.
__global__ void qkvStoreKvKernel(QkvPrepareParams p) {
  pdlLaunchDependents();
  const KvCacheView& c = p.cache;
  const int chunks = 2 * p.numKvHeads * p.headSize / 8;
  const size_t idx = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const bool live = idx < (size_t)p.tokens * chunks;
  const int t = live ? (int)(idx / chunks) : 0, e = live ? (int)(idx % chunks) * 8 : 0;
  const int kv = e / (p.numKvHeads * p.headSize), head = e / p.headSize % p.numKvHeads, d = e % p.headSize;
  const long long at = live ? kvOffset(c, p.slots[t], kv, head, p.positions[t]) : -1;
  pdlWait();  // qkv is the GEMM's output
  if (!live) return;
  if (at < 0) {
    atomicCAS(p.error, 0, t + 1);
    return;
  }
  const size_t src = (size_t)t * (p.numHeads + 2 * p.numKvHeads) * p.headSize + (size_t)p.numHeads * p.headSize + e;
  float v[8];
#pragma unroll
  for (int j = 0; j < 8; j++) v[j] = loadf(p.dtype, p.qkv, src + j);
  if (c.dtype == DType::F16 || c.dtype == DType::BF16) {
    alignas(16) uint16_t bits[8];
#pragma unroll
    for (int j = 0; j < 8; j++) bits[j] = c.dtype == DType::F16 ? toF16Bits(v[j]) : toBf16Bits(v[j]);
    *reinterpret_cast<uint4*>(static_cast<uint16_t*>(c.pool) + at + d) = *reinterpret_cast<const uint4*>(bits);
  } else {
#pragma unroll
    for (int j = 0; j < 8; j++) kvStore(c, at + d + j, kv, v[j]);
  }
}

void invokeQkvPrepare(const QkvPrepareParams& p, cudaStream_t s) {
  if (p.cos == nullptr && p.headSize % 8 == 0) {
    const size_t n = (size_t)p.tokens * 2 * p.numKvHeads * p.headSize / 8;
    if (n > 0) TRT_LAUNCH_PDL("qkvPrepare", qkvStoreKvKernel, dim3(blocksFor(n, 256)), dim3(256), 0, s, p);
    return;
  }
  const size_t n = (size_t)p.tokens * (p.numHeads + 2 * p.numKvHeads) * p.headSize;
  if (n > 0) TRT_LAUNCH_PDL("qkvPrepare", qkvPrepareKernel, dim3(blocksFor(n, 256)), dim3(256), 0, s, p);
}

}  // namespace trt
