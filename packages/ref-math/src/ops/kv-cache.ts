/**
 * kv-cache — the key/value cache: contiguous or paged, stored as f32 | f16 | bf16 | int8 | fp8-e4m3.
 *
 * Layouts (one pool per layer, row-major):
 *   contiguous: [B, 2, NKV, Lmax, HS]            slot b holds sequence b; index 0 = K, 1 = V
 *   paged:      [numBlocks, 2, NKV, TPB, HS]      token p of slot b lives in block
 *               blockTable[b, ⌊p / TPB⌋] at offset p mod TPB (TPB a power of two, as TensorRT-LLM)
 * Storage (write), with layer l's dequantization scales sK, sV (real = stored · s; spec.scales[l]):
 *   f32 / f16 / bf16:  stored = cast(x)
 *   i8:                stored = sat_s8(rni(fp32(x · fp32(1 / s))))      s taken as fp32 first
 *   fp8e4m3:           stored = e4m3(fp32(x · fp32(1 / s)))       saturating
 * Read: real = value(stored) for float storage; fp32(value(stored) · s) for i8 / fp8.
 * Separate K and V scales per layer: int8 KV accuracy needs them (TensorRT-LLM shares one per layer).
 * Rounding: one conversion per stored element (nearest even; int8 and fp8 saturate), reads exact
 * (float storage) or one fp32 multiply (i8 / fp8). Exact on every kernel (tier 1).
 */
import { expectAttr, expectDType, expectShape } from '../check.js';
import { IndexRangeError } from '../errors.js';
import { f32 } from '../numerics/f32.js';
import { quantizeInt8 } from '../numerics/int8.js';
import { toFp8E4m3Bits } from '../numerics/minifloat.js';
import type { KvCache, KvCacheDType, KvCacheSpec, KvCacheWriteInputs } from '../op-specs.js';
import { decodeValue, encodeValue, tensor, toF32, type Tensor } from '../tensor.js';

const isPow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** An int8 / fp8 cache's scales, checked for every backend: one finite {k, v} > 0 per layer. */
export function checkKvScales(op: string, spec: KvCacheSpec): void {
  if (spec.dtype !== 'i8' && spec.dtype !== 'fp8e4m3') return;
  const s = spec.scales;
  expectAttr(op, 'spec.scales', s !== undefined && s.length === spec.numLayers, `one {k, v} per layer (${spec.numLayers}) for a ${spec.dtype} cache`, s ? `${s.length} entries` : 'none');
  s!.forEach((l, i) => expectAttr(op, `spec.scales[${i}]`, l.k > 0 && l.v > 0 && Number.isFinite(l.k) && Number.isFinite(l.v), `finite K and V scales > 0`, `{k: ${l.k}, v: ${l.v}}`));
}

export function createKvCache(spec: KvCacheSpec): KvCache {
  const op = 'createKvCache';
  expectAttr(op, 'spec.numKvHeads', spec.numKvHeads > 0, '> 0', spec.numKvHeads);
  expectAttr(op, 'spec.headSize', spec.headSize > 0, '> 0', spec.headSize);
  checkKvScales(op, spec);
  const { numKvHeads: nkv, headSize: hs, layout } = spec;
  let shape: number[];
  let blockTable: Tensor<'i32'> | undefined;
  if (layout.kind === 'contiguous') {
    shape = [spec.numSlots, 2, nkv, layout.maxSeqLen, hs];
  } else {
    expectAttr(op, 'layout.tokensPerBlock', isPow2(layout.tokensPerBlock), 'a power of two', layout.tokensPerBlock);
    shape = [layout.numBlocks, 2, nkv, layout.tokensPerBlock, hs];
    blockTable = tensor('i32', [spec.numSlots, layout.maxBlocksPerSeq]);
    blockTable.data.fill(-1);
  }
  const pools = Array.from({ length: spec.numLayers }, () => tensor(spec.dtype, shape));
  return blockTable ? { spec, pools, blockTable } : { spec, pools };
}

