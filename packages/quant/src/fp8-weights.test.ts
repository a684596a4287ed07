// generateFp8 on values worked out by hand: the largest |w| lands on 448 exactly, e4m3 rounding of
// the rest (ties to even, saturation), the scales, and dequantization back within e4m3's error.
import { describe, expect, it } from 'vitest';
import { fromValues, toF32 } from '@trtllm/ref-math';
import { QuantError } from './errors.js';
import { FP8_E4M3_MAX, generateFp8 } from './fp8-weights.js';

describe('generateFp8', () => {
  it('scales so the largest |w| is 448; e4m3 values; scale_w = amax / 448, scale_x = 448 / xmax', () => {
    // amax 2 → s_w = 224: 2 → 448, −1 → −224, 0.5 → 112, 0.3 → 67.2 → e4m3 spacing 8 in [64, 128): 64 (nearest)
    const g = generateFp8(fromValues('f32', [2, 2], [2, -1, 0.5, 0.3]), { x: 7 });
    expect(Array.from(toF32(g['weight.fp8']))).toEqual([448, -224, 112, 64]);
    expect(g.scale_w_quant_orig.data[0]).toBe(Math.fround(2 / FP8_E4M3_MAX));
    expect(g.scale_x_orig_quant.data[0]).toBe(Math.fround(448 / 7));
  });
  it('dequantized weights stay within e4m3 relative error (2^-4) of the originals', () => {
    const w = fromValues('f16', [8, 16], Array.from({ length: 128 }, (_, i) => Math.sin(i * 0.7) * 0.3));
    const g = generateFp8(w, { x: 1 });
    const back = toF32(g['weight.fp8']).map((v) => v * g.scale_w_quant_orig.data[0]!);
    toF32(w).forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -4 + 1e-6));
  });
  it('a zero range or an all-zero weight is a QuantError', () => {
    expect(() => generateFp8(fromValues('f32', [1, 2], [1, 2]), { x: 0 })).toThrow(QuantError);
    expect(() => generateFp8(fromValues('f32', [1, 2], [0, 0]), { x: 1 })).toThrow(/weight: expected a weight with a non-zero value/);
  });
});
