import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { fromValues, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { absMaxColumns, dequantize, quantizePerTensor, quantizePerToken } from './quantize.js';
import { AttrError, ShapeError } from '../errors.js';

describe('quantizePerTensor / dequantize', () => {
  it('round-trips within half a quantization step for every in-range value', () => {
    const x = randomTensor('f32', [7, 13], 3);
    const amax = Math.max(...Array.from(x.data, Math.abs));
    const scale = f32(127 / amax);
    const q = quantizePerTensor({ x }, { scale });
    const back = toValues(dequantize({ q, scale: fromValues('f32', [1], [f32(1 / scale)]) }, { outDtype: 'f32' }));
    x.data.forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(0.5 / scale + 1e-6));
  });
  it('saturates out-of-range values and rejects a non-positive scale', () => {
    expect(Array.from(quantizePerTensor({ x: fromValues('f32', [3], [100, -100, 0.04]) }, { scale: 10 }).data)).toEqual([127, -128, 0]);
    expect(() => quantizePerTensor({ x: fromValues('f32', [1], [1]) }, { scale: 0 })).toThrow(AttrError);
  });
});

describe('quantizePerToken', () => {
  it('maps each row max |x| to ±127 and returns rowMax/127 as the row scale', () => {
    const x = randomTensor('f16', [5, 11], 9);
    const { q, scale } = quantizePerToken({ x });
    const xv = toValues(x);
    for (let t = 0; t < 5; t++) {
      const row = Array.from(xv.subarray(t * 11, (t + 1) * 11));
      const rowMax = Math.max(...row.map(Math.abs));
      expect(scale.data[t]).toBe(f32(f32(rowMax) / 127));
      const qs = f32(127 / rowMax);
      row.forEach((v, h) => {
        expect(Math.abs(q.data[t * 11 + h]! - f32(v * qs))).toBeLessThanOrEqual(0.5);
        expect(Math.abs(q.data[t * 11 + h]! * scale.data[t]! - v)).toBeLessThanOrEqual(scale.data[t]! * 0.5 + 1e-6);
      });
      expect(Math.max(...Array.from(q.data.subarray(t * 11, (t + 1) * 11), Math.abs))).toBe(127);
    }
  });
  it('uses max(1e-6, max|x|) so an all-zero row has a finite scale and zero codes', () => {
    const { q, scale } = quantizePerToken({ x: fromValues('f32', [1, 3], [0, 0, 0]) });
    expect(Array.from(q.data)).toEqual([0, 0, 0]);
    expect(scale.data[0]).toBe(f32(f32(1e-6) / 127));
  });
  it('dequantizes per row and rejects a mis-sized scale vector', () => {
    const x = fromValues('f32', [2, 2], [1, -1, 4, 2]);
    const { q, scale } = quantizePerToken({ x });
    expect(Array.from(toValues(dequantize({ q, scale }, { outDtype: 'f32' })))).toEqual([1, -1, 4, f32(64 * f32(4 / 127))]);
    expect(() => dequantize({ q, scale: fromValues('f32', [3], [1, 1, 1]) }, { outDtype: 'f32' })).toThrow(ShapeError);
  });
});

describe('absMaxColumns', () => {
  it('keeps the running max |x| per column, from 0 or from acc (NaN-free, -0 → 0)', () => {
    const x = fromValues('f16', [2, 3], [1, -4, -0, -2.5, 3, 0.5]);
    expect(Array.from(absMaxColumns({ x }).data)).toEqual([2.5, 4, 0.5]);
    const acc = fromValues('f32', [3], [3, 1, 0.25]);
    expect(Array.from(absMaxColumns({ x, acc }).data)).toEqual([3, 4, 0.5]);
    expect(Array.from(acc.data)).toEqual([3, 1, 0.25]); // acc is not changed in place
  });
  it('checks acc against the columns', () => {
    expect(() => absMaxColumns({ x: fromValues('f32', [1, 2], [1, 2]), acc: fromValues('f32', [3], [0, 0, 0]) })).toThrow(/inputs\.acc/);
  });
});
