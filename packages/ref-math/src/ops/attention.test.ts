import { describe, expect, it } from 'vitest';
import { bitEqual, fromValues, tensor, toValues, type Tensor } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { maxAbsDiff, softmax64 } from '../testing/reference64.js';
import { attention, contextAttention, decodeAttention } from './attention.js';
import { assignBlocks, createKvCache, kvCacheWrite } from './kv-cache.js';
import type { KvCacheDType, KvLayout } from '../op-specs.js';
import type { ActDType } from '../dtype.js';
import { AttrError } from '../errors.js';

const hs = 6;
/** Repeat each of NKV heads NH/NKV times along axis 1: [T, NKV, HS] → [T, NH, HS]. */
function repeatHeads(t: Tensor<ActDType>, nh: number): Tensor<ActDType> {
  const [T, nkv, d] = t.shape as [number, number, number];
  const out = tensor(t.dtype, [T, nh, d]);
  for (let i = 0; i < T; i++) for (let h = 0; h < nh; h++) {
    const g = Math.floor(h / (nh / nkv));
    out.data.set(t.data.subarray((i * nkv + g) * d, (i * nkv + g + 1) * d), (i * nh + h) * d);
  }
  return out;
}

describe('attention', () => {
  it('matches float64 causal attention for packed sequences (two lengths)', () => {
    const lens = [5, 3];
    const q = randomTensor('f32', [8, 2, hs], 71);
    const k = randomTensor('f32', [8, 2, hs], 72);
    const v = randomTensor('f32', [8, 2, hs], 73);
    const got = toValues(contextAttention({ q, k, v }, { seqLens: lens }));
    const at = (t: Tensor, row: number, h: number): number[] => Array.from(toValues(t).subarray((row * 2 + h) * hs, (row * 2 + h + 1) * hs));
    let row0 = 0;
    for (const len of lens) {
      for (let i = 0; i < len; i++) for (let h = 0; h < 2; h++) {
        const qi = at(q, row0 + i, h);
        const p = softmax64(Array.from({ length: i + 1 }, (_, j) => at(k, row0 + j, h).reduce((a, kv, d) => a + kv * qi[d]!, 0) / Math.sqrt(hs)));
        const want = Array.from({ length: hs }, (_, d) => p.reduce((a, pj, j) => a + pj * at(v, row0 + j, h)[d]!, 0));
        expect(maxAbsDiff(got.subarray(((row0 + i) * 2 + h) * hs, ((row0 + i) * 2 + h + 1) * hs), want)).toBeLessThan(1e-6);
      }
      row0 += len;
    }
  });
  it('MQA (NKV = 1) and GQA (NKV = 2) equal MHA with the K/V heads repeated, bit for bit', () => {
    for (const nkv of [1, 2]) {
      const q = randomTensor('f16', [7, 4, hs], 74);
      const k = randomTensor('f16', [7, nkv, hs], 75);
      const v = randomTensor('f16', [7, nkv, hs], 76);
      const grouped = contextAttention({ q, k, v }, { seqLens: [4, 3] });
      const mha = contextAttention({ q, k: repeatHeads(k, 4), v: repeatHeads(v, 4) }, { seqLens: [4, 3] });
      expect(bitEqual(grouped, mha)).toBe(true);
    }
  });
  it('is causal: a later token does not change earlier outputs', () => {
    const q = randomTensor('f32', [6, 1, hs], 77);
    const k = randomTensor('f32', [6, 1, hs], 78);
    const v = randomTensor('f32', [6, 1, hs], 79);
    const full = contextAttention({ q, k, v }, { seqLens: [6] });
    const k2 = tensor('f32', k.shape, Float32Array.from(k.data));
    k2.data.fill(9, 5 * hs);
    const changed = contextAttention({ q, k: k2, v }, { seqLens: [6] });
    expect(Array.from(changed.data.subarray(0, 5 * hs))).toEqual(Array.from(full.data.subarray(0, 5 * hs)));
  });

  function decodeFromCache(dtype: KvCacheDType, layout: KvLayout, nkv: number) {
    const T = 9;
    const cache = createKvCache({ numLayers: 1, numSlots: 1, numKvHeads: nkv, headSize: hs, dtype, layout, scales: [{ k: 0.03, v: 0.02 }] });
    if (layout.kind === 'paged') assignBlocks(cache, 0, [3, 0, 2]);
    const q = randomTensor('f32', [T, 2, hs], 80);
    const k = randomTensor('f32', [T, nkv, hs], 81);
    const v = randomTensor('f32', [T, nkv, hs], 82);
    const positions = fromValues('i32', [T], Array.from({ length: T }, (_, i) => i));
    kvCacheWrite(cache, 0, { k, v, slots: fromValues('i32', [T], new Array(T).fill(0)), positions });
    const last = (t: Tensor<ActDType>, w: number): Tensor<ActDType> => tensor(t.dtype, [1, w, hs], t.data.slice((T - 1) * w * hs) as never);
    return { out: decodeAttention({ q: last(q, 2), k: last(k, nkv), v: last(v, nkv) }, { seqLens: [T], cache, layer: 0 }), q, k, v };
  }
  it('decode over a paged cache equals decode over a contiguous cache, bit for bit (every cache dtype)', () => {
    for (const dtype of ['f32', 'f16', 'bf16', 'i8', 'fp8e4m3'] as const) {
      const a = decodeFromCache(dtype, { kind: 'contiguous', maxSeqLen: 16 }, 1).out;
      const b = decodeFromCache(dtype, { kind: 'paged', tokensPerBlock: 4, numBlocks: 4, maxBlocksPerSeq: 3 }, 1).out;
      expect(bitEqual(a, b)).toBe(true);
    }
  });
  it('decode with an f32 cache equals the last row of context attention, bit for bit', () => {
    const { out, q, k, v } = decodeFromCache('f32', { kind: 'contiguous', maxSeqLen: 16 }, 2);
    const ctx = contextAttention({ q, k, v }, { seqLens: [9] });
    expect(Array.from(out.data)).toEqual(Array.from(ctx.data.subarray(8 * 2 * hs)));
  });
  it('a chunk after a cached prefix equals the same rows of one context pass (f16 activations, f16 cache)', () => {
    const q = randomTensor('f16', [10, 2, hs], 83);
    const k = randomTensor('f16', [10, 2, hs], 84);
    const v = randomTensor('f16', [10, 2, hs], 85);
    const cache = createKvCache({ numLayers: 1, numSlots: 1, numKvHeads: 2, headSize: hs, dtype: 'f16', layout: { kind: 'contiguous', maxSeqLen: 10 } });
    const rows = (t: Tensor<ActDType>, a: number, b: number): Tensor<ActDType> => tensor(t.dtype, [b - a, 2, hs], t.data.slice(a * 2 * hs, b * 2 * hs) as never);
    kvCacheWrite(cache, 0, { k: rows(k, 0, 6), v: rows(v, 0, 6), slots: fromValues('i32', [6], [0, 0, 0, 0, 0, 0]), positions: fromValues('i32', [6], [0, 1, 2, 3, 4, 5]) });
    const chunk = attention({ q: rows(q, 6, 10), k: rows(k, 6, 10), v: rows(v, 6, 10) }, { sequences: [{ slot: 0, start: 6, length: 4 }], cache: { cache, layer: 0 } });
    const full = contextAttention({ q, k, v }, { seqLens: [10] });
    expect(Array.from(chunk.data)).toEqual(Array.from(full.data.subarray(6 * 2 * hs)));
  });
  it('rejects lengths that do not sum to T and a start > 0 without a cache', () => {
    const q = randomTensor('f32', [3, 1, hs], 1);
    expect(() => contextAttention({ q, k: q, v: q }, { seqLens: [2] })).toThrow(/lengths summing to T = 3/);
    expect(() => attention({ q, k: q, v: q }, { sequences: [{ slot: 0, start: 2, length: 3 }] })).toThrow(AttrError);
  });
});
