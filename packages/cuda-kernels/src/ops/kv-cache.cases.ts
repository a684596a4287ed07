/**
 * Kernel cases of op `kv-cache` (tier 1, exact): cache writes into contiguous and paged caches of
 * every storage dtype (int8 / fp8 with separate K and V scales), and the production qkvPrepare
 * (the fused QKV split + RoPE + cache write). The cache helpers serve the attention cases too.
 */
import * as ref from '@trtllm/ref-math';
import { assignBlocks, createKvCache, fromValues, kvCacheWrite as refKvCacheWrite, type ActDType, type KvCache, type KvCacheDType, type KvLayout, type Tensor } from '@trtllm/ref-math';
import { DeviceTensor } from '../device.js';
import { bytesOf, EXACT, ints, type KernelCase, pagedLayout, rnd, upload } from '../case-kit.js';
import * as gpu from './index.js';

// ---- kv cache / attention helpers ----
export interface CacheSetup { cache: KvCache; device: () => gpu.DeviceKvCache }
export function filledCache(dtype: KvCacheDType, layout: KvLayout, nkv: number, hs: number, tokens: number, seed: number, actDtype: ActDType = 'f16'): CacheSetup {
  const cache = createKvCache({ numLayers: 1, numSlots: 2, numKvHeads: nkv, headSize: hs, dtype, layout, scales: [{ k: 0.031, v: 0.027 }] });
  if (layout.kind === 'paged') {
    // Every logical block of both slots, interleaved: slot 0 even blocks ascending, slot 1 odd blocks descending.
    const per = layout.maxBlocksPerSeq;
    if (layout.numBlocks < 2 * per) throw new Error(`case layout needs ≥ ${2 * per} blocks`);
    assignBlocks(cache, 0, Array.from({ length: per }, (_, i) => 2 * i));
    assignBlocks(cache, 1, Array.from({ length: per }, (_, i) => 2 * (per - i) - 1));
  }
  const k = rnd(actDtype, [tokens, nkv, hs], seed);
  const v = rnd(actDtype, [tokens, nkv, hs], seed + 1);
  refKvCacheWrite(cache, 0, { k, v, slots: ints(new Array(tokens).fill(1)), positions: ints(Array.from({ length: tokens }, (_, i) => i)) });
  return {
    cache,
    device: () => gpu.uploadKvCache(cache),
  };
}

export function kvWriteCase(name: string, dtype: KvCacheDType, layout: KvLayout, nkv: number, hs: number, tokens: number, act: ActDType): KernelCase {
  const setup = filledCache(dtype, layout, nkv, hs, 0, 1, act);
  const k = rnd(act, [tokens, nkv, hs], 90);
  const v = rnd(act, [tokens, nkv, hs], 91);
  const slots = ints(Array.from({ length: tokens }, (_, i) => (i % 2 === 0 ? 1 : 0)));
  const positions = ints(Array.from({ length: tokens }, (_, i) => Math.floor(i / 2)));
  return {
    name, op: 'kv-cache', dtype: `${act}→${dtype}`, shape: `[${tokens},${nkv},${hs}] ${layout.kind}`, tier: 1, tolerance: EXACT,
    ref: () => {
      const c = createKvCache(setup.cache.spec);
      if (setup.cache.blockTable) c.blockTable!.data.set(setup.cache.blockTable.data);
      refKvCacheWrite(c, 0, { k, v, slots, positions });
      return [c.pools[0]!];
    },
    device: () => {
      const cache = setup.device();
      const { d, free } = upload({ k, v, slots, positions });
      return {
        run: () => {
          gpu.kvCacheWrite(cache, 0, { k: d.k, v: d.v, slots: d.slots, positions: d.positions });
          return [cache.pools[0]!.clone()]; // outputs belong to the caller; the pool stays with the cache
        },
        dispose: () => {
          free();
          cache.pools.forEach((p) => p.free());
          cache.blockTable?.free();
        },
      };
    },
    bytes: bytesOf(k, v) + 2 * tokens * nkv * hs * ref.DTYPES[dtype].bytes, flops: 0,
  };
}

/**
 * Beam forks: rows (blocks, or slots) of every layer's pool copied in one launch (ref-math kvCopyRows).
 * The pools hold random stored values (fp8 pools random bytes), so a row copied from the wrong place
 * or a layer skipped shows.
 */
