/**
 * The `cuda` backend with reference kernels: the model graph on @trtllm/cuda-kernels' reference-order
 * kernels (bit-exact to ref-math, ARCHITECTURE.md, Numerics: tier 2), so its greedy tokens equal the `ref` backend's.
 * Weights are uploaded once; each step uploads ids/positions, runs the kernels, and downloads the
 * logits. The paged KV cache's block table is kept on the host (ref-math assignBlocks) and written
 * in place on the device when it changes. Loaded only when asked for
 * (`Engine.load(dir, {backend: 'cuda', kernels: 'reference'})`); cuda-production.ts builds on it.
 * SmoothQuant INT8 linear layers run as the ref backend runs them: quantizePerToken / quantizePerTensor,
 * then smoothQuantGemm on the reference kernels (every one exact).
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import { loadKernels } from './kernels.js';
import { assignBlocks, createKvCache, ropeTable, tensor, toF32, type ActDType, type AttentionSequence, type KvCache, type KvCacheSpec, type Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import type { Backend, Fp8Linear, Int8Linear, KernelSet, LinearWeights, PendingStep, StepHost, StepInputs, StepOutput } from './backend.js';
import { composeLinear, composeLaunchStep, composeSelfAttention, i32Values, stepSampling } from './compose.js';

export type T = Cuda.DeviceTensor;
export type Act = Cuda.DeviceTensor<ActDType>;
export type I32 = Cuda.DeviceTensor<'i32'>;
export const act = (t: T): Act => t as Act;
export const i32 = (t: T): I32 => t as I32;

export interface RopeOptions {
  readonly positions: number;
  readonly rotaryDim: number;
  readonly base: number;
}

/** An FP8 layer's scales (CudaBackend.fp8Scales). */
export interface Fp8Scales {
  readonly scaleX: number;
  readonly scaleW: number;
  /** fp32(1 / scaleX): dequantizes the activation. */
  readonly scaleA: number;
  readonly scaleADevice: Cuda.DeviceTensor<'f32'>;
}

export class CudaBackend implements Backend<T> {
  readonly name = 'cuda' as const;
  readonly kernels: KernelSet = 'reference';
  protected readonly k: typeof Cuda;
  protected readonly ropeTable: Cuda.DeviceRopeTable | undefined;
  /** Where this backend's work runs: the legacy default stream (reference), or its own (production). */
  protected readonly stream: Cuda.Stream | undefined;
  #cache: Cuda.DeviceKvCache | undefined;
  /** Staging for copyKvRows' pairs (grown as needed, kept between calls). */
  #copyPairs: Cuda.DeviceTensor<'i32'> | undefined;
  /** Per SmoothQuant layer (by its scaleX tensor): scaleX on the host, and fp32(1 / scaleX) [1] on the device. */
  readonly #staticScales = new Map<T, { readonly scaleX: number; readonly alphaRow: Cuda.DeviceTensor<'f32'> }>();
  readonly #fp8Scales = new Map<T, Fp8Scales>();
  /** Host mirror of the paged cache's block table. */
  #hostCache: KvCache | undefined;
  #tableDirty = false;

  protected constructor(k: typeof Cuda, rope: RopeOptions | undefined, stream?: Cuda.Stream) {
    this.k = k;
    this.stream = stream;
    this.ropeTable = rope && k.uploadRopeTable(ropeTable(rope.positions, rope.rotaryDim, rope.base));
  }

  static async create(o: { readonly rope?: RopeOptions }): Promise<CudaBackend> {
    return new CudaBackend(await loadKernels(), o.rope);
  }

