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

// ---- production path (tier 3) ----
// Both kernels read the step's qkv rows [T, (NH + 2·NKV)·HS] after qkvPrepare (RoPE applied, K/V
// already in the cache, stored in the activation dtype). Products use fmaf and exp is expf: the
// results differ from the reference order within the declared tolerance, but every number depends
// only on its own row and position — never on the other rows of the batch — so decode is
// batch-invariant. The dtype is a template parameter (typed.cuh); tiles are loaded 16 bytes at a
// time, four loads in flight per thread.

#include <algorithm>

#include "mma.cuh"
#include "typed.cuh"

namespace trt {
namespace {

// v rounded to D's storage and back (what P looks like when stored in T, as fp16 FMHA does).
template <DType D>
__device__ __forceinline__ float roundAs(float v) { return v; }
template <> __device__ __forceinline__ float roundAs<DType::F16>(float v) { return __half2float(__float2half_rn(v)); }
template <> __device__ __forceinline__ float roundAs<DType::BF16>(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

// dst[r][c] (row stride LD, floats) = HS values of each of `rows` rows of src; rowAt(r) is the element
// offset of row r's first value, or −1 for a row of zeros.
template <DType D, int THREADS, typename RowAt>
__device__ __forceinline__ void loadRows(const void* src, float* dst, int LD, int rows, int HS, RowAt rowAt) {
  constexpr int V = Io<D>::kVec, B = 4;
  if (HS % V == 0) {
    const int per = HS / V, n = rows * per;
    for (int b0 = 0; b0 < n; b0 += THREADS * B) {
      float buf[B][V];
      long long at[B];
#pragma unroll
      for (int k = 0; k < B; k++) {
        const int i = b0 + k * THREADS + (int)threadIdx.x;
        at[k] = i < n ? rowAt(i / per) : -1;
      }
      // every load from a valid address (a missing row reads element 0 and is zeroed below): no
      // branch around the loads, so all B are in flight together
#pragma unroll
      for (int k = 0; k < B; k++) {
        const int i = b0 + k * THREADS + (int)threadIdx.x;
        Io<D>::load16(src, at[k] >= 0 ? (size_t)at[k] + (size_t)(i % per) * V : 0, buf[k]);
      }
#pragma unroll
      for (int k = 0; k < B; k++) {
        const int i = b0 + k * THREADS + (int)threadIdx.x;
        if (i < n) {
          float* d = dst + (i / per) * LD + (i % per) * V;
#pragma unroll
          for (int v = 0; v < V; v++) d[v] = at[k] >= 0 ? buf[k][v] : 0.f;
        }
      }
    }
  } else {
    for (int i = threadIdx.x; i < rows * HS; i += THREADS) {
      const long long at = rowAt(i / HS);
      dst[(i / HS) * LD + i % HS] = at >= 0 ? Io<D>::load(src, (size_t)at + i % HS) : 0.f;
    }
  }
}

constexpr int kDecWarps = 4, kDecThreads = 32 * kDecWarps;

// One warp per (row, query head, split of 32·P positions: P = 2 for fp16/bf16/fp32 pages, 4 for
// int8/fp8 pages, so a lane has the same bytes in flight either way), four heads per block. Scores:
// each lane owns positions j0 + lane + 32t, t < P (its K rows read with 16-byte loads, all in flight
// together); softmax over the split by warp shuffles; P·V: each lane a quarter of the dims of every
// eighth position (16-byte loads, four positions in flight), summed across lanes by a fixed shuffle
// tree. Query heads that share a KV head (MQA / GQA) are in the same block, so their K/V
// rows come from DRAM once and from L1/L2 after. Each split's (acc, max, sum) goes to `partial`; the
// last split block of the (row, head group) to finish merges them in split order (no second kernel).
// Before pdlWait() (PDL): the step's inputs — rows, positions, slots, the block table — are read and
// the K and V rows of the split are prefetched into L2 (coherent: the row the previous kernel is
// writing is read only after the wait, from L2); q and the cache are loaded after it.
// C is the cache storage: D itself, or int8 / fp8 e4m3 pages (half the bytes of fp16). Quantized
// values are read as stored and the layer's scales applied once, not per element: K's with the
// softmax scale to each score, V's to each probability (the same products re-associated: within the
// tier-3 tolerance). As the oracle (and TensorRT-LLM), this step's own tokens — the row's position and
// the earlier positions of its chunk (freshFrom) — are attended fresh from their qkv rows, not their
// quantized copies in the cache.
template <DType D, DType C, int HS>
__global__ void __launch_bounds__(kDecThreads) attentionDecodeKernel(AttentionDecodeParams p) {
  constexpr bool kQuant = C == DType::I8 || C == DType::FP8E4M3;
  constexpr int P = kQuant ? 4 : 2, SPLIT = 32 * P;
  __shared__ __align__(16) float qs[kDecWarps][HS];
  pdlLaunchDependents();
  const int r = blockIdx.x, split = blockIdx.z, warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int h = blockIdx.y * kDecWarps + warp;
  const int row = p.rows[r];
  const int pos = p.positions[row], slot = p.slots[row];
  const int j0 = split * SPLIT;
  if (j0 > pos) return;  // block-uniform: beyond this row's positions, the merge skips the split
  const int cnt = min(pos + 1 - j0, SPLIT);
  const bool active = h < p.numHeads;
  const int g = (active ? h : 0) / (p.numHeads / p.numKvHeads);
  const long long width = (long long)(p.numHeads + 2 * p.numKvHeads) * HS;
  // this lane's P positions: their K and V rows (step inputs only), on their way into L2
  long long ko[P], vo[P];
  float sc[P];
  const float scoreScale = kQuant ? p.scale * p.cache.kScale : p.scale;
  using St = typename Io<C>::Storage;
#pragma unroll
  for (int t = 0; t < P; t++) {
    const int jj = lane + 32 * t;
    ko[t] = jj < cnt ? kvOffset(p.cache, slot, 0, g, j0 + jj) : -1;
    vo[t] = jj < cnt ? kvOffset(p.cache, slot, 1, g, j0 + jj) : -1;
    for (int b = 0; b < HS * (int)sizeof(St); b += 128) {
      if (ko[t] >= 0) asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const char*>(p.cache.pool) + ko[t] * sizeof(St) + b));
      if (vo[t] >= 0) asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const char*>(p.cache.pool) + vo[t] * sizeof(St) + b));
    }
  }
  pdlWait();  // q and this step's K, V row are the previous kernel's output
  for (int d = lane; d < HS; d += 32) qs[warp][d] = Io<D>::load(p.qkv, row * width + (long long)(active ? h : 0) * HS + d);
  __syncwarp();
