/**
 * The one interface the model graph (models/gpt.ts) runs on. Each backend implements the same ops
 * with ref-math's semantics: `ref` with ref-math itself (pure TypeScript, any machine, the oracle),
 * `cuda` with @trtllm/cuda-kernels' reference-order kernels (bit-exact to the oracle). `T` is the
 * backend's tensor handle. The KV cache lives in the backend; the graph names layers and slots.
 */
import type { ActDType, AttentionSequence, KvCacheSpec, SamplingRow, Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import type { CollectiveWatch } from '../parallel/collective-watch.js';

export type BackendName = 'ref' | 'cuda';

/** The cuda backend's kernels: bit-exact reference order (tier 2), or production (tier 3: cuBLASLt, flash attention, CUDA graphs). */
export type KernelSet = 'reference' | 'production';

/** Counters of the production backend's steps (Engine.stepStats, Backend.stats). */
export interface StepStats {
  readonly eager: number;
  readonly captured: number;
  readonly replayed: number;
  /** Host wall time inside the backend's step (launching it and collecting it), ms, summed. */
  readonly stepMs: number;
  /** Device time from the step's first kernel to its last, ms, summed (CUDA events). */
  readonly gpuMs: number;
}

/** A linear layer's tensors on a backend: float, SmoothQuant INT8 or FP8 (FloatLinear | Int8Linear | Fp8Linear). */
export type LinearWeights<T> = FloatLinear<T> | Int8Linear<T> | Fp8Linear<T>;

/** Weight [K, N] in the activation dtype and optional bias [N]. */
export interface FloatLinear<T> {
  readonly kind?: 'float';
  readonly weight: T;
  readonly bias?: T;
}

/**
 * SmoothQuant INT8 (the converter's tensors, @trtllm/quant generateInt8): the activation is quantized
 * on the fly — per token (its row max) or per tensor (the calibrated `scaleX`) — then
 * y = T(float(x_q · W_qᵀ) · (alphaRow · alphaCol)) + bias (ref-math smoothQuantGemm, transB), with
 * alphaRow = the row's scale (per token) or fp32(1 / scaleX), and alphaCol = scaleW. Every backend
 * computes the same bits: the quantizers and the int32 product are exact, the epilogue elementwise.
 */
export interface Int8Linear<T> {
  readonly kind: 'int8';
  /**
   * i8 [N, K] — transposed, K contiguous, the layout INT8 tensor cores read: weight.int8, or
   * weight.int8.col with a per-channel mode.
   */
  readonly weight: T;
  /** [N] in the activation dtype. */
  readonly bias?: T;
  readonly mode: { readonly perToken: boolean; readonly perChannel: boolean };
  /** f32 [1]: scale_x_orig_quant (orig → quant), the static activation scale. */
  readonly scaleX: T;
  /** f32 [N] (per channel) or [1]: scale_w_quant_orig(.col), quant → orig for the weight. */
  readonly scaleW: T;
}

/**
 * FP8 e4m3 with per-tensor scales (@trtllm/quant generateFp8): x_q = e4m3(x · scaleX), then
 * y = T(fp32(x_q · W_q) · (1 / scaleX) · scaleW) + bias (ref-math quantizeFp8 → fp8Gemm).
 */
export interface Fp8Linear<T> {
  readonly kind: 'fp8';
  /** fp8e4m3 [N, K] (K contiguous, as FP8 tensor cores read it): weight.fp8. */
  readonly weight: T;
  readonly bias?: T;
  /** f32 [1]: scale_x_orig_quant (orig → quant) for the activation. */
  readonly scaleX: T;
  /** f32 [1]: scale_w_quant_orig (quant → orig) for the weight. */
  readonly scaleW: T;
}

/**
 * A LayerNorm to apply to a linear layer's input first (Backend.fusesNorm): LayerNorm(x) with these
 * γ, β [H] and attributes — the same result as layerNorm() then the op.
 */
export interface NormInput<T> {
  readonly gamma: T;
  readonly beta?: T;
  readonly eps: number;
  readonly weightPlusOne: boolean;
}

/** One step's per-token inputs on the host, packed over its chunks. */
export interface StepHost {
  readonly ids: readonly number[];
  readonly positions: readonly number[];
  readonly slots: readonly number[];
  /** Prompt-table task per token. */
  readonly tasks: readonly number[];
  /** Rows whose logits the step returns (each chunk's last, or every row). */
  readonly outputRows: readonly number[];
  readonly sequences: readonly AttentionSequence[];
  /** With output 'sampled': each output row's sampling settings and draw (ref-math SamplingRow). */
  readonly sampling?: readonly SamplingRow[];
  /** With output 'beams': candidates per row (Backend.beamCandidates). */
  readonly beamCandidates?: number;
  /** With output 'logProbs': the token each output row is scored for (Backend.tokenLogProbs). */
  readonly targets?: readonly number[];
}

/** The same inputs as backend tensors (i32 [T], outputRows [R]), for the graph's ops. */
export interface StepInputs<T> {
  /** T, the step's token count. */
  readonly tokens: number;
  /** Register a tensor of this step: the backend frees it when the step is over. */
  keep<U extends T>(t: U): U;
  readonly ids: T;
  readonly positions: T;
  readonly slots: T;
  readonly tasks: T;
  readonly outputRows: T;
  readonly sequences: readonly AttentionSequence[];
  /** StepHost.sampling, for Backend.sample (a backend stages it on the device its own way). */
  readonly sampling?: readonly SamplingRow[];
  /** StepHost.targets on the backend, i32 [R] (in a fixed buffer where steps are captured). */
  readonly targets?: T;
}

/**
 * What a step returns to the host: fp32 logits [R, V]; the greedy token of each row [R] ('tokens',
 * argmax); each row's sampled token [R] ('sampled', Backend.sample with StepHost.sampling); or each
 * row reduced for beam search, i32 [R, 2n + 3] ('beams', Backend.beamCandidates with n = StepHost.beamCandidates);
 * or each row reduced to a given token's log-probability, i32 [R, 4] ('logProbs', Backend.tokenLogProbs);
 * or each row's picked token with its log-probability and the first n candidates, i32 [R, 5 (+ 2n + 3)]
 * ('chosenLogProbs': the token — argmax, or Backend.sample with StepHost.sampling — then its
 * tokenLogProbs words, then with n > 0 its beamCandidates row; ref-math tokenLogProbsOf reads them).
 */
export type StepOutput = 'logits' | 'tokens' | 'sampled' | 'beams' | 'logProbs' | 'chosenLogProbs';

/** A launched step (Backend.launchStep). */
export interface PendingStep {
  /** Wait for the step and return its output on the host (empty for a step without one); once only. */
  collect(): Float32Array | Int32Array;
}

/** A step that has already finished: `collect` returns `output`, once. */
export function finishedStep(output: Float32Array | Int32Array): PendingStep {
  let taken = false;
  return {
    collect: () => {
      if (taken) throw new EngineError('backend', { what: 'PendingStep.collect', expected: 'one call per step', got: 'a second call' });
      taken = true;
      return output;
    },
  };
}

export interface Backend<T> {
  readonly name: BackendName;
  /** Step counters, where the backend keeps them (production cuda). */
  readonly stats?: StepStats;
  /** The GEMM policy in use (production cuda kernels; never 'auto': resolved at load). */
  readonly gemmAlgo?: Exclude<GemmAlgo, 'auto'>;
  /**
   * Whether `linear` and `selfAttention` take a `norm` (their x / h is then the LayerNorm's input):
   * the production cuda backend, which fuses the LayerNorm into the decode GEMM where it can. The
   * graph passes `norm` only to a backend that says so, and only without tensor parallelism.
   */
  readonly fusesNorm?: boolean;
  /**
   * launchStep returns once the step is queued, before it has run (production cuda): the engine then
   * launches the next step before it hands this one's tokens to their listeners.
   */
  readonly asyncSteps?: boolean;
  /**
   * Ranks joined by NCCL (production cuda): from now on a step's collect waits on its collectives at
   * most `w.timeoutMs` and aborts the communicator past it or on NCCL's asynchronous error
   * (parallel/collective-watch.ts).
   */
  watchCollectives?(w: CollectiveWatch): void;
  /** A host tensor (weights, ids, positions) as a backend tensor. */
  upload(t: Tensor): T;
  free(t: T): void;
  /** Row-major reinterpretation, same element count. */
  view(t: T, shape: readonly number[]): T;
  embeddingLookup(i: { readonly ids: T; readonly table: T }): T;
  /** ids ≥ V are virtual tokens: row (id − V) of the task's prompt table [numTasks, Pt, H]. */
  promptEmbeddingLookup(i: { readonly ids: T; readonly table: T; readonly promptTable: T; readonly tasks: T }): T;
  addPositionEmbedding(i: { readonly x: T; readonly wpe: T; readonly positions: T }): T;
  layerNorm(i: { readonly x: T; readonly gamma: T; readonly beta?: T }, a: { readonly eps: number; readonly weightPlusOne: boolean }): T;
  gemm(i: { readonly a: T; readonly b: T; readonly bias?: T }, a?: { readonly transB?: boolean; readonly outDtype?: ActDType }): T;
  rope(i: { readonly x: T; readonly positions: T }): T;
  attention(i: { readonly q: T; readonly k: T; readonly v: T }, a: { readonly sequences: readonly AttentionSequence[]; readonly layer: number }): T;
  kvCacheWrite(layer: number, i: { readonly k: T; readonly v: T; readonly slots: T; readonly positions: T }): void;
  residualAdd(i: { readonly a: T; readonly b: T }): T;
  gelu(i: { readonly x: T }): T;
  swiglu(i: { readonly x: T; readonly gate: T }): T;
  /**
   * x·W (+ bias), then GELU when asked, then + residual: ref-math's gemm → gelu → residualAdd, each
   * rounded to T (production kernels fuse them into the GEMM's epilogue, within tolerance).
   */
  linear(i: { readonly x: T; readonly w: LinearWeights<T>; readonly residual?: T; /** fusesNorm only */ readonly norm?: NormInput<T> }, a?: { readonly activation?: 'gelu' }): T;
  /**
   * This rank's attention sub-block of one layer on h [T, H]: q, k, v projections (NH, NKV heads of
   * HS), RoPE when the model has it, causal attention over the cache and the step's own tokens, and
   * the step's k, v written into the cache. Returns [T, NH·HS].
   */
  selfAttention(
    i: { readonly h: T; readonly q: LinearWeights<T>; readonly k: LinearWeights<T>; readonly v: LinearWeights<T>; /** fusesNorm only: h is LayerNorm's input */ readonly norm?: NormInput<T> },
    a: { readonly layer: number; readonly step: StepInputs<T>; readonly numHeads: number; readonly numKvHeads: number; readonly headSize: number; readonly rope: boolean },
  ): T;
  /** Calibration: f32 [N], the running max |x| per column of x [M, N] from `acc` (or 0) (ref-math absMaxColumns; exact everywhere). */
  absMaxColumns(i: { readonly x: T; readonly acc?: T }): T;
  /** i32 [R]: the argmax of each row of fp32 logits [R, V] (ref-math argmaxRows; exact everywhere). */
  argmax(logits: T): T;
  /**
   * i32 [R]: each row's next token from fp32 logits [R, V] with the step's sampling settings
   * (ref-math sampleRows: the same token on every backend, tier 2). Inside launchStep only.
   */
  sample(logits: T, step: StepInputs<T>): T;
  /**
   * i32 [R, 2n + 3]: each row of fp32 logits [R, V] reduced for beam search — its first n candidates,
   * max and exact weight sum (ref-math beamCandidateRows; the same on every backend, tier 2). Inside launchStep only.
   */
  beamCandidates(logits: T, n: number, step: StepInputs<T>): T;
  /**
   * i32 [R, 4]: each row of fp32 logits [R, V] reduced to the log-probability of tokens[r] (i32 [R]) —
   * the token's logit, the max and the exact weight sum (ref-math tokenLogProbRows; tier 1, the same
   * words on every backend). Only these cross to the host (evaluation: perplexity, scoring a text).
   */
  tokenLogProbs(logits: T, tokens: T): T;
  /** Matrices [R, c_i] of one dtype side by side: [R, Σ c_i] (a step's i32 outputs packed into one; ref: i32 only). */
  concatColumns(parts: readonly T[]): T;
  /**
   * Start one forward step: put `host` on the backend and run `body` (which returns the step's output
   * tensor: fp32 logits, or i32 tokens; nothing for a worker rank); its output comes to the host at
   * `collect`, and every tensor passed to `step.keep` is freed then. A device backend returns once the
   * step's work is queued, so the host is free until `collect` (the engine hands the previous step's
   * tokens to their listeners meanwhile); `ref` and the reference kernels have finished by then. One
   * step at a time: collect it before launching the next. `capture` names a step shape that repeats
   * (decode steps of one batch size): a backend with CUDA graphs replays the step instead of
   * re-issuing its kernels.
   */
  launchStep(host: StepHost, body: (step: StepInputs<T>) => T | undefined, o: { readonly output: StepOutput; readonly capture?: string }): PendingStep;
  /** fp32 values on the host (logits). */
  toF32(t: T): Float32Array;
  /** An i32 tensor's values on the host (tokens, packed beam candidates: every bit kept). */
  toI32(t: T): Int32Array;
  /** Create the KV cache (paged layouts start with no blocks). */
  createKvCache(spec: KvCacheSpec): void;
  /** Point a slot's block-table row at these blocks (paged). */
  assignBlocks(slot: number, blocks: readonly number[]): void;
  /**
   * Copy rows of every layer's KV pool — blocks of a paged cache, slots of a contiguous one — for
   * each pair [source, destination] (ref-math kvCopyRows: destinations distinct, never a source): the
   * forks of a beam step, all of them at once (cuda: one launch).
   */
  copyKvRows(pairs: readonly (readonly [number, number])[]): void;
  /** Device memory still free for the KV cache (cuda: free + the allocator's cache), or undefined (ref: host memory, unbounded here). */
  freeMemoryBytes(): number | undefined;
  /** Free everything the backend holds. */
  dispose(): void;
}

/**
 * The production backend's GEMM policy. Every choice is made from a row's request, the weight's
 * shape and the engine's limits, never from the batch of a step, except 'per-shape'.
 * - 'auto' (default): 'decode-kernel' for engines whose steps have at most AUTO_DECODE_KERNEL_ROWS
 *   generation rows (max_batch_size × max_beam_width), else 'batch-invariant' — fixed when the
 *   engine loads, so every step of an engine uses the same kernels (see resolveGemmAlgo).
 * - 'batch-invariant': linear layers through cuBLASLt with one algorithm per (N, K) for every M; the
 *   lm_head through the decode GEMM (`gemmDecode`, tensor cores, the weight streamed once, one K
 *   order per shape), which is faster than cuBLASLt for the few rows of decode steps.
 * - 'decode-kernel': also every generation row (one-token sequences) of the linear layers through the
 *   decode GEMM (with the LayerNorm and the KV-cache write inside it); prompt rows through cuBLASLt,
 *   whose one algorithm per shape is then tuned for prompt sizes. Batch-invariant. On the H200 (docs/benchmarks.md):
 *   faster than 'batch-invariant' at batch 1 (gpt2 −11 %, gpt2-xl −9 % per step), even at batch 8,
 *   slower at batch 64 (1.6–1.8×).
 * - 'cublaslt': everything through cuBLASLt, one algorithm per (N, K) (batch-invariant).
 * - 'per-shape': everything through cuBLASLt with its heuristic choice per (M, N, K): not batch-invariant.
 */
export const GEMM_ALGOS = ['auto', 'batch-invariant', 'decode-kernel', 'cublaslt', 'per-shape'] as const;
export type GemmAlgo = (typeof GEMM_ALGOS)[number];

/** 'auto' takes the decode GEMM for engines with at most this many generation rows per step. */
export const AUTO_DECODE_KERNEL_ROWS = 8;

/**
 * The policy an engine runs: `algo` itself, or for 'auto' (and undefined) 'decode-kernel' when a step
 * has at most AUTO_DECODE_KERNEL_ROWS generation rows (`maxGenerationRows`: max_batch_size ×
 * max_beam_width), else 'batch-invariant'.
 */
export function resolveGemmAlgo(algo: GemmAlgo | undefined, maxGenerationRows: number): Exclude<GemmAlgo, 'auto'> {
  if (algo !== undefined && algo !== 'auto') return algo;
  return maxGenerationRows <= AUTO_DECODE_KERNEL_ROWS ? 'decode-kernel' : 'batch-invariant';
}
