/**
 * Kernel cases of op `attention`: the reference-order attention (tier 2, exact) over packed
 * context chunks, MQA / GQA, and caches of every dtype; the production split decode attention and
 * flash attention for prompts (tier 3, within their declared NMSE).
 */
import * as ref from '@trtllm/ref-math';
import { fromValues, type ActDType, type KvCacheDType, type KvLayout } from '@trtllm/ref-math';
import { DeviceTensor } from '../device.js';
import { bytesOf, EXACT, ints, type DeviceRun, type KernelCase, nmse, pagedLayout, rnd, upload } from '../case-kit.js';
import * as gpu from './index.js';
import { filledCache, pagedCache, qkvPart } from './kv-cache.cases.js';

export function attentionCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, seqs: { start: number; length: number }[], cacheDtype?: KvCacheDType, layout?: KvLayout): KernelCase {
  const t = seqs.reduce((n, s) => n + s.length, 0);
  const q = rnd(dt, [t, nh, hs], 71);
  const k = rnd(dt, [t, nkv, hs], 72);
  const v = rnd(dt, [t, nkv, hs], 73);
  const maxStart = Math.max(...seqs.map((s) => s.start));
  const setup = cacheDtype ? filledCache(cacheDtype, layout!, nkv, hs, maxStart, 74, dt) : undefined;
  // With a cache, the prefix lives in slot 1 (filledCache writes it there).
  const sequences = seqs.map((s, i) => ({ slot: setup ? 1 : i, start: s.start, length: s.length }));
  const attrs = { sequences, ...(setup ? { cache: { cache: setup.cache, layer: 0 } } : {}) };
  const ctx = seqs.reduce((n, s) => n + s.length * (s.start + (s.length + 1) / 2), 0);
  return {
    name, op: 'attention', dtype: cacheDtype ? `${dt}, cache ${cacheDtype}` : dt,
    shape: `NH ${nh} NKV ${nkv} HS ${hs}; ${seqs.map((s) => `${s.start}+${s.length}`).join(', ')}${layout ? ` ${layout.kind}` : ''}`, tier: 2, tolerance: EXACT,
    ref: () => [ref.attention({ q, k, v }, attrs)],
    device: () => {
      const cache = setup?.device();
      const { d, free } = upload({ q, k, v });
      return {
        run: () => [gpu.attention({ q: d.q, k: d.k, v: d.v }, { sequences, ...(cache ? { cache: { cache, layer: 0 } } : {}) })],
        dispose: () => {
          free();
          cache?.pools.forEach((p) => p.free());
          cache?.blockTable?.free();
        },
      };
    },
    bytes: bytesOf(q, k, v, q), flops: 4 * nh * hs * ctx,
  };
}

export function attentionCases(): KernelCase[] {
  return [
    attentionCase('context MHA f16 packed', 'f16', 12, 12, 64, [{ start: 0, length: 5 }, { start: 0, length: 3 }]),
    attentionCase('context MQA bf16 (santacoder heads)', 'bf16', 16, 1, 128, [{ start: 0, length: 7 }]),
    attentionCase('context GQA f32 odd', 'f32', 6, 2, 13, [{ start: 0, length: 4 }, { start: 0, length: 1 }, { start: 0, length: 6 }]),
    attentionCase('decode MHA f16, paged f16 cache', 'f16', 4, 4, 64, [{ start: 37, length: 1 }], 'f16', pagedLayout(8, 12, 6)),
    attentionCase('decode MQA f16, int8 cache', 'f16', 8, 1, 64, [{ start: 20, length: 1 }], 'i8', { kind: 'contiguous', maxSeqLen: 64 }),
    attentionCase('chunk after prefix bf16, fp8 paged cache', 'bf16', 4, 2, 32, [{ start: 9, length: 4 }], 'fp8e4m3', pagedLayout(4, 8, 4)),
  ];
}