#pragma unroll
  for (int t = 0; t < P; t++) {
    if (lane + 32 * t < cnt && (ko[t] < 0 || vo[t] < 0)) atomicCAS(p.error, 0, row + 1);
  }
  constexpr int V = Io<C>::kVec, VD = Io<D>::kVec;
  // position j ≥ fresh0 is this step's token in qkv row row − (pos − j): its K and V there
  const int fresh0 = kQuant ? (p.freshFrom ? p.freshFrom[r] : pos) : pos + 1;
  const long long freshK = row * width + (long long)(p.numHeads + g) * HS;  // this row's own K in qkv; its V follows
  const long long freshV = freshK + (long long)p.numKvHeads * HS;
  auto score = [&](int t) {
    float kbuf[HS];
    const int j = j0 + lane + 32 * t;
    const bool fresh = kQuant && j >= fresh0 && j <= pos;
    if (fresh) {
#pragma unroll
      for (int c = 0; c < HS; c += VD) Io<D>::load16(p.qkv, (size_t)(freshK - (long long)(pos - j) * width) + c, kbuf + c);
    } else {
#pragma unroll
      for (int c = 0; c < HS; c += V) Io<C>::load16(p.cache.pool, (ko[t] >= 0 ? (size_t)ko[t] : 0) + c, kbuf + c);
    }
    float acc = 0.f;
#pragma unroll
    for (int d = 0; d < HS; d++) acc = __fmaf_rn(qs[warp][d], kbuf[d], acc);
    sc[t] = ko[t] >= 0 ? acc * (fresh ? p.scale : scoreScale) : -INFINITY;
  };
  if constexpr (P * HS * (int)sizeof(St) <= 256) {  // every position's loads in flight together (256 bytes a lane)
#pragma unroll
    for (int t = 0; t < P; t++) score(t);
  } else {
#pragma unroll 1
    for (int t = 0; t < P; t++) score(t);
  }
  float m = sc[0];
