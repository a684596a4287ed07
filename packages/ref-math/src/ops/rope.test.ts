import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { cosF32, sinF32 } from '../numerics/transcendental.js';
import { bitEqual, fromValues, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { maxAbsDiff, rope64 } from '../testing/reference64.js';
import { rope, ropeTable, rotaryDimOf } from './rope.js';
import { AttrError, IndexRangeError } from '../errors.js';

describe('ropeTable', () => {
  it('holds cosF32/sinF32 of fp32(t · fp32(base^(−2i/d)))', () => {
    const table = ropeTable(64, 10);
    for (const t of [0, 1, 17, 63]) {
      for (let i = 0; i < 5; i++) {
        const inv = f32(Math.pow(10000, (-2 * i) / 10));
        expect(table.invFreq.data[i]).toBe(inv);
        expect(table.cos.data[t * 5 + i]).toBe(cosF32(f32(t * inv)));
        expect(table.sin.data[t * 5 + i]).toBe(sinF32(f32(t * inv)));
      }
    }
  });
  it('rejects an odd rotary dim', () => {
    expect(() => ropeTable(4, 3)).toThrow(AttrError);
    expect(() => rotaryDimOf(64, 0.3)).toThrow(/floor\(head_size · rotary_pct\) even/); // 19.2 → 19
    expect(rotaryDimOf(64, 0.25)).toBe(16);
  });
});

describe('rope', () => {
  const hs = 12;
  const table = ropeTable(2048, 8);
  it('rotates the first rotaryDim dims (NeoX rotate-half) and copies the rest bit for bit', () => {
    const x = randomTensor('f32', [3, 2, hs], 51);
    const positions = fromValues('i32', [3], [0, 5, 2047]);
    const y = toValues(rope({ x, positions, table }));
    const xv = toValues(x);
    for (let t = 0; t < 3; t++) {
      for (let h = 0; h < 2; h++) {
        const at = (t * 2 + h) * hs;
        const want = rope64(Array.from(xv.subarray(at, at + hs)), positions.data[t]!, 8, 10000);
        // fp32 angle at t = 2047 is off by up to ½ulp(2047) ≈ 6e-5 rad: the tolerance is the table's, not the op's.
        expect(maxAbsDiff(y.subarray(at, at + hs), want)).toBeLessThan(5e-4);
        expect(Array.from(y.subarray(at + 8, at + hs))).toEqual(Array.from(xv.subarray(at + 8, at + hs)));
      }
    }
  });
  it('is the identity at position 0 and exact per the spec elsewhere', () => {
    const x = randomTensor('bf16', [2, 1, hs], 52);
    expect(bitEqual(rope({ x, positions: fromValues('i32', [2], [0, 0]), table }), x)).toBe(true);
    const xv = toValues(x);
    const y = toValues(rope({ x, positions: fromValues('i32', [2], [3, 3]), table }));
    const c = table.cos.data[3 * 4]!;
    const s = table.sin.data[3 * 4]!;
    expect(y[0]).toBe(toValues(fromValues('bf16', [1], [f32(f32(xv[0]! * c) - f32(xv[4]! * s))]))[0]);
  });
  it('rejects positions outside the table', () => {
    const x = randomTensor('f32', [1, 1, hs], 53);
    expect(() => rope({ x, positions: fromValues('i32', [1], [2048]), table })).toThrow(IndexRangeError);
  });
});