/** The production decode attention over rows 0 … R−1 of `qkv` against a copy of `cache` (layer 0), with its scratch; a flagged row throws. */
function decodeRun(
  cache: ref.KvCache, qkv: ref.Tensor<ActDType>, rows: { readonly slots: number[]; readonly positions: number[]; readonly freshFrom?: number[] },
  s: { readonly dt: ActDType; readonly nh: number; readonly nkv: number; readonly hs: number; readonly maxSplits: number },
): DeviceRun {
  const n = rows.slots.length;
  const dc = gpu.uploadKvCache(cache);
  const { d, free } = upload({ qkv, rowsT: ints(Array.from({ length: n }, (_, i) => i)), slots: ints(rows.slots), positions: ints(rows.positions), ...(rows.freshFrom ? { fresh: ints(rows.freshFrom) } : {}) });
  const partial = DeviceTensor.empty('f32', [n * s.nh * s.maxSplits * (s.hs + 2)]);
  const error = DeviceTensor.zeros('i32', [1]);
  return {
    run: () => {
      const out = DeviceTensor.empty(s.dt, [n, s.nh * s.hs]);
      gpu.attentionDecode(dc, 0, { qkv: d.qkv as never, rows: d.rowsT, slots: d.slots, positions: d.positions, out, ...(d.fresh ? { freshFrom: d.fresh } : {}) }, { numHeads: s.nh, numKvHeads: s.nkv, headSize: s.hs, numRows: n, maxSplits: s.maxSplits }, { partial, error });
      const flag = error.toHost().data[0]!;
      if (flag !== 0) throw new Error(`attentionDecode flagged row ${flag - 1}`);
      return [out];
    },
    dispose: () => {
      free();
      partial.free();
      error.free();
      dc.pools.forEach((p) => p.free());
      dc.blockTable?.free();
    },
  };
}

export function decodeCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, rows: { slot: number; pos: number }[], cacheDtype: KvCacheDType = dt): KernelCase {
  const n = Math.max(...rows.map((r) => r.pos)) + 1;
  const { cache, kv } = pagedCache(dt, nkv, hs, n, 300, cacheDtype);
  const w = (nh + 2 * nkv) * hs;
  // each row's q is random; its K and V are what the cache holds at its position (as qkvPrepare leaves them)
  const q = ref.toF32(rnd(dt, [rows.length, w], 310));
  rows.forEach((r, i) => {
    const at = r.pos * nkv * hs;
    q.set(ref.toF32(kv[r.slot]!.k).subarray(at, at + nkv * hs), i * w + nh * hs);
    q.set(ref.toF32(kv[r.slot]!.v).subarray(at, at + nkv * hs), i * w + (nh + nkv) * hs);
  });
  const qkv = fromValues(dt, [rows.length, w], q);
  const maxSplits = Math.ceil(n / gpu.DECODE_SPLIT);
  const quantized = cacheDtype === 'i8' || cacheDtype === 'fp8e4m3';
  return {
    name, op: 'attention', dtype: `${dt} decode${cacheDtype !== dt ? `, ${cacheDtype} cache` : ''}`, shape: `NH ${nh} NKV ${nkv} HS ${hs}; positions ${rows.map((r) => r.pos).join(', ')}`, tier: 3,
    tolerance: quantized
      ? nmse(dt === 'bf16' ? 1e-4 : 1e-5, 'split softmax with fmaf and expf; the K scale applied with the softmax scale (the oracle dequantizes each K first); output rounded to T')
      : nmse(dt === 'bf16' ? 1e-4 : 1e-5, 'split softmax with fmaf and expf: fp32 rounding differs from the serial oracle; output rounded to T'),
    ref: () => {
      const outs = rows.map((r, i) => {
        const qh = fromValues(dt, [1, nh, hs], ref.toF32(qkv).subarray(i * w, i * w + nh * hs));
        const k = fromValues(dt, [1, nkv, hs], ref.toF32(kv[r.slot]!.k).subarray(r.pos * nkv * hs, (r.pos + 1) * nkv * hs));
        const v = fromValues(dt, [1, nkv, hs], ref.toF32(kv[r.slot]!.v).subarray(r.pos * nkv * hs, (r.pos + 1) * nkv * hs));
        return ref.toF32(ref.attention({ q: qh, k, v }, { sequences: [{ slot: r.slot, start: r.pos, length: 1 }], cache: { cache, layer: 0 } }));
      });
      const all = new Float32Array(rows.length * nh * hs);
      outs.forEach((o, i) => all.set(o, i * nh * hs));
      return [fromValues(dt, [rows.length, nh * hs], all)];
    },
    device: () => {
      return decodeRun(cache, qkv, { slots: rows.map((r) => r.slot), positions: rows.map((r) => r.pos) }, { dt, nh, nkv, hs, maxSplits });
    },
    bytes: rows.reduce((b, r) => b + 2 * (r.pos + 1) * nkv * hs * ref.DTYPES[cacheDtype].bytes, 0), flops: rows.reduce((f, r) => f + 4 * nh * hs * (r.pos + 1), 0),
  };
}

