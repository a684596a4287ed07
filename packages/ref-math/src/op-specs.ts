/**
 * Every op's name and typed inputs/attributes, declared once. The ref-math oracle implements each
 * (`ops/<basename>.ts`), and the CUDA backend implements the same specs under the same basenames.
 *
 * Shape glossary (docs/GLOSSARY.md): B batch, T tokens (packed over sequences), H hidden, NH query
 * heads, NKV key/value heads, HS head size, I MLP intermediate, V vocab, Vl vocab rows per rank,
 * Hl hidden columns per rank, P positions, TP ranks, M/N/K GEMM dims, L layers, TPB tokens per block.
 */
import type { ActDType, DType } from './dtype.js';
import type { Tensor } from './tensor.js';

/** Op names: one per file basename in every layer. */
export const OP_NAMES = [
  'gemm',
  'int8-gemm',
  'quantize',
  'fp8',
  'layernorm',
  'activation',
  'softmax',
  'residual',
  'rope',
  'kv-cache',
  'attention',
  'embedding',
  'collectives',
  'argmax',
  'sampling',
] as const;
export type OpName = (typeof OP_NAMES)[number];

// ---- gemm ----
export interface GemmInputs {
  /** [M, K], or [K, M] with transA. */
  readonly a: Tensor<ActDType>;
  /** [K, N], or [N, K] with transB (same dtype as a). */
  readonly b: Tensor<ActDType>;
  /** [N], optional, any float dtype; added in fp32 before the output cast. */
  readonly bias?: Tensor<ActDType>;
}
export interface GemmAttrs {
  readonly transA?: boolean;
  readonly transB?: boolean;
  /** Output dtype; default a.dtype. */
  readonly outDtype?: ActDType;
}

// ---- int8-gemm ----
export interface Int8GemmInputs {
  /** [M, K] int8. */
  readonly a: Tensor<'i8'>;
  /** [K, N] int8, or [N, K] with transB. */
  readonly b: Tensor<'i8'>;
}
export interface Int8GemmAttrs {
  readonly transB?: boolean;
}
/** Which SmoothQuant scales are vectors: per token (rows of a) and/or per channel (columns of b). */
export interface SmoothQuantMode {
  readonly perToken: boolean;
  readonly perChannel: boolean;
}
export interface SmoothQuantGemmInputs extends Int8GemmInputs {
  /** f32 [M] when perToken, else [1]: the per-row dequantization scale of a. */
  readonly alphaRow: Tensor<'f32'>;
  /** f32 [N] when perChannel, else [1]: the per-column dequantization scale of b. */
  readonly alphaCol: Tensor<'f32'>;
  /** [N] in outDtype, optional; added after the epilogue's cast, in outDtype. */
  readonly bias?: Tensor<ActDType>;
}
export interface SmoothQuantGemmAttrs extends Int8GemmAttrs {
  readonly outDtype: ActDType;
  readonly mode: SmoothQuantMode;
}
/** The SmoothQuant epilogue on its own, over an int32 accumulator (what a tensor-core INT8 GEMM returns). */
export interface SmoothQuantEpilogueInputs {
  /** [M, N] int32: x_q · W_q. */
  readonly acc: Tensor<'i32'>;
  readonly alphaRow: Tensor<'f32'>;
  readonly alphaCol: Tensor<'f32'>;
  readonly bias?: Tensor<ActDType>;
  /** [M, N] in outDtype, optional: added last, as residualAdd(residual, y). */
  readonly residual?: Tensor<ActDType>;
}
export interface SmoothQuantEpilogueAttrs {
  readonly outDtype: ActDType;
  readonly mode: SmoothQuantMode;
  /** GELU (tanh form, ops/activation.ts) after the bias, before the residual. */
  readonly gelu?: boolean;
}

