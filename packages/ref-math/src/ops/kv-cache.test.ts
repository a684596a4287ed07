import { describe, expect, it } from 'vitest';
import { fromValues, toF32 } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { assignBlocks, createKvCache, kvCacheRead, kvCacheWrite, kvCopyRows } from './kv-cache.js';
import type { KvCacheDType, KvLayout } from '../op-specs.js';
import { AttrError, IndexRangeError } from '../errors.js';

const nkv = 2;
const hs = 5;
const T = 11;
const paged: KvLayout = { kind: 'paged', tokensPerBlock: 4, numBlocks: 8, maxBlocksPerSeq: 3 };
const contiguous: KvLayout = { kind: 'contiguous', maxSeqLen: 12 };

function filled(dtype: KvCacheDType, layout: KvLayout) {
  const cache = createKvCache({ numLayers: 2, numSlots: 2, numKvHeads: nkv, headSize: hs, dtype, layout, scales: [{ k: 0.05, v: 0.07 }, { k: 0.02, v: 0.03 }] });
  if (layout.kind === 'paged') {
    assignBlocks(cache, 0, [5, 0, 7]);
    assignBlocks(cache, 1, [2, 6, 1]);
  }
  const k = randomTensor('f32', [T, nkv, hs], 61);
  const v = randomTensor('f32', [T, nkv, hs], 62);
  const slots = fromValues('i32', [T], new Array(T).fill(1));
  const positions = fromValues('i32', [T], Array.from({ length: T }, (_, i) => i));
  kvCacheWrite(cache, 1, { k, v, slots, positions });
  return { cache, k: toF32(k), v: toF32(v) };
}

