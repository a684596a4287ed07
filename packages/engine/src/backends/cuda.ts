/**
 * The `cuda` backend: the model graph on @trtllm/cuda-kernels' reference-order kernels (bit-exact to
 * ref-math, DESIGN.md tier 2), so its greedy tokens equal the `ref` backend's. Weights are uploaded
 * once; each step uploads ids/positions, runs the kernels, and downloads the logits. The paged
 * KV cache's block table is kept on the host (ref-math assignBlocks) and copied to the device when
 * it changes. Loaded only when asked for (`Engine.load(dir, {backend: 'cuda'})`).
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import { assignBlocks, createKvCache, ropeTable, toF32, type ActDType, type AttentionSequence, type KvCache, type KvCacheSpec, type Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import type { Backend } from './backend.js';

type T = Cuda.DeviceTensor;
type Act = Cuda.DeviceTensor<ActDType>;
type I32 = Cuda.DeviceTensor<'i32'>;
const act = (t: T): Act => t as Act;
const i32 = (t: T): I32 => t as I32;

export class CudaBackend implements Backend<T> {
  readonly name = 'cuda' as const;
  readonly #k: typeof Cuda;
  readonly #rope: Cuda.DeviceRopeTable | undefined;
  #cache: Cuda.DeviceKvCache | undefined;
  /** Host mirror of the paged cache's block table. */
  #hostCache: KvCache | undefined;
  #tableDirty = false;

  private constructor(k: typeof Cuda, rope: Cuda.DeviceRopeTable | undefined) {
    this.#k = k;
    this.#rope = rope;
  }

  static async create(o: { readonly rope?: { readonly positions: number; readonly rotaryDim: number; readonly base: number } }): Promise<CudaBackend> {
    let k: typeof Cuda;
    try {
      k = await import('@trtllm/cuda-kernels');
    } catch (e) {
      throw new EngineError('backend', { what: 'backend cuda', expected: 'the @trtllm/cuda-kernels package', got: (e as Error).message, hint: 'npm install, then build the addon (npm run build:native -w @trtllm/cuda-kernels)' });
    }
    const a = k.isAvailable();
    if (!a.ok) throw new EngineError('backend', { what: 'backend cuda', expected: 'a usable GPU and the built addon', got: a.reason, hint: "use backend 'ref' on machines without a GPU" });
    return new CudaBackend(k, o.rope && k.uploadRopeTable(ropeTable(o.rope.positions, o.rope.rotaryDim, o.rope.base)));
  }

  upload(t: Tensor): T {
    return this.#k.DeviceTensor.from(t);
  }
  free(t: T): void {
    t.free();
  }
  view(t: T, shape: readonly number[]): T {
    return t.view(0, shape);
  }
  embeddingLookup(i: { ids: T; table: T }): T {
    return this.#k.embeddingLookup({ ids: i32(i.ids), table: act(i.table) });
  }
  promptEmbeddingLookup(i: { ids: T; table: T; promptTable: T; tasks: T }): T {
    return this.#k.promptEmbeddingLookup({ ids: i32(i.ids), table: act(i.table), promptTable: act(i.promptTable), tasks: i32(i.tasks) });
  }
  addPositionEmbedding(i: { x: T; wpe: T; positions: T }): T {
    return this.#k.addPositionEmbedding({ x: act(i.x), wpe: act(i.wpe), positions: i32(i.positions) });
  }
  layerNorm(i: { x: T; gamma: T; beta?: T }, a: { eps: number; weightPlusOne: boolean }): T {
    return this.#k.layerNorm(i.beta ? { x: act(i.x), gamma: act(i.gamma), beta: act(i.beta) } : { x: act(i.x), gamma: act(i.gamma) }, a);
  }
  gemm(i: { a: T; b: T; bias?: T }, a: { transB?: boolean; outDtype?: ActDType } = {}): T {
    return this.#k.gemm(i.bias ? { a: act(i.a), b: act(i.b), bias: act(i.bias) } : { a: act(i.a), b: act(i.b) }, a);
  }
  rope(i: { x: T; positions: T }): T {
    if (!this.#rope) throw new EngineError('backend', { what: 'rope', expected: 'a model with rotary_pct > 0', got: 'no RoPE table' });
    return this.#k.rope({ x: act(i.x), positions: i32(i.positions), table: this.#rope });
  }
  attention(i: { q: T; k: T; v: T }, a: { sequences: readonly AttentionSequence[]; layer: number }): T {
    return this.#k.attention({ q: act(i.q), k: act(i.k), v: act(i.v) }, { sequences: a.sequences, cache: { cache: this.#kv(), layer: a.layer } });
  }
  kvCacheWrite(layer: number, i: { k: T; v: T; slots: T; positions: T }): void {
    this.#k.kvCacheWrite(this.#kv(), layer, { k: act(i.k), v: act(i.v), slots: i32(i.slots), positions: i32(i.positions) });
  }
  residualAdd(i: { a: T; b: T }): T {
    return this.#k.residualAdd({ a: act(i.a), b: act(i.b) });
  }
  gelu(i: { x: T }): T {
    return this.#k.gelu({ x: act(i.x) });
  }
  swiglu(i: { x: T; gate: T }): T {
    return this.#k.swiglu({ x: act(i.x), gate: act(i.gate) });
  }
  toF32(t: T): Float32Array {
    return toF32(t.toHost());
  }
  createKvCache(spec: KvCacheSpec): void {
    this.#hostCache = spec.layout.kind === 'paged' ? createKvCache({ ...spec, numLayers: 0 }) : undefined;
    this.#cache = this.#k.createDeviceKvCache(spec, this.#hostCache?.blockTable);
  }
  assignBlocks(slot: number, blocks: readonly number[]): void {
    if (!this.#hostCache) throw new EngineError('backend', { what: 'assignBlocks', expected: 'a paged KV cache', got: 'contiguous' });
    assignBlocks(this.#hostCache, slot, blocks);
    this.#tableDirty = true;
  }
  copyKv(o: { srcSlot: number; dstSlot: number; blockPairs: readonly (readonly [number, number])[] }): void {
    const kv = this.#kv();
    for (const pool of kv.pools) {
      const rows = kv.spec.layout.kind === 'paged' ? o.blockPairs : [[o.srcSlot, o.dstSlot] as const];
      const per = pool.shape.slice(1).reduce((a, b) => a * b, 1);
      for (const [src, dst] of rows) pool.view(dst * per, [per]).copyFrom(pool.view(src * per, [per]));
    }
  }
  freeMemoryBytes(): number | undefined {
    const m = this.#k.addonIfBuilt()?.memoryStats();
    return m && m.deviceFree + m.cached;
  }
  dispose(): void {
    if (this.#cache) {
      for (const p of this.#cache.pools) p.free();
      this.#cache.blockTable?.free();
    }
    this.#cache = undefined;
  }
  #kv(): Cuda.DeviceKvCache {
    if (!this.#cache) throw new EngineError('backend', { what: 'kv cache', expected: 'createKvCache first', got: 'none' });
    if (this.#tableDirty && this.#hostCache?.blockTable) {
      this.#cache.blockTable?.free();
      this.#cache = { ...this.#cache, blockTable: this.#k.DeviceTensor.from(this.#hostCache.blockTable) };
      this.#tableDirty = false;
    }
    return this.#cache;
  }
}
