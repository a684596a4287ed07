import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { f32, f32ToBits, f32FromBits } from './f32.js';
import {
  BF16,
  F16,
  FP8_E4M3,
  decodeMiniFloat,
  encodeMiniFloat,
  fromBf16Bits,
  fromF16Bits,
  fromFp8E4m3Bits,
  toBf16Bits,
  toF16Bits,
  toFp8E4m3Bits,
  type MiniFloatFormat,
} from './minifloat.js';
import { seededRandom } from '../model/weights.js';

const view = new DataView(new ArrayBuffer(2));
/** @petamoriken/float16's conversion: an independent implementation of IEEE binary16 rounding. */
const libF16Bits = (x: number): number => (setFloat16(view, 0, x), view.getUint16(0));
const libF16Value = (bits: number): number => (view.setUint16(0, bits), getFloat16(view, 0));

/** All non-negative finite values of a format, ascending, with their bits: the brute-force oracle's search space. */
function finiteValues(fmt: MiniFloatFormat): { value: number; bits: number }[] {
  const n = 2 ** (fmt.expBits + fmt.manBits);
  const out: { value: number; bits: number }[] = [];
  for (let b = 0; b < n; b++) {
    const v = decodeMiniFloat(fmt, b);
    if (Number.isFinite(v)) out.push({ value: v, bits: b });
  }
  return out;
}

/** Nearest representable by binary search over every value; ties to the even mantissa; past max → overflow rule; sign re-applied. */
function bruteForceNearest(fmt: MiniFloatFormat, all: { value: number; bits: number }[], signed: number): number {
  const sign = signed < 0 || Object.is(signed, -0) ? 1 << (fmt.expBits + fmt.manBits) : 0;
  return sign | nearestMagnitude(fmt, all, Math.abs(signed));
}

function nearestMagnitude(fmt: MiniFloatFormat, all: { value: number; bits: number }[], x: number): number {
  let lo = 0;
  let hi = all.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (all[mid]!.value <= x) lo = mid;
    else hi = mid;
  }
  const [a, b] = [all[lo]!, all[hi]!];
  const max = all[all.length - 1]!;
  if (x >= max.value) {
    // The next value past max would be max + its ulp; halfway between rounds to the even one (max's mantissa is odd for IEEE, even for e4m3fn).
    const ulp = max.value - all[all.length - 2]!.value;
    const past = x > max.value + ulp / 2 || (x === max.value + ulp / 2 && (max.bits & 1) === 1);
    return past ? (fmt.hasInfinity ? (2 ** fmt.expBits - 1) << fmt.manBits : fmt.maxBits) : max.bits;
  }
  if (x <= a.value) return a.bits;
  const da = x - a.value;
  const db = b.value - x;
  if (da < db) return a.bits;
  if (db < da) return b.bits;
  return (a.bits & 1) === 0 ? a.bits : b.bits;
}

function randomProbe(rand: () => number, maxExp: number, minExp: number): number {
  const e = minExp + Math.floor(rand() * (maxExp - minExp + 1));
  return (rand() < 0.5 ? -1 : 1) * (1 + rand()) * 2 ** e;
}

describe('fp16', () => {
  it('decodes all 65536 patterns exactly as @petamoriken/float16', () => {
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const want = libF16Value(b);
      if (Number.isNaN(want) ? !Number.isNaN(fromF16Bits(b)) : !Object.is(fromF16Bits(b), want)) bad.push(b);
    }
    expect(bad).toEqual([]);
  });
  it('round-trips every non-NaN pattern', () => {
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) if (!Number.isNaN(fromF16Bits(b)) && toF16Bits(fromF16Bits(b)) !== b) bad.push(b);
    expect(bad).toEqual([]);
  });
  it('rounds every midpoint and its neighbours as @petamoriken/float16 does', () => {
    const all = finiteValues(F16);
    const bad: number[] = [];
    for (let i = 0; i + 1 < all.length; i++) {
      const mid = (all[i]!.value + all[i + 1]!.value) / 2;
      for (const x of [mid, mid * (1 + 2 ** -40), mid * (1 - 2 ** -40), -mid]) if (toF16Bits(x) !== libF16Bits(x)) bad.push(x);
    }
    expect(bad).toEqual([]);
  });
  it('agrees with brute-force nearest search on 200k random doubles across the range', () => {
    const all = finiteValues(F16);
    const rand = seededRandom(1);
    const bad: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const x = randomProbe(rand, 16, -26);
      if (toF16Bits(x) !== bruteForceNearest(F16, all, x)) bad.push(x);
    }
    expect(bad).toEqual([]);
  });
  it('rounds the exact double, not a binary32 rounding of it', () => {
    // 1 + 2^-11 + 2^-40 is above the tie: rounds up. Through fp32 it would become the tie and round to even (down).
    expect(toF16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(toF16Bits(f32(1 + 2 ** -11 + 2 ** -40))).toBe(0x3c00);
  });
  it('handles specials: ±0, overflow, subnormals, NaN', () => {
    expect(toF16Bits(-0)).toBe(0x8000);
    expect(toF16Bits(65504)).toBe(0x7bff);
    expect(toF16Bits(65519.99)).toBe(0x7bff);
    expect(toF16Bits(65520)).toBe(0x7c00);
    expect(toF16Bits(-Infinity)).toBe(0xfc00);
    expect(toF16Bits(2 ** -25)).toBe(0); // exact tie between 0 and the min subnormal → even (0)
    expect(toF16Bits(2 ** -25 * 1.0000001)).toBe(1);
    expect(toF16Bits(3 * 2 ** -25)).toBe(2); // tie between subnormals 1 and 2 → 2
    expect(toF16Bits(Number.NaN)).toBe(F16.nanBits);
    expect(F16.maxFinite).toBe(65504);
  });
});