export function kvCopyCase(name: string, dtype: KvCacheDType, layout: KvLayout, layers: number, nkv: number, hs: number, pairs: readonly (readonly [number, number])[]): KernelCase {
  const spec = { numLayers: layers, numSlots: 3, numKvHeads: nkv, headSize: hs, dtype, layout, ...(dtype === 'i8' || dtype === 'fp8e4m3' ? { scales: Array.from({ length: layers }, () => ({ k: 0.03, v: 0.02 })) } : {}) };
  const filled = (): KvCache => {
    const c = createKvCache(spec);
    c.pools.forEach((p, l) => {
      const values = dtype === 'fp8e4m3' ? ints(Array.from({ length: p.data.length }, (_, i) => (i * 37 + l * 101) % 256)) : rnd(dtype === 'i8' ? 'i8' : dtype, p.shape, 300 + l);
      p.data.set(values.data as never);
    });
    return c;
  };
  const rowElements = 2 * nkv * hs * (layout.kind === 'paged' ? layout.tokensPerBlock : layout.maxSeqLen);
  return {
    name, op: 'kv-cache', dtype, shape: `${layers} layers, ${pairs.length} rows of ${rowElements} ${layout.kind}`, tier: 1, tolerance: EXACT,
    ref: () => {
      const c = filled();
      ref.kvCopyRows(c, pairs);
      return c.pools;
    },
    device: () => {
      const cache = gpu.uploadKvCache(filled());
      const staging = DeviceTensor.empty('i32', [2 * pairs.length + 3]);
      return {
        run: () => {
          gpu.kvCopyRows(cache, pairs, staging);
          return cache.pools.map((p) => p.clone());
        },
        dispose: () => {
          staging.free();
          cache.pools.forEach((p) => p.free());
          cache.blockTable?.free();
        },
      };
    },
    bytes: 2 * layers * pairs.length * rowElements * ref.DTYPES[dtype].bytes, flops: 0,
  };
}

export function kvCacheCases(): KernelCase[] {
  return [
    kvCopyCase('kv copy rows f16 paged, 3 layers (beam forks)', 'f16', pagedLayout(16, 12, 4), 3, 2, 64, [[1, 9], [4, 2], [11, 0], [7, 8]]),
    kvCopyCase('kv copy rows int8 paged, rows of 26 bytes (no 16-byte words)', 'i8', pagedLayout(1, 10, 4), 2, 1, 13, [[0, 5], [3, 4]]),
    kvCopyCase('kv copy rows fp8 contiguous slots', 'fp8e4m3', { kind: 'contiguous', maxSeqLen: 8 }, 2, 2, 16, [[2, 0]]),
    kvWriteCase('kv write f16 contiguous', 'f16', { kind: 'contiguous', maxSeqLen: 16 }, 2, 64, 9, 'f16'),
    kvWriteCase('kv write bf16 paged', 'bf16', pagedLayout(4, 8, 4), 1, 128, 11, 'bf16'),
    kvWriteCase('kv write int8 paged (K/V scales)', 'i8', pagedLayout(2, 16, 8), 2, 13, 13, 'f16'),
    kvWriteCase('kv write fp8 paged', 'fp8e4m3', pagedLayout(8, 4, 2), 3, 16, 7, 'f32'),
  ];
}

/** A paged f16/bf16 cache with slots 0 and 1 filled at positions 0 … n−1 (K and V returned for the oracle). */
export function pagedCache(dt: ActDType, nkv: number, hs: number, n: number, seed: number, cacheDtype: KvCacheDType = dt) {
  const tpb = 16;
  const per = Math.ceil(n / tpb);
  const layout: KvLayout = { kind: 'paged', tokensPerBlock: tpb, numBlocks: 2 * per + 1, maxBlocksPerSeq: per };
  const scales = cacheDtype === 'i8' || cacheDtype === 'fp8e4m3' ? { scales: [{ k: 0.031, v: 0.027 }] } : {};
  const cache = createKvCache({ numLayers: 1, numSlots: 2, numKvHeads: nkv, headSize: hs, dtype: cacheDtype, layout, ...scales });
  assignBlocks(cache, 0, Array.from({ length: per }, (_, i) => 2 * i + 1));
  assignBlocks(cache, 1, Array.from({ length: per }, (_, i) => 2 * (per - i)));
  const kv = [0, 1].map((slot) => {
    const k = rnd(dt, [n, nkv, hs], seed + 2 * slot);
    const v = rnd(dt, [n, nkv, hs], seed + 2 * slot + 1);
    refKvCacheWrite(cache, 0, { k, v, slots: ints(new Array(n).fill(slot)), positions: ints(Array.from({ length: n }, (_, i) => i)) });
    return { k, v };
  });
  return { cache, kv };
}