#pragma unroll
  for (int t = 1; t < P; t++) m = fmaxf(m, sc[t]);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  float e[P], l = 0.f;
#pragma unroll
  for (int t = 0; t < P; t++) l += (e[t] = sc[t] == -INFINITY ? 0.f : expf(sc[t] - m));
  for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
  // P·V: lane = 8·dg + pg owns dims [dg·HS/4, (dg+1)·HS/4) of positions j ≡ pg (mod 8); the eight
  // position groups are then summed by a fixed shuffle tree (xor 1, 2, 4)
  constexpr int DG = HS / 4;
  const int pg = lane % 8, dg = lane / 8;
  float acc[DG];
#pragma unroll
  for (int d = 0; d < DG; d++) acc[d] = 0.f;
#pragma unroll
  for (int half = 0; half < P; half++) {  // positions pg + 8(4·half + u), u < 4: in e[half] / vo[half] of lane j mod 32
    float vb[4][DG];
    float pj[4];
#pragma unroll
    for (int u = 0; u < 4; u++) {
      const int j = pg + 8 * (4 * half + u);
      const long long off = __shfl_sync(0xffffffffu, vo[half], j % 32);
      pj[u] = __shfl_sync(0xffffffffu, e[half], j % 32);
      if (j >= cnt) pj[u] = 0.f;
      const size_t at = (j < cnt && off >= 0 ? (size_t)off : 0) + (size_t)dg * DG;
      if (kQuant && j0 + j >= fresh0 && j0 + j <= pos) {
#pragma unroll
        for (int c = 0; c < DG; c += VD) Io<D>::load16(p.qkv, (size_t)(freshV - (long long)(pos - j0 - j) * width) + (size_t)dg * DG + c, vb[u] + c);
      } else {
#pragma unroll
        for (int c = 0; c < DG; c += V) Io<C>::load16(p.cache.pool, at + c, vb[u] + c);
        if constexpr (kQuant) pj[u] *= p.cache.vScale;
      }
    }
#pragma unroll
    for (int u = 0; u < 4; u++)
#pragma unroll
      for (int d = 0; d < DG; d++) acc[d] = __fmaf_rn(pj[u], vb[u][d], acc[d]);
  }
#pragma unroll
  for (int d = 0; d < DG; d++) {
    acc[d] += __shfl_xor_sync(0xffffffffu, acc[d], 1);
    acc[d] += __shfl_xor_sync(0xffffffffu, acc[d], 2);
    acc[d] += __shfl_xor_sync(0xffffffffu, acc[d], 4);
  }
  float* part = p.partial + ((size_t)r * p.numHeads + h) * p.maxSplits * (HS + 2);
  if (active && pg == 0) {
#pragma unroll
    for (int d = 0; d < DG; d++) part[split * (HS + 2) + dg * DG + d] = acc[d];
  }
  if (active && lane == 0) part[split * (HS + 2) + HS] = m, part[split * (HS + 2) + HS + 1] = l;

  // The last split block of (row, head group) to finish merges the splits in ascending order:
  // out = Σ_s e^{m_s − M}·acc_s / Σ_s e^{m_s − M}·l_s (an arrival counter; the order is fixed).
  const int splits = min((int)gridDim.z, pos / SPLIT + 1);  // the blocks that got past `j0 > pos`
  if (!lastBlockToArrive(p.counters + (size_t)r * gridDim.y + blockIdx.y, splits) || !active) return;
  __threadfence();
  float mx = -INFINITY;
  for (int s = 0; s < splits; s++) mx = fmaxf(mx, __ldcg(part + s * (HS + 2) + HS));
  float ls = 0.f;
  for (int s = 0; s < splits; s++) ls += expf(__ldcg(part + s * (HS + 2) + HS) - mx) * __ldcg(part + s * (HS + 2) + HS + 1);
  for (int d = lane; d < HS; d += 32) {
    float o = 0.f;
    for (int s = 0; s < splits; s++) o += expf(__ldcg(part + s * (HS + 2) + HS) - mx) * __ldcg(part + s * (HS + 2) + d);
    Io<D>::store(p.out, ((size_t)row * p.numHeads + h) * HS + d, o / ls);
  }
}

