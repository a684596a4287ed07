// KV-cache addressing and element access shared by kv-cache.cu and attention.cu, as
// ref-math/src/ops/kv-cache.ts: contiguous [B, 2, NKV, Lmax, HS]; paged [blocks, 2, NKV, TPB, HS]
// through the block table; i8 / fp8 stored as cvt(fp32(x · fp32(1/s))), read as fp32(v · s).
#pragma once
#include "numerics.cuh"
#include "ops.h"

namespace trt {

// Element offset of the HS-vector (slot, kv, head, pos), or −1 when it has no storage.
__device__ __forceinline__ long long kvOffset(const KvCacheView& c, int slot, int kv, int head, int pos) {
  if (slot < 0 || slot >= c.numSlots || pos < 0) return -1;
  if (!c.paged) {
    if (pos >= c.maxSeqLen) return -1;
    return ((((long long)slot * 2 + kv) * c.numKvHeads + head) * c.maxSeqLen + pos) * c.headSize;
  }
  const int logical = pos / c.tokensPerBlock;
  const int block = logical < c.maxBlocksPerSeq ? c.blockTable[(size_t)slot * c.maxBlocksPerSeq + logical] : -1;
  if (block < 0 || block >= c.numBlocks) return -1;
  return ((((long long)block * 2 + kv) * c.numKvHeads + head) * c.tokensPerBlock + pos % c.tokensPerBlock) * c.headSize;
}

__device__ __forceinline__ bool kvQuantized(const KvCacheView& c) { return c.dtype == DType::I8 || c.dtype == DType::FP8E4M3; }

__device__ __forceinline__ void kvStore(const KvCacheView& c, long long at, int kv, float x) {
  if (kvQuantized(c)) {
    const float inv = fdiv(1.f, kv == 0 ? c.kScale : c.vScale);
    if (c.dtype == DType::I8) static_cast<int8_t*>(c.pool)[at] = quantizeInt8(x, inv);
    else static_cast<uint8_t*>(c.pool)[at] = toFp8Bits(fmul(x, inv));
    return;
  }
  storef(c.dtype, c.pool, (size_t)at, x);
}

__device__ __forceinline__ float kvLoad(const KvCacheView& c, long long at, int kv) {
  const float v = loadf(c.dtype, c.pool, (size_t)at);
  return kvQuantized(c) ? fmul(v, kv == 0 ? c.kScale : c.vScale) : v;
}

}  // namespace trt
