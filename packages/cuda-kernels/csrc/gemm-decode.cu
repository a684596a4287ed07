// gemm — production path for generation rows: the decode GEMM (tier 3; the reference kernel is gemm.cu,
// cuBLASLt gemm-lt.cu).
// D[M,N] = act(A[M,K]·B + bias) + residual with M the few rows of a decode step: memory-bound, so the
// point is to stream B once at full bandwidth, start streaming before the previous kernel ends (PDL),
// and keep the dependent chain after the wait short. Tensor cores (mma.sync m16n8k16, f16/bf16 in,
// fp32 accumulate); the sum, + bias, GELU (the oracle's formula) and + residual in fp32, one rounding.
//   B [K,N] (linear weights, gemmDecodeKnKernel below): a block owns 64 outputs along N and a range
//     of K; on Hopper a thread-block cluster of 1, 2, 4 or 8 blocks covers K and sums in rank order.
//   B [N,K] (transB, the lm_head): a lane loads 8 consecutive k of an n row, already a column fragment
//     (k permuted within the 32-k step, A read with the same permutation); a warp owns 16 n and the S
//     warps of a block split the steps (s, s+S, …), summed in warp order through shared memory; K is
//     cut into `splits` contiguous ranges (grid z) whose partials the tile's last block (an arrival
//     counter, no atomics on values) adds in z order.
// Every choice that fixes a sum's order comes from (N, K, layout, SM count, and for [K,N] whether
// the device has clusters) only — gemmDecodePlan() reports it — and rows never mix, so each output's operation sequence is the same for every M and every row list:
// batch-invariant by construction.
#include <algorithm>
#include <cooperative_groups.h>
#include <sstream>
#include <string>
#include <type_traits>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cluster.cuh"
#include "kv-cache.cuh"
#include "launch.cuh"
#include "layernorm.cuh"
#include "mma.cuh"
#include "typed.cuh"