// Flash attention (SIMT): a block per (32-row query tile, head); 4 threads per query row, each with
// 8 of a 32-key tile's scores and HS/4 of the output dims; online softmax in fp32.
constexpr int kCtxRows = 32, kCtxKeys = 32, kCtxTpr = 4, kCtxThreads = kCtxRows * kCtxTpr;

template <DType D, int HS>
__global__ void __launch_bounds__(kCtxThreads) attentionContextKernel(AttentionContextParams p) {
  extern __shared__ float4 smem4[];
  constexpr int LD = HS + 4;  // row stride in floats: 16-byte aligned, rows on shifted banks
  constexpr int KPT = kCtxKeys / kCtxTpr, DPT = HS / kCtxTpr;
  float* qs = reinterpret_cast<float*>(smem4);  // [kCtxRows][LD]
  float* ks = qs + kCtxRows * LD;               // [kCtxKeys][LD]
  float* vs = ks + kCtxKeys * LD;               // [kCtxKeys][LD]
  const int tile = blockIdx.x, h = blockIdx.y, tid = threadIdx.x;
  const int row0 = p.tiles[3 * tile], len = p.tiles[3 * tile + 1], q0 = p.tiles[3 * tile + 2];
  const int kvh = h / (p.numHeads / p.numKvHeads);
  const long long width = (long long)(p.numHeads + 2 * p.numKvHeads) * HS;
  const int qr = tid / kCtxTpr, part = tid % kCtxTpr;
  const int i = q0 + qr;  // this thread's query position
  loadRows<D, kCtxThreads>(p.qkv, qs, LD, kCtxRows, HS, [&](int rr) { return q0 + rr < len ? (row0 + q0 + rr) * width + (long long)h * HS : -1; });
  float o[DPT];
#pragma unroll
  for (int d = 0; d < DPT; d++) o[d] = 0.f;
  float m = -INFINITY, l = 0.f;
  const int kEnd = min(len, q0 + kCtxRows);
  const unsigned lanes = 0xffffffffu;
  const int base = (threadIdx.x % 32) & ~(kCtxTpr - 1);
  for (int kt = 0; kt < kEnd; kt += kCtxKeys) {
    __syncthreads();
    loadRows<D, kCtxThreads>(p.qkv, ks, LD, kCtxKeys, HS, [&](int jj) { return kt + jj < len ? (row0 + kt + jj) * width + (long long)(p.numHeads + kvh) * HS : -1; });
    loadRows<D, kCtxThreads>(p.qkv, vs, LD, kCtxKeys, HS, [&](int jj) { return kt + jj < len ? (row0 + kt + jj) * width + (long long)(p.numHeads + p.numKvHeads + kvh) * HS : -1; });
    __syncthreads();
    float s[KPT];
#pragma unroll
    for (int jj = 0; jj < KPT; jj++) s[jj] = 0.f;
#pragma unroll 4
    for (int d4 = 0; d4 < HS / 4; d4++) {
      const float4 q = reinterpret_cast<const float4*>(qs + qr * LD)[d4];
#pragma unroll
      for (int jj = 0; jj < KPT; jj++) {
        const float4 k = reinterpret_cast<const float4*>(ks + (part * KPT + jj) * LD)[d4];
        s[jj] = __fmaf_rn(q.x, k.x, __fmaf_rn(q.y, k.y, __fmaf_rn(q.z, k.z, __fmaf_rn(q.w, k.w, s[jj]))));
      }
    }
    float mx = -INFINITY;
#pragma unroll
    for (int jj = 0; jj < KPT; jj++) {
      const int j = kt + part * KPT + jj;
      s[jj] = j <= i && j < len ? s[jj] * p.scale : -INFINITY;
      mx = fmaxf(mx, s[jj]);
    }
    for (int off = 1; off < kCtxTpr; off <<= 1) mx = fmaxf(mx, __shfl_xor_sync(lanes, mx, off));
    const float mNew = fmaxf(m, mx);
    // a padding row of the tile (no key yet): exponents against 0 give zeros; no lane leaves the warp's shuffles
    const float mUse = mNew == -INFINITY ? 0.f : mNew;
    const float alpha = expf(m - mUse);
    float rs = 0.f;
#pragma unroll
    for (int jj = 0; jj < KPT; jj++) {
      s[jj] = expf(s[jj] - mUse);
      rs += s[jj];
    }
    for (int off = 1; off < kCtxTpr; off <<= 1) rs += __shfl_xor_sync(lanes, rs, off);
    l = l * alpha + rs;
    m = mNew;
#pragma unroll
    for (int d = 0; d < DPT; d++) o[d] *= alpha;
#pragma unroll
    for (int owner = 0; owner < kCtxTpr; owner++) {
#pragma unroll
      for (int jj = 0; jj < KPT; jj++) {
        float pj = __shfl_sync(lanes, s[jj], base + owner);
        if (!p.fp32Acc) pj = roundAs<D>(pj);
        const float4* v = reinterpret_cast<const float4*>(vs + (owner * KPT + jj) * LD + part * DPT);
#pragma unroll
        for (int d4 = 0; d4 < DPT / 4; d4++) {
          const float4 vv = v[d4];
          o[4 * d4] = __fmaf_rn(pj, vv.x, o[4 * d4]);
          o[4 * d4 + 1] = __fmaf_rn(pj, vv.y, o[4 * d4 + 1]);
          o[4 * d4 + 2] = __fmaf_rn(pj, vv.z, o[4 * d4 + 2]);
          o[4 * d4 + 3] = __fmaf_rn(pj, vv.w, o[4 * d4 + 3]);
        }
      }
    }
  }
  if (i >= len) return;
  const size_t outAt = ((size_t)(row0 + i) * p.numHeads + h) * HS + part * DPT;
#pragma unroll
  for (int d = 0; d < DPT; d++) Io<D>::store(p.out, outAt + d, o[d] / l);
}

