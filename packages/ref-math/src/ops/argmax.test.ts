import { describe, expect, it } from 'vitest';
import { fromValues, toValues } from '../tensor.js';
import { argmax, argmaxRows } from './argmax.js';

describe('argmax', () => {
  it('takes the first of equal maxima, skips NaN, and gives V − 1 when all are NaN', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(argmax([NaN, 2, NaN, 5, 5])).toBe(3);
    expect(argmax([NaN, NaN, NaN])).toBe(2);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
  });
  it('argmaxRows applies it per row', () => {
    const x = fromValues('f32', [3, 4], [0, 1, 1, 0, -1, -2, -0.5, -3, NaN, NaN, 7, 7]);
    expect(Array.from(toValues(argmaxRows(x)))).toEqual([1, 2, 2]);
  });
});
