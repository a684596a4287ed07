// int8-gemm-decode — production SmoothQuant linear layer for the few rows of a decode step (tier 1):
//   out = epilogue(a [M,K] · b [N,K]ᵀ)   int8 × int8 → int32 on tensor cores, then the SmoothQuant
// epilogue of smoothquant.cuh (scales, + bias, GELU, + residual) on the sums, in one kernel.
//
// Why a kernel of our own: at decode sizes the layer is memory-bound, and the cuBLASLt route
// (int8GemmLt into an int32 [M,N], then smoothQuantEpilogue) costs two launches and an int32 round
// trip for a GEMM whose only job is to stream N·K weight bytes once. Here the weights are streamed
// once, straight into mma.sync fragments, and the epilogue runs on the block's sums.
//
// Exactness by construction: int32 addition (two's-complement wrap-around) is associative and
// commutative, so every split of K — across lanes, warps and blocks — gives the oracle's sum bit for
// bit; the epilogue is smoothquant.cuh's, the oracle's sequence. The result is equal to int8GemmLt +
// smoothQuantEpilogue and to ref-math smoothQuantEpilogue(int8Gemm(a, b, transB)) for every M, so
// mixing this kernel (decode rows) and cuBLASLt (prompts) never breaks batch invariance.
//
// Layout: a block owns 16 outputs along N (one mma A tile: the weights are the 16-row operand) and a
// range of K; the tokens are the mma's 8 columns, in groups of 8 (TG groups per pass of the grid's y).
// A step is 64 k: lane (g, t) loads 16 bytes of weight rows n0 + g and n0 + 8 + g at k = 64s + 16t, and
// 16 bytes of its token's row at the same k. Inside a step k is permuted: the mma's k slots 4t … 4t + 3
// and 16 + 4t … take bytes 0–3 and 4–7 of the lane's 16 (bytes 8–15 feed a second mma) — the same
// permutation on both operands, so the products and their sum are unchanged. The warps of a block take
// steps s, s + W, …; the first U steps' weights are loaded before pdlWait() (programmatic dependent
// launch: they stream while the previous kernel finishes). Partial sums: warps through shared memory,
// blocks along z (split K, from (N, K, SM count) only) through a workspace summed by the tile's last
// block to arrive.
//
// With x (the activations in T, at most kQuantizeRows rows) instead of a, the kernel also quantizes
// them, as quantizePerToken / quantizePerTensor do: per token, each block finds its rows' maxima (exact
// in any order; with fewer rows than warps the warps split each row) and their multipliers
// fp32(127 / rowMax) and αrow = fp32(rowMax / 127); per tensor, the
// static multiplier and the given αrow. Each lane then quantizes its 16 k of its token as it loads them
// — the same int8 values, so the same bits — with no quantize kernel before it. Every block re-reads
// the rows for their maxima, which is why this way is for few rows (the engine uses it up to 8 rows;
// at 16 the whole gpt2-xl step through it measured 1.85× the fp16 step, docs/quantization.md).
//
// With x and a LayerNorm's γ (β) too (at most kNormRows rows, K ≤ kLnMaxK), the kernel takes the
// LayerNorm's input: each block normalizes its rows with layerNormFast's arithmetic — the row shared by
// the block's 8 warps, its sums in layernorm.cuh's order, y rounded to T — and quantizes that y as
// layerNormFastQuant does (the same int8 and αrow, so the same bits as layerNormFastQuant →
// int8GemmDecode), into a shared-memory slab of rows × K bytes that the main loop reads in place of a.
// Every block normalizes the rows again, so this pays off for one row only (the engine's use).
#include <algorithm>
#include <sstream>
#include <string>

#include "launch.cuh"
#include "decode-stream.cuh"
#include "layernorm.cuh"
#include "mma.cuh"
#include "reduce.cuh"
#include "smoothquant.cuh"
#include "typed.cuh"