namespace trt {
namespace {

constexpr int kDecodeRows = 64;  // [N,K]: rows per block (4 m-tiles of 16); more rows → more blocks along y
constexpr int kTbMaxWarps = 8;   // [N,K]: warps per block splitting K
constexpr int kMaxSplits = 16;

struct DecodeShape {  // [N,K]
  int steps;     // K steps of 32 k
  int tileN;     // outputs per block along N
  int warps;     // threads / 32
  int splits;    // blocks along z, each a contiguous range of steps (at most kMaxSplits)
  int perSplit;  // steps per split
};
// From (N, K) and the device's SM count only — never M — so the sum order is one per shape: split K
// until there are about two blocks per SM, each split at least four steps.
DecodeShape decodeShape(int n, int k, int sms) {
  const int stepK = 32, tileN = 16;
  const int steps = (k + stepK - 1) / stepK;
  const int tiles = (n + tileN - 1) / tileN;
  const int perSplit = std::min(steps, std::max({4, (steps * tiles + 2 * sms - 1) / (2 * sms), (steps + kMaxSplits - 1) / kMaxSplits}));
  const int splits = (steps + perSplit - 1) / perSplit;
  const int warps = std::max(1, std::min(kTbMaxWarps, (perSplit + 2) / 3));
  return {steps, tileN, warps, splits, perSplit};
}

__device__ __forceinline__ int rowOf(const GemmDecodeParams& p, int m) {  // m < p.m
  return p.rows ? min(max(p.rows[m], 0), p.aRows - 1) : m;
}

// + bias, GELU, + residual in fp32, one rounding, stored at output (m, n).
template <DType O>
__device__ __forceinline__ void finish(const GemmDecodeParams& p, int m, int n, float v) {
  const size_t at = (size_t)rowOf(p, m) * p.n + n;
  if (p.bias) v = fadd(v, Io<O>::load(p.bias, n));
  if (p.gelu) v = geluF32(v);
  if (p.residual) v = fadd(v, Io<O>::load(p.residual, at));
  Io<O>::store(p.d, at, v);
}

// After every block wrote its split's partials for rows [m0, m0 + rows) × [n0, n0 + tileN): the
// tile's last block to arrive sums them in split order and finishes. Called by the whole block.
template <DType O>
__device__ void reduceSplits(const GemmDecodeParams& p, const DecodeShape& sh, int m0, int rows, int n0) {
  if (!lastBlockToArrive(p.counters + blockIdx.y * gridDim.x + blockIdx.x, sh.splits)) return;
  __threadfence();
  // all splits' partials of an output group are loaded before they are summed (in z order)
  const int vec = p.n % 4 == 0 ? 4 : 1, groups = rows * sh.tileN / vec;
  for (int i = threadIdx.x; i < groups; i += blockDim.x) {
    const int m = m0 + i * vec / sh.tileN, n = n0 + i * vec % sh.tileN;
    if (m >= p.m || n >= p.n) continue;
    if (vec == 4) {
      float4 part[kMaxSplits];
#pragma unroll
      for (int z = 0; z < kMaxSplits; z++) part[z] = z < sh.splits ? __ldcg(reinterpret_cast<const float4*>(p.ws + ((size_t)z * p.wsRows + m) * p.n + n)) : float4{};
      float4 v = part[0];
#pragma unroll
      for (int z = 1; z < kMaxSplits; z++) {
        if (z < sh.splits) v = float4{fadd(v.x, part[z].x), fadd(v.y, part[z].y), fadd(v.z, part[z].z), fadd(v.w, part[z].w)};
      }
      finish<O>(p, m, n, v.x), finish<O>(p, m, n + 1, v.y), finish<O>(p, m, n + 2, v.z), finish<O>(p, m, n + 3, v.w);
    } else {
      float part[kMaxSplits];
#pragma unroll
      for (int z = 0; z < kMaxSplits; z++) part[z] = z < sh.splits ? __ldcg(p.ws + ((size_t)z * p.wsRows + m) * p.n + n) : 0.f;
      float v = part[0];
#pragma unroll
      for (int z = 1; z < kMaxSplits; z++) {
        if (z < sh.splits) v = fadd(v, part[z]);
      }
      finish<O>(p, m, n, v);
    }
  }
}

// ---- B [K,N]: a block per 64 outputs along N and a K range; a cluster of blocks covers K ----
// The weights are the mma's 16-row operand (Wᵀ: four 16 n × 16 k tiles per step) and the tokens its 8
// columns. A step's weights are 16 k rows × 64 n: 128-byte runs (a whole cache line per row), copied
// by a warp as four 16-byte cp.async per lane, each instruction covering four lines. The `cluster`
// blocks of a thread-block cluster (Hopper) split K into contiguous ranges, the block's 4 warps split
// its range again; each warp streams its weights through a private ring of `stages` steps (all of
// them when they fit), issued before pdlWait() so that with programmatic dependent launch they load
// while the previous kernel finishes. The activations (the previous kernel's output) are copied
// right after the wait, either
//   slab: the warp's K range of all the rows at once, into one shared-memory slab (up to 32 rows), or
//   ring: 16 k of the pass's rows (up to 32 tokens) inside each ring stage, next to its weights.
// Per step: four ldmatrix.trans (the A fragments), per token group one ldmatrix (the B fragment) and
// four mma (steps ascending). An mma row (n) or column (token) depends on its own operand row or
// column only, so weights past N and rows past M are not copied (their results are dropped); k past
// K is copied as zeros on both sides. Sums, in a fixed order: the warps of a block (warp order, shared
// memory), then the blocks of the cluster (rank order, distributed shared memory), then + bias (loaded
// before the wait), GELU and + residual in fp32; one rounding. The cluster size and the ranges come
// from (N, K, SM count) only and both ways feed the same values to the same mma sequence, so nothing
// in a sum's order depends on M, the row list, the way or the pass: batch-invariant by construction,
// with no global workspace and no second kernel.
constexpr int kKnTileN = 64;                // outputs per block along N
constexpr int kKnWarps = 4;                 // warps per block, each a contiguous part of the block's K range
constexpr int kKnStageW = 16 * 128;         // a step's weights in shared memory
constexpr int kKnRingStages = 8;            // ring depth in the ring way (the slab way holds up to kKnMaxStages)
constexpr int kKnMaxStages = 24;
constexpr int kKnMaxGroups = 4;             // token groups of 8 per pass (32 rows): 4 × 4 accumulator tiles
constexpr int kKnMaxCluster = 8;            // the portable cluster size
constexpr size_t kKnSlabBudget = 64 * 1024; // shared memory for the rows in the slab way
constexpr size_t kKnBlockBudget = 110 * 1024;  // shared memory per block: two blocks per SM
constexpr int kKnLnMaxK = 2048;             // the fused LayerNorm: a row in a warp's registers (layerNormFast's warp way)

struct KnShape {
  int steps;        // ⌈K / 16⌉
  int cluster;      // blocks along K (a cluster; 1 below compute capability 9.0)
  int groups;       // token groups of 8 per pass (from M: passes never mix in a sum)
  int stages;       // ring depth
  int stageBytes;   // kKnStageW (+ 256 B per token group in the ring way)
  int xStride;      // slab: elements per row (the block's K range + 16 B: ldmatrix rows on distinct banks)
  int slabRows;     // slab: rows held
  bool slab;
  size_t partAt;    // shared memory offsets: the block's partial sums [8·groups][64] fp32, the bias [64]
  size_t biasAt;
  bool ln;          // the LayerNorm is fused (slab way, K ≤ kKnLnMaxK)
  size_t lnAt;      // ln: mean and rstd of each row [32][2] fp32, then γ and β of the block's K range
  size_t smem;      // dynamic shared memory bytes
};
// The cluster size from (N, K, SMs): a power of two (clusters pack the GPCs evenly), at most two
// blocks per SM (a block keeps to kKnBlockBudget, so two fit: one wave), each warp at least one step.
int knCluster(int n, int k, int sms, bool clusters) {
  if (!clusters) return 1;
  const int tiles = (n + kKnTileN - 1) / kKnTileN, steps = (k + 15) / 16;
  int c = 1;
  while (c < kKnMaxCluster && 2 * c * tiles <= 2 * sms && 2 * c * kKnWarps <= steps) c *= 2;
  return c;
}
// `ln`: with the fused LayerNorm when it can be (the slab way, K ≤ kKnLnMaxK); the shape says whether.
KnShape knShape(int n, int k, int m, int sms, bool clusters, size_t smemOptin, bool ln = false) {
  KnShape sh{};
  sh.steps = (k + 15) / 16;
  sh.cluster = knCluster(n, k, sms, clusters);
  const int blockSteps = (sh.steps + sh.cluster - 1) / sh.cluster, warpSteps = (blockSteps + kKnWarps - 1) / kKnWarps;
  const int needed = (m + 7) / 8;
  sh.groups = std::min(kKnMaxGroups, needed);
  sh.xStride = blockSteps * 16 + 8;
  sh.slabRows = std::min(m, 8 * kKnMaxGroups);
  const size_t slabBytes = (size_t)sh.slabRows * sh.xStride * 2;
  const size_t lnBytes = ln ? 32 * 2 * 4 + (size_t)2 * (sh.xStride - 8) * 2 : 0;  // row stats, γ and β
  const size_t tail = (size_t)8 * sh.groups * kKnTileN * 4 + kKnTileN * 4 + lnBytes;  // partial sums, bias (, LayerNorm)
  const size_t budget = std::min(smemOptin, kKnBlockBudget);
  // the slab way when the rows and a ring of at least max(groups, 2) steps fit the block budget
  const size_t minRing = (size_t)kKnWarps * std::max(sh.groups, 2) * kKnStageW;
  sh.slab = needed <= kKnMaxGroups && slabBytes <= kKnSlabBudget && minRing + slabBytes + tail <= budget;
  if (ln && (!sh.slab || k > kKnLnMaxK)) return knShape(n, k, m, sms, clusters, smemOptin, false);  // LayerNorm as its own kernel
  sh.ln = ln;
  if (sh.slab) {  // every step of a warp in flight at once when it fits (no refills), else the deepest ring ≤ 8 that fits
    sh.stageBytes = kKnStageW;
    const bool all = warpSteps <= kKnMaxStages && (size_t)kKnWarps * warpSteps * kKnStageW + slabBytes + tail <= budget;
    sh.stages = std::max(sh.groups, all ? warpSteps : std::min(kKnRingStages, warpSteps));
    while (sh.stages > std::max(sh.groups, 2) && (size_t)kKnWarps * sh.stages * kKnStageW + slabBytes + tail > budget) sh.stages--;
  } else {
    sh.stageBytes = kKnStageW + 256 * sh.groups;
    sh.stages = std::max({2, sh.groups, std::min(kKnRingStages, warpSteps)});
    while (sh.stages > std::max(sh.groups, 2) && (size_t)kKnWarps * sh.stages * sh.stageBytes + tail > budget) sh.stages--;
  }
  const size_t rings = (size_t)kKnWarps * sh.stages * sh.stageBytes;
  sh.partAt = rings + (sh.slab ? slabBytes : 0);
  sh.biasAt = sh.partAt + (size_t)8 * sh.groups * kKnTileN * 4;
  sh.lnAt = sh.biasAt + kKnTileN * 4;
  sh.smem = sh.lnAt + lnBytes;
  return sh;
}

__device__ __forceinline__ void cpAsync16(uint32_t dst, const void* src, int bytes) {  // bytes < 16: zero-filled
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cpAsyncWait() { asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory"); }
__device__ __forceinline__ void cpAsyncWaitRing(int stages) {  // all but the newest stages − 1 groups (stages ≤ 8)
  switch (stages) {
    case 1: cpAsyncWait<0>(); break;
    case 2: cpAsyncWait<1>(); break;
    case 3: cpAsyncWait<2>(); break;
    case 4: cpAsyncWait<3>(); break;
    case 5: cpAsyncWait<4>(); break;
    case 6: cpAsyncWait<5>(); break;
    case 7: cpAsyncWait<6>(); break;
    default: cpAsyncWait<7>(); break;
  }
}
// Rows of 32 bytes (16 tokens' k) in shared memory, 8 rows read per ldmatrix: rows 4–7 of every 8 keep
// their two 16-byte halves swapped so those 8 rows sit on distinct banks.
__device__ __forceinline__ uint32_t swizzled(int row, int half) { return row * 32 + ((half ^ ((row >> 2) & 1)) * 16); }
// Weight rows of 128 bytes: 16-byte chunk c of k row r sits at chunk c ^ (r % 8), so the 8 rows an
// ldmatrix reads at one logical chunk sit on distinct banks.
__device__ __forceinline__ uint32_t weightAt(int row, int chunk) { return row * 128 + ((chunk ^ (row & 7)) * 16); }

// The QKV GEMM's cache write. kvTarget: where output column n of token `row` goes in the cache — the
// element offset, −1 without storage, −2 for a q column. It reads only the step's inputs (slots,
// positions, the block table), never the previous kernel's output, so it may run before pdlWait().
// storeKv: the output rounded to the activation dtype (what qkvPrepare reads) stored with the
// cache's rule (qkvPrepare's kvStore); no storage sets the error flag to 1 + row, as qkvPrepare does.
__device__ __forceinline__ long long kvTarget(const GemmDecodeParams& p, int row, int n) {
  const KvCacheView& c = p.kv;
  const int e = n - p.kvQHeads * c.headSize;
  if (e < 0) return -2;
  const long long at = kvOffset(c, p.kvSlots[row], e / (c.numKvHeads * c.headSize), e / c.headSize % c.numKvHeads, p.kvPositions[row]);
  return at < 0 ? -1 : at + e % c.headSize;
}
__device__ __forceinline__ void storeKv(const GemmDecodeParams& p, int row, int n, long long at, float rounded) {
  if (at == -2) return;
  if (at == -1) {
    atomicCAS(p.kvError, 0, row + 1);
    return;
  }
  kvStore(p.kv, at, (n - p.kvQHeads * p.kv.headSize) / (p.kv.numKvHeads * p.kv.headSize), rounded);
}

template <DType D, DType O, bool kSlab>
__global__ void __launch_bounds__(kKnWarps * 32) gemmDecodeKnKernel(GemmDecodeParams p, KnShape sh) {
  extern __shared__ __align__(16) unsigned char smem[];
  using St = typename Io<D>::Storage;
  const St* A = static_cast<const St*>(p.a);
  const St* B = static_cast<const St*>(p.b);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t4 = lane & 3;
  const int rank = blockIdx.x, C = sh.cluster;  // the cluster spans blockIdx.x (K ranges), blockIdx.y is the n tile
  const int n0 = blockIdx.y * kKnTileN, K = p.k, N = p.n, R = sh.stages;
  const int b0 = rank * sh.steps / C, bn = (rank + 1) * sh.steps / C - b0;   // the block's steps
  const int s0 = b0 + warp * bn / kKnWarps, ns = b0 + (warp + 1) * bn / kKnWarps - s0;  // the warp's
  const uint32_t base = (uint32_t)__cvta_generic_to_shared(smem);
  const uint32_t ring = base + warp * R * sh.stageBytes;
  const uint32_t xs = base + (uint32_t)kKnWarps * R * sh.stageBytes;  // slab [slabRows][xStride], k from b0·16
  float* part = reinterpret_cast<float*>(smem + sh.partAt);
  float* biasS = reinterpret_cast<float*>(smem + sh.biasAt);
  float* lnStats = reinterpret_cast<float*>(smem + sh.lnAt);           // ln: [row][mean, rstd]
  const uint32_t lnGamma = base + (uint32_t)sh.lnAt + 32 * 2 * 4;        // ln: γ, then β, of k b0·16 …
  const uint32_t lnBeta = lnGamma + (uint32_t)(sh.xStride - 8) * 2;

  auto issueWeights = [&](int i) {  // the warp's step i into stage i % R: lane copies chunks lane + 32j (row c / 8, n chunk c % 8)
    const uint32_t stage = ring + (i % R) * sh.stageBytes;
#pragma unroll
    for (int j = 0; j < 4; j++) {
      const int c = lane + 32 * j, r = c >> 3, ch = c & 7, n = n0 + 8 * ch, k = (s0 + i) * 16 + r;
      if (n >= N) continue;  // N % 8 = 0: a chunk is all in or all out
      cpAsync16(stage + weightAt(r, ch), B + (k < K ? (size_t)k * N + n : 0), k < K ? 16 : 0);
    }
  };
  auto issueRing = [&] {
    for (int i = 0; i < R; i++) {
      if (i < ns) issueWeights(i);
      cpAsyncCommit();
    }
  };
  int m0 = 0, G = 1, rows = 1;  // the pass: rows m0 … m0 + rows − 1 in 8-token groups (k past K copied as zeros; K % 8 = 0)
  auto rowSrc = [&](int r, int k) { return A + (k < K ? (size_t)rowOf(p, m0 + r) * K + k : 0); };
  auto issueRowsOfStep = [&](int i) {  // ring way: chunk c is token c / 2, k half c % 2 of step i
    for (int c = lane; c < 2 * rows; c += 32) {
      const int k = (s0 + i) * 16 + 8 * (c & 1);
      cpAsync16(ring + (i % R) * sh.stageBytes + kKnStageW + swizzled(c >> 1, c & 1), rowSrc(c >> 1, k), k < K ? 16 : 0);
    }
  };
  auto issueSlab = [&] {  // slab way: the warp's K range of every row
    for (int c = lane; c < rows * ns * 2; c += 32) {
      const int r = c / (ns * 2), k = s0 * 16 + (c % (ns * 2)) * 8;
      cpAsync16(xs + (uint32_t)(r * sh.xStride + k - b0 * 16) * 2, rowSrc(r, k), k < K ? 16 : 0);
    }
  };
  // The fused LayerNorm (slab way, one pass). Before the wait: γ and β of the warp's K range into
  // shared memory (they join the ring's first copy group). After it: each warp the mean and rstd of
  // rows warp, warp + 4, … — the row in registers, layerNormFast's warp order (layernorm.cuh) — then
  // the warp's K range of every row normalized into the slab, rounded to D as layerNormFast stores it.
  auto rowStats = [&](auto tag, const St* x, float& mean, float& rstd) {
    constexpr int P = decltype(tag)::value;
    float v[P];
#pragma unroll
    for (int i = 0; i < P; i++) v[i] = lane + 32 * i < K ? Io<D>::load(x, lane + 32 * i) : 0.f;
    lnRowStats(v, lane, K, p.lnEps, mean, rstd);
  };
  auto issueNormWeights = [&] {
    for (int c = lane; c < 2 * ns; c += 32) {
      const int k = s0 * 16 + 8 * c;
      const uint32_t at = (uint32_t)(k - b0 * 16) * 2;
      cpAsync16(lnGamma + at, static_cast<const St*>(p.lnGamma) + (k < K ? k : 0), k < K ? 16 : 0);
      cpAsync16(lnBeta + at, static_cast<const St*>(p.lnBeta ? p.lnBeta : p.lnGamma) + (k < K ? k : 0), k < K && p.lnBeta ? 16 : 0);
    }
  };
  auto normalizeSlab = [&] {
    // the warp's rows into L1 first (non-blocking), so a second row's loads do not wait a round trip
    for (int r = warp; r < rows; r += kKnWarps) {
      const char* x = reinterpret_cast<const char*>(A + (size_t)rowOf(p, m0 + r) * K);
      for (int c = lane; c * 128 < K * (int)sizeof(St); c += 32) asm volatile("prefetch.global.L1 [%0];" ::"l"(x + c * 128));
    }
    for (int r = warp; r < rows; r += kKnWarps) {
      const St* x = A + (size_t)rowOf(p, m0 + r) * K;
      float mean, rstd;
      if (K <= 256) rowStats(std::integral_constant<int, 8>{}, x, mean, rstd);
      else if (K <= 512) rowStats(std::integral_constant<int, 16>{}, x, mean, rstd);
      else if (K <= 1024) rowStats(std::integral_constant<int, 32>{}, x, mean, rstd);
      else rowStats(std::integral_constant<int, 64>{}, x, mean, rstd);
      if (lane == 0) lnStats[2 * r] = mean, lnStats[2 * r + 1] = rstd;
    }
    cpAsyncWait<0>();  // this warp's γ and β (and its weights: the first step waits for those anyway)
    __syncthreads();   // every row's mean and rstd
    for (int c = lane; c < rows * ns * 2; c += 32) {
      const int r = c / (ns * 2), k = s0 * 16 + (c % (ns * 2)) * 8;
      uint4 y = make_uint4(0, 0, 0, 0);
      if (k < K) {
        float x[8], gm[8], bt[8];
        Io<D>::load16(A, (size_t)rowOf(p, m0 + r) * K + k, x);
        const uint32_t at = (uint32_t)(k - b0 * 16) * 2;
        uint4 graw, braw;
        asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(graw.x), "=r"(graw.y), "=r"(graw.z), "=r"(graw.w) : "r"(lnGamma + at));
        asm volatile("ld.shared.v4.u32 {%0,%1,%2,%3}, [%4];" : "=r"(braw.x), "=r"(braw.y), "=r"(braw.z), "=r"(braw.w) : "r"(lnBeta + at));
        Io<D>::load16(&graw, 0, gm);
        Io<D>::load16(&braw, 0, bt);
        alignas(16) St out[8];
#pragma unroll
        for (int j = 0; j < 8; j++) {
          Io<D>::store(out, j, lnApply(x[j], lnStats[2 * r], lnStats[2 * r + 1], gm[j], bt[j], p.lnPlusOne));
        }
        y = *reinterpret_cast<const uint4*>(out);
      }
      const uint32_t to = xs + (uint32_t)(r * sh.xStride + k - b0 * 16) * 2;
      asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};" ::"r"(to), "r"(y.x), "r"(y.y), "r"(y.z), "r"(y.w) : "memory");
    }
    __syncwarp();  // the warp reads back only what its own lanes wrote
  };
  // ldmatrix sources: weight tile t (n 16t … 16t + 15), matrix j = lane / 8: k row 8·(j / 2) + lane % 8, n chunk 2t + j % 2
  const int lr = (lane & 7) + ((lane >> 4) << 3), lc = (lane >> 3) & 1;
  const int bHalf = ((lane >> 3) & 1) * 8;  // a token group (x2): matrix j = lane / 8 (lanes 0–15), token lane % 8, k half j
  const uint32_t bRing = ring + kKnStageW + swizzled(lane & 7, (lane >> 3) & 1);

  pdlLaunchDependents();
  if (kSlab && sh.ln) issueNormWeights();
  issueRing();
  if (threadIdx.x < kKnTileN) biasS[threadIdx.x] = p.bias && n0 + (int)threadIdx.x < N ? Io<O>::load(p.bias, n0 + threadIdx.x) : 0.f;
  long long kvFirst = -2;  // the cache target of this thread's first output of the first pass (the epilogue's `first`)
  if (p.kvWrite) {
    const int f = rank * blockDim.x + threadIdx.x;
    if (f < min(p.m, 8 * sh.groups) * kKnTileN && n0 + f % kKnTileN < N) kvFirst = kvTarget(p, rowOf(p, f / kKnTileN), n0 + f % kKnTileN);
  }
  pdlWait();  // the activations and the residual are the previous kernels' outputs

  for (; m0 < p.m; m0 += 8 * sh.groups) {
    G = min(sh.groups, (p.m - m0 + 7) / 8);
    rows = min(8 * G, p.m - m0);
    if (m0 > 0) {  // a further pass (ring way): the rings were the last pass's reduction buffer
      __syncthreads();
      issueRing();
    }
    if constexpr (kSlab) {
      if (sh.ln) normalizeSlab();
      else issueSlab();
      cpAsyncCommit();  // (empty with the LayerNorm: the wait counts below stay the same)
    } else {
      for (int i = 0; i < R; i++) {
        if (i < ns) issueRowsOfStep(i);
        cpAsyncCommit();
      }
    }
    // the residual of this thread's first output, fetched while the steps run
    const int first = rank * blockDim.x + threadIdx.x, fm = m0 + first / kKnTileN, fn = n0 + first % kKnTileN;
    float resFirst = 0.f;
    if (p.residual && first < rows * kKnTileN && fn < N) resFirst = Io<O>::load(p.residual, (size_t)rowOf(p, fm) * N + fn);

    float acc[kKnMaxGroups][4][4];
#pragma unroll
    for (int q = 0; q < kKnMaxGroups; q++)
#pragma unroll
      for (int t = 0; t < 4; t++) acc[q][t][0] = acc[q][t][1] = acc[q][t][2] = acc[q][t][3] = 0.f;
    for (int i = 0; i < ns; i++) {
      // groups committed so far — slab: R weight stages, the slab, one refill per earlier step (wait for
      // all at step 0; step i ≥ R has R − 1 newer); ring: R weight stages, R row stages, one refill per
      // earlier step (step i's rows or refill always has exactly R − 1 newer)
      if constexpr (kSlab) {
        if (i == 0) cpAsyncWait<0>();
        else if (i >= R) cpAsyncWaitRing(R);
      } else {
        cpAsyncWaitRing(R);
      }
      __syncwarp();
      const uint32_t stage = (i % R) * sh.stageBytes;
      uint32_t a[4][4];
#pragma unroll
      for (int t = 0; t < 4; t++) ldmatrixX4Trans(a[t], ring + stage + weightAt(lr, 2 * t + lc));
#pragma unroll
      for (int q = 0; q < kKnMaxGroups; q++) {
        if (q < G) {
          uint32_t b0r, b1r;
          ldmatrixX2(b0r, b1r, kSlab ? xs + (uint32_t)(min(q * 8 + (lane & 7), rows - 1) * sh.xStride + (s0 + i - b0) * 16 + bHalf) * 2 : bRing + stage + q * 256);
#pragma unroll
          for (int t = 0; t < 4; t++) mma16816<D>(acc[q][t], a[t], b0r, b1r);
        }
      }
      __syncwarp();  // every lane has read stage i before it is refilled
      if (i + R < ns) {
        issueWeights(i + R);
        if constexpr (!kSlab) issueRowsOfStep(i + R);
      }
      cpAsyncCommit();
    }
    cpAsyncWait<0>();
    __syncthreads();  // every warp is done with its ring: reuse the rings for the warps' partial sums
    // red[warp][q·8 + token][n]; accumulator e of lane (g, t4) in tile t: n = 16t + g (+8 for e ≥ 2), token 2·t4 + (e & 1)
    float* red = reinterpret_cast<float*>(smem);
#pragma unroll
    for (int q = 0; q < kKnMaxGroups; q++) {
      if (q < G) {
#pragma unroll
        for (int t = 0; t < 4; t++)
#pragma unroll
          for (int e = 0; e < 4; e++) red[((warp * G + q) * 8 + 2 * t4 + (e & 1)) * kKnTileN + 16 * t + g + (e >= 2 ? 8 : 0)] = acc[q][t][e];
      }
    }
    __syncthreads();
    const int outs = 8 * G * kKnTileN;  // i = token · 64 + n
    for (int i = threadIdx.x; i < outs; i += blockDim.x) {
      float v = red[i];
#pragma unroll
      for (int w = 1; w < kKnWarps; w++) v = fadd(v, red[w * outs + i]);
      part[i] = v;
    }
    clusterSync();  // every block's partial sums are ready (and visible across the cluster)
    for (int i = first; i < rows * kKnTileN; i += C * blockDim.x) {
      const int m = m0 + i / kKnTileN, n = n0 + i % kKnTileN;
      if (n >= N) continue;
      float v = clusterAt(part, 0)[i];
      for (int r = 1; r < C; r++) v = fadd(v, clusterAt(part, r)[i]);
      if (p.bias) v = fadd(v, biasS[i % kKnTileN]);
      if (p.gelu) v = geluF32(v);
      const size_t at = (size_t)rowOf(p, m) * N + n;
      if (p.residual) v = fadd(v, i == first ? resFirst : Io<O>::load(p.residual, at));
      Io<O>::store(p.d, at, v);
      if (p.kvWrite) storeKv(p, rowOf(p, m), n, i == first && m0 == 0 ? kvFirst : kvTarget(p, rowOf(p, m), n), roundTo(O, v));
    }
    clusterSync();  // no block leaves (or starts the next pass) while another still reads its partial sums
  }
}

// B [N,K] (transB). MT m-tiles of 16 rows; U steps loaded ahead.
template <DType D, DType O, int MT>
__global__ void __launch_bounds__(kTbMaxWarps * 32) gemmDecodeTbKernel(GemmDecodeParams p, DecodeShape sh) {
  constexpr int U = MT == 1 ? 4 : 2;
  using St = typename Io<D>::Storage;
  const St* A = static_cast<const St*>(p.a);
  const St* B = static_cast<const St*>(p.b);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n0 = blockIdx.x * sh.tileN, m0 = blockIdx.y * kDecodeRows;
  const int K = p.k, N = p.n;
  const int s0 = blockIdx.z * sh.perSplit, s1 = min(s0 + sh.perSplit, sh.steps);

  size_t rowAt[MT][2];  // A rows of fragment rows g and g + 8 of every m-tile
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int r = 0; r < 2; r++) rowAt[mt][r] = (size_t)rowOf(p, min(m0 + mt * 16 + g + 8 * r, p.m - 1)) * K;

