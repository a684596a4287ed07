import { describe, expect, it } from 'vitest';
import { dequantizeInt8, quantizeInt8, satS8 } from './int8.js';

describe('int8 quantization', () => {
  it('is sat_s8(rni(fp32(x · scale)))', () => {
    expect([0.5, 1.5, 2.5, -0.5, -2.5].map((x) => quantizeInt8(x, 1))).toEqual([0, 2, 2, 0, -2]);
    expect(quantizeInt8(1.27, 100)).toBe(127);
    expect(quantizeInt8(1.28, 100)).toBe(127);
    expect(quantizeInt8(-1.285, 100)).toBe(-128);
    expect(quantizeInt8(-1e30, 1)).toBe(-128);
    expect(quantizeInt8(Infinity, 1)).toBe(127);
    expect(quantizeInt8(Number.NaN, 1)).toBe(0);
  });
  it('multiplies in fp32 before rounding (the product 0.1·5 = 0.5 exactly in fp32 ties to 0)', () => {
    // fp32(0.1) = 0.100000001490116; fp32(0.1 · 5) = 0.5 exactly → rni → 0. In binary64 the product is 0.50000000745 → 1.
    expect(quantizeInt8(0.1, 5)).toBe(0);
  });
  it('satS8 clamps, dequantize is fp32(q · s)', () => {
    expect([satS8(-129), satS8(128), satS8(5)]).toEqual([-128, 127, 5]);
    expect(dequantizeInt8(-128, 0.5)).toBe(-64);
  });
});