describe('bf16', () => {
  // toBf16Bits takes the bit fast path (bf16FromBinary32Bits); the generic minifloat rounding
  // (encodeMiniFloat: exact arithmetic on the value, ties to even) is the independent reference.
  it('equals the generic minifloat rounding on 1M binary32 patterns (every exponent, ties included)', () => {
    const bad: number[] = [];
    const probe = (b: number): void => {
      const x = f32FromBits(b);
      if (!Number.isNaN(x) && toBf16Bits(x) !== encodeMiniFloat(BF16, x)) bad.push(b);
    };
    for (let b = 0; b < 2 ** 32; b += 4093) probe(b);
    // every tie and near-tie of one binade: low halves 0x7fff, 0x8000, 0x8001 around each bf16 value
    for (let hi = 0x3f80; hi < 0x4000; hi++) for (const lo of [0x7fff, 0x8000, 0x8001]) probe(hi * 65536 + lo);
    // ties in the subnormal range and at the overflow edge (0x7f7f_8000 rounds to +Infinity)
    for (let hi = 0; hi < 0x80; hi++) for (const lo of [0x7fff, 0x8000, 0x8001]) probe(hi * 65536 + lo);
    for (const lo of [0x7fff, 0x8000, 0x8001]) probe(0x7f7f * 65536 + lo);
    expect(bad).toEqual([]);
    expect(toBf16Bits(f32FromBits(0x7f7f8000))).toBe(0x7f80);
  });
  it('decodes as the top half of a binary32, and round-trips', () => {
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const v = fromBf16Bits(b);
      if (Number.isNaN(v)) continue;
      if (f32ToBits(v) >>> 16 !== b || toBf16Bits(v) !== b || !Object.is(decodeMiniFloat(BF16, b), v)) bad.push(b);
    }
    expect(bad).toEqual([]);
  });
  it('handles specials', () => {
    expect(toBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(toBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(toBf16Bits(3.4e38)).toBe(0x7f80); // above max bf16 (3.3895e38) + half ulp → Infinity
    expect(toBf16Bits(Number.NaN)).toBe(0x7fc0);
    expect(toBf16Bits(-0)).toBe(0x8000);
  });
});

describe('binary32 fast paths', () => {
  it('equal the generic algorithm on 1M binary32 patterns and on every tie and near-tie of fp16 and bf16', () => {
    const bad: string[] = [];
    const probe = (b: number): void => {
      const x = f32FromBits(b);
      if (Number.isNaN(x)) return;
      if (toF16Bits(x) !== encodeMiniFloat(F16, x)) bad.push(`f16 ${b.toString(16)}`);
      if (toBf16Bits(x) !== encodeMiniFloat(BF16, x)) bad.push(`bf16 ${b.toString(16)}`);
      if (toFp8E4m3Bits(x) !== encodeMiniFloat(FP8_E4M3, x)) bad.push(`fp8 ${b.toString(16)}`);
    };
    for (let b = 0; b < 2 ** 32; b += 4099) probe(b);
    // fp16 keeps 10 of 23 mantissa bits: ties sit at low 13 bits 0x1000. Every exponent that reaches fp16 (normal and subnormal).
    for (let exp = 100; exp < 145; exp++) for (let hi = 0; hi < 1024; hi += 7) for (const lo of [0x0fff, 0x1000, 0x1001]) {
      probe((exp << 23) | (hi << 13) | lo);
      probe(0x80000000 + ((exp << 23) | (hi << 13) | lo));
    }
    // fp16 subnormal ties: each shift from 14 to 24
    for (let exp = 102; exp <= 112; exp++) for (let m = 0; m < 4096; m += 3) probe((exp << 23) | (m << 11));
    // fp8: ties at low 20 bits 0x80000, every exponent from below the subnormals to past 448
    for (let exp = 110; exp < 138; exp++) for (let hi = 0; hi < 8; hi++) for (const lo of [0x7ffff, 0x80000, 0x80001]) probe((exp << 23) | (hi << 20) | lo);
    // binary32 subnormal inputs
    for (let m = 1; m < 0x7fffff; m += 9973) probe(m);
    expect(bad).toEqual([]);
  });
});

describe('binary64 inputs (round-to-odd through binary32)', () => {
  it('equal the generic algorithm on 300k random doubles and on doubles just off every fp16 and fp8 tie', () => {
    const rand = seededRandom(9);
    const bad: number[] = [];
    const probe = (x: number): void => {
      if (toF16Bits(x) !== encodeMiniFloat(F16, x) || toBf16Bits(x) !== encodeMiniFloat(BF16, x) || toFp8E4m3Bits(x) !== encodeMiniFloat(FP8_E4M3, x)) bad.push(x);
    };
    for (let i = 0; i < 300_000; i++) probe(randomProbe(rand, 20, -30));
    for (const fmt of [F16, FP8_E4M3]) {
      const all = finiteValues(fmt);
      for (let i = 0; i + 1 < all.length; i++) {
        const mid = (all[i]!.value + all[i + 1]!.value) / 2;
        for (const eps of [2 ** -45, 2 ** -52, 2 ** -30]) for (const x of [mid * (1 + eps), mid * (1 - eps), -mid * (1 + eps)]) probe(x);
      }
    }
    for (const x of [3.4e38, 3.5e38, -1e300, 1e-300, -1e-300, 2 ** -149 * 0.75]) probe(x);
    expect(bad).toEqual([]);
  });
});

describe('fp8 e4m3fn', () => {
  const all = finiteValues(FP8_E4M3);
  it('has the e4m3fn value set: 127 non-negative finite values, max 448, min subnormal 2^-9', () => {
    expect(all.length).toBe(127);
    expect(FP8_E4M3.maxFinite).toBe(448);
    expect(fromFp8E4m3Bits(0x7e)).toBe(448);
    expect(fromFp8E4m3Bits(0x08)).toBe(2 ** -6);
    expect(fromFp8E4m3Bits(0x01)).toBe(2 ** -9);
    expect(fromFp8E4m3Bits(0x78)).toBe(256); // exponent all ones is finite in e4m3fn
    expect(fromFp8E4m3Bits(0x7f)).toBeNaN();
    expect(fromFp8E4m3Bits(0xff)).toBeNaN();
    expect(Object.is(fromFp8E4m3Bits(0x80), -0)).toBe(true);
  });
  it('rounds every midpoint, neighbour and random value as brute-force nearest search', () => {
    const bad: number[] = [];
    for (let i = 0; i + 1 < all.length; i++) {
      const mid = (all[i]!.value + all[i + 1]!.value) / 2;
      for (const x of [mid, mid + 2 ** -30, mid - 2 ** -30, -mid]) if (toFp8E4m3Bits(x) !== bruteForceNearest(FP8_E4M3, all, x)) bad.push(x);
    }
    const rand = seededRandom(2);
    for (let i = 0; i < 100_000; i++) {
      const x = randomProbe(rand, 9, -11);
      if (toFp8E4m3Bits(x) !== bruteForceNearest(FP8_E4M3, all, x)) bad.push(x);
    }
    expect(bad).toEqual([]);
  });
  it('saturates: past 448 and ±Infinity → ±448; NaN → 0x7F', () => {
    expect(toFp8E4m3Bits(464)).toBe(0x7e); // tie between 448 and (virtual) 480 → even → 448
    expect(toFp8E4m3Bits(470)).toBe(0x7e);
    expect(toFp8E4m3Bits(1e9)).toBe(0x7e);
    expect(toFp8E4m3Bits(Infinity)).toBe(0x7e);
    expect(toFp8E4m3Bits(-Infinity)).toBe(0xfe);
    expect(toFp8E4m3Bits(Number.NaN)).toBe(0x7f);
  });
  it('round-trips all 254 non-NaN patterns', () => {
    for (let b = 0; b < 256; b++) if (!Number.isNaN(fromFp8E4m3Bits(b))) expect(toFp8E4m3Bits(fromFp8E4m3Bits(b))).toBe(b);
  });
  it('is the same generic algorithm as encodeMiniFloat', () => {
    expect(encodeMiniFloat(FP8_E4M3, 3.3)).toBe(toFp8E4m3Bits(3.3));
  });
});
