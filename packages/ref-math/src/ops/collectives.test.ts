import { describe, expect, it } from 'vitest';
import { bitEqual, fromValues, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { allGather, allReduceSum, shardCols, shardRows } from './collectives.js';
import { ShapeError } from '../errors.js';

describe('collectives', () => {
  it('allReduceSum adds ranks in ascending order, rounding to T after each step', () => {
    // f16: 2048 + 1 → 2048 (tie to even), + 1 → 2048; a pairwise order (1 + 1 first) would give 2050.
    const s = allReduceSum([fromValues('f16', [1], [2048]), fromValues('f16', [1], [1]), fromValues('f16', [1], [1])]);
    expect(toValues(s)[0]).toBe(2048);
  });
  it('allReduceSum of one rank is the identity, and shapes must agree', () => {
    const x = randomTensor('bf16', [3, 4], 1);
    expect(bitEqual(allReduceSum([x]), x)).toBe(true);
    expect(() => allReduceSum([x, randomTensor('bf16', [4, 3], 2)])).toThrow(ShapeError);
  });
  it('allGather(shardCols) and the concatenation of shardRows rebuild the table', () => {
    const t = randomTensor('f32', [10, 12], 3);
    for (const tp of [1, 2, 3, 4]) {
      expect(bitEqual(allGather(shardCols(t, tp)), t)).toBe(true);
      const rows = shardRows(t, tp).flatMap((s) => Array.from(s.data));
      expect(rows.slice(0, 120)).toEqual(Array.from(t.data));
      expect(rows.slice(120).every((v) => v === 0)).toBe(true);
    }
  });
});