// ---- quantize ----
export interface QuantizePerTensorInputs {
  readonly x: Tensor<ActDType>;
}
export interface QuantizePerTensorAttrs {
  /** Multiplier orig → quant (e.g. 127 / amax). */
  readonly scale: number;
}
/** Calibration statistics: the running max |x| per column (absMaxColumns). */
export interface AbsMaxColumnsInputs {
  /** [M, N]. */
  readonly x: Tensor<ActDType>;
  /** f32 [N]: the maxima so far (none: start from 0). */
  readonly acc?: Tensor<'f32'>;
}
export interface QuantizePerTokenInputs {
  /** [T, H]. */
  readonly x: Tensor<ActDType>;
}
export interface QuantizedPerToken {
  /** [T, H] int8. */
  readonly q: Tensor<'i8'>;
  /** f32 [T]: dequantization scale of each row (rowMax / 127). */
  readonly scale: Tensor<'f32'>;
}
export interface DequantizeInputs {
  /** [T, H] int8. */
  readonly q: Tensor<'i8'>;
  /** f32 [1] (per tensor) or [T] (per token): quant → orig multiplier. */
  readonly scale: Tensor<'f32'>;
}
export interface DequantizeAttrs {
  readonly outDtype: ActDType;
}

// ---- fp8 ----
export interface Fp8QuantizeInputs {
  readonly x: Tensor<ActDType>;
}
export interface Fp8QuantizeAttrs {
  /** Multiplier orig → quant (e.g. 448 / amax). */
  readonly scale: number;
}
export interface Fp8DequantizeInputs {
  readonly q: Tensor<'fp8e4m3'>;
}
export interface Fp8DequantizeAttrs {
  /** Multiplier quant → orig. */
  readonly scale: number;
  readonly outDtype: ActDType;
}
export interface Fp8GemmInputs {
  /** [M, K] fp8. */
  readonly a: Tensor<'fp8e4m3'>;
  /** [K, N] fp8, or [N, K] with transB. */
  readonly b: Tensor<'fp8e4m3'>;
  /** [N], optional; added in fp32 after scaling. */
  readonly bias?: Tensor<ActDType>;
}
export interface Fp8GemmAttrs {
  readonly transB?: boolean;
  /** Dequantization scales of a and b (quant → orig). */
  readonly scaleA: number;
  readonly scaleB: number;
  readonly outDtype: ActDType;
}

// ---- layernorm ----
export interface LayerNormInputs {
  /** [T, H]. */
  readonly x: Tensor<ActDType>;
  /** [H]. */
  readonly gamma: Tensor<ActDType>;
  /** [H], optional (no-bias models). */
  readonly beta?: Tensor<ActDType>;
}
export interface LayerNormAttrs {
  /** Default 1e-5 (rounded to fp32). */
  readonly eps?: number;
  /** NeMo layernorm1p: the weight used is fp32(gamma + 1). */
  readonly weightPlusOne?: boolean;
}

// ---- activation ----
export interface GeluInputs {
  readonly x: Tensor<ActDType>;
}
export interface SwigluInputs {
  /** act input: fc(x), [T, I]. */
  readonly x: Tensor<ActDType>;
  /** gate(x), [T, I]. */
  readonly gate: Tensor<ActDType>;
}

// ---- softmax ----
export interface MaskedSoftmaxInputs {
  /** [R, N] scores. */
  readonly x: Tensor<ActDType>;
  /** int8 [R, N], 1 = keep, 0 = masked; optional (no mask). */
  readonly mask?: Tensor<'i8'>;
}
export interface MaskedSoftmaxAttrs {
  /** Scores are multiplied by this (in fp32) before the softmax. */
  readonly scale: number;
  /** Output dtype; default x.dtype. */
  readonly outDtype?: ActDType;
}

// ---- residual ----
export interface ResidualAddInputs {
  readonly a: Tensor<ActDType>;
  readonly b: Tensor<ActDType>;
}

// ---- rope ----
export interface RopeInputs {
  /** [T, NH, HS] (or [T, NKV, HS] for keys). */
  readonly x: Tensor<ActDType>;
  /** i32 [T]: the absolute position of each token. */
  readonly positions: Tensor<'i32'>;
  /** The cos/sin table (ropeTable); positions index its rows. */
  readonly table: RopeTable;
}
export interface RopeTable {
  /** Rotated dims per head (even): floor(HS · rotary_pct). */
  readonly rotaryDim: number;
  readonly base: number;
  /** f32 [rotaryDim / 2]: base^(−2i / rotaryDim). */
  readonly invFreq: Tensor<'f32'>;
  /** f32 [P, rotaryDim / 2]. */
  readonly cos: Tensor<'f32'>;
  /** f32 [P, rotaryDim / 2]. */
  readonly sin: Tensor<'f32'>;
}

// ---- kv-cache ----
export type KvCacheDType = 'f32' | 'f16' | 'bf16' | 'i8' | 'fp8e4m3';