  pdlLaunchDependents();
  float acc[MT][2][4];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int j = 0; j < 2; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) acc[mt][j][e] = 0.f;

  for (int first = s0 + warp; first < s1; first += U * sh.warps) {
    uint4 w[U][2];      // n rows n0 + g and n0 + 8 + g, 8 k each
    uint4 x[U][MT][2];  // A rows g and g + 8, the same 8 k
    int kc[U];  // the lane's 8 k of each step (loads first, the K mask at use)
#pragma unroll
    for (int u = 0; u < U; u++) {
      kc[u] = min(min(first + u * sh.warps, s1 - 1) * 32 + 8 * t, K - 8);
#pragma unroll
      for (int h = 0; h < 2; h++) w[u][h] = ldStream(B + (size_t)min(n0 + 8 * h + g, N - 1) * K + kc[u]);
    }
    if (first == s0 + warp) pdlWait();  // the first weights are on their way; A is the previous kernel's output
#pragma unroll
    for (int u = 0; u < U; u++)
#pragma unroll
      for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int r = 0; r < 2; r++) x[u][mt][r] = *reinterpret_cast<const uint4*>(A + rowAt[mt][r] + kc[u]);
#pragma unroll
    for (int u = 0; u < U; u++) {
      if (first + u * sh.warps >= s1) continue;  // warp-uniform
      if ((first + u * sh.warps) * 32 + 8 * t + 8 > K) {  // this lane's 8 k are past K (K % 8 = 0: all or none)
        w[u][0] = w[u][1] = make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int mt = 0; mt < MT; mt++) x[u][mt][0] = x[u][mt][1] = make_uint4(0, 0, 0, 0);
      }
      // two mma per step: q takes the lane's k 4q, 4q+1 (fragment columns 2t, 2t+1) and 4q+2, 4q+3 (2t+8, 2t+9)
#pragma unroll
      for (int q = 0; q < 2; q++)
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          const uint4& r0 = x[u][mt][0];
          const uint4& r1 = x[u][mt][1];
          const uint32_t a[4] = {q ? r0.z : r0.x, q ? r1.z : r1.x, q ? r0.w : r0.y, q ? r1.w : r1.y};
#pragma unroll
          for (int h = 0; h < 2; h++) mma16816<D>(acc[mt][h], a, q ? w[u][h].z : w[u][h].x, q ? w[u][h].w : w[u][h].y);
        }
    }
  }

  pdlWait();  // (returns at once when already waited)
  // warps' partials summed in warp order, one m-tile at a time
  __shared__ float red[kTbMaxWarps * 2 * 4 * 32];
  constexpr int per = 2 * 4 * 32;  // values per warp per m-tile
