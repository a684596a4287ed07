/**
 * The `ref` backend: the model graph on ref-math's ops (pure TypeScript, runs anywhere, defines the
 * numerics). Tensors are ref-math Tensors; the KV cache is a ref-math KvCache. A SmoothQuant INT8
 * linear layer runs as quantizePerToken / quantizePerTensor → smoothQuantGemm (backend.ts Int8Linear), an
 * FP8 one as quantizeFp8 → fp8Gemm (Fp8Linear).
 */
import {
  addPositionEmbedding, argmaxRows, sampleRows, beamCandidateRows, tokenLogProbRows, assignBlocks, promptEmbeddingLookup, attention, createKvCache, embeddingLookup, gelu, gemm, layerNorm, reshape, residualAdd, rope, ropeTable,
  swiglu, toF32, kvCacheWrite, quantizePerTensor, quantizePerToken, smoothQuantGemm, quantizeFp8, fp8Gemm, absMaxColumns, fromValues, kvCopyRows, tensor, type ActDType, type KvCache, type KvCacheSpec, type RopeTable, type Tensor,
} from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import type { Backend, Fp8Linear, Int8Linear, LinearWeights, PendingStep, StepHost, StepInputs, StepOutput } from './backend.js';
import { composeLinear, composeLaunchStep, composeSelfAttention, i32Values, stepSampling } from './compose.js';

type T = Tensor;
/** ref-math's ops check dtypes at run time; these only narrow the static type. */
const act = (t: Tensor): Tensor<ActDType> => t as Tensor<ActDType>;
const i32 = (t: Tensor): Tensor<'i32'> => t as Tensor<'i32'>;

/**
 * x·W (+ bias) of a quantized linear on the oracle. SmoothQuant: the activation quantized per token
 * (its row scale) or per tensor (scaleX; its inverse is the row alpha), int8 × int8 → int32, scaled
 * back by alphaRow · scaleW; FP8: x quantized with scaleX, e4m3 × e4m3 → fp32, scaled by
 * (1 / scaleX) · scaleW. The bias is added in the GEMM's epilogue in both.
 */
function quantizedProduct(x: Tensor<ActDType>, w: Int8Linear<T> | Fp8Linear<T>): T {
  const [scaleX] = toF32(w.scaleX);
  const bias = w.bias === undefined ? {} : { bias: act(w.bias) };
  if (w.kind === 'fp8') {
    const [scaleW] = toF32(w.scaleW);
    return fp8Gemm({ a: quantizeFp8({ x }, { scale: scaleX! }), b: w.weight as Tensor<'fp8e4m3'>, ...bias }, { scaleA: Math.fround(1 / scaleX!), scaleB: scaleW!, outDtype: x.dtype, transB: true });
  }
  const q = w.mode.perToken ? quantizePerToken({ x }) : { q: quantizePerTensor({ x }, { scale: scaleX! }), scale: tensor('f32', [1], Float32Array.of(Math.fround(1 / scaleX!))) };
  return smoothQuantGemm({ a: q.q, b: w.weight as Tensor<'i8'>, alphaRow: q.scale, alphaCol: w.scaleW as Tensor<'f32'>, ...bias }, { outDtype: x.dtype, mode: w.mode, transB: true });
}

export class RefBackend implements Backend<T> {
  readonly name = 'ref' as const;
  #cache: KvCache | undefined;
  readonly #rope: RopeTable | undefined;

  constructor(o: { readonly rope?: { readonly positions: number; readonly rotaryDim: number; readonly base: number } }) {
    this.#rope = o.rope && ropeTable(o.rope.positions, o.rope.rotaryDim, o.rope.base);
  }