// Flash attention on tensor cores (f16 / bf16, `--enable_context_fmha`): a block of 2 warps per
// (32-row query tile, head), 16 query rows per warp, everything between the tile copies in registers
// (mma.sync m16n8k16, fp32 accumulation; mma.cuh has the fragment layouts). Per 64-key tile: S = Q·Kᵀ
// (Q's fragments loaded once, K's by ldmatrix), masked and scaled; the online softmax in fp32 —
// each row's max and sum over a lane quad by shuffles; P = exp(S − max) rounded to T (as fp16 FMHA)
// becomes the A operand of O += P·V directly (the accumulator layout of S is the A layout of P), V's
// fragments by ldmatrix.trans; O is rescaled by exp(m_old − m_new) first. Q, K, V tiles are copied
// from the qkv rows as raw 16-byte runs (no conversion), rows with a stride of HS + 8 elements so
// that ldmatrix's eight rows fall on distinct banks.
constexpr int kTcRows = 32, kTcKeys = 64, kTcWarps = 2, kTcThreads = 32 * kTcWarps;

template <DType D, int HS>
struct TcLayout {
  static constexpr int LDH = HS + 8;  // tile rows, in elements (16-byte multiple; consecutive rows shift banks by 16 bytes)
  static constexpr size_t q = 0, k = q + (size_t)kTcRows * LDH * 2, v = k + (size_t)kTcKeys * LDH * 2;
  static constexpr size_t bytes = v + (size_t)kTcKeys * LDH * 2;
};