#pragma unroll
  for (int mt = 0; mt < MT; mt++) {
#pragma unroll
    for (int j = 0; j < 2; j++)
#pragma unroll
      for (int e = 0; e < 4; e++) red[(warp * 8 + j * 4 + e) * 32 + lane] = acc[mt][j][e];
    __syncthreads();
    for (int i = threadIdx.x; i < per; i += blockDim.x) {
      float v = red[i];
      for (int s = 1; s < sh.warps; s++) v = fadd(v, red[s * per + i]);
      const int j = i / 128, e = (i >> 5) & 3, l = i & 31;
      const int m = m0 + mt * 16 + (l >> 2) + (e >= 2 ? 8 : 0), n = n0 + 8 * j + 2 * (l & 3) + (e & 1);
      if (m >= p.m || n >= N) continue;
      if (sh.splits == 1) finish<O>(p, m, n, v);
      else p.ws[((size_t)blockIdx.z * p.wsRows + m) * N + n] = v;
    }
    __syncthreads();
  }
  if (sh.splits > 1) reduceSplits<O>(p, sh, m0, MT * 16, n0);
}

template <DType D, DType O>
void launchDecodeTb(const GemmDecodeParams& p, cudaStream_t s) {
  const DecodeShape sh = decodeShape(p.n, p.k, multiprocessors());
  const int chunks = p.m <= 32 ? 1 : (p.m + kDecodeRows - 1) / kDecodeRows;
  const dim3 grid((p.n + sh.tileN - 1) / sh.tileN, chunks, sh.splits);
  GemmDecodeParams q = p;
  if (sh.splits > 1) {  // the split partials and the tiles' arrival counters
    const size_t tiles = (p.n + sh.tileN - 1) / sh.tileN;
    q.wsRows = chunks * kDecodeRows;
    q.ws = static_cast<float*>(streamScratch(s, "gemmDecode partials", (size_t)sh.splits * q.wsRows * p.n * sizeof(float), false));
    q.counters = static_cast<int*>(streamScratch(s, "gemmDecode counters", tiles * chunks * sizeof(int), true));
  }
  const int mt = p.m <= 16 ? 1 : p.m <= 32 ? 2 : 4;
  auto* kernel = mt == 1 ? gemmDecodeTbKernel<D, O, 1> : mt == 2 ? gemmDecodeTbKernel<D, O, 2> : gemmDecodeTbKernel<D, O, 4>;
  TRT_LAUNCH_PDL("gemmDecode", kernel, grid, dim3(32 * sh.warps), 0, s, q, sh);
}