/** Assign physical blocks to a slot's logical blocks (paged layout): blockTable[slot, i] = blocks[i]. */
export function assignBlocks(cache: KvCache, slot: number, blocks: readonly number[]): void {
  const { layout } = cache.spec;
  if (layout.kind !== 'paged' || !cache.blockTable) {
    throw new IndexRangeError({ op: 'assignBlocks', what: 'cache.layout', expected: 'paged', got: layout.kind });
  }
  expectAttr('assignBlocks', 'blocks.length', blocks.length <= layout.maxBlocksPerSeq, `≤ ${layout.maxBlocksPerSeq}`, blocks.length);
  for (const [i, b] of blocks.entries()) {
    expectAttr('assignBlocks', `blocks[${i}]`, Number.isInteger(b) && b >= 0 && b < layout.numBlocks, `a block id in [0, ${layout.numBlocks})`, b);
    cache.blockTable.data[slot * layout.maxBlocksPerSeq + i] = b;
  }
}

/**
 * Copy whole rows of every layer's pool — blocks of a paged cache, slots of a contiguous one (the
 * pool's first dimension): for each pair [src, dst], row dst = row src, K and V, every head and
 * position, bytes as stored (no rounding; exact on every kernel). Beam search forks a sequence this
 * way: the block a child will write next gets a copy of its parent's. The destinations must be
 * distinct and none of them a source, so the order of the copies cannot matter.
 */
export function kvCopyRows(cache: KvCache, pairs: readonly (readonly [number, number])[]): void {
  checkKvCopyRows('kvCopyRows', cache.spec, pairs);
  for (const pool of cache.pools) {
    const per = pool.data.length / pool.shape[0]!;
    for (const [src, dst] of pairs) pool.data.copyWithin(dst * per, src * per, (src + 1) * per);
  }
}

/** Rows a pool of this cache has (blocks, or slots), and the copy pairs checked against them (every backend's check). */
export function checkKvCopyRows(op: string, spec: KvCacheSpec, pairs: readonly (readonly [number, number])[]): void {
  const rows = spec.layout.kind === 'paged' ? spec.layout.numBlocks : spec.numSlots;
  const what = spec.layout.kind === 'paged' ? 'a block' : 'a slot';
  const dsts = new Set<number>();
  pairs.forEach(([src, dst], i) => {
    expectAttr(op, `pairs[${i}][0]`, Number.isInteger(src) && src >= 0 && src < rows, `${what} in [0, ${rows})`, src);
    expectAttr(op, `pairs[${i}][1]`, Number.isInteger(dst) && dst >= 0 && dst < rows && !dsts.has(dst), `${what} in [0, ${rows}) not already a destination`, dst);
    dsts.add(dst);
  });
  pairs.forEach(([src], i) => expectAttr(op, `pairs[${i}][0]`, !dsts.has(src), 'not a destination of another pair (copies read rows no copy writes)', src));
}

/** Element offset of the HS-vector (slot, kv ∈ {0: K, 1: V}, kvHead, position) in a pool. */
export function kvOffset(cache: KvCache, slot: number, kv: 0 | 1, kvHead: number, pos: number): number {
  const { numKvHeads: nkv, headSize: hs, layout, numSlots } = cache.spec;
  if (slot < 0 || slot >= numSlots) {
    throw new IndexRangeError({ op: 'kvCache', what: 'slot', expected: `0 ≤ slot < ${numSlots}`, got: `${slot}` });
  }
  if (layout.kind === 'contiguous') {
    if (pos < 0 || pos >= layout.maxSeqLen) {
      throw new IndexRangeError({ op: 'kvCache', what: 'position', expected: `0 ≤ position < ${layout.maxSeqLen} (maxSeqLen)`, got: `${pos}` });
    }
    return (((slot * 2 + kv) * nkv + kvHead) * layout.maxSeqLen + pos) * hs;
  }
  const tpb = layout.tokensPerBlock;
  const logical = Math.floor(pos / tpb);
  const block = logical < layout.maxBlocksPerSeq ? cache.blockTable!.data[slot * layout.maxBlocksPerSeq + logical]! : -1;
  if (pos < 0 || block < 0) {
    throw new IndexRangeError({
      op: 'kvCache',
      what: `position ${pos} of slot ${slot}`,
      expected: 'a position inside an assigned block',
      got: `logical block ${logical} unassigned`,
      hint: 'assignBlocks() before writing',
    });
  }
  return (((block * 2 + kv) * nkv + kvHead) * tpb + (pos % tpb)) * hs;
}