describe('kv cache', () => {
  it('stores f32 exactly and f16/bf16 as their rounding, in both layouts', () => {
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      for (const layout of [contiguous, paged]) {
        const { cache, k, v } = filled(dtype, layout);
        for (let p = 0; p < T; p++) {
          for (let h = 0; h < nkv; h++) {
            const at = (p * nkv + h) * hs;
            expect(Array.from(kvCacheRead(cache, 1, 1, 0, h, p))).toEqual(Array.from(toF32(fromValues(dtype, [hs], k.subarray(at, at + hs)))));
            expect(Array.from(kvCacheRead(cache, 1, 1, 1, h, p))).toEqual(Array.from(toF32(fromValues(dtype, [hs], v.subarray(at, at + hs)))));
          }
        }
      }
    }
  });
  it('quantizes int8 / fp8 with separate K and V scales, within half a step (int8) or 2^-4 relative (fp8)', () => {
    for (const layout of [contiguous, paged]) {
      const i8 = filled('i8', layout);
      const f8 = filled('fp8e4m3', layout);
      for (let p = 0; p < T; p++) {
        for (let h = 0; h < nkv; h++) {
          const at = (p * nkv + h) * hs;
          kvCacheRead(i8.cache, 1, 1, 0, h, p).forEach((got, d) => expect(Math.abs(got - i8.k[at + d]!)).toBeLessThanOrEqual(Math.max(0.01 + 1e-7, Math.abs(i8.k[at + d]!) - 127 * 0.02)));
          kvCacheRead(i8.cache, 1, 1, 1, h, p).forEach((got, d) => expect(Math.abs(got - i8.v[at + d]!)).toBeLessThanOrEqual(Math.max(0.015 + 1e-7, Math.abs(i8.v[at + d]!) - 127 * 0.03)));
          kvCacheRead(f8.cache, 1, 1, 0, h, p).forEach((got, d) => {
            const x = f8.k[at + d]!;
            if (Math.abs(x) > 0.02 * 2 ** -6) expect(Math.abs(got - x) / Math.abs(x)).toBeLessThanOrEqual(2 ** -4 + 1e-6);
          });
        }
      }
    }
  });
  it('reads identical values from the paged and the contiguous layout (every dtype)', () => {
    for (const dtype of ['f32', 'f16', 'bf16', 'i8', 'fp8e4m3'] as const) {
      const a = filled(dtype, contiguous).cache;
      const b = filled(dtype, paged).cache;
      for (let p = 0; p < T; p++) for (let h = 0; h < nkv; h++) for (const kv of [0, 1] as const) {
        expect(Array.from(kvCacheRead(b, 1, 1, kv, h, p))).toEqual(Array.from(kvCacheRead(a, 1, 1, kv, h, p)));
      }
    }
  });
  it('places token p of a slot in block blockTable[slot, ⌊p/TPB⌋] at offset p mod TPB', () => {
    const { cache } = filled('f32', paged);
    // slot 1, position 9 → logical block 2 → physical block 1, offset 1; K of kv head 0
    const at = ((1 * 2 + 0) * nkv + 0) * 4 * hs + 1 * hs;
    expect(Array.from(cache.pools[1]!.data.subarray(at, at + hs))).toEqual(Array.from(kvCacheRead(cache, 1, 1, 0, 0, 9)));
  });
  it('quantizes each layer with its own K and V scales', () => {
    const x = fromValues('f32', [1, 1, 2], [1.3, -3.1]);
    const at = { slots: fromValues('i32', [1], [0]), positions: fromValues('i32', [1], [0]) };
    const read = (dtype: 'i8' | 'fp8e4m3', layers: { k: number; v: number }[]): number[][][] => {
      const cache = createKvCache({ numLayers: 2, numSlots: 1, numKvHeads: 1, headSize: 2, dtype, layout: contiguous, scales: layers });
      for (const layer of [0, 1]) kvCacheWrite(cache, layer, { k: x, v: x, ...at });
      return [0, 1].map((layer) => [0, 1].map((kv) => Array.from(kvCacheRead(cache, layer, 0, kv as 0 | 1, 0, 0))));
    };
    // int8: rni(x / s) · s (1.3 / 0.5 = 2.6 → 3; 1.3 / 0.125 = 10.4 → 10)
    expect(read('i8', [{ k: 0.5, v: 0.25 }, { k: 0.125, v: 1 }])).toEqual([[[1.5, -3], [1.25, -3]], [[1.25, -3.125], [1, -3]]]);
    // fp8: e4m3(x / s) · s with scales that are not powers of two apart (e4m3 keeps the same mantissa
    // under a power-of-two scale): 1.3 / 0.3 = 4.33 → 4.5, 1.3 / 0.7 = 1.857 → 1.875, 1.3 / 0.9 = 1.444 → 1.5,
    // 1.3 / 0.2 = 6.5 → 6.5; −3.1 / 0.3 = −10.33 → −10, / 0.7 = −4.43 → −4.5, / 0.9 = −3.44 → −3.5, / 0.2 = −15.5 → −16
    const f32 = Math.fround;
    const fp8 = read('fp8e4m3', [{ k: 0.3, v: 0.7 }, { k: 0.9, v: 0.2 }]);
    const want = [[[4.5, -10], [1.875, -4.5]], [[1.5, -3.5], [6.5, -16]]].map((l, i) => l.map((v, kv) => v.map((q) => f32(q * f32([[0.3, 0.7], [0.9, 0.2]][i]![kv]!)))));
    expect(fp8).toEqual(want);
  });
  it('kvCopyRows: blocks (paged) or slots (contiguous) copied in every layer as stored, the other rows untouched', () => {
    for (const dtype of ['f16', 'i8'] as const) {
      const { cache: c } = filled(dtype, paged); // layer 1, slot 1: positions 0–3 in block 2, 4–7 in block 6, 8–10 in block 1
      const before = c.pools.map((p) => Array.from(p.data as ArrayLike<number>));
      const per = before[0]!.length / 8;
      const row = (a: number[], b: number): number[] => a.slice(b * per, (b + 1) * per);
      kvCopyRows(c, [[2, 3], [6, 4]]);
      c.pools.forEach((p, l) => {
        const now = Array.from(p.data as ArrayLike<number>);
        expect(row(now, 3)).toEqual(row(before[l]!, 2));
        expect(row(now, 4)).toEqual(row(before[l]!, 6));
        for (const b of [0, 1, 2, 5, 6, 7]) expect(row(now, b), `layer ${l} block ${b}`).toEqual(row(before[l]!, b));
      });
      expect(row(before[1]!, 2).some((x) => x !== 0)).toBe(true); // a copy of written values, not of zeros
      // slot 0 pointed at the copies reads what slot 1 reads
      assignBlocks(c, 0, [3, 4]);
      for (let p = 0; p < 8; p++) for (const kv of [0, 1] as const) expect(kvCacheRead(c, 1, 0, kv, 1, p)).toEqual(kvCacheRead(c, 1, 1, kv, 1, p));
    }
    const { cache: c } = filled('f32', contiguous);
    kvCopyRows(c, [[1, 0]]);
    for (let p = 0; p < T; p++) expect(kvCacheRead(c, 1, 0, 1, 0, p)).toEqual(kvCacheRead(c, 1, 1, 1, 0, p));
    expect(() => kvCopyRows(c, [[0, 2]])).toThrow(/kvCopyRows: pairs\[0\]\[1\]: expected a slot in \[0, 2\) not already a destination, got 2/);
    const { cache: p } = filled('f16', paged);
    expect(() => kvCopyRows(p, [[0, 3], [1, 3]])).toThrow(/pairs\[1\]\[1\]: expected a block in \[0, 8\) not already a destination, got 3/);
    expect(() => kvCopyRows(p, [[0, 3], [3, 4]])).toThrow(/pairs\[1\]\[0\]: expected not a destination of another pair/);
    expect(() => kvCopyRows(p, [[-1, 3]])).toThrow(AttrError);
  });
  it('gives typed errors: unassigned block, position past maxSeqLen, missing quant scales, non-power-of-two TPB', () => {
    const { cache } = filled('f16', paged);
    expect(() => kvCacheRead(cache, 1, 0, 0, 0, 9)).not.toThrow(); // slot 0 has blocks
    expect(() => kvCacheRead(cache, 1, 1, 0, 0, 12)).toThrow(IndexRangeError);
    expect(() => kvCacheRead(filled('f16', contiguous).cache, 0, 0, 0, 0, 12)).toThrow(/maxSeqLen/);
    expect(() => createKvCache({ numLayers: 1, numSlots: 1, numKvHeads: 1, headSize: 4, dtype: 'i8', layout: contiguous })).toThrow(AttrError);
    expect(() => createKvCache({ numLayers: 2, numSlots: 1, numKvHeads: 1, headSize: 4, dtype: 'i8', layout: contiguous, scales: [{ k: 1, v: 1 }] })).toThrow(/one \{k, v\} per layer \(2\).*1 entries/);
    expect(() => createKvCache({ numLayers: 1, numSlots: 1, numKvHeads: 1, headSize: 4, dtype: 'fp8e4m3', layout: contiguous, scales: [{ k: 1, v: 0 }] })).toThrow(/spec\.scales\[0\]/);
    expect(() => createKvCache({ numLayers: 1, numSlots: 1, numKvHeads: 1, headSize: 4, dtype: 'f16', layout: { ...paged, tokensPerBlock: 6 } })).toThrow(/power of two/);
    expect(() => assignBlocks(cache, 0, [8])).toThrow(AttrError);
  });
});
