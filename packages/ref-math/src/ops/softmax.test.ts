import { describe, expect, it } from 'vitest';
import { fromValues, tensor, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { maxAbsDiff, softmax64 } from '../testing/reference64.js';
import { maskedSoftmax } from './softmax.js';

describe('maskedSoftmax', () => {
  it('is within 2e-7 of float64 softmax of the scaled row (odd N)', () => {
    const x = randomTensor('f32', [5, 23], 31, 4);
    const got = toValues(maskedSoftmax({ x }, { scale: 0.37 }));
    const want = Array.from({ length: 5 }, (_, r) => softmax64(Array.from(x.data.subarray(r * 23, (r + 1) * 23), (v) => v * 0.37))).flat();
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-7);
  });
  it('gives masked positions exactly 0 and renormalises over the kept ones', () => {
    const x = randomTensor('f32', [2, 6], 32, 2);
    const mask = fromValues('i8', [2, 6], [1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1]);
    const y = toValues(maskedSoftmax({ x, mask }, { scale: 1 }));
    [1, 4, 6, 7, 8].forEach((i) => expect(y[i]).toBe(0));
    const kept = [0, 2, 3, 5].map((i) => x.data[i]!);
    expect(maxAbsDiff([y[0]!, y[2]!, y[3]!, y[5]!], softmax64(kept))).toBeLessThan(2e-7);
  });
  it('gives an all-masked row all zeros, not NaN', () => {
    const y = toValues(maskedSoftmax({ x: fromValues('f32', [1, 3], [1, 2, 3]), mask: tensor('i8', [1, 3]) }, { scale: 1 }));
    expect(Array.from(y)).toEqual([0, 0, 0]);
  });
  it('is shift-stable: huge scores do not overflow', () => {
    const y = toValues(maskedSoftmax({ x: fromValues('f32', [1, 2], [1e30, 1e30]) }, { scale: 1 }));
    expect(Array.from(y)).toEqual([0.5, 0.5]);
  });
});
