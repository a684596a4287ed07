import { describe, expect, it } from 'vitest';
import { deriveConstants } from '../../../../scripts/derive-constants.mjs';
import { f32, f32FromBits, f32ToBits, ulpDistanceF32 } from './f32.js';
import { TRANSCENDENTAL_CONSTANTS, cosF32, expF32, geluF32, siluF32, sinF32, tanhF32 } from './transcendental.js';

/** Worst error of fn against the binary32 rounding of ref over n evenly spaced binary32 points of [lo, hi]. */
function worstUlp(fn: (x: number) => number, ref: (x: number) => number, lo: number, hi: number, n: number): number {
  let worst = 0;
  for (let i = 0; i <= n; i++) {
    const x = f32(lo + ((hi - lo) * i) / n);
    worst = Math.max(worst, ulpDistanceF32(fn(x), f32(ref(x))));
  }
  return worst;
}
function worstAbs(fn: (x: number) => number, ref: (x: number) => number, lo: number, hi: number, n: number, rel = false): number {
  let worst = 0;
  for (let i = 0; i <= n; i++) {
    const x = f32(lo + ((hi - lo) * i) / n);
    worst = Math.max(worst, Math.abs(fn(x) - ref(x)) / (rel ? Math.max(1, Math.abs(x)) : 1));
  }
  return worst;
}

describe('transcendental constants', () => {
  it('equal their exact derivation (scripts/derive-constants.mjs: BigInt Bernoulli numbers, Cody–Waite splits)', () => {
    const d = deriveConstants();
    const c = TRANSCENDENTAL_CONSTANTS;
    expect([c.LOG2E, c.LN2_HI, c.LN2_LO, c.TWO_OVER_PI, c.GELU_K0, c.GELU_K1]).toEqual([d.LOG2E, d.LN2_HI, d.LN2_LO, d.TWO_OVER_PI, d.GELU_K0, d.GELU_K1]);
    expect([...c.EXP_C]).toEqual(d.EXP_C);
    expect([...c.TANH_C]).toEqual(d.TANH_C);
    expect([...c.SIN_C]).toEqual(d.SIN_C);
    expect([...c.COS_C]).toEqual(d.COS_C);
    expect([...c.PIO2]).toEqual(d.PIO2);
    for (const v of [...c.EXP_C, ...c.TANH_C, ...c.SIN_C, ...c.COS_C, ...c.PIO2]) expect(f32(v)).toBe(v); // all binary32 values
  });
  it('split ln 2 and π/2 so that k·hi is exact for the documented k range', () => {
    expect(Number.isInteger(TRANSCENDENTAL_CONSTANTS.LN2_HI * 2 ** 15)).toBe(true); // ≤ 15 significant bits after the point
    for (const p of TRANSCENDENTAL_CONSTANTS.PIO2.slice(0, 3)) {
      const e = Math.floor(Math.log2(p));
      expect(Number.isInteger(p / 2 ** (e - 9))).toBe(true); // ≤ 10 significant bits
    }
  });
});

describe('expF32', () => {
  it('is within 1 ulp of e^x on [−87.3, 88.7] (normal results)', () => {
    expect(worstUlp(expF32, Math.exp, -87.3, 88.7, 400_000)).toBeLessThanOrEqual(1);
    expect(worstUlp(expF32, Math.exp, -1, 1, 200_000)).toBeLessThanOrEqual(1);
  });
  it('rounds subnormal results within one subnormal step', () => {
    expect(worstUlp(expF32, Math.exp, -103.9, -87.4, 100_000)).toBeLessThanOrEqual(1);
  });
  it('has the specified edges', () => {
    expect(expF32(0)).toBe(1);
    expect(expF32(-0)).toBe(1);
    expect(expF32(89.5)).toBe(Infinity);
    expect(ulpDistanceF32(expF32(88.72), Math.exp(f32(88.72)))).toBeLessThanOrEqual(1); // still finite
    expect(expF32(Infinity)).toBe(Infinity);
    expect(expF32(-Infinity)).toBe(0);
    expect(expF32(-104.5)).toBe(0);
    expect(expF32(Number.NaN)).toBeNaN();
  });
});

describe('tanhF32', () => {
  it('is within 1 ulp of tanh on [−12, 12], both branches and the switch at 0.625', () => {
    expect(worstUlp(tanhF32, Math.tanh, -12, 12, 400_000)).toBeLessThanOrEqual(1);
    expect(worstUlp(tanhF32, Math.tanh, 0.6, 0.65, 100_000)).toBeLessThanOrEqual(1);
    let worst = 0;
    for (let b = f32ToBits(1e-30); b <= f32ToBits(0.7); b += 977) worst = Math.max(worst, ulpDistanceF32(tanhF32(f32FromBits(b)), Math.tanh(f32FromBits(b))));
    expect(worst).toBeLessThanOrEqual(1);
  });
  it('is odd, keeps −0, saturates to exactly ±1, and passes NaN', () => {
    for (const x of [0.1, 0.7, 3, 11]) expect(tanhF32(-x)).toBe(-tanhF32(x));
    expect(Object.is(tanhF32(-0), -0)).toBe(true);
    expect(tanhF32(50)).toBe(1);
    expect(tanhF32(-Infinity)).toBe(-1);
    expect(tanhF32(Number.NaN)).toBeNaN();
  });
});

describe('sinF32 / cosF32', () => {
  it('are within 1 ulp on [−π/4, π/4]', () => {
    expect(worstUlp(sinF32, Math.sin, -0.785, 0.785, 200_000)).toBeLessThanOrEqual(1);
    expect(worstUlp(cosF32, Math.cos, -0.785, 0.785, 200_000)).toBeLessThanOrEqual(1);
  });
  it('have absolute error ≤ 1.11e-7 over the reduction domain |x| ≤ 25735', () => {
    expect(worstAbs(sinF32, Math.sin, -25735, 25735, 400_000)).toBeLessThanOrEqual(1.11e-7);
    expect(worstAbs(cosF32, Math.cos, -25735, 25735, 400_000)).toBeLessThanOrEqual(1.11e-7);
  });
  it('are NaN for non-finite inputs', () => {
    expect(sinF32(Infinity)).toBeNaN();
    expect(cosF32(Number.NaN)).toBeNaN();
  });
});

describe('geluF32 / siluF32', () => {
  const gelu64 = (x: number): number => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  it('gelu has absolute error ≤ 1.2e-7·max(1, |x|) against the binary64 formula', () => {
    expect(worstAbs(geluF32, gelu64, -10, 10, 200_000, true)).toBeLessThanOrEqual(1.2e-7);
    expect(worstAbs(geluF32, gelu64, -200, 200, 100_000, true)).toBeLessThanOrEqual(1.2e-7);
  });
  it('silu is within 2e-7·max(1, |x|) of x/(1+e^−x)', () => {
    expect(worstAbs(siluF32, (x) => x / (1 + Math.exp(-x)), -30, 30, 100_000, true)).toBeLessThanOrEqual(2e-7);
    expect(siluF32(-200)).toBe(-0);
  });
});
