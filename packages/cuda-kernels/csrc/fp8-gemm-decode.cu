// fp8-gemm-decode — production FP8 linear layer for the few rows of a decode step (tier 3):
//   out = epilogue(Σ_k e4m3(x·qScale)[m,k] · b[n,k]),  b [N,K] e4m3 on tensor cores (mma.sync m16n8k32
// e4m3 × e4m3 → fp32, compute capability ≥ 8.9), then fp8.cu's epilogue on the sums:
//   y = T(fp32(acc·fp32(sa·sb)) + bias),  y = T(gelu(y)),  out = T(residual + y)
// — the sequence quantizeFp8 → fp8GemmLt → gelu → residualAdd runs, in one kernel.
//
// Why a kernel of our own: at decode sizes the layer is memory-bound, and the cuBLASLt route is four
// launches (quantize, GEMM, GELU, residual) around a GEMM whose only job is to stream N·K weight bytes
// once; cuBLASLt's FP8 at one row measured no faster than our fp16 decode GEMM (H100, 2026-12-07). Here
// the weights are streamed once, straight into mma.sync fragments, the activations are quantized as they
// are loaded (a static per-tensor multiplier: no pass over the rows first), and the epilogue runs on
// the block's sums.
//
// Numerics (tier 3): each e4m3 product is exact in fp32, but the sum's order is not the oracle's
// serial one: every mma adds 32 products from a zero accumulator (the tensor core's own order and
// alignment), and its result is added to the lane's fp32 sum with one rounding — a promotion every 32
// products, so the tensor core's reduced accumulation never spans more than one mma. Then warps in order
// (shared memory) and split-K blocks in order (a workspace, summed by the tile's last block). The order
// depends on (N, K, SM count) only and rows never mix, so a row gives the same bits alone or among
// others, at any M this kernel takes.
//
// Layout as int8-gemm-decode.cu: a block owns 16 outputs along N (the mma's A operand: the weights),
// the tokens are the mma's 8 columns (TG groups of 8 per pass of the grid's y), a step is 64 k (lane
// (g, t) loads 16 bytes of weight rows n0 + g and n0 + 8 + g at k = 64s + 16t, and quantizes 16
// elements of its token's row there); inside a step k is permuted identically on both operands.
#include <algorithm>
#include <sstream>
#include <string>

#include <cuda_fp8.h>

#include "decode-stream.cuh"
#include "launch.cuh"
#include "mma.cuh"
#include "numerics.cuh"
#include "typed.cuh"

