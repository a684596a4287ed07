// Launchers of the reference-order kernels: a plain params struct per op and
// `invoke<Op>(params, stream)`. No engine types here, no N-API; pointers are device pointers.
// Shapes follow docs/GLOSSARY.md. Each kernel repeats the ref-math oracle's operation order exactly
// (tier 2 in ARCHITECTURE.md, Numerics): one thread per output element, sequential inner loops.
#pragma once
#include <string>

#include "common.h"

namespace trt {

// gemm.cu — C[M,N] = op(A)·op(B) (+bias), fp32 accumulation, k ascending.
struct GemmParams {
  const void* a; const void* b; const void* bias;  // bias may be null
  void* c;
  int m, n, k;
  bool transA, transB;
  DType inDtype, biasDtype, outDtype;
};
void invokeGemm(const GemmParams& p, cudaStream_t s);

// int8-gemm.cu — exact int32 accumulation; optional SmoothQuant epilogue.
struct Int8GemmParams {
  const int8_t* a; const int8_t* b;
  int32_t* c;  // int32 output (epilogue off)
  int m, n, k;
  bool transB;
};
void invokeInt8Gemm(const Int8GemmParams& p, cudaStream_t s);
struct SmoothQuantGemmParams {
  const int8_t* a; const int8_t* b;
  const float* alphaRow; const float* alphaCol;  // [M] or [1]; [N] or [1]
  const void* bias;                               // [N] in outDtype, or null
  void* out;
  int m, n, k;
  bool transB, perToken, perChannel;
  DType outDtype;
};
void invokeSmoothQuantGemm(const SmoothQuantGemmParams& p, cudaStream_t s);
// The epilogue alone over an int32 accumulator, then GELU and + residual when asked (all in T).
struct SmoothQuantEpilogueParams {
  const int32_t* acc;                             // [M, N]
  const float* alphaRow; const float* alphaCol;   // [M] or [1]; [N] or [1]
  const void* bias;                               // [N] in outDtype, or null
  const void* residual;                           // [M, N] in outDtype, or null
  void* out;
  int m, n;
  bool perToken, perChannel, gelu;
  DType outDtype;
};
void invokeSmoothQuantEpilogue(const SmoothQuantEpilogueParams& p, cudaStream_t s);

// int8-gemm-lt.cu — production int8 × int8 → int32 through cuBLASLt's tensor-core (IMMA) kernels;
// exact like every int32 sum, so tier 1. b is [N, K] (K contiguous): the layout IMMA reads.
struct Int8GemmLtParams {
  const int8_t* a;  // [M, K]
  const int8_t* b;  // [N, K]
  int32_t* c;       // [M, N]
  int m, n, k;
};
void invokeInt8GemmLt(const Int8GemmLtParams& p, cudaStream_t s);
// Why IMMA cannot run this shape ("" when it can; the call then runs the reference kernel, just as exact).
std::string int8GemmLtUnsupported(int n, int k);
std::string int8GemmLtAlgorithms();

// int8-gemm-decode.cu — production SmoothQuant linear for the few rows of a decode step: a [M,K] ·
// b [N,K]ᵀ int8 on tensor cores (mma.sync m16n8k32, int32 sums) with the whole epilogue fused (scales,
// + bias, GELU, + residual: smoothquant.cuh). Exact (tier 1): equal to int8GemmLt + smoothQuantEpilogue.
struct Int8GemmDecodeParams {
  const int8_t* a;                                // [M, K], 16-byte aligned
  const int8_t* b;                                // [N, K], 16-byte aligned
  const float* alphaRow; const float* alphaCol;   // [M] or [1]; [N] or [1]
  const void* bias;                               // [N] in outDtype, or null
  const void* residual;                           // [M, N] in outDtype, or null
  void* out;                                      // [M, N] in outDtype
  int m, n, k;
  bool perToken, perChannel, gelu;
  DType outDtype;
  int32_t* ws = nullptr; int* counters = nullptr; int wsRows = 0;  // set by invokeInt8GemmDecode (split-K workspace)
  // Instead of a: x [M, K] in outDtype (M ≤ 16), quantized inside — per token, or per tensor with the
  // multiplier qStatic (αrow then alphaRow[0]) — as quantizePerToken / quantizePerTensor do.
  const void* x = nullptr; float qStatic = 0.f;
  // With x: a LayerNorm over x's rows first (γ, β [K] in outDtype; β may be null; K ≤ 2048), its output
  // quantized as layerNormFastQuant does — the same bits as layerNormFastQuant → this GEMM on int8 a.
  const void* lnGamma = nullptr; const void* lnBeta = nullptr; float lnEps = 0.f; bool lnPlusOne = false;
};
void invokeInt8GemmDecode(const Int8GemmDecodeParams& p, cudaStream_t s);
/** Why (N, K) has no int8 decode GEMM (the caller then uses int8GemmLt + smoothQuantEpilogue), or "" if it has one. */
std::string int8GemmDecodeUnsupported(int n, int k);
/** The int8 decode GEMM's launch plan for (N, K, M) on a device of `sms` SMs, as JSON — host arithmetic only. */
std::string int8GemmDecodePlan(int n, int k, int m, int sms);

// quantize.cu
struct QuantizePerTensorParams { const void* x; int8_t* q; size_t n; float scale; DType xDtype; };
void invokeQuantizePerTensor(const QuantizePerTensorParams& p, cudaStream_t s);
struct QuantizePerTokenParams { const void* x; int8_t* q; float* scale; int rows, cols; DType xDtype; };
void invokeQuantizePerToken(const QuantizePerTokenParams& p, cudaStream_t s);
// Calibration: out[j] = max(acc[j] or 0, max_i |x[i, j]|) (exact).
struct AbsMaxColumnsParams { const void* x; const float* acc; float* out; int rows, cols; DType xDtype; };
void invokeAbsMaxColumns(const AbsMaxColumnsParams& p, cudaStream_t s);
struct DequantizeParams { const int8_t* q; const float* scale; void* out; int rows, cols; bool perToken; DType outDtype; };
void invokeDequantize(const DequantizeParams& p, cudaStream_t s);

// fp8.cu
struct Fp8QuantizeParams { const void* x; uint8_t* q; size_t n; float scale; DType xDtype; };
void invokeFp8Quantize(const Fp8QuantizeParams& p, cudaStream_t s);
struct Fp8DequantizeParams { const uint8_t* q; void* out; size_t n; float scale; DType outDtype; };
void invokeFp8Dequantize(const Fp8DequantizeParams& p, cudaStream_t s);
struct Fp8GemmParams {
  const uint8_t* a; const uint8_t* b; const void* bias; void* out;
  int m, n, k;
  bool transB;
  float scaleA, scaleB;
  DType biasDtype, outDtype;
};
void invokeFp8Gemm(const Fp8GemmParams& p, cudaStream_t s);
// fp8-gemm-lt.cu: the production FP8 GEMM (cuBLASLt, tier 3), scales on the device
struct Fp8GemmLtParams {
  const uint8_t* a;      // [M, K] e4m3
  const uint8_t* b;      // [N, K] e4m3
  const void* bias;      // [N] in the output dtype, or null
  void* out;             // [M, N] f16 / bf16
  const float* scaleA;   // [1]: dequantizes a
  const float* scaleB;   // [1]: dequantizes b
  int m, n, k;
  DType outDtype;
};
void invokeFp8GemmLt(const Fp8GemmLtParams& p, cudaStream_t s);
// Why the production FP8 GEMM cannot run this shape on this device ("" when it can).
std::string fp8GemmLtUnsupported(int n, int k, DType out);
std::string fp8GemmLtAlgorithms();
// fp8-gemm-decode.cu — production FP8 linear for the few rows of a decode step (tier 3): x [M,K] in T
// quantized inside (e4m3(fp32(x·qScale)), quantizeFp8's arithmetic) times b [N,K] e4m3 on tensor cores
// (mma.sync, fp32 sums), then fp8GemmLt's epilogue (· sa·sb, + bias), GELU and + residual, in one kernel.
struct Fp8GemmDecodeParams {
  const void* x;                     // [M, K] in outDtype (f16 / bf16), 16-byte aligned
  const uint8_t* b;                  // [N, K] e4m3, 16-byte aligned
  const float* scaleA; const float* scaleB;  // [1] each on the device: dequantize x's e4m3 and b
  float qScale;                      // x's quantize multiplier
  const void* bias;                  // [N] in outDtype, or null
  const void* residual;              // [M, N] in outDtype, or null
  void* out;                         // [M, N] in outDtype
  int m, n, k;
  bool gelu;
  DType outDtype;
  float* ws = nullptr; int* counters = nullptr; int wsRows = 0;  // set by invokeFp8GemmDecode (split-K workspace)
};
void invokeFp8GemmDecode(const Fp8GemmDecodeParams& p, cudaStream_t s);
/** Why (N, K, M) on a GPU of this capability (major·10 + minor; −1: the current GPU with the code this build runs there) has no FP8 decode GEMM, or "" if it has one. */
std::string fp8GemmDecodeUnsupported(int n, int k, int m, int capability);
/** The FP8 decode GEMM's launch plan for (N, K, M) on a device of `sms` SMs, as JSON — host arithmetic only. */
std::string fp8GemmDecodePlan(int n, int k, int m, int sms);

// layernorm.cu — y = LN(x); with q != null also per-token int8 quantization of y (fused).
struct LayerNormParams {
  const void* x; const void* gamma; const void* beta;  // beta may be null
  void* y;                                              // [rows, cols] in xDtype
  int8_t* q; float* qScale;                             // fused quant outputs, or null
  int rows, cols;
  float eps;
  bool weightPlusOne;
  DType xDtype, gammaDtype, betaDtype;
};
void invokeLayerNorm(const LayerNormParams& p, cudaStream_t s);

// activation.cu
struct ActivationParams { const void* x; const void* gate; void* y; size_t n; DType dtype; };  // gate null → gelu
void invokeActivation(const ActivationParams& p, cudaStream_t s);

// softmax.cu — scratch: [rows, cols] fp32 work space, owned by the caller (as attention's).
struct SoftmaxParams { const void* x; const int8_t* mask; void* y; float* scratch; int rows, cols; float scale; DType xDtype, outDtype; };
void invokeSoftmax(const SoftmaxParams& p, cudaStream_t s);

// residual.cu
struct ResidualParams { const void* a; const void* b; void* y; size_t n; DType dtype; };
void invokeResidual(const ResidualParams& p, cudaStream_t s);

// rope.cu — NeoX rotate-half with a host-built cos/sin table [P, rotaryDim/2].
struct RopeParams {
  const void* x; void* y; const int32_t* positions; const float* cos; const float* sin;
  int tokens, heads, headSize, rotaryDim, tablePositions;
  int32_t* error;  // set to 1 + token index of a position outside the table
  DType dtype;
};
void invokeRope(const RopeParams& p, cudaStream_t s);

// kv-cache.cu
struct KvCacheView {
  void* pool;
  bool paged;
  int numSlots, numKvHeads, headSize;
  int maxSeqLen;                                          // contiguous
  int tokensPerBlock, numBlocks, maxBlocksPerSeq; const int32_t* blockTable;  // paged
  float kScale, vScale;                                   // dequantization scales (i8 / fp8)
  DType dtype;
};
struct KvCacheWriteParams {
  KvCacheView cache;
  const void* k; const void* v;  // [T, NKV, HS]
  const int32_t* slots; const int32_t* positions;
  int tokens;
  int32_t* error;  // 1 + token index whose slot/position has no storage
  DType kvDtype;
};
void invokeKvCacheWrite(const KvCacheWriteParams& p, cudaStream_t s);
// Whole rows of every layer's pool (blocks of a paged cache, slots of a contiguous one) copied, all in one
// launch: row pairs[2i + 1] = row pairs[2i] (ref-math kvCopyRows; the caller checks the pairs: in range,
// destinations distinct and never a source). Bytes as stored, exact (tier 1).
constexpr int kMaxKvCopyLayers = 128;
struct KvCopyRowsParams {
  void* pools[kMaxKvCopyLayers];
  int layers;
  const int32_t* pairs;  // [numPairs, 2]: source row, destination row
  int numPairs;
  size_t rowBytes;
};
void invokeKvCopyRows(const KvCopyRowsParams& p, cudaStream_t s);

// attention.cu — causal attention over packed chunks; positions before a chunk's start come from the cache.
struct AttentionParams {
  const void* q; const void* k; const void* v; void* out;  // [T, NH, HS], [T, NKV, HS] ×2, [T, NH, HS]
  int tokens, numHeads, numKvHeads, headSize;
  const int32_t* seqSlot; const int32_t* seqStart; const int32_t* seqLength; const int32_t* seqRow;  // per sequence
  int numSeqs;
  bool hasCache;
  KvCacheView cache;
  float scale;
  float* scratch;  // [T, NH, maxCtx]
  int maxCtx;
  int32_t* error;  // 1 + sequence index whose cached positions are missing
  DType dtype;
};
void invokeAttention(const AttentionParams& p, cudaStream_t s);

// embedding.cu — row lookup (plain, vocab-sharded, prompt table) and the position add.
struct EmbeddingParams {
  const int32_t* ids; const void* table; void* out;
  int tokens, hidden, tableRows;
  int vocabSize;      // ids must lie in [0, vocabSize) (or the prompt range)
  int rowOffset;      // vocab-sharded: this rank's first row; ids outside [rowOffset, rowOffset + tableRows) give zero rows
  bool zeroOutOfRange;
  const void* promptTable; const int32_t* tasks; int promptTokens, numTasks;  // prompt table, or null
  int32_t* error;     // 1 + token index of a bad id or task
  DType dtype;
};
void invokeEmbedding(const EmbeddingParams& p, cudaStream_t s);
struct PositionAddParams {
  const void* x; const void* wpe; const int32_t* positions; void* y;
  int tokens, hidden, numPositions;
  int32_t* error;
  DType dtype;
};
void invokePositionAdd(const PositionAddParams& p, cudaStream_t s);

// ---- production kernels (ARCHITECTURE.md, Numerics tier 3: compared with the oracle under a declared tolerance) ----
// Every launcher below only enqueues work on `s` (no host synchronization, no allocation), so a
// decode step made of them can be captured into a CUDA graph. Index errors go to a caller-owned
// device flag that the caller reads once per step.

// gemm.cu — cuBLASLt: D[M,N] = A[M,K]·B (B [K,N], or [N,K] with transB) (+ bias[N]) (then GELU
// tanh-approximation) (+ residual[M,N]); fp32 accumulation (fp32 compute, no TF32), tensor cores
// for f16/bf16. One algorithm per (N, K, dtypes, epilogue), chosen once per process by cuBLASLt's
// heuristic without split-K reduction and used for every M, so a row's result does not depend on
// how many rows the batch has (batch invariance); `perShape` picks per (M, N, K) instead.
struct GemmLtParams {
  const void* a; const void* b; const void* bias; const void* residual; void* d;
  int m, n, k;
  bool transB, gelu, perShape;
  DType inDtype, outDtype;
  // Which rows the shape's one algorithm is tuned for: decode steps (M = 1 weighs most) or prompts
  // (M = 512 and 8192 weigh most: engines whose generation rows run on the decode GEMM). Either way
  // one algorithm per (N, K, …, prompt) serves every M.
  bool promptTuned = false;
};
void invokeGemmLt(const GemmLtParams& p, cudaStream_t s);

// gemm.cu — the decode GEMM (tier 3): D = act(A·B + bias) + residual for the rows of generation
// steps, f16/bf16 on tensor cores (mma.sync m16n8k16, fp32 accumulation), the weight read once per
// 64 rows. Each output's sum runs over K in an order fixed by (N, K, layout) alone, so a row's result
// does not depend on M or on the other rows. Rows optionally through an index list (A, residual and D
// rows alike), for the generation rows of a mixed step.
struct GemmDecodeParams {
  const void* a; const void* b; const void* bias; const void* residual; void* d;
  const int32_t* rows;  // [M] row of A / residual / D for each of the M rows (clamped to aRows), or null (rows 0 … M−1)
  int m, n, k, aRows;
  bool transB, gelu;
  DType inDtype, outDtype;
  float* ws = nullptr; int* counters = nullptr; int wsRows = 0;  // set by invokeGemmDecode (split-K workspace)
  // [K,N] only. LayerNorm first (lnGamma set): A holds the LayerNorm's input x [aRows, K], and the
  // product uses LayerNorm(x) rounded to the input dtype — layernorm.cuh's arithmetic, the bits
  // layerNormFast writes — computed inside the GEMM when the plan allows (slab way, K ≤ 2,048), else
  // by layerNormFast into a scratch buffer first.
  const void* lnGamma = nullptr; const void* lnBeta = nullptr; float lnEps = 0.f; bool lnPlusOne = false;
  // [K,N] only, no RoPE. The QKV GEMM's KV-cache write (kvWrite): D's columns past kvQHeads·HS are
  // [k heads | v heads] of kv.numKvHeads × kv.headSize, stored at (kvSlots[row], kvPositions[row])
  // with the cache's storage rule from the rounded outputs — qkvPrepare's store, exact. A row without
  // storage sets *kvError = 1 + row.
  bool kvWrite = false; KvCacheView kv{}; const int32_t* kvSlots = nullptr; const int32_t* kvPositions = nullptr;
  int kvQHeads = 0; int32_t* kvError = nullptr;
};
void invokeGemmDecode(const GemmDecodeParams& p, cudaStream_t s);
/** Why (N, K, layout, dtype) has no decode GEMM (the caller then uses gemmLt), or "" if it has one. */
std::string gemmDecodeUnsupported(int n, int k, bool transB, DType inDtype);
/**
 * The decode GEMM's launch plan for (N, K, M, layout) on a device of `sms` SMs, running thread-block
 * clusters or not, with `smemOptin` bytes of opt-in shared memory per block, as JSON: the grid, and
 * what fixes each output's sum order (steps, cluster or splits, warps) — host arithmetic only.
 */
std::string gemmDecodePlan(int n, int k, int m, bool transB, int sms, bool clusters, size_t smemOptin, bool layerNorm = false);
/** Whether the [K,N] decode GEMM runs as thread-block clusters on the current GPU (cluster.cuh clustersFor). */
bool gemmDecodeClusters();

// spin.cu — keep the stream's GPU busy for about `microseconds` (the perf mode hides launch overhead behind it).
void invokeSpin(double microseconds, cudaStream_t s);
/** The algorithms chosen so far, as text lines (for reports). */
std::string gemmLtAlgorithms();

// layernorm.cu — one warp-group per row, fp32 two-pass (mean, then Σ(x−mean)²) with tree sums.
struct LayerNormFastParams {
  const void* x; const void* gamma; const void* beta; void* y;  // y may be null when q is set
  int rows, cols;
  float eps;
  bool weightPlusOne;
  DType dtype;
  // SmoothQuant: the rounded output also quantized to int8 — per token (qScale gets each row's
  // fp32(rowMax/127)) or, without qScale, per tensor with the static multiplier qStatic (quantize.cu's arithmetic)
  int8_t* q = nullptr;
  float* qScale = nullptr;
  float qStatic = 0.f;
  // FP8: the rounded output also quantized to e4m3 with the static multiplier fp8Scale (fp8.cu's
  // quantizeFp8 arithmetic: e4m3(fp32(y · fp8Scale)))
  uint8_t* qFp8 = nullptr;
  float fp8Scale = 0.f;
};
void invokeLayerNormFast(const LayerNormFastParams& p, cudaStream_t s);

// kv-cache.cu — the fused QKV step after the QKV GEMM (bias already added by its epilogue):
// qkv [T, (NH + 2·NKV)·HS] rows; RoPE (optional, the reference formula, exact) on the q and k parts
// in place; k and v written to the cache at (slot[t], position[t]) with the cache's storage rule.
struct QkvPrepareParams {
  void* qkv;
  const int32_t* slots; const int32_t* positions;
  int tokens, numHeads, numKvHeads, headSize;
  const float* cos; const float* sin; int rotaryDim, tablePositions;  // cos null → no RoPE
  KvCacheView cache;
  int32_t* error;  // 1 + token index without storage (or outside the RoPE table)
  DType dtype;
};
void invokeQkvPrepare(const QkvPrepareParams& p, cudaStream_t s);

// attention.cu — production attention reading q (and a context chunk's k, v) from the qkv rows.
// Decode: one query row attends to cache positions 0 … pos, in splits of kDecodeSplit positions
// (fixed, so the reduction order depends only on the position), then the splits are merged in order.
// Context: flash attention over 64-row query tiles of chunks that start at position 0, keys and values
// from the same qkv rows, fp32 online softmax.
constexpr int kDecodeSplit = 64;
struct AttentionDecodeParams {
  const void* qkv; void* out;  // out [T, NH·HS]
  const int32_t* rows; int numRows;  // the rows (token indices) to compute
  const int32_t* slots; const int32_t* positions;
  int numHeads, numKvHeads, headSize, maxSplits;
  KvCacheView cache;
  float scale;
  float* partial;  // [numRows, NH, maxSplits, HS + 2] scratch
  int32_t* error;
  DType dtype;
  // per row, the first position of its chunk in this step (or null: its own position). With an int8 /
  // fp8 cache, positions from there to the row's own are this step's tokens: read fresh from their qkv
  // rows (row − (pos − j)), not their quantized copies in the cache, as the oracle attends them.
  const int32_t* freshFrom = nullptr;
  int* counters = nullptr;  // set by invokeAttentionDecode (the split merge's arrival counters)
};
void invokeAttentionDecode(const AttentionDecodeParams& p, cudaStream_t s);
struct AttentionContextParams {
  const void* qkv; void* out;
  const int32_t* tiles; int numTiles;  // per tile: first row of the chunk, chunk length, first query of the tile
  int numHeads, numKvHeads, headSize;
  float scale;
  bool fp32Acc;  // fp16 inputs: P·V accumulated in fp32 (else rounded P in f16 products; both accumulate fp32 sums)
  DType dtype;
};
void invokeAttentionContext(const AttentionContextParams& p, cudaStream_t s);

// argmax.cu — ids[r] = the first index of the largest non-NaN value of row r (V − 1 if all are NaN),
// ref-math argmax's result, exact (tier 1).
struct ArgmaxParams { const float* x; int32_t* ids; int rows, cols; };
void invokeArgmax(const ArgmaxParams& p, cudaStream_t s);

// sampling.cu — the next token of each row of fp32 logits [rows, cols] as ref-math's ops/sampling.ts
// specifies it (tier 2): settings i32 [rows, 6] = {temperature (f32 bits), topK, topP (f32 bits),
// repetition penalty (f32 bits), banned id or −1, draw (u32)}; seen ids of row r are
// seen[seenOffsets[r] … seenOffsets[r + 1]). workspace: rows · cols · 24 bytes (two u64 key lists, then two u32 weight lists).
struct SampleParams { const float* x; const int32_t* settings; const int32_t* seenOffsets; const int32_t* seen; int32_t* ids; void* workspace; int rows, cols; };
void invokeSample(const SampleParams& p, cudaStream_t s);
// Beam search's reduction of each row (ref-math beamCandidates): out i32 [rows, 2n + 3] = n candidate ids
// in order (−1 past the non-NaN count), their logits' bits, the max's bits, the exact weight sum S
// (low, high halves). n ≤ 1,024. workspace: rows · cols · 8 bytes.
struct BeamCandidatesParams { const float* x; int32_t* out; void* workspace; int rows, cols, n; };
void invokeBeamCandidates(const BeamCandidatesParams& p, cudaStream_t s);
// A given token's log-probability per row, reduced (ref-math tokenLogProbRows, tier 1): out i32 [rows, 4]
// = x[tokens[r]]'s bits (NaN for a token outside [0, cols)), the max's bits, S (low, high halves).
struct TokenLogProbParams { const float* x; const int32_t* tokens; int32_t* out; int rows, cols; };
void invokeTokenLogProbs(const TokenLogProbParams& p, cudaStream_t s);

inline unsigned blocksFor(size_t n, unsigned threads = 256) { return (unsigned)((n + threads - 1) / threads); }

// collectives.cu — NCCL (one process per GPU): unique id, communicator, all-reduce sum in place or out of place.
void ncclUniqueId(char out[128]);
void* ncclCommInit(int nranks, const char id[128], int rank);
void ncclCommFree(void* comm);
/** ncclCommAbort: collectives waiting on a dead or hung rank return, and the communicator is freed (never destroy it after). */
void ncclCommAbortHandle(void* comm);
/** ncclCommGetAsyncError: "" while the communicator is healthy, else NCCL's error string (a peer gone, a network error). */
std::string ncclCommAsyncError(void* comm);
void invokeAllReduceSum(const void* send, void* recv, size_t count, DType dtype, void* comm, cudaStream_t s);

}  // namespace trt