template <DType D, DType O>
void launchDecodeKn(const GemmDecodeParams& p, cudaStream_t s) {
  const size_t optin = (size_t)deviceAttribute<cudaDevAttrMaxSharedMemoryPerBlockOptin>();
  const bool clusters = clustersFor(gemmDecodeKnKernel<D, O, false>);  // both forms come from the same compile
  const KnShape sh = knShape(p.n, p.k, p.m, multiprocessors(), clusters, optin, p.lnGamma != nullptr);
  GemmDecodeParams q = p;
  if (p.lnGamma && !sh.ln) {  // a LayerNorm this plan cannot fuse: layerNormFast over A's rows into scratch first (the same bits)
    void* y = streamScratch(s, "gemmDecode layernorm", (size_t)p.aRows * p.k * dtypeBytes(D), false);
    invokeLayerNormFast({p.a, p.lnGamma, p.lnBeta, y, p.aRows, p.k, p.lnEps, p.lnPlusOne, D}, s);
    q.a = y;
    q.lnGamma = q.lnBeta = nullptr;
  }
  auto* kernel = sh.slab ? gemmDecodeKnKernel<D, O, true> : gemmDecodeKnKernel<D, O, false>;
  allowDynamicSharedMemory(kernel, sh.smem, "gemmDecode");
  TRT_LAUNCH_PDL_CLUSTER("gemmDecode", kernel, dim3(sh.cluster, (p.n + kKnTileN - 1) / kKnTileN), dim3(32 * kKnWarps), sh.smem, clusters ? sh.cluster : 0, s, q, sh);
}