/** Columns [lo, lo + heads·hs) of every row of qkv [T, W] as [T, heads, hs] (the q, k or v part). */
export function qkvPart<D extends ActDType>(qkv: Tensor<D>, lo: number, heads: number, hs: number): Tensor<D> {
  const [t, w] = qkv.shape as [number, number];
  const f = ref.toF32(qkv);
  const width = heads * hs;
  return fromValues(qkv.dtype, [t, heads, hs], Float32Array.from({ length: t * width }, (_, i) => f[Math.floor(i / width) * w + lo + (i % width)]!));
}

export function qkvPrepareCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, t: number, rotaryPct: number, cacheDtype: KvCacheDType = dt): KernelCase {
  const w = (nh + 2 * nkv) * hs;
  const qkv = rnd(dt, [t, w], 330);
  const slots = ints(Array.from({ length: t }, (_, i) => i % 2));
  const positions = ints(Array.from({ length: t }, (_, i) => 3 + Math.floor(i / 2)));
  const n = 3 + Math.ceil(t / 2);
  const rot = rotaryPct > 0 ? ref.ropeTable(64, Math.round(hs * rotaryPct), 10000) : undefined;
  return {
    name, op: 'kv-cache', dtype: `${dt} fused qkv${cacheDtype !== dt ? `, cache ${cacheDtype}` : ''}`, shape: `[${t},${w}] NH ${nh} NKV ${nkv}${rot ? ` RoPE ${rot.rotaryDim}` : ''}`, tier: 1, tolerance: EXACT,
    ref: () => {
      const { cache } = pagedCache(dt, nkv, hs, n, 340, cacheDtype);
      const rope = (x: Tensor<ActDType>) => (rot ? ref.rope({ x, positions, table: rot }) : x);
      const q = rope(qkvPart(qkv, 0, nh, hs));
      const k = rope(qkvPart(qkv, nh * hs, nkv, hs));
      const v = qkvPart(qkv, (nh + nkv) * hs, nkv, hs);
      refKvCacheWrite(cache, 0, { k, v, slots, positions });
      const out = new Float32Array(t * w);
      const [qf, kf, vf] = [q, k, v].map((x) => ref.toF32(x));
      for (let r = 0; r < t; r++) {
        out.set(qf!.subarray(r * nh * hs, (r + 1) * nh * hs), r * w);
        out.set(kf!.subarray(r * nkv * hs, (r + 1) * nkv * hs), r * w + nh * hs);
        out.set(vf!.subarray(r * nkv * hs, (r + 1) * nkv * hs), r * w + (nh + nkv) * hs);
      }
      return [fromValues(dt, [t, w], out), cache.pools[0]!];
    },
    device: () => {
      const { cache } = pagedCache(dt, nkv, hs, n, 340, cacheDtype);
      const dc = gpu.uploadKvCache(cache);
      const table = rot ? gpu.uploadRopeTable(rot) : undefined;
      const { d, free } = upload({ slots, positions });
      const error = DeviceTensor.zeros('i32', [1]);
      return {
        run: () => {
          const x = DeviceTensor.from(qkv);
          gpu.qkvPrepare(dc, 0, { qkv: x, slots: d.slots, positions: d.positions }, { numHeads: nh, numKvHeads: nkv, headSize: hs, ...(table ? { rope: table } : {}) }, error);
          const flag = error.toHost().data[0]!;
          if (flag !== 0) throw new Error(`qkvPrepare flagged token ${flag - 1}`);
          return [x, dc.pools[0]!.clone()];
        },
        dispose: () => {
          free();
          error.free();
          table?.cos.free();
          table?.sin.free();
          dc.pools.forEach((p) => p.free());
          dc.blockTable?.free();
        },
      };
    },
    bytes: 2 * bytesOf(qkv), flops: 0,
  };
}

/** The production qkvPrepare cases (tier 1: exact). */
export function qkvPrepareCases(): KernelCase[] {
  return [
    qkvPrepareCase('qkvPrepare f16 gpt2 (no RoPE)', 'f16', 12, 12, 64, 6, 0),
    qkvPrepareCase('qkvPrepare bf16 MQA RoPE 25%', 'bf16', 16, 1, 128, 5, 0.25),
    qkvPrepareCase('qkvPrepare f32 RoPE full', 'f32', 4, 2, 16, 4, 1),
    qkvPrepareCase('qkvPrepare bf16 santacoder MQA (no RoPE, 8 per thread)', 'bf16', 16, 1, 128, 7, 0),
    qkvPrepareCase('qkvPrepare f16 gpt2 (no RoPE) into an int8 cache', 'f16', 12, 12, 64, 5, 0, 'i8'),
    qkvPrepareCase('qkvPrepare f32 GQA (no RoPE) into an fp8 cache', 'f32', 4, 2, 16, 6, 0, 'fp8e4m3'),
  ];
}