/** Layer `layer`'s dequantization scale of K (kv 0) or V (kv 1), as the fp32 the kernels receive. */
export function kvScale(spec: KvCacheSpec, layer: number, kv: 0 | 1): number {
  const s = spec.scales![layer]!;
  return f32(kv === 0 ? s.k : s.v);
}

/** Store one HS-vector of real values (fp32) into the cache with the storage rule of its dtype. */
function storeVector(cache: KvCache, layer: number, at: number, values: Float32Array, kv: 0 | 1): void {
  const { dtype } = cache.spec;
  const pool = cache.pools[layer]!;
  if (dtype === 'i8' || dtype === 'fp8e4m3') {
    const inv = f32(1 / kvScale(cache.spec, layer, kv));
    for (let d = 0; d < values.length; d++) {
      pool.data[at + d] = dtype === 'i8' ? quantizeInt8(values[d]!, inv) : toFp8E4m3Bits(f32(values[d]! * inv));
    }
    return;
  }
  for (let d = 0; d < values.length; d++) pool.data[at + d] = encodeValue(dtype, values[d]!);
}

/**
 * Write the K and V of T new tokens: k, v [T, NKV, HS]; token t goes to slot slots[t] at position
 * positions[t] of `layer`. Mutates the cache (as the kernel does).
 */
export function kvCacheWrite(cache: KvCache, layer: number, inputs: KvCacheWriteInputs): void {
  const op = 'kvCacheWrite';
  const { numKvHeads: nkv, headSize: hs } = cache.spec;
  expectAttr(op, 'layer', layer >= 0 && layer < cache.pools.length, `0 ≤ layer < ${cache.pools.length}`, layer);
  expectDType(op, 'inputs.k', inputs.k, ['f32', 'f16', 'bf16']);
  expectDType(op, 'inputs.v', inputs.v, ['f32', 'f16', 'bf16']);
  const [t] = expectShape(op, 'inputs.k', inputs.k, ['T', nkv, hs]) as [number];
  expectShape(op, 'inputs.v', inputs.v, [t, nkv, hs]);
  expectShape(op, 'inputs.slots', inputs.slots, [t]);
  expectShape(op, 'inputs.positions', inputs.positions, [t]);
  const kv32 = [toF32(inputs.k), toF32(inputs.v)] as const;
  for (let i = 0; i < t; i++) {
    for (let h = 0; h < nkv; h++) {
      for (const kv of [0, 1] as const) {
        const at = kvOffset(cache, inputs.slots.data[i]!, kv, h, inputs.positions.data[i]!);
        storeVector(cache, layer, at, kv32[kv].subarray((i * nkv + h) * hs, (i * nkv + h + 1) * hs), kv);
      }
    }
  }
}

/** Read one HS-vector back as real fp32 values (dequantized for i8 / fp8). */
export function kvCacheRead(cache: KvCache, layer: number, slot: number, kv: 0 | 1, kvHead: number, pos: number): Float32Array {
  const { dtype, headSize: hs } = cache.spec;
  const pool = cache.pools[layer]!;
  const at = kvOffset(cache, slot, kv, kvHead, pos);
  const out = new Float32Array(hs);
  const quantized = dtype === 'i8' || dtype === 'fp8e4m3';
  const s = quantized ? kvScale(cache.spec, layer, kv) : 1;
  for (let d = 0; d < hs; d++) {
    const v = decodeValue(dtype, pool.data[at + d]!);
    out[d] = quantized ? f32(v * s) : v;
  }
  return out;
}

