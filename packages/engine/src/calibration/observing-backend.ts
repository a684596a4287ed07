/**
 * Calibration's view of a model run: a Backend that wraps another and, at every linear layer, records
 * max |·| per channel of the layer's input and of its output — the forward hooks of the seed's
 * smoothquant.py capture_activation_range, on any backend. The output is the GEMM's own (bias
 * included), before GELU and before the residual add, so a linear runs here as three ops: the GEMM,
 * then GELU, then the residual. LayerNorms run on their own (no `fusesNorm`), and the attention block
 * runs op by op (compose.ts), so q, k and v are seen one by one. The maxima stay on the backend
 * (absMaxColumns, exact) until `activationStats()` brings them to the host once.
 */
import type { ActDType, AttentionSequence, KvCacheSpec, Tensor } from '@trtllm/ref-math';
import type { Backend, BackendName, LinearWeights, PendingStep, StepHost, StepInputs, StepOutput } from '../backends/backend.js';
import { composeSelfAttention } from '../backends/compose.js';

/** One linear layer's calibration: max |x| per input channel [K], max |y| per output channel [N]. */
export interface ActivationStats {
  readonly x: Float32Array;
  readonly y: Float32Array;
}

export class ObservingBackend<T> implements Backend<T> {
  readonly #b: Backend<T>;
  /** Linear layer name (`layers.<n>.q`, …) by its weight tensor. */
  readonly #names: ReadonlyMap<T, string>;
  readonly #acc = new Map<string, { x?: T; y?: T }>();

  constructor(inner: Backend<T>, names: ReadonlyMap<T, string>) {
    this.#b = inner;
    this.#names = names;
  }

  get name(): BackendName {
    return this.#b.name;
  }

  /** x·W (+ bias) observed, then GELU, then + residual (each its own op here). */
  linear(i: { x: T; w: LinearWeights<T>; residual?: T }, a: { activation?: 'gelu' } = {}): T {
    const b = this.#b;
    let y = b.linear({ x: i.x, w: i.w });
    const name = this.#names.get(i.w.weight);
    if (name !== undefined) this.#observe(name, i.x, y);
    if (a.activation === 'gelu') {
      const g = b.gelu({ x: y });
      b.free(y);
      y = g;
    }
    if (i.residual !== undefined) {
      const r = b.residualAdd({ a: i.residual, b: y });
      b.free(y);
      y = r;
    }
    return y;
  }
  selfAttention(i: { h: T; q: LinearWeights<T>; k: LinearWeights<T>; v: LinearWeights<T> }, a: { layer: number; step: StepInputs<T>; numHeads: number; numKvHeads: number; headSize: number; rope: boolean }): T {
    return composeSelfAttention(this, i, a);
  }

