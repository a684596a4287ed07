import { describe, expect, it } from 'vitest';
import { gptConfig } from '@trtllm/ref-math';
import { kvAmaxOfQkv, kvCacheScale, kvCacheScales, seedKvScale } from './kv-scales.js';

const mha = gptConfig({ vocabSize: 8, nLayer: 1, nPositions: 8, nEmbd: 4, nHead: 2, dtype: 'f32' });
const mqa = gptConfig({ vocabSize: 8, nLayer: 1, nPositions: 8, nEmbd: 4, nHead: 2, nKvHead: 1, dtype: 'f32' });

describe('KV-cache scales', () => {
  it('divides the range by 127 (int8) or 448 (fp8) in binary64 and rounds once to fp32', () => {
    expect(kvCacheScale(3.5, 'int8')).toBe(Math.fround(3.5 / 127));
    expect(kvCacheScale(3.5, 'fp8')).toBe(Math.fround(3.5 / 448));
    expect(kvCacheScale(127, 'int8')).toBe(1);
    expect(kvCacheScale(0, 'int8')).toBe(1); // nothing to measure: any scale stores zeros exactly
    expect(kvCacheScales({ k: 254, v: 896 }, 'fp8')).toEqual({ k: Math.fround(254 / 448), v: 2 });
  });
  it('takes K from the K columns and V from the V columns of the QKV output (MHA and multi-query)', () => {
    // Q 4 | K 4 | V 4 columns; the largest |y| of all is a query's, which only the seed's shared scale sees
    const y = [9, 1, 1, 1, /* K */ 0.5, 2, 0.25, 1, /* V */ 0.125, 0.75, 3, 0.5];
    expect(kvAmaxOfQkv(mha, y)).toEqual({ k: 2, v: 3 });
    expect(seedKvScale(y)).toBe(Math.fround(9 / 127));
    // one K/V head of size 2: Q 4 | K 2 | V 2
    expect(kvAmaxOfQkv(mqa, [9, 1, 1, 1, 0.5, 2, 4, 0.25])).toEqual({ k: 2, v: 4 });
  });
  it('refuses a QKV range of the wrong width and a non-finite range', () => {
    expect(() => kvAmaxOfQkv(mha, [1, 2, 3])).toThrow(/QKV output range: expected 12 per-channel maxima \(Q 4 \| K 4 \| V 4\), got 3/);
    expect(() => kvCacheScale(Number.NaN, 'int8')).toThrow(/KV-cache range/);
    expect(() => kvCacheScale(Infinity, 'fp8')).toThrow(/KV-cache range/);
  });
});