template <DType D>
void dispatchDecode(const GemmDecodeParams& p, cudaStream_t s) {
  if (p.outDtype == DType::F32) {
    p.transB ? launchDecodeTb<D, DType::F32>(p, s) : launchDecodeKn<D, DType::F32>(p, s);
  } else {
    p.transB ? launchDecodeTb<D, D>(p, s) : launchDecodeKn<D, D>(p, s);
  }
}

}  // namespace

bool gemmDecodeClusters() { return clustersFor(gemmDecodeKnKernel<DType::F16, DType::F16, false>); }

std::string gemmDecodePlan(int n, int k, int m, bool transB, int sms, bool clusters, size_t smemOptin, bool layerNorm) {
  std::ostringstream o;
  if (transB) {
    const DecodeShape sh = decodeShape(n, k, sms);
    const int chunks = m <= 32 ? 1 : (m + kDecodeRows - 1) / kDecodeRows;
    o << "{\"layout\":\"NK\",\"grid\":[" << (n + sh.tileN - 1) / sh.tileN << "," << chunks << "," << sh.splits << "],\"threads\":" << 32 * sh.warps
      << ",\"stepK\":32,\"steps\":" << sh.steps << ",\"splits\":" << sh.splits << ",\"stepsPerSplit\":" << sh.perSplit << ",\"warps\":" << sh.warps
      << ",\"tileN\":" << sh.tileN << ",\"smemBytes\":0}";
  } else {
    const KnShape sh = knShape(n, k, m, sms, clusters, smemOptin, layerNorm);
    o << "{\"layout\":\"KN\",\"grid\":[" << sh.cluster << "," << (n + kKnTileN - 1) / kKnTileN << ",1],\"threads\":" << 32 * kKnWarps
      << ",\"stepK\":16,\"steps\":" << sh.steps << ",\"cluster\":" << sh.cluster << ",\"warps\":" << kKnWarps << ",\"tileN\":" << kKnTileN
      << ",\"way\":\"" << (sh.slab ? "slab" : "ring") << "\",\"groups\":" << sh.groups << ",\"passes\":" << (m + 8 * sh.groups - 1) / (8 * sh.groups)
      << ",\"stages\":" << sh.stages << ",\"smemBytes\":" << sh.smem;
    if (layerNorm) o << ",\"layerNorm\":\"" << (sh.ln ? "fused" : "separate") << "\"";
    o << "}";
  }
  return o.str();
}