  upload(t: Tensor): T {
    return t;
  }
  free(): void {}
  view(t: T, shape: readonly number[]): T {
    return reshape(t, shape);
  }
  embeddingLookup(i: { ids: T; table: T }): T {
    return embeddingLookup({ ids: i32(i.ids), table: act(i.table) });
  }
  promptEmbeddingLookup(i: { ids: T; table: T; promptTable: T; tasks: T }): T {
    return promptEmbeddingLookup({ ids: i32(i.ids), table: act(i.table), promptTable: act(i.promptTable), tasks: i32(i.tasks) });
  }
  addPositionEmbedding(i: { x: T; wpe: T; positions: T }): T {
    return addPositionEmbedding({ x: act(i.x), wpe: act(i.wpe), positions: i32(i.positions) });
  }
  layerNorm(i: { x: T; gamma: T; beta?: T }, a: { eps: number; weightPlusOne: boolean }): T {
    return layerNorm(i.beta ? { x: act(i.x), gamma: act(i.gamma), beta: act(i.beta) } : { x: act(i.x), gamma: act(i.gamma) }, a);
  }
  gemm(i: { a: T; b: T; bias?: T }, a: { transB?: boolean; outDtype?: ActDType } = {}): T {
    return gemm(i.bias ? { a: act(i.a), b: act(i.b), bias: act(i.bias) } : { a: act(i.a), b: act(i.b) }, a);
  }
  rope(i: { x: T; positions: T }): T {
    if (!this.#rope) throw new EngineError('backend', { what: 'rope', expected: 'a model with rotary_pct > 0', got: 'no RoPE table' });
    return rope({ x: act(i.x), positions: i32(i.positions), table: this.#rope });
  }
  attention(i: { q: T; k: T; v: T }, a: { sequences: readonly { slot: number; start: number; length: number }[]; layer: number }): T {
    return attention({ q: act(i.q), k: act(i.k), v: act(i.v) }, { sequences: a.sequences, cache: { cache: this.#kv(), layer: a.layer } });
  }
  kvCacheWrite(layer: number, i: { k: T; v: T; slots: T; positions: T }): void {
    kvCacheWrite(this.#kv(), layer, { k: act(i.k), v: act(i.v), slots: i32(i.slots), positions: i32(i.positions) });
  }
  residualAdd(i: { a: T; b: T }): T {
    return residualAdd({ a: act(i.a), b: act(i.b) });
  }
  gelu(i: { x: T }): T {
    return gelu({ x: act(i.x) });
  }
  swiglu(i: { x: T; gate: T }): T {
    return swiglu({ x: act(i.x), gate: act(i.gate) });
  }
  linear(i: { x: T; w: LinearWeights<T>; residual?: T }, a: { activation?: 'gelu' } = {}): T {
    return composeLinear(this, i, a, (x, w) => quantizedProduct(act(x), w));
  }
  selfAttention(i: { h: T; q: LinearWeights<T>; k: LinearWeights<T>; v: LinearWeights<T> }, a: { layer: number; step: StepInputs<T>; numHeads: number; numKvHeads: number; headSize: number; rope: boolean }): T {
    return composeSelfAttention(this, i, a);
  }
  absMaxColumns(i: { x: T; acc?: T }): T {
    return absMaxColumns(i.acc ? { x: act(i.x), acc: i.acc as Tensor<'f32'> } : { x: act(i.x) });
  }
  argmax(logits: T): T {
    return argmaxRows(logits as Tensor<'f32'>);
  }
  sample(logits: T, step: StepInputs<T>): T {
    return sampleRows(logits as Tensor<'f32'>, stepSampling(step));
  }
  beamCandidates(logits: T, n: number): T {
    return beamCandidateRows(logits as Tensor<'f32'>, n);
  }
  tokenLogProbs(logits: T, tokens: T): T {
    return tokenLogProbRows(logits as Tensor<'f32'>, tokens as Tensor<'i32'>);
  }
  concatColumns(parts: readonly T[]): T {
    const rows = parts[0]!.shape[0]!;
    const width = parts.reduce((w, p) => w + p.shape[1]!, 0);
    const out = new Int32Array(rows * width);
    let col = 0;
    for (const p of parts) {
      const c = p.shape[1]!;
      const d = i32Values(p);
      for (let r = 0; r < rows; r++) out.set(d.subarray(r * c, (r + 1) * c), r * width + col);
      col += c;
    }
    return fromValues('i32', [rows, width], out);
  }
  launchStep(host: StepHost, body: (step: StepInputs<T>) => T | undefined, o: { output: StepOutput }): PendingStep {
    return composeLaunchStep(this, host, body, o);
  }
  toF32(t: T): Float32Array {
    return toF32(t);
  }
  toI32(t: T): Int32Array {
    return i32Values(t);
  }
  createKvCache(spec: KvCacheSpec): void {
    this.#cache = createKvCache(spec);
  }
  assignBlocks(slot: number, blocks: readonly number[]): void {
    assignBlocks(this.#kv(), slot, blocks);
  }
  copyKvRows(pairs: readonly (readonly [number, number])[]): void {
    kvCopyRows(this.#kv(), pairs);
  }
  freeMemoryBytes(): undefined {
    return undefined;
  }
  dispose(): void {
    this.#cache = undefined;
  }
  #kv(): KvCache {
    if (!this.#cache) throw new EngineError('backend', { what: 'kv cache', expected: 'createKvCache first', got: 'none' });
    return this.#cache;
  }
}
