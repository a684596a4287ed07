import { describe, expect, it } from 'vitest';
import { f32, f32FromBits, f32ToBits, rni, scaleByPow2F32, ulpDistanceF32 } from './f32.js';

describe('fp32 helpers', () => {
  it('rni rounds half to even, both signs', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(rni)).toEqual([0, 2, 2, 0, -2, -2, 2, 3]);
    expect(rni(Infinity)).toBe(Infinity);
    expect(rni(2 ** 52 + 1)).toBe(2 ** 52 + 1);
  });
  it('fp32 addition of binary32 operands through binary64 is the correctly rounded binary32 sum', () => {
    // 1 + 2^-24 is a tie in binary32: to even (1). 1 + 2^-24 + 2^-48 is above it: up.
    expect(f32(1 + 2 ** -24)).toBe(1);
    expect(f32(f32(1 + 2 ** -23) + 2 ** -24)).toBe(1 + 2 ** -22);
  });
  it('scaleByPow2F32 rounds once into the subnormal range and overflows to Infinity', () => {
    expect(scaleByPow2F32(1.5, -149)).toBe(2 ** -148); // 1.5 · 2^-149 is a tie between 1 and 2 subnormal steps → 2
    expect(scaleByPow2F32(1.25, -149)).toBe(2 ** -149);
    expect(scaleByPow2F32(1, 127)).toBe(2 ** 127);
    expect(scaleByPow2F32(1.5, 128)).toBe(Infinity);
    expect(scaleByPow2F32(0.75, 128)).toBe(f32(1.5 * 2 ** 127));
  });
  it('ulpDistanceF32 counts binary32 steps across binades and zero', () => {
    expect(ulpDistanceF32(1, f32FromBits(f32ToBits(1) + 3))).toBe(3);
    expect(ulpDistanceF32(f32FromBits(1), -f32FromBits(1))).toBe(2);
    expect(ulpDistanceF32(0, -0)).toBe(0);
    expect(ulpDistanceF32(Number.NaN, 1)).toBeNaN();
  });
});
