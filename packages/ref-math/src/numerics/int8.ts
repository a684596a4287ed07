/**
 * int8 quantization arithmetic (ARCHITECTURE.md, Numerics).
 *
 *   q = sat_s8(rni(x · scale))
 * with the product x · scale rounded to fp32 first (the kernels multiply in fp32), rni = round half
 * to even, sat_s8 = clamp to [−128, 127]; NaN → 0, as PTX `cvt.rni.sat.s8.f32` does.
 */
import { f32, rni } from './f32.js';

/** Clamp an integer to the int8 range [−128, 127]; NaN → 0. */
export function satS8(n: number): number {
  if (Number.isNaN(n)) return 0;
  return n < -128 ? -128 : n > 127 ? 127 : n;
}

/** Quantize one value to int8: sat_s8(rni(fp32(x · scale))). Inputs are taken as fp32. */
export function quantizeInt8(x: number, scale: number): number {
  return satS8(rni(f32(f32(x) * f32(scale))));
}

/** Dequantize one int8 value: fp32(q · scale). */
export function dequantizeInt8(q: number, scale: number): number {
  return f32(q * f32(scale));
}