namespace trt {
namespace {

constexpr int kStepK = kStreamStepK;
constexpr int kTileN = kStreamTileN;
constexpr int kMaxWarps = kStreamMaxWarps;
constexpr int kQuantizeRows = 16;  // rows up to which x may be given instead of a (each block re-reads them)
constexpr int kLnMaxK = 2048;      // the fused LayerNorm: 64 elements of a row per lane, layerNormFast's warp way (8 groups of 8: one per warp)
constexpr int kNormRows = 8;       // rows up to which the LayerNorm may be fused (one token group: 8 rows of int8 in shared memory)

/** What the kernel's activations are: int8 a, float x quantized inside, or a LayerNorm's input x normalized and quantized inside. */
enum class XIn { Int8, Quantize, Norm };

using Int8DecodeShape = StreamShape;

/** Token groups of 8 per pass for M rows: 1, 2, 4 or 8 (at most 64 rows a pass). */
int tokenGroups(int m) { return m <= 8 ? 1 : m <= 16 ? 2 : m <= 32 ? 4 : 8; }

/** Output (m, n)'s epilogue; with QX the row's αrow is the block's own (`qxAlpha`), else p.alphaRow's. */
template <DType O, bool QX>
__device__ __forceinline__ void finish(const Int8GemmDecodeParams& p, int m, int n, int32_t acc, float qxAlpha) {
  const float rowAlpha = QX ? qxAlpha : p.alphaRow[p.perToken ? m : 0];
  smoothQuantFinishRow(acc, rowAlpha, p.alphaCol, p.bias, p.residual, p.out, n, (size_t)m * p.n + n, p.perChannel, p.gelu, O);
}

/** The 16 int8 of T activations at x[at …], quantized with the multiplier qs (quantizeInt8: the quantize kernels' arithmetic). */
template <DType X>
__device__ __forceinline__ uint4 quantize16(const void* x, size_t at, float qs) {
  uint32_t w[4] = {0, 0, 0, 0};
#pragma unroll
  for (int v = 0; v < 16 / Io<X>::kVec; v++) {
    float f[Io<X>::kVec];
    Io<X>::load16(x, at + v * Io<X>::kVec, f);
#pragma unroll
    for (int e = 0; e < Io<X>::kVec; e++) {
      const int b = v * Io<X>::kVec + e;  // byte b of the 16: register b / 4, lane of it b % 4 (k ascending)
      w[b >> 2] |= (uint32_t)(uint8_t)quantizeInt8(f[e], qs) << (8 * (b & 3));
    }
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

/**
 * The fused LayerNorm: rows [m0, m0 + rows) of x normalized with layerNormFast's bits, then quantized as
 * layerNormFastQuant does — per token with the row's own multiplier, per tensor with qStatic — into
 * slab[r · K …]; αrow of each row into rowAlpha. The block's 8 warps share each row: layerNormFast's
 * warp way has lane ℓ add its elements ℓ + 32i (i < 64) serially in 8 groups of 8, then the groups
 * pairwise (layernorm.cuh laneSum); here warp w adds group w of every lane (its 8 elements), the 8
 * group sums meet in shared memory, and every warp adds them in laneSum's pairwise order and then
 * across lanes (warpSum) — the same operations in the same order, so the same mean and rstd, 8 times
 * as parallel. The R ≥ rows rows go together (their loads in flight at once, four barriers in all); a
 * row past M re-reads the last row and is dropped. The row maximum is exact in any order. γ and β (fp32) come
 * from shared memory, and every load sits outside a branch (clamped indices, then selects).
 */
template <DType O, int R>
__device__ __forceinline__ void normalizeQuantizeRows(const Int8GemmDecodeParams& p, int m0, int rows, int8_t* slab, const float* gamma, const float* beta, float* red, float* rowAlpha) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, K = p.k;
  static_assert(kLnMaxK / 32 == 8 * kMaxWarps, "a lane's 64 elements of a row: 8 groups of 8, one group per warp");
  // red[r · 256 + w · 32 + ℓ]: warp w's group sum of lane ℓ in row r; each warp adds a row's 8 in laneSum's pairwise order, then across the lanes
  auto rowSums = [&](const float (&groupSum)[R], float (&out)[R]) {
#pragma unroll
    for (int r = 0; r < R; r++) red[r * 256 + warp * 32 + lane] = groupSum[r];
    __syncthreads();
#pragma unroll
    for (int r = 0; r < R; r++) {
      float g[kMaxWarps];
#pragma unroll
      for (int j = 0; j < kMaxWarps; j++) g[j] = red[r * 256 + j * 32 + lane];
#pragma unroll
      for (int w = 1; w < kMaxWarps; w *= 2)
#pragma unroll
        for (int j = 0; j < kMaxWarps; j += 2 * w) g[j] = g[j] + g[j + w];
      out[r] = warpSum(0.f + g[0]);
    }
    __syncthreads();  // red is written again next
  };
  int col[8];
#pragma unroll
  for (int e = 0; e < 8; e++) col[e] = lane + 32 * (8 * warp + e);
  float v[R][8];
#pragma unroll
  for (int r = 0; r < R; r++) {
    const size_t base = (size_t)(m0 + min(r, rows - 1)) * K;
#pragma unroll
    for (int e = 0; e < 8; e++) v[r][e] = Io<O>::load(p.x, base + min(col[e], K - 1));
  }
  float part[R], mean[R], rstd[R];
#pragma unroll
  for (int r = 0; r < R; r++) {
#pragma unroll
    for (int e = 0; e < 8; e++) v[r][e] = col[e] < K ? v[r][e] : 0.f;
    float s = v[r][0];
#pragma unroll
    for (int e = 1; e < 8; e++) s = s + v[r][e];
    part[r] = s;
  }
  rowSums(part, mean);
#pragma unroll
  for (int r = 0; r < R; r++) {
    mean[r] = mean[r] / (float)K;
    float d2 = 0.f;
#pragma unroll
    for (int e = 0; e < 8; e++) {
      const float d = col[e] < K ? v[r][e] - mean[r] : 0.f;
      d2 = e == 0 ? d * d : d2 + d * d;
    }
    part[r] = d2;
  }
  rowSums(part, rstd);
  float mx[R];
#pragma unroll
  for (int r = 0; r < R; r++) {
    rstd[r] = rsqrtf(rstd[r] / (float)K + p.lnEps);
    mx[r] = 9.999999974752427e-7f;  // fp32(1e-6): quantizePerToken's floor (the zeros past the row change no maximum)
#pragma unroll
    for (int e = 0; e < 8; e++) {
      const int h = min(col[e], K - 1);
      const float y = roundTo(O, lnApply(v[r][e], mean[r], rstd[r], gamma[h], beta[h], p.lnPlusOne));  // y as layerNormFast stores it
      v[r][e] = col[e] < K ? y : 0.f;
      mx[r] = fmaxf(mx[r], fabsf(v[r][e]));
    }
  }
  if (p.perToken) {  // each row's maximum over the block (exact in any order)
#pragma unroll
    for (int r = 0; r < R; r++) {
      const float m = warpMax(mx[r]);
      if (lane == 0) red[r * kMaxWarps + warp] = m;
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
      for (int j = 0; j < kMaxWarps; j++) mx[r] = fmaxf(mx[r], red[r * kMaxWarps + j]);
  }
#pragma unroll
  for (int r = 0; r < R; r++) {
    if (r >= rows) break;  // block-uniform
    const float qs = p.perToken ? fdiv(127.f, mx[r]) : p.qStatic;
#pragma unroll
    for (int e = 0; e < 8; e++) {
      if (col[e] < K) slab[(size_t)r * K + col[e]] = quantizeInt8(v[r][e], qs);
    }
    if (threadIdx.x == 0) rowAlpha[r] = p.perToken ? fdiv(mx[r], 127.f) : p.alphaRow[0];
  }
}

// X: int8 a (αrow from p.alphaRow), float x (T = O) quantized here, or a LayerNorm's input x normalized and quantized here
template <DType O, int TG, XIn X>
__global__ void __launch_bounds__(kMaxWarps * 32, X == XIn::Norm ? 2 : 1) int8GemmDecodeKernel(Int8GemmDecodeParams p, Int8DecodeShape sh) {
  constexpr bool QX = X != XIn::Int8;  // αrow is the block's own (rowAlpha)
  constexpr int U = TG <= 2 ? 4 : 2;  // steps loaded ahead
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n0 = blockIdx.x * kTileN, m0 = blockIdx.y * 8 * TG;
  const int K = p.k, N = p.n;
  const int s0 = blockIdx.z * sh.perSplit, s1 = min(s0 + sh.perSplit, sh.steps);
  // weight rows past N and token rows past M read a valid row; their results are dropped
  const void* const wRow[2] = {p.b + (size_t)min(n0 + g, N - 1) * K, p.b + (size_t)min(n0 + 8 + g, N - 1) * K};
  size_t xAt[TG];  // element offset of the lane's token row in each group
#pragma unroll
  for (int q = 0; q < TG; q++) xAt[q] = (size_t)min(m0 + 8 * q + g, p.m - 1) * K;
  const int rows = min(8 * TG, p.m - m0);
  // QX: each row's quantize multiplier and αrow (rows of this pass); Norm: γ and β as fp32 (K each), then
  // the rows' int8 (rows × K bytes)
  __shared__ float rowQs[8 * TG], rowAlpha[8 * TG];
  extern __shared__ __align__(16) float normShared[];

  pdlLaunchDependents();
  if constexpr (QX) {
    // the first steps' weights toward L2 while the previous kernel finishes; then the rows' maxima
#pragma unroll
    for (int u = 0; u < U; u++) {
      const int step = s0 + warp + u * sh.warps;
      if (step < s1) {
#pragma unroll
        for (int h = 0; h < 2; h++) asm volatile("prefetch.global.L2 [%0];" ::"l"(static_cast<const int8_t*>(wRow[h]) + min(step * kStepK + 16 * t, K - 16)));
      }
    }
    if constexpr (X == XIn::Norm) {  // γ and β (weights, not the previous kernel's output) into shared memory first
      // 8 of each per thread in flight at once (K ≤ 2048 = 8 · 256: one pass), then stored
      for (int h0 = threadIdx.x; h0 < K; h0 += 8 * blockDim.x) {
        float gv[8], bv[8];
#pragma unroll
        for (int j = 0; j < 8; j++) {
          const int h = min(h0 + j * (int)blockDim.x, K - 1);
          gv[j] = Io<O>::load(p.lnGamma, h);
          bv[j] = p.lnBeta ? Io<O>::load(p.lnBeta, h) : 0.f;
        }
#pragma unroll
        for (int j = 0; j < 8; j++) {
          const int h = h0 + j * (int)blockDim.x;
          if (h < K) normShared[h] = gv[j], normShared[K + h] = bv[j];
        }
      }
    }
    pdlWait();  // x is the previous kernel's output
    if constexpr (X == XIn::Norm) {
      __syncthreads();
      __shared__ float red[kNormRows * kMaxWarps * 32];  // the rows' group sums, then squares, then warp maxima
      int8_t* slab = reinterpret_cast<int8_t*>(normShared + 2 * K);
      if (rows == 1) normalizeQuantizeRows<O, 1>(p, m0, rows, slab, normShared, normShared + K, red, rowAlpha);
      else if (rows == 2) normalizeQuantizeRows<O, 2>(p, m0, rows, slab, normShared, normShared + K, red, rowAlpha);
      else if (rows <= 4) normalizeQuantizeRows<O, 4>(p, m0, rows, slab, normShared, normShared + K, red, rowAlpha);
      else normalizeQuantizeRows<O, kNormRows>(p, m0, rows, slab, normShared, normShared + K, red, rowAlpha);
    } else if (p.perToken) {
      // each row's maximum (exact in any order): with fewer rows than warps, each row is shared by
      // `parts` warps (one row at batch 1: the whole block reads it in one pass of loads), else a warp per row
      __shared__ float partMax[kQuantizeRows * kMaxWarps];
      const int parts = max(1, sh.warps / rows);
      for (int item = warp; item < rows * parts; item += sh.warps) {
        const int r = item / parts, part = item % parts;
        const size_t base = (size_t)(m0 + r) * K;
        const int stride = parts * 32 * Io<O>::kVec;
        float mx = 9.999999974752427e-7f;  // fp32(1e-6): quantizePerToken's floor
        // 8 loads of 16 bytes in flight per pass (clamped: a load past the row re-reads its last 16 bytes, which changes no maximum)
        for (int k0 = (part * 32 + lane) * Io<O>::kVec; k0 < K; k0 += 8 * stride) {
          float f[8][Io<O>::kVec];
#pragma unroll
          for (int j = 0; j < 8; j++) Io<O>::load16(p.x, base + min(k0 + j * stride, K - Io<O>::kVec), f[j]);
#pragma unroll
          for (int j = 0; j < 8; j++)
#pragma unroll
            for (int e = 0; e < Io<O>::kVec; e++) mx = fmaxf(mx, fabsf(f[j][e]));
        }
        mx = warpMax(mx);
        if (lane == 0) partMax[r * kMaxWarps + part] = mx;
      }
      __syncthreads();
      if (threadIdx.x < rows) {
        float mx = partMax[threadIdx.x * kMaxWarps];
        for (int part = 1; part < parts; part++) mx = fmaxf(mx, partMax[threadIdx.x * kMaxWarps + part]);
        rowQs[threadIdx.x] = fdiv(127.f, mx), rowAlpha[threadIdx.x] = fdiv(mx, 127.f);
      }
    } else if (threadIdx.x < rows) {
      rowQs[threadIdx.x] = p.qStatic, rowAlpha[threadIdx.x] = p.alphaRow[0];
    }
    __syncthreads();
  }
  float qsOf[TG];  // QX: the lane's token's multiplier in each group
#pragma unroll
  for (int q = 0; q < TG; q++) qsOf[q] = X == XIn::Quantize ? rowQs[min(8 * q + g, rows - 1)] : 0.f;  // a token past M quantizes a valid row; its results are dropped
  int32_t acc[TG][4];
#pragma unroll
  for (int q = 0; q < TG; q++)
#pragma unroll
    for (int e = 0; e < 4; e++) acc[q][e] = 0;

  for (int first = s0 + warp; first < s1; first += U * sh.warps) {
    uint4 w[U][2];
    int kc[U];  // the lane's 16 k of each step, clamped inside the row (the K mask at use)
    loadWeightSteps<U>(wRow, first, s1, sh.warps, K, t, w, kc);
    if (first == s0 + warp) pdlWait();  // the first weights are on their way; a is the previous kernel's output
    zeroWeightTails<U>(first, sh.warps, K, t, w);
#pragma unroll
    for (int q = 0; q < TG; q++) {
      uint4 x[U];
#pragma unroll
      for (int u = 0; u < U; u++) {
        if constexpr (X == XIn::Norm) x[u] = *reinterpret_cast<const uint4*>(reinterpret_cast<const int8_t*>(normShared + 2 * K) + (size_t)min(8 * q + g, rows - 1) * K + kc[u]);  // a token past M reads a valid row
        else if constexpr (QX) x[u] = quantize16<O>(p.x, xAt[q] + kc[u], qsOf[q]);
        else x[u] = *reinterpret_cast<const uint4*>(p.a + xAt[q] + kc[u]);
      }
#pragma unroll
      for (int u = 0; u < U; u++) {
        if (first + u * sh.warps >= s1) continue;  // warp-uniform
        uint32_t lo[4], hi[4];
        weightFragments(w[u], lo, hi);
        mma16832s8(acc[q], lo, x[u].x, x[u].y);
        mma16832s8(acc[q], hi, x[u].z, x[u].w);
      }
    }
  }

  pdlWait();  // (returns at once when already waited)
  // warps' partials summed through shared memory, one token group at a time; lane (g, t)'s accumulator
  // e holds output n = n0 + g (+ 8 for e ≥ 2), token 8q + 2t + (e & 1)
  __shared__ int32_t red[kMaxWarps * 128];
#pragma unroll
  for (int q = 0; q < TG; q++) {
    if (m0 + 8 * q >= p.m) break;  // block-uniform
#pragma unroll
    for (int e = 0; e < 4; e++) red[warp * 128 + e * 32 + lane] = acc[q][e];
    __syncthreads();
    for (int i = threadIdx.x; i < 128; i += blockDim.x) {
      uint32_t v = (uint32_t)red[i];  // unsigned: the wrap-around is defined
      for (int s = 1; s < sh.warps; s++) v += (uint32_t)red[s * 128 + i];
      const int e = i >> 5, l = i & 31;
      const int n = n0 + (l >> 2) + (e >= 2 ? 8 : 0), m = m0 + 8 * q + 2 * (l & 3) + (e & 1);
      if (m >= p.m || n >= N) continue;
      if (sh.splits == 1) finish<O, QX>(p, m, n, (int32_t)v, QX ? rowAlpha[m - m0] : 0.f);
      else p.ws[((size_t)blockIdx.z * p.wsRows + m) * N + n] = (int32_t)v;
    }
    __syncthreads();
  }
  if (sh.splits == 1) return;
  // split K: the tile's last block to arrive adds every split's partials and finishes
  if (!lastBlockToArrive(p.counters + blockIdx.y * gridDim.x + blockIdx.x, sh.splits)) return;
  __threadfence();
  for (int i = threadIdx.x; i < rows * kTileN; i += blockDim.x) {
    const int m = m0 + i / kTileN, n = n0 + i % kTileN;
    if (n >= N) continue;
    uint32_t v = 0;
    for (int z = 0; z < sh.splits; z++) v += (uint32_t)__ldcg(p.ws + ((size_t)z * p.wsRows + m) * N + n);
    finish<O, QX>(p, m, n, (int32_t)v, QX ? rowAlpha[m - m0] : 0.f);
  }
}

template <DType O>
void launchInt8Decode(const Int8GemmDecodeParams& p, cudaStream_t s) {
  const Int8DecodeShape sh = streamShape(p.n, p.k, multiprocessors());
  const int tg = tokenGroups(p.m), passes = (p.m + 8 * tg - 1) / (8 * tg);
  const int tiles = (p.n + kTileN - 1) / kTileN;
  const dim3 grid(tiles, passes, sh.splits);
  Int8GemmDecodeParams q = p;
  if (sh.splits > 1) {  // the split partials and the tiles' arrival counters
    q.wsRows = passes * 8 * tg;
    q.ws = static_cast<int32_t*>(streamScratch(s, "int8GemmDecode partials", (size_t)sh.splits * q.wsRows * p.n * sizeof(int32_t), false));
    q.counters = static_cast<int*>(streamScratch(s, "int8GemmDecode counters", (size_t)tiles * passes * sizeof(int), true));
  }
  auto* kernel = p.lnGamma ? int8GemmDecodeKernel<O, 1, XIn::Norm>
                 : p.x     ? (tg == 1 ? int8GemmDecodeKernel<O, 1, XIn::Quantize> : int8GemmDecodeKernel<O, 2, XIn::Quantize>)
                 : tg == 1 ? int8GemmDecodeKernel<O, 1, XIn::Int8> : tg == 2 ? int8GemmDecodeKernel<O, 2, XIn::Int8> : tg == 4 ? int8GemmDecodeKernel<O, 4, XIn::Int8> : int8GemmDecodeKernel<O, 8, XIn::Int8>;
  // the fused LayerNorm's γ, β (fp32) and 8 rows of int8: ≤ 16 + 16 KiB at K 2048, within the 48 KiB needing no opt-in
  const size_t normBytes = p.lnGamma ? (size_t)2 * p.k * sizeof(float) + (size_t)8 * p.k : 0;
  Int8DecodeShape shape = sh;
  if (p.lnGamma) shape.warps = kMaxWarps;  // the fused LayerNorm shares each row among 8 warps (a warp with no K steps adds zeros)
  TRT_LAUNCH_PDL("int8GemmDecode", kernel, grid, dim3(32 * shape.warps), normBytes, s, q, shape);
}

}  // namespace

std::string int8GemmDecodeUnsupported(int n, int k) {
  if (k < 16 || k % 16 != 0) return "K a multiple of 16 (16-byte rows of a and b), got K=" + std::to_string(k);
  if (n < 1) return "N ≥ 1, got N=" + std::to_string(n);
  return "";
}

std::string int8GemmDecodePlan(int n, int k, int m, int sms) {
  return streamPlanJson(streamShape(n, k, sms), n, m, tokenGroups(m));
}

void invokeInt8GemmDecode(const Int8GemmDecodeParams& p, cudaStream_t s) {
  const std::string why = int8GemmDecodeUnsupported(p.n, p.k);
  if (!why.empty()) throw CudaError("int8GemmDecode: needs " + why);
  for (const void* q : {p.x ? p.x : static_cast<const void*>(p.a), static_cast<const void*>(p.b)}) {
    if (reinterpret_cast<uintptr_t>(q) % 16 != 0) throw CudaError("int8GemmDecode: a (or x) and b must be 16-byte aligned (a view at an odd offset?)");
  }
  if (p.x && p.m > kQuantizeRows) throw CudaError("int8GemmDecode: x (quantized inside) takes at most " + std::to_string(kQuantizeRows) + " rows, got M=" + std::to_string(p.m) + ": quantize first and pass a");
  if (p.lnGamma) {
    if (!p.x) throw CudaError("int8GemmDecode: the fused LayerNorm needs x (its float input), not int8 a");
    if (p.m > kNormRows) throw CudaError("int8GemmDecode: the fused LayerNorm takes at most " + std::to_string(kNormRows) + " rows, got M=" + std::to_string(p.m) + ": run layerNormFastQuant first and pass a");
    if (p.k > kLnMaxK) throw CudaError("int8GemmDecode: the fused LayerNorm takes K ≤ " + std::to_string(kLnMaxK) + ", got K=" + std::to_string(p.k) + ": run layerNormFastQuant first and pass a");
  }
  if (p.m == 0) return;
  switch (p.outDtype) {
    case DType::F32: launchInt8Decode<DType::F32>(p, s); break;
    case DType::F16: launchInt8Decode<DType::F16>(p, s); break;
    case DType::BF16: launchInt8Decode<DType::BF16>(p, s); break;
    default: throw CudaError("int8GemmDecode: output dtype must be f32, f16 or bf16");
  }
}

}  // namespace trt