namespace trt {
namespace {

constexpr int kTileN = kStreamTileN;
constexpr int kMaxWarps = kStreamMaxWarps;
constexpr int kMaxRows = 16;  // two token groups: every block quantizes its rows' K range again

/** Output (m, n)'s epilogue (fp8.cu's order), stored once as O. */
template <DType O>
__device__ __forceinline__ void finish(const Fp8GemmDecodeParams& p, int m, int n, float acc, float scale) {
  float y = fmul(acc, scale);
  if (p.bias) y = fadd(y, Io<O>::load(p.bias, n));
  y = roundTo(O, y);
  if (p.gelu) y = roundTo(O, geluF32(y));
  const size_t at = (size_t)m * p.n + n;
  if (p.residual) y = fadd(Io<O>::load(p.residual, at), y);
  storef(O, p.out, at, y);
}

/**
 * Two e4m3 of fp32 values, lo in the low byte: the hardware conversion (cvt.rn.satfinite.e4m3x2.f32,
 * sm_89+) — round to nearest even, magnitudes past 448 (∞ included) to ±448, as toFp8Bits (fp8.cu's
 * quantize) rounds; only a NaN's byte may differ in sign (0x7f or 0xff: NaN either way).
 */
__device__ __forceinline__ uint32_t e4m3x2(float lo, float hi) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  return (uint32_t)__nv_cvt_float2_to_fp8x2(make_float2(lo, hi), __NV_SATFINITE, __NV_E4M3);
#else
  return (uint32_t)toFp8Bits(lo) | (uint32_t)toFp8Bits(hi) << 8;
#endif
}

/** The 16 e4m3 of T activations at x[at …]: e4m3(fp32(x·qs)), quantizeFp8's arithmetic; byte b is k + b. */
template <DType X>
__device__ __forceinline__ uint4 quantize16(const void* x, size_t at, float qs) {
  float f[16];
#pragma unroll
  for (int v = 0; v < 16 / Io<X>::kVec; v++) Io<X>::load16(x, at + v * Io<X>::kVec, f + v * Io<X>::kVec);
  uint32_t w[4];
#pragma unroll
  for (int r = 0; r < 4; r++) w[r] = e4m3x2(fmul(f[4 * r], qs), fmul(f[4 * r + 1], qs)) | e4m3x2(fmul(f[4 * r + 2], qs), fmul(f[4 * r + 3], qs)) << 16;
  return make_uint4(w[0], w[1], w[2], w[3]);
}

/** c += a · b: one m16n8k32 e4m3 mma from a zero accumulator, its sums added to c in fp32 (sm_89+). */
__device__ __forceinline__ void mmaAddE4m3(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  float d[4];
  asm("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(0.f));
#pragma unroll
  for (int e = 0; e < 4; e++) c[e] = fadd(c[e], d[e]);
#else
  (void)c, (void)a, (void)b0, (void)b1;
  __trap();  // not reached: the host refuses devices below 8.9 (fp8GemmDecodeUnsupported)
#endif
}

template <DType O, int TG>
__global__ void __launch_bounds__(kMaxWarps * 32) fp8GemmDecodeKernel(Fp8GemmDecodeParams p, StreamShape sh) {
  constexpr int U = TG == 1 ? 4 : 2;  // steps loaded ahead
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int n0 = blockIdx.x * kTileN, m0 = blockIdx.y * 8 * TG;
  const int K = p.k, N = p.n;
  const int s0 = blockIdx.z * sh.perSplit, s1 = min(s0 + sh.perSplit, sh.steps);
  // weight rows past N and token rows past M read a valid row; their results are dropped
  const void* const wRow[2] = {p.b + (size_t)min(n0 + g, N - 1) * K, p.b + (size_t)min(n0 + 8 + g, N - 1) * K};
  size_t xAt[TG];
#pragma unroll
  for (int q = 0; q < TG; q++) xAt[q] = (size_t)min(m0 + 8 * q + g, p.m - 1) * K;
  const int rows = min(8 * TG, p.m - m0);
  pdlLaunchDependents();
  float acc[TG][4];
#pragma unroll
  for (int q = 0; q < TG; q++)
#pragma unroll
    for (int e = 0; e < 4; e++) acc[q][e] = 0.f;

  for (int first = s0 + warp; first < s1; first += U * sh.warps) {
    uint4 w[U][2];
    int kc[U];  // the lane's 16 k of each step, clamped inside the row (the K mask at use)
    loadWeightSteps<U>(wRow, first, s1, sh.warps, K, t, w, kc);
    if (first == s0 + warp) pdlWait();  // the first weights are on their way; x is the previous kernel's output
    zeroWeightTails<U>(first, sh.warps, K, t, w);
#pragma unroll
    for (int q = 0; q < TG; q++) {
      uint4 x[U];
#pragma unroll
      for (int u = 0; u < U; u++) x[u] = quantize16<O>(p.x, xAt[q] + kc[u], p.qScale);
#pragma unroll
      for (int u = 0; u < U; u++) {
        if (first + u * sh.warps >= s1) continue;  // warp-uniform
        uint32_t lo[4], hi[4];
        weightFragments(w[u], lo, hi);
        mmaAddE4m3(acc[q], lo, x[u].x, x[u].y);
        mmaAddE4m3(acc[q], hi, x[u].z, x[u].w);
      }
    }
  }

  pdlWait();  // (returns at once when already waited)
  const float scale = fmul(*p.scaleA, *p.scaleB);
  // warps' partials summed through shared memory in warp order, one token group at a time; lane (g, t)'s
  // accumulator e holds output n = n0 + g (+ 8 for e ≥ 2), token 8q + 2t + (e & 1)
  __shared__ float red[kMaxWarps * 128];
#pragma unroll
  for (int q = 0; q < TG; q++) {
    if (m0 + 8 * q >= p.m) break;  // block-uniform
#pragma unroll
    for (int e = 0; e < 4; e++) red[warp * 128 + e * 32 + lane] = acc[q][e];
    __syncthreads();
    for (int i = threadIdx.x; i < 128; i += blockDim.x) {
      float v = red[i];
      for (int s = 1; s < sh.warps; s++) v = fadd(v, red[s * 128 + i]);
      const int e = i >> 5, l = i & 31;
      const int n = n0 + (l >> 2) + (e >= 2 ? 8 : 0), m = m0 + 8 * q + 2 * (l & 3) + (e & 1);
      if (m >= p.m || n >= N) continue;
      if (sh.splits == 1) finish<O>(p, m, n, v, scale);
      else p.ws[((size_t)blockIdx.z * p.wsRows + m) * N + n] = v;
    }
    __syncthreads();
  }
  if (sh.splits == 1) return;
  // split K: the tile's last block to arrive adds every split's partials in split order and finishes
  if (!lastBlockToArrive(p.counters + blockIdx.y * gridDim.x + blockIdx.x, sh.splits)) return;
  __threadfence();
  for (int i = threadIdx.x; i < rows * kTileN; i += blockDim.x) {
    const int m = m0 + i / kTileN, n = n0 + i % kTileN;
    if (n >= N) continue;
    float v = __ldcg(p.ws + ((size_t)m) * N + n);
    for (int z = 1; z < sh.splits; z++) v = fadd(v, __ldcg(p.ws + ((size_t)z * p.wsRows + m) * N + n));
    finish<O>(p, m, n, v, scale);
  }
}

template <DType O>
void launchFp8Decode(const Fp8GemmDecodeParams& p, cudaStream_t s) {
  const StreamShape sh = streamShape(p.n, p.k, multiprocessors());
  const int tg = p.m <= 8 ? 1 : 2, passes = (p.m + 8 * tg - 1) / (8 * tg);
  const int tiles = (p.n + kTileN - 1) / kTileN;
  Fp8GemmDecodeParams q = p;
  if (sh.splits > 1) {  // the split partials and the tiles' arrival counters
    q.wsRows = passes * 8 * tg;
    q.ws = static_cast<float*>(streamScratch(s, "fp8GemmDecode partials", (size_t)sh.splits * q.wsRows * p.n * sizeof(float), false));
    q.counters = static_cast<int*>(streamScratch(s, "fp8GemmDecode counters", (size_t)tiles * passes * sizeof(int), true));
  }
  auto* kernel = tg == 1 ? fp8GemmDecodeKernel<O, 1> : fp8GemmDecodeKernel<O, 2>;
  TRT_LAUNCH_PDL("fp8GemmDecode", kernel, dim3(tiles, passes, sh.splits), dim3(32 * sh.warps), 0, s, q, sh);
}

}  // namespace

std::string fp8GemmDecodeUnsupported(int n, int k, int m, int capability) {
  if (capability < 0) {  // this GPU, with the code this build has for it
    capability = codeCapability(fp8GemmDecodeKernel<DType::F16, 1>);
    if (capability < 89) return "compute capability 8.9 or newer (FP8 tensor cores) in the code this build runs on this GPU: it has " + std::to_string(capability / 10) + "." + std::to_string(capability % 10) + " (an sm_89 card runs the sm_80 code, a newer GPU the compute_80 PTX: add its architecture to TRTLLM_CUDA_ARCHS)";
  }
  if (capability < 89) return "compute capability 8.9 or newer (FP8 tensor cores), the capability asked about is " + std::to_string(capability / 10) + "." + std::to_string(capability % 10);
  if (k < 16 || k % 16 != 0) return "K a multiple of 16 (16-byte rows of x's e4m3 and of b), got K=" + std::to_string(k);
  if (n < 1) return "N ≥ 1, got N=" + std::to_string(n);
  if (m > kMaxRows) return "at most " + std::to_string(kMaxRows) + " rows (every block quantizes its rows again), got M=" + std::to_string(m);
  return "";
}

std::string fp8GemmDecodePlan(int n, int k, int m, int sms) { return streamPlanJson(streamShape(n, k, sms), n, m, m <= 8 ? 1 : 2); }

void invokeFp8GemmDecode(const Fp8GemmDecodeParams& p, cudaStream_t s) {
  const std::string why = fp8GemmDecodeUnsupported(p.n, p.k, p.m, -1);
  if (!why.empty()) throw CudaError("fp8GemmDecode: needs " + why);
  for (const void* q : {p.x, static_cast<const void*>(p.b)}) {
    if (reinterpret_cast<uintptr_t>(q) % 16 != 0) throw CudaError("fp8GemmDecode: x and b must be 16-byte aligned (a view at an odd offset?)");
  }
  if (p.m == 0) return;
  switch (p.outDtype) {
    case DType::F16: launchFp8Decode<DType::F16>(p, s); break;
    case DType::BF16: launchFp8Decode<DType::BF16>(p, s); break;
    default: throw CudaError("fp8GemmDecode: x and the output must be f16 or bf16");
  }
}

}  // namespace trt