// rows × HS elements of qkv rows into a half tile (row stride LDH), 16 bytes at a time; rows past `valid` are zero.
template <int HS, int LDH>
__device__ __forceinline__ void copyTile(uint16_t* dst, const uint16_t* qkv, int rows, int valid, long long row0, long long width, long long col) {
  constexpr int PER = HS / 8;
  for (int i = threadIdx.x; i < rows * PER; i += kTcThreads) {
    const int r = i / PER, c = (i % PER) * 8;
    uint4 v = make_uint4(0, 0, 0, 0);
    const long long at = (row0 + min(r, max(valid - 1, 0))) * width + col + c;  // clamped: the load is unconditional
    const uint4 x = *reinterpret_cast<const uint4*>(qkv + at);
    if (r < valid) v = x;
    *reinterpret_cast<uint4*>(dst + r * LDH + c) = v;
  }
}

// Two probabilities rounded to T, packed as an mma operand register; `ra`, `rb` get the rounded values.
template <DType D>
__device__ __forceinline__ uint32_t packRounded(float a, float b, float& ra, float& rb) {
  if constexpr (D == DType::BF16) {
    const __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    ra = __low2float(h), rb = __high2float(h);
    return *reinterpret_cast<const uint32_t*>(&h);
  } else {
    const __half2 h = __floats2half2_rn(a, b);
    ra = __low2float(h), rb = __high2float(h);
    return *reinterpret_cast<const uint32_t*>(&h);
  }
}