/**
 * A chunk of `length` tokens starting at position `start` of slot 0, every row on the decode kernel
 * (how production runs prompt rows without context FMHA, and chunks that continue a sequence): with an
 * int8 / fp8 cache the chunk's own positions must come fresh from qkv (freshFrom), as the oracle attends
 * them. The cache holds only positions before `start` (the chunk's are zeros), so reading them from
 * the cache would be far off.
 */
export function chunkDecodeCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, start: number, length: number, cacheDtype: KvCacheDType): KernelCase {
  const n = start + length;
  const per = Math.ceil(n / 16);
  const cache = ref.createKvCache({ numLayers: 1, numSlots: 1, numKvHeads: nkv, headSize: hs, dtype: cacheDtype, layout: pagedLayout(16, per + 1, per), scales: [{ k: 0.031, v: 0.027 }] });
  ref.assignBlocks(cache, 0, Array.from({ length: per }, (_, i) => per - i));
  const w = (nh + 2 * nkv) * hs;
  const all = ref.toF32(rnd(dt, [n, w], 330));
  const cached = fromValues(dt, [start, w], all.subarray(0, start * w)); // the earlier steps' rows
  const qkv = fromValues(dt, [length, w], all.subarray(start * w)); // this step's rows
  ref.kvCacheWrite(cache, 0, { k: qkvPart(cached, nh * hs, nkv, hs), v: qkvPart(cached, (nh + nkv) * hs, nkv, hs), slots: ints(new Array(start).fill(0)), positions: ints(Array.from({ length: start }, (_, i) => i)) });
  const maxSplits = Math.ceil(n / gpu.DECODE_SPLIT);
  return {
    name, op: 'attention', dtype: `${dt} decode, ${cacheDtype} cache, chunk`, shape: `NH ${nh} NKV ${nkv} HS ${hs}; positions ${start}…${n - 1} in one step`, tier: 3,
    tolerance: nmse(dt === 'bf16' ? 1e-4 : 1e-5, 'split softmax with fmaf and expf; the K scale applied with the softmax scale; output rounded to T'),
    ref: () => [ref.reshape(ref.attention({ q: qkvPart(qkv, 0, nh, hs), k: qkvPart(qkv, nh * hs, nkv, hs), v: qkvPart(qkv, (nh + nkv) * hs, nkv, hs) }, { sequences: [{ slot: 0, start, length }], cache: { cache, layer: 0 } }), [length, nh * hs])],
    device: () => decodeRun(cache, qkv, { slots: new Array(length).fill(0), positions: Array.from({ length }, (_, i) => start + i), freshFrom: new Array(length).fill(start) }, { dt, nh, nkv, hs, maxSplits }),
    bytes: 2 * n * nkv * hs * length, flops: 4 * nh * hs * n * length,
  };
}