std::string gemmDecodeUnsupported(int n, int k, bool transB, DType inDtype) {
  if (inDtype != DType::F16 && inDtype != DType::BF16) return "f16 or bf16 inputs (f32 runs through cuBLASLt at full fp32 precision)";
  if (k < 8 || k % 8 != 0) return "K a multiple of 8 (16-byte rows of A" + std::string(transB ? " and B" : "") + "), got K=" + std::to_string(k);
  if (!transB && (n < 8 || n % 8 != 0)) return "N a multiple of 8 (16-byte rows of B), got N=" + std::to_string(n);
  return "";
}

void invokeGemmDecode(const GemmDecodeParams& p, cudaStream_t s) {
  const std::string why = gemmDecodeUnsupported(p.n, p.k, p.transB, p.inDtype);
  if (!why.empty()) throw CudaError("gemmDecode: needs " + why);
  if (p.outDtype != p.inDtype && p.outDtype != DType::F32) throw CudaError("gemmDecode: output dtype must be the input's or f32");
  if ((p.bias || p.residual) && p.outDtype != p.inDtype) throw CudaError("gemmDecode: a bias or residual needs the output dtype = the input's");
  for (const void* q : {p.a, p.b}) {
    if (reinterpret_cast<uintptr_t>(q) % 16 != 0) throw CudaError("gemmDecode: A and B must be 16-byte aligned (a view at an odd offset?)");
  }
  if ((p.lnGamma || p.kvWrite) && p.transB) throw CudaError("gemmDecode: the fused LayerNorm and KV-cache write are for [K,N] weights only");
  for (const void* q : {p.lnGamma, p.lnBeta}) {
    if (reinterpret_cast<uintptr_t>(q) % 16 != 0) throw CudaError("gemmDecode: the LayerNorm's gamma and beta must be 16-byte aligned");
  }
  if (p.kvWrite) {
    const KvCacheView& c = p.kv;
    if (p.outDtype != p.inDtype) throw CudaError("gemmDecode: the KV-cache write needs the output dtype = the input's");
    if (!p.kvSlots || !p.kvPositions || !p.kvError) throw CudaError("gemmDecode: the KV-cache write needs slots, positions and an error flag");
    if (c.numKvHeads <= 0 || c.headSize <= 0 || p.kvQHeads <= 0 || (size_t)(p.kvQHeads + 2 * c.numKvHeads) * c.headSize != (size_t)p.n) {
      throw CudaError("gemmDecode: the KV-cache write needs N = (numHeads + 2·numKvHeads)·headSize, got N=" + std::to_string(p.n) + " for " +
                      std::to_string(p.kvQHeads) + " + 2·" + std::to_string(c.numKvHeads) + " heads of " + std::to_string(c.headSize));
    }
  }
  if (p.m == 0 || p.n == 0) return;
  if (p.inDtype == DType::BF16) dispatchDecode<DType::BF16>(p, s);
  else dispatchDecode<DType::F16>(p, s);
}

}  // namespace trt