export type KvLayout =
  | { readonly kind: 'contiguous'; /** Lmax: positions per slot. */ readonly maxSeqLen: number }
  | {
      readonly kind: 'paged';
      /** TPB, a power of two. */
      readonly tokensPerBlock: number;
      readonly numBlocks: number;
      /** Block table columns: the most blocks one slot may use. */
      readonly maxBlocksPerSeq: number;
    };

/** Dequantization scales of one layer of an int8 / fp8 cache (real = stored · scale), one for K and one for V. */
export interface KvQuantScales {
  readonly k: number;
  readonly v: number;
}

export interface KvCacheSpec {
  readonly numLayers: number;
  /** B: sequence slots. */
  readonly numSlots: number;
  readonly numKvHeads: number;
  readonly headSize: number;
  readonly dtype: KvCacheDType;
  readonly layout: KvLayout;
  /**
   * Required for i8 / fp8e4m3 storage: one K and one V scale per layer (`numLayers` entries), as
   * calibration measures them (convert -kv); TensorRT-LLM's seed shares one scale for K and V.
   */
  readonly scales?: readonly KvQuantScales[];
}

export interface KvCache {
  readonly spec: KvCacheSpec;
  /** One pool per layer, shaped as the layout says. */
  readonly pools: Tensor<KvCacheDType>[];
  /** paged only: i32 [B, maxBlocksPerSeq], −1 = unassigned. */
  readonly blockTable?: Tensor<'i32'>;
}

export interface KvCacheWriteInputs {
  /** [T, NKV, HS]. */
  readonly k: Tensor<ActDType>;
  /** [T, NKV, HS]. */
  readonly v: Tensor<ActDType>;
  /** i32 [T]: the cache slot of each token. */
  readonly slots: Tensor<'i32'>;
  /** i32 [T]: the position of each token. */
  readonly positions: Tensor<'i32'>;
}

// ---- attention ----
export interface AttentionSequence {
  /** Cache slot of the sequence (paged: its block-table row). */
  readonly slot: number;
  /** Position of the first new token; positions before it are read from the cache. */
  readonly start: number;
  /** New tokens of this sequence in the packed input. */
  readonly length: number;
}

export interface AttentionInputs {
  /** [T, NH, HS]. */
  readonly q: Tensor<ActDType>;
  /** [T, NKV, HS]. */
  readonly k: Tensor<ActDType>;
  /** [T, NKV, HS]. */
  readonly v: Tensor<ActDType>;
}

export interface AttentionAttrs {
  /** The packed sequences, in row order; their lengths sum to T. */
  readonly sequences: readonly AttentionSequence[];
  readonly scale?: number;
  /** Where earlier positions live; required when any sequence has start > 0. */
  readonly cache?: { readonly cache: KvCache; readonly layer: number };
}

// ---- embedding ----
export interface EmbeddingInputs {
  /** i32 [T] token ids in [0, V). */
  readonly ids: Tensor<'i32'>;
  /** [V, H]. */
  readonly table: Tensor<ActDType>;
}
export interface PromptEmbeddingInputs extends EmbeddingInputs {
  /** [numTasks, Pt, H]: virtual tokens V..V+Pt−1 of each task. */
  readonly promptTable: Tensor<ActDType>;
  /** i32 [T]: the task of each token. */
  readonly tasks: Tensor<'i32'>;
}
export interface VocabShardedEmbeddingInputs {
  readonly ids: Tensor<'i32'>;
  /** [Vl, H]: rows r·Vl … (r+1)·Vl − 1 of the (zero-padded) table. */
  readonly shard: Tensor<ActDType>;
}
export interface HiddenShardedEmbeddingInputs {
  readonly ids: Tensor<'i32'>;
  /** [V, Hl]: columns r·Hl … (r+1)·Hl − 1 of the table. */
  readonly shard: Tensor<ActDType>;
}
export interface ShardAttrs {
  readonly rank: number;
  readonly tpSize: number;
}
export interface PositionEmbeddingInputs {
  /** [T, H] token embeddings. */
  readonly x: Tensor<ActDType>;
  /** [P, H]. */
  readonly wpe: Tensor<ActDType>;
  /** i32 [T]. */
  readonly positions: Tensor<'i32'>;
}

/** Every dtype name, for tables and messages. */
export type AnyDType = DType;