export function contextCase(name: string, dt: ActDType, nh: number, nkv: number, hs: number, lengths: number[], fp32Acc: boolean): KernelCase {
  const t = lengths.reduce((a, b) => a + b, 0);
  const w = (nh + 2 * nkv) * hs;
  const qkv = rnd(dt, [t, w], 320 + t);
  const q = qkvPart(qkv, 0, nh, hs);
  const k = qkvPart(qkv, nh * hs, nkv, hs);
  const v = qkvPart(qkv, (nh + nkv) * hs, nkv, hs);
  const chunks: { row: number; length: number }[] = [];
  lengths.reduce((row, length) => (chunks.push({ row, length }), row + length), 0);
  const tiles = gpu.contextTiles(chunks);
  return {
    name, op: 'attention', dtype: `${dt} context${fp32Acc ? ' fp32 acc' : ''}`, shape: `NH ${nh} NKV ${nkv} HS ${hs}; chunks ${lengths.join(', ')}`, tier: 3,
    tolerance: nmse(fp32Acc ? 1e-5 : dt === 'bf16' ? 1e-3 : 1e-4, fp32Acc ? 'flash attention (SIMT): online softmax with fmaf and expf, fp32; output rounded to T' : 'flash attention on tensor cores: probabilities rounded to T before P·V (as fp16 FMHA), fp32 accumulation'),
    ref: () => [ref.reshape(ref.attention({ q, k, v }, { sequences: chunks.map((c, i) => ({ slot: i, start: 0, length: c.length })) }), [t, nh * hs])],
    device: () => {
      const { d, free } = upload({ qkv, tilesT: ints(tiles) });
      return {
        run: () => {
          const out = DeviceTensor.empty(dt, [t, nh * hs]);
          gpu.attentionContext({ qkv: d.qkv as never, tiles: d.tilesT, out }, { numHeads: nh, numKvHeads: nkv, headSize: hs, numTiles: tiles.length / 3, fp32Acc });
          return [out];
        },
        dispose: free,
      };
    },
    bytes: bytesOf(qkv), flops: lengths.reduce((s, l) => s + 4 * nh * hs * (l * (l + 1)) / 2, 0),
  };
}

/** The production attention kernels: split decode attention, then flash attention for prompts. */
export function attentionProductionCases(): KernelCase[] {
  return [
    decodeCase('attentionDecode f16 gpt2 (MHA)', 'f16', 12, 12, 64, [{ slot: 0, pos: 0 }, { slot: 1, pos: 100 }, { slot: 0, pos: 300 }, { slot: 1, pos: 599 }]),
    decodeCase('attentionDecode f16 santacoder (MQA)', 'f16', 16, 1, 128, [{ slot: 1, pos: 5 }, { slot: 0, pos: 513 }]),
    decodeCase('attentionDecode bf16 GQA odd', 'bf16', 6, 2, 64, [{ slot: 0, pos: 256 }, { slot: 1, pos: 257 }]),
    decodeCase('attentionDecode f16 gpt2, int8 pages', 'f16', 12, 12, 64, [{ slot: 0, pos: 0 }, { slot: 1, pos: 63 }, { slot: 0, pos: 64 }, { slot: 1, pos: 599 }], 'i8'),
    decodeCase('attentionDecode f16 gpt2, fp8 pages', 'f16', 12, 12, 64, [{ slot: 0, pos: 0 }, { slot: 1, pos: 100 }, { slot: 0, pos: 599 }], 'fp8e4m3'),
    decodeCase('attentionDecode bf16 santacoder MQA, int8 pages', 'bf16', 16, 1, 128, [{ slot: 1, pos: 5 }, { slot: 0, pos: 513 }], 'i8'),
    decodeCase('attentionDecode f32 GQA HS 128, fp8 pages', 'f32', 8, 2, 128, [{ slot: 0, pos: 200 }, { slot: 1, pos: 31 }], 'fp8e4m3'),
    decodeCase('attentionDecode f16 gpt2, int8 pages, the 128-position split edge', 'f16', 12, 12, 64, [{ slot: 0, pos: 127 }, { slot: 1, pos: 128 }, { slot: 0, pos: 255 }], 'i8'),
    chunkDecodeCase('attentionDecode f16 gpt2, int8 pages, a 40-token chunk after 100 cached', 'f16', 12, 12, 64, 100, 40, 'i8'),
    chunkDecodeCase('attentionDecode bf16 MQA HS 128, fp8 pages, a whole 70-token prompt', 'bf16', 16, 1, 128, 0, 70, 'fp8e4m3'),
    contextCase('attentionContext f16 gpt2 fp32 acc', 'f16', 12, 12, 64, [1, 37, 100], true),
    contextCase('attentionContext tensor cores f16 gpt2 fp16 P', 'f16', 12, 12, 64, [70], false),
    contextCase('attentionContext bf16 santacoder MQA', 'bf16', 16, 1, 128, [33, 64], true),
    contextCase('attentionContext tensor cores f16 gpt2 (P in T)', 'f16', 12, 12, 64, [5, 64, 150], false),
    contextCase('attentionContext tensor cores bf16 MQA HS 128 (P in T)', 'bf16', 16, 1, 128, [97, 1, 40], false),
  ];
}
