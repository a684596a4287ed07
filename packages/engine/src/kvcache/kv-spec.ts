/**
 * The KV cache's shape and size for one rank of an engine, in one place (rank 0 and the worker ranks
 * build the same cache): layers, K/V heads per rank (the one head of multi-query models on every
 * rank), head size, and the storage dtype from the engine's quantization (kvCacheDTypeOf: the
 * activation dtype, or i8 / fp8 e4m3, with each layer's K and V scales), its bytes from the dtype table.
 */
import { kvCacheDTypeOf } from '@trtllm/quant';
import { DTYPES, headSize, type KvCacheSpec, type KvLayout } from '@trtllm/ref-math';
import type { BuildConfig } from '../build-config.js';

/** The cache spec of one rank of a `worldSize`-rank engine. */
export function kvCacheSpec(build: BuildConfig, o: { readonly numSlots: number; readonly layout: KvLayout }): KvCacheSpec {
  const c = build.model;
  return { numLayers: c.nLayer, numSlots: o.numSlots, numKvHeads: c.nKvHead === 1 ? 1 : c.nKvHead / build.worldSize, headSize: headSize(c), dtype: kvCacheDTypeOf(c.dtype, build.quant.kv), layout: o.layout, ...(build.kvCacheScales ? { scales: build.kvCacheScales } : {}) };
}

/**
 * KV-cache bytes of one token of context over the whole engine (every layer and rank, K and V) in the
 * engine's cache dtype: what a decode step reads per token of context.
 */
export function kvBytesPerToken(build: BuildConfig): number {
  const c = build.model;
  return c.nLayer * 2 * c.nKvHead * headSize(c) * DTYPES[kvCacheDTypeOf(c.dtype, build.quant.kv)].bytes;
}

/** Bytes of one paged block (every layer, K and V) of a spec. */
export function kvBlockBytes(spec: KvCacheSpec, tokensPerBlock: number): number {
  return spec.numLayers * 2 * spec.numKvHeads * tokensPerBlock * spec.headSize * DTYPES[spec.dtype].bytes;
}