template <DType D, int HS>
__global__ void __launch_bounds__(kTcThreads) attentionContextTcKernel(AttentionContextParams p) {
  using L = TcLayout<D, HS>;
  constexpr int NT = kTcKeys / 8;  // S n-tiles of 8 keys
  constexpr int DT = HS / 8;       // O n-tiles of 8 dims
  extern __shared__ __align__(128) unsigned char smem[];
  uint16_t* qs = reinterpret_cast<uint16_t*>(smem + L::q);
  uint16_t* ks = reinterpret_cast<uint16_t*>(smem + L::k);
  uint16_t* vs = reinterpret_cast<uint16_t*>(smem + L::v);
  const uint32_t qsA = (uint32_t)__cvta_generic_to_shared(qs), ksA = (uint32_t)__cvta_generic_to_shared(ks), vsA = (uint32_t)__cvta_generic_to_shared(vs);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
  const int tile = blockIdx.x, h = blockIdx.y;
  const int row0 = p.tiles[3 * tile], len = p.tiles[3 * tile + 1], q0 = p.tiles[3 * tile + 2];
  const int kvh = h / (p.numHeads / p.numKvHeads);
  const long long width = (long long)(p.numHeads + 2 * p.numKvHeads) * HS;
  const uint16_t* qkv = static_cast<const uint16_t*>(p.qkv);
  copyTile<HS, L::LDH>(qs, qkv, kTcRows, len - q0, row0 + q0, width, (long long)h * HS);
  __syncthreads();
  uint32_t qf[HS / 16][4];  // this warp's 16 query rows as A fragments, one per 16 dims
#pragma unroll
  for (int kk = 0; kk < HS / 16; kk++) ldmatrixX4(qf[kk], qsA + (uint32_t)(((warp * 16 + lane % 16) * L::LDH + kk * 16 + (lane / 16) * 8) * 2));
  float o[DT][4];
#pragma unroll
  for (int d = 0; d < DT; d++) o[d][0] = o[d][1] = o[d][2] = o[d][3] = 0.f;
  // this lane's rows: g and g + 8 of the warp's 16
  const int qr[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
  const int kEnd = min(len, q0 + kTcRows);
  for (int kt = 0; kt < kEnd; kt += kTcKeys) {
    __syncthreads();
    copyTile<HS, L::LDH>(ks, qkv, kTcKeys, len - kt, row0 + kt, width, (long long)(p.numHeads + kvh) * HS);
    copyTile<HS, L::LDH>(vs, qkv, kTcKeys, len - kt, row0 + kt, width, (long long)(p.numHeads + p.numKvHeads + kvh) * HS);
    __syncthreads();
    // S[16][64] = Q · Kᵀ: B (k = dim, n = key) is K's rows as stored; ldmatrix.x4 gives two n-tiles
    float sc[NT][4];
#pragma unroll
    for (int n = 0; n < NT; n++) sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < HS / 16; kk++) {
#pragma unroll
      for (int np = 0; np < NT / 2; np++) {
        uint32_t b[4];
        ldmatrixX4(b, ksA + (uint32_t)(((np * 16 + lane % 8 + (lane / 16) * 8) * L::LDH + kk * 16 + ((lane / 8) % 2) * 8) * 2));
        mma16816<D>(sc[2 * np], qf[kk], b[0], b[1]);
        mma16816<D>(sc[2 * np + 1], qf[kk], b[2], b[3]);
      }
    }
    // causal mask and scale; the row maxima over the lane quad
    float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < NT; n++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int key = kt + n * 8 + 2 * t4 + (e & 1), i = e / 2;
        sc[n][e] = key <= qr[i] && key < len ? sc[n][e] * p.scale : -INFINITY;
        mx[i] = fmaxf(mx[i], sc[n][e]);
      }
    float mUse[2], alpha[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
      mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
      const float mNew = fmaxf(m[i], mx[i]);
      mUse[i] = mNew == -INFINITY ? 0.f : mNew;  // a padding row: zeros, no NaN
      alpha[i] = expf(m[i] - mUse[i]);
      m[i] = mNew;
    }
    // P = exp(S − max) rounded to T, straight into A fragments (keys 16kk … 16kk + 15 = n-tiles 2kk, 2kk + 1)
    uint32_t pf[kTcKeys / 16][4];
    float rs[2] = {0.f, 0.f};
#pragma unroll
    for (int n = 0; n < NT; n++) {
      float r0, r1, r2, r3;
      const uint32_t lo = packRounded<D>(expf(sc[n][0] - mUse[0]), expf(sc[n][1] - mUse[0]), r0, r1);
      const uint32_t hi = packRounded<D>(expf(sc[n][2] - mUse[1]), expf(sc[n][3] - mUse[1]), r2, r3);
      rs[0] = rs[0] + r0 + r1;
      rs[1] = rs[1] + r2 + r3;
      pf[n / 2][(n % 2) * 2] = lo;
      pf[n / 2][(n % 2) * 2 + 1] = hi;
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
      rs[i] += __shfl_xor_sync(0xffffffffu, rs[i], 1);
      rs[i] += __shfl_xor_sync(0xffffffffu, rs[i], 2);
      l[i] = l[i] * alpha[i] + rs[i];
    }
#pragma unroll
    for (int d = 0; d < DT; d++) o[d][0] *= alpha[0], o[d][1] *= alpha[0], o[d][2] *= alpha[1], o[d][3] *= alpha[1];
    // O += P · V: B (k = key, n = dim) is V's rows transposed; ldmatrix.x4.trans gives two n-tiles
#pragma unroll
    for (int kk = 0; kk < kTcKeys / 16; kk++) {
#pragma unroll
      for (int dp = 0; dp < DT / 2; dp++) {
        uint32_t b[4];
        ldmatrixX4Trans(b, vsA + (uint32_t)(((kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * L::LDH + dp * 16 + (lane / 16) * 8) * 2));
        mma16816<D>(o[2 * dp], pf[kk], b[0], b[1]);
        mma16816<D>(o[2 * dp + 1], pf[kk], b[2], b[3]);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 2; i++) {
    if (qr[i] >= len) continue;
    const size_t outAt = ((size_t)(row0 + qr[i]) * p.numHeads + h) * HS;
#pragma unroll
    for (int d = 0; d < DT; d++) {
      Io<D>::store(p.out, outAt + d * 8 + 2 * t4, o[d][2 * i] / l[i]);
      Io<D>::store(p.out, outAt + d * 8 + 2 * t4 + 1, o[d][2 * i + 1] / l[i]);
    }
  }
}

template <DType D, int HS>
void launchContextTc(const AttentionContextParams& p, cudaStream_t s) {
  using L = TcLayout<D, HS>;
  allowDynamicSharedMemory(attentionContextTcKernel<D, HS>, L::bytes, "attentionContext (tensor cores)");
  attentionContextTcKernel<D, HS><<<dim3(p.numTiles, p.numHeads), kTcThreads, L::bytes, s>>>(p);
  check(cudaGetLastError(), "attentionContext (tensor cores) launch", __FILE__, __LINE__);
}

template <DType D, int HS>
void launchContext(const AttentionContextParams& p, cudaStream_t s) {
  const size_t bytes = (size_t)(kCtxRows + 2 * kCtxKeys) * (HS + 4) * sizeof(float);
  allowDynamicSharedMemory(attentionContextKernel<D, HS>, bytes, "attentionContext");
  attentionContextKernel<D, HS><<<dim3(p.numTiles, p.numHeads), kCtxThreads, bytes, s>>>(p);
  check(cudaGetLastError(), "attentionContext launch", __FILE__, __LINE__);
}

template <DType D, DType C, int HS>
void launchDecode(const AttentionDecodeParams& p, cudaStream_t s) {
  const int groups = (p.numHeads + kDecWarps - 1) / kDecWarps;
  AttentionDecodeParams q = p;  // + the (row, head group) arrival counters of the split merge
  q.counters = static_cast<int*>(streamScratch(s, "attentionDecode counters", (size_t)p.numRows * groups * sizeof(int), true));
  // maxSplits counts kDecodeSplit-position splits (the partial buffer's stride); 8-bit pages take twice as many positions per split
  constexpr int perSplit = (C == DType::I8 || C == DType::FP8E4M3) ? 128 : 64;
  const int splits = (p.maxSplits * kDecodeSplit + perSplit - 1) / perSplit;
  TRT_LAUNCH_PDL("attentionDecode", (attentionDecodeKernel<D, C, HS>), dim3(p.numRows, groups, splits), dim3(kDecThreads), 0, s, q);
}

// The cache storage: the activation dtype, int8 or fp8 e4m3.
template <DType D, int HS>
void launchDecodeCache(const AttentionDecodeParams& p, cudaStream_t s) {
  if (p.cache.dtype == D) launchDecode<D, D, HS>(p, s);
  else if (p.cache.dtype == DType::I8) launchDecode<D, DType::I8, HS>(p, s);
  else if (p.cache.dtype == DType::FP8E4M3) launchDecode<D, DType::FP8E4M3, HS>(p, s);
  else throw CudaError("attentionDecode: a cache stored as dtype code " + std::to_string((int)p.cache.dtype) + " (the activation dtype, int8 or fp8 e4m3)");
}

}  // namespace

void invokeAttentionDecode(const AttentionDecodeParams& p, cudaStream_t s) {
  if (p.numRows == 0) return;
  if (p.headSize != 64 && p.headSize != 128) throw CudaError("attentionDecode: head size " + std::to_string(p.headSize) + " (the production kernel has 64 and 128)");
  TRT_DISPATCH_ACT(p.dtype, "attentionDecode", if (p.headSize == 64) launchDecodeCache<D, 64>(p, s); else launchDecodeCache<D, 128>(p, s));
}

void invokeAttentionContext(const AttentionContextParams& p, cudaStream_t s) {
  if (p.numTiles == 0) return;
  if (p.headSize != 64 && p.headSize != 128) throw CudaError("attentionContext: head size " + std::to_string(p.headSize) + " (64 or 128; others run the decode kernel per row)");
  // fp16 / bf16 with probabilities in T (`--enable_context_fmha`): tensor cores; fp32, or probabilities kept in fp32: SIMT
  if (!p.fp32Acc && p.dtype == DType::F16) {
    if (p.headSize == 64) launchContextTc<DType::F16, 64>(p, s); else launchContextTc<DType::F16, 128>(p, s);
  } else if (!p.fp32Acc && p.dtype == DType::BF16) {
    if (p.headSize == 64) launchContextTc<DType::BF16, 64>(p, s); else launchContextTc<DType::BF16, 128>(p, s);
  } else {
    TRT_DISPATCH_ACT(p.dtype, "attentionContext", if (p.headSize == 64) launchContext<D, 64>(p, s); else launchContext<D, 128>(p, s));
  }
}

}  // namespace trt