  /**
   * Σ over the ranks of `x` through `comm` (tensor parallelism across processes), queued on this
   * backend's stream after the kernels that wrote x — so a step's collect waits for it, with the
   * collective watch's bound; on the reference kernels' default stream it is waited for at once.
   */
  allReduceSum(comm: Cuda.NcclCommunicator, x: T): T {
    return comm.allReduceSum(act(x), this.stream);
  }
  upload(t: Tensor): T {
    return this.k.DeviceTensor.from(t, this.stream);
  }
  free(t: T): void {
    t.free();
  }
  view(t: T, shape: readonly number[]): T {
    return t.view(0, shape);
  }
  embeddingLookup(i: { ids: T; table: T }): T {
    return this.k.embeddingLookup({ ids: i32(i.ids), table: act(i.table) }, this.stream);
  }
  promptEmbeddingLookup(i: { ids: T; table: T; promptTable: T; tasks: T }): T {
    return this.k.promptEmbeddingLookup({ ids: i32(i.ids), table: act(i.table), promptTable: act(i.promptTable), tasks: i32(i.tasks) }, this.stream);
  }
  addPositionEmbedding(i: { x: T; wpe: T; positions: T }): T {
    return this.k.addPositionEmbedding({ x: act(i.x), wpe: act(i.wpe), positions: i32(i.positions) }, this.stream);
  }
  layerNorm(i: { x: T; gamma: T; beta?: T }, a: { eps: number; weightPlusOne: boolean }): T {
    return this.k.layerNorm(i.beta ? { x: act(i.x), gamma: act(i.gamma), beta: act(i.beta) } : { x: act(i.x), gamma: act(i.gamma) }, a, this.stream);
  }
  gemm(i: { a: T; b: T; bias?: T }, a: { transB?: boolean; outDtype?: ActDType } = {}): T {
    return this.k.gemm(i.bias ? { a: act(i.a), b: act(i.b), bias: act(i.bias) } : { a: act(i.a), b: act(i.b) }, a, this.stream);
  }
  rope(i: { x: T; positions: T }): T {
    if (!this.ropeTable) throw new EngineError('backend', { what: 'rope', expected: 'a model with rotary_pct > 0', got: 'no RoPE table' });
    return this.k.rope({ x: act(i.x), positions: i32(i.positions), table: this.ropeTable }, this.stream);
  }
  attention(i: { q: T; k: T; v: T }, a: { sequences: readonly AttentionSequence[]; layer: number }): T {
    return this.k.attention({ q: act(i.q), k: act(i.k), v: act(i.v) }, { sequences: a.sequences, cache: { cache: this.kv(), layer: a.layer } }, this.stream);
  }
  kvCacheWrite(layer: number, i: { k: T; v: T; slots: T; positions: T }): void {
    this.k.kvCacheWrite(this.kv(), layer, { k: act(i.k), v: act(i.v), slots: i32(i.slots), positions: i32(i.positions) }, this.stream);
  }
  residualAdd(i: { a: T; b: T }): T {
    return this.k.residualAdd({ a: act(i.a), b: act(i.b) }, this.stream);
  }
  gelu(i: { x: T }): T {
    return this.k.gelu({ x: act(i.x) }, this.stream);
  }
  swiglu(i: { x: T; gate: T }): T {
    return this.k.swiglu({ x: act(i.x), gate: act(i.gate) }, this.stream);
  }
  linear(i: { x: T; w: LinearWeights<T>; residual?: T }, a: { activation?: 'gelu' } = {}): T {
    return composeLinear(this, i, a, (x, w) => this.#quantizedProduct(x, w));
  }
  /** x·Wᵀ (+ bias) of a SmoothQuant layer on the reference kernels (ref.ts quantizedProduct, op for op). */
  #quantizedProduct(x: T, w: Int8Linear<T> | Fp8Linear<T>): T {
    if (w.kind === 'fp8') {
      // FP8: quantize with the static scale, e4m3 × e4m3 → fp32 in the oracle's order, scaled and biased (ref.ts, op for op)
      const s = this.fp8Scales(w);
      const q = this.k.quantizeFp8({ x: act(x) }, { scale: s.scaleX }, this.stream);
      try {
        return this.k.fp8Gemm({ a: q, b: w.weight as Cuda.DeviceTensor<'fp8e4m3'>, ...(w.bias ? { bias: act(w.bias) } : {}) }, { transB: true, scaleA: s.scaleA, scaleB: s.scaleW, outDtype: x.dtype as ActDType }, this.stream);
      } finally {
        q.free();
      }
    }
    const { q, alphaRow } = this.quantizeActivation(x, w);
    try {
      const bias = w.bias ? { bias: act(w.bias) } : {};
      return this.k.smoothQuantGemm({ a: q, b: w.weight as Cuda.DeviceTensor<'i8'>, alphaRow, alphaCol: w.scaleW as Cuda.DeviceTensor<'f32'>, ...bias }, { outDtype: x.dtype as ActDType, mode: w.mode, transB: true }, this.stream);
    } finally {
      q.free();
      if (w.mode.perToken) alphaRow.free();
    }
  }
  /**
   * A SmoothQuant layer's input in INT8 and its row scales: per token (quantizePerToken; the scales are
   * new tensors) or with the static scale (quantizePerTensor; alphaRow is the layer's fp32(1 / scaleX), kept).
   */
  protected quantizeActivation(x: T, w: Int8Linear<T>): { q: Cuda.DeviceTensor<'i8'>; alphaRow: Cuda.DeviceTensor<'f32'> } {
    if (w.mode.perToken) {
      const r = this.k.quantizePerToken({ x: act(x) }, this.stream);
      return { q: r.q, alphaRow: r.scale };
    }
    const s = this.staticScale(w);
    return { q: this.k.quantizePerTensor({ x: act(x) }, { scale: s.scaleX }, this.stream), alphaRow: s.alphaRow };
  }
  /**
   * An FP8 layer's scales, read once and kept: scaleX and scaleW on the host, scaleA = fp32(1 / scaleX)
   * on the host and as f32 [1] on the device (the production GEMM reads its scales from the device).
   */
  protected fp8Scales(w: Fp8Linear<T>): Fp8Scales {
    let s = this.#fp8Scales.get(w.scaleX);
    if (!s) {
      const scaleX = toF32(w.scaleX.toHost(this.stream))[0]!;
      const scaleW = toF32(w.scaleW.toHost(this.stream))[0]!;
      const scaleA = Math.fround(1 / scaleX);
      s = { scaleX, scaleW, scaleA, scaleADevice: this.k.DeviceTensor.from(tensor('f32', [1], Float32Array.of(scaleA)), this.stream) };
      this.#fp8Scales.set(w.scaleX, s);
    }
    return s;
  }
  /** A per-tensor SmoothQuant layer's scaleX on the host and fp32(1 / scaleX) [1] on the device (read once, kept). */
  protected staticScale(w: Int8Linear<T>): { readonly scaleX: number; readonly alphaRow: Cuda.DeviceTensor<'f32'> } {
    let s = this.#staticScales.get(w.scaleX);
    if (!s) {
      const scaleX = toF32(w.scaleX.toHost(this.stream))[0]!;
      s = { scaleX, alphaRow: this.k.DeviceTensor.from(tensor('f32', [1], Float32Array.of(Math.fround(1 / scaleX))), this.stream) };
      this.#staticScales.set(w.scaleX, s);
    }
    return s;
  }
  selfAttention(i: { h: T; q: LinearWeights<T>; k: LinearWeights<T>; v: LinearWeights<T> }, a: { layer: number; step: StepInputs<T>; numHeads: number; numKvHeads: number; headSize: number; rope: boolean }): T {
    return composeSelfAttention(this, i, a);
  }
  absMaxColumns(i: { x: T; acc?: T }): T {
    return this.k.absMaxColumns(i.acc ? { x: act(i.x), acc: i.acc as Cuda.DeviceTensor<'f32'> } : { x: act(i.x) }, this.stream);
  }
  argmax(logits: T): T {
    return this.k.argmaxRows(logits, this.stream);
  }
  /** The settings uploaded for this step (freed with it), a workspace, then the sampling kernel. */
  sample(logits: T, step: StepInputs<T>): T {
    const packed = this.k.samplingTensors(this.k.packSampling(stepSampling(step)));
    const [rows, cols] = logits.shape as [number, number];
    const up = (t: Tensor<'i32'>): Cuda.DeviceTensor => step.keep(this.upload(t));
    const workspace = step.keep(this.k.DeviceTensor.empty('i32', [this.k.sampleWorkspaceSize(rows, cols)]));
    return this.k.sampleRows({ x: logits, settings: up(packed.settings), seenOffsets: up(packed.seenOffsets), seen: up(packed.seen), workspace }, this.stream);
  }
  /** A workspace kept with the step, then the beam-candidates kernel. */
  beamCandidates(logits: T, n: number, step: StepInputs<T>): T {
    const [rows, cols] = logits.shape as [number, number];
    const workspace = step.keep(this.k.DeviceTensor.empty('i32', [this.k.sampleWorkspaceSize(rows, cols)]));
    return this.k.beamCandidateRows({ x: logits, workspace }, n, this.stream);
  }
  tokenLogProbs(logits: T, tokens: T): T {
    return this.k.tokenLogProbRows({ x: logits, tokens }, this.stream);
  }
  /** Row-major matrices [R, c_i] side by side: [R, Σ c_i] (one strided copy each, in stream order). */
  concatColumns(parts: readonly T[]): T {
    const rows = parts[0]!.shape[0]!;
    const cols = parts.map((w) => w.shape[1]!);
    const width = cols.reduce((x, y) => x + y, 0);
    const bytes = parts[0]!.bytes / parts[0]!.shape.reduce((x, y) => x * y, 1);
    const out = this.k.DeviceTensor.empty(parts[0]!.dtype, [rows, width]);
    const addon = this.k.addonIfBuilt()!;
    let col = 0;
    parts.forEach((w, j) => {
      addon.copy2d(out.ptr + BigInt(col * bytes), width * bytes, w.ptr, cols[j]! * bytes, cols[j]! * bytes, rows, this.stream?.handle);
      col += cols[j]!;
    });
    return out;
  }
  launchStep(host: StepHost, body: (step: StepInputs<T>) => T | undefined, o: { output: StepOutput; capture?: string }): PendingStep {
    return composeLaunchStep(this, host, body, o);
  }
  toF32(t: T): Float32Array {
    return toF32(t.toHost(this.stream));
  }
  toI32(t: T): Int32Array {
    return i32Values(t.toHost(this.stream));
  }
  createKvCache(spec: KvCacheSpec): void {
    // the host side keeps only the block table: no pools, so no storage dtype or scales of its own
    const { scales: _scales, ...layoutOnly } = spec;
    this.#hostCache = spec.layout.kind === 'paged' ? createKvCache({ ...layoutOnly, numLayers: 0, dtype: 'f32' }) : undefined;
    this.#cache = this.k.createDeviceKvCache(spec, this.#hostCache?.blockTable, this.stream);
  }
  assignBlocks(slot: number, blocks: readonly number[]): void {
    if (!this.#hostCache) throw new EngineError('backend', { what: 'assignBlocks', expected: 'a paged KV cache', got: 'contiguous' });
    assignBlocks(this.#hostCache, slot, blocks);
    this.#tableDirty = true;
  }
  /** One kernel launch for every pair and layer; the pairs are staged in a buffer kept for the next call. */
  copyKvRows(pairs: readonly (readonly [number, number])[]): void {
    if (pairs.length === 0) return;
    if (!this.#copyPairs || this.#copyPairs.bytes / 4 < 2 * pairs.length) {
      this.stream?.synchronize(); // the old buffer may still be read by the last copy
      this.#copyPairs?.free();
      this.#copyPairs = this.k.DeviceTensor.empty('i32', [Math.max(64, 4 * pairs.length)]);
    }
    this.k.kvCopyRows(this.kv(), pairs, this.#copyPairs, this.stream);
  }
  freeMemoryBytes(): number | undefined {
    const m = this.k.addonIfBuilt()?.memoryStats();
    return m && m.deviceFree + m.cached;
  }
  dispose(): void {
    for (const s of this.#staticScales.values()) s.alphaRow.free();
    this.#staticScales.clear();
    for (const s of this.#fp8Scales.values()) s.scaleADevice.free();
    this.#fp8Scales.clear();
    if (this.#cache) {
      for (const p of this.#cache.pools) p.free();
      this.#cache.blockTable?.free();
    }
    this.#cache = undefined;
    this.#copyPairs?.free();
    this.#copyPairs = undefined;
  }
  /** The device cache, its block table brought up to date (written in place: its address never changes). */
  protected kv(): Cuda.DeviceKvCache {
    if (!this.#cache) throw new EngineError('backend', { what: 'kv cache', expected: 'createKvCache first', got: 'none' });
    if (this.#tableDirty && this.#hostCache?.blockTable && this.#cache.blockTable) {
      this.#cache.blockTable.write(this.#hostCache.blockTable, this.stream);
      this.#tableDirty = false;
    }
    return this.#cache;
  }
}