  /** Per linear layer seen: its maxima on the host. */
  activationStats(): Map<string, ActivationStats> {
    const out = new Map<string, ActivationStats>();
    for (const [name, acc] of this.#acc) out.set(name, { x: this.#b.toF32(acc.x!), y: this.#b.toF32(acc.y!) });
    return out;
  }

  /** Free the maxima (the wrapped backend stays). */
  dispose(): void {
    for (const acc of this.#acc.values()) for (const t of [acc.x, acc.y]) if (t !== undefined) this.#b.free(t);
    this.#acc.clear();
  }

  #observe(name: string, x: T, y: T): void {
    const acc = this.#acc.get(name) ?? {};
    const next = { x: this.#b.absMaxColumns(acc.x === undefined ? { x } : { x, acc: acc.x }), y: this.#b.absMaxColumns(acc.y === undefined ? { x: y } : { x: y, acc: acc.y }) };
    for (const t of [acc.x, acc.y]) if (t !== undefined) this.#b.free(t);
    this.#acc.set(name, next);
  }

  // ---- everything else: the wrapped backend's ----
  upload(t: Tensor): T {
    return this.#b.upload(t);
  }
  free(t: T): void {
    this.#b.free(t);
  }
  view(t: T, shape: readonly number[]): T {
    return this.#b.view(t, shape);
  }
  embeddingLookup(i: { ids: T; table: T }): T {
    return this.#b.embeddingLookup(i);
  }
  promptEmbeddingLookup(i: { ids: T; table: T; promptTable: T; tasks: T }): T {
    return this.#b.promptEmbeddingLookup(i);
  }
  addPositionEmbedding(i: { x: T; wpe: T; positions: T }): T {
    return this.#b.addPositionEmbedding(i);
  }
  layerNorm(i: { x: T; gamma: T; beta?: T }, a: { eps: number; weightPlusOne: boolean }): T {
    return this.#b.layerNorm(i, a);
  }
  gemm(i: { a: T; b: T; bias?: T }, a?: { transB?: boolean; outDtype?: ActDType }): T {
    return this.#b.gemm(i, a);
  }
  rope(i: { x: T; positions: T }): T {
    return this.#b.rope(i);
  }
  attention(i: { q: T; k: T; v: T }, a: { sequences: readonly AttentionSequence[]; layer: number }): T {
    return this.#b.attention(i, a);
  }
  kvCacheWrite(layer: number, i: { k: T; v: T; slots: T; positions: T }): void {
    this.#b.kvCacheWrite(layer, i);
  }
  residualAdd(i: { a: T; b: T }): T {
    return this.#b.residualAdd(i);
  }
  gelu(i: { x: T }): T {
    return this.#b.gelu(i);
  }
  swiglu(i: { x: T; gate: T }): T {
    return this.#b.swiglu(i);
  }
  absMaxColumns(i: { x: T; acc?: T }): T {
    return this.#b.absMaxColumns(i);
  }
  argmax(logits: T): T {
    return this.#b.argmax(logits);
  }
  sample(logits: T, step: StepInputs<T>): T {
    return this.#b.sample(logits, step);
  }
  beamCandidates(logits: T, n: number, step: StepInputs<T>): T {
    return this.#b.beamCandidates(logits, n, step);
  }
  tokenLogProbs(logits: T, tokens: T): T {
    return this.#b.tokenLogProbs(logits, tokens);
  }
  concatColumns(parts: readonly T[]): T {
    return this.#b.concatColumns(parts);
  }
  launchStep(host: StepHost, body: (step: StepInputs<T>) => T | undefined, o: { output: StepOutput }): PendingStep {
    return this.#b.launchStep(host, body, { output: o.output }); // never captured: the maxima change every step
  }
  toF32(t: T): Float32Array {
    return this.#b.toF32(t);
  }
  toI32(t: T): Int32Array {
    return this.#b.toI32(t);
  }
  createKvCache(spec: KvCacheSpec): void {
    this.#b.createKvCache(spec);
  }
  assignBlocks(slot: number, blocks: readonly number[]): void {
    this.#b.assignBlocks(slot, blocks);
  }
  copyKvRows(pairs: readonly (readonly [number, number])[]): void {
    this.#b.copyKvRows(pairs);
  }
  freeMemoryBytes(): number | undefined {
    return this.#b.freeMemoryBytes();
  }
}

/**
 * The converter's view: q, k and v as one QKV GEMM `layers.<n>.qkv` (x: their common input; y: [q | k | v]),
 * the other layers as they are.
 */
export function mergeQkv(stats: ReadonlyMap<string, ActivationStats>, nLayer: number): Map<string, ActivationStats> {
  const out = new Map<string, ActivationStats>();
  for (let n = 0; n < nLayer; n++) {
    const p = `layers.${n}`;
    const [q, k, v] = ['q', 'k', 'v'].map((part) => stats.get(`${p}.${part}`));
    if (q && k && v) {
      const y = new Float32Array(q.y.length + k.y.length + v.y.length);
      y.set(q.y, 0);
      y.set(k.y, q.y.length);
      y.set(v.y, q.y.length + k.y.length);
      out.set(`${p}.qkv`, { x: Float32Array.from(q.x, (m, j) => Math.max(m, k.x[j]!, v.x[j]!)), y });
    }
    for (const name of ['attnOut', 'fc', 'gate', 'proj']) {
      const s = stats.get(`${p}.${name}`);
      if (s) out.set(`${p}.${name}`, s);
    }
  }
  return out;
}
