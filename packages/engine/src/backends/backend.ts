/**
 * The one interface the model graph (models/gpt.ts) runs on. Each backend implements the same ops
 * with ref-math's semantics: `ref` with ref-math itself (pure TypeScript, any machine, the oracle),
 * `cuda` with @trtllm/cuda-kernels' reference-order kernels (bit-exact to the oracle). `T` is the
 * backend's tensor handle. The KV cache lives in the backend; the graph names layers and slots.
 */
import type { ActDType, AttentionSequence, KvCacheSpec, Tensor } from '@trtllm/ref-math';

export type BackendName = 'ref' | 'cuda';

export interface Backend<T> {
  readonly name: BackendName;
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
  /** fp32 values on the host (logits). */
  toF32(t: T): Float32Array;
  /** Create the KV cache (paged layouts start with no blocks). */
  createKvCache(spec: KvCacheSpec): void;
  /** Point a slot's block-table row at these blocks (paged). */
  assignBlocks(slot: number, blocks: readonly number[]): void;
  /**
   * Copy the KV cache of one sequence into another (beam search forks): paged, block by block
   * (`pairs` of [source block, destination block]); contiguous, the whole slot row.
   */
  copyKv(o: { readonly srcSlot: number; readonly dstSlot: number; readonly blockPairs: readonly (readonly [number, number])[] }): void;
  /** Device memory still free for the KV cache (cuda: free + the allocator's cache), or undefined (ref: host memory, unbounded here). */
  freeMemoryBytes(): number | undefined;
  /** Free everything the backend holds. */
  dispose(): void;
}
