import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { fromFp8E4m3Bits, toFp8E4m3Bits } from '../numerics/minifloat.js';
import { fromValues, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { dequantizeFp8, fp8Gemm, quantizeFp8 } from './fp8.js';
import { AttrError } from '../errors.js';

describe('fp8 quantize / dequantize', () => {
  it('is e4m3(fp32(x · s)) and back fp32(v · s⁻¹), relative error ≤ 2^-4 for in-range values', () => {
    const x = randomTensor('f32', [9, 7], 4, 3);
    const amax = Math.max(...Array.from(x.data, Math.abs));
    const s = f32(448 / amax);
    const q = quantizeFp8({ x }, { scale: s });
    const back = toValues(dequantizeFp8({ q }, { scale: f32(1 / s), outDtype: 'f32' }));
    x.data.forEach((v, i) => {
      expect(q.data[i]).toBe(toFp8E4m3Bits(f32(v * s)));
      if (Math.abs(v * s) >= 2 ** -6) expect(Math.abs(back[i]! - v) / Math.abs(v)).toBeLessThanOrEqual(2 ** -4 + 1e-6);
    });
  });
  it('saturates at ±448 and rejects bad scales', () => {
    const q = quantizeFp8({ x: fromValues('f16', [2], [60000, -60000]) }, { scale: 1 });
    expect(Array.from(q.data, fromFp8E4m3Bits)).toEqual([448, -448]);
    expect(() => quantizeFp8({ x: fromValues('f32', [1], [1]) }, { scale: Number.NaN })).toThrow(AttrError);
  });
});

describe('fp8Gemm', () => {
  it('accumulates exact e4m3 products in fp32, k ascending, then scales and adds bias in fp32', () => {
    const a = quantizeFp8({ x: randomTensor('f32', [3, 17], 5) }, { scale: 16 });
    const b = quantizeFp8({ x: randomTensor('f32', [17, 4], 6) }, { scale: 16 });
    const bias = fromValues('f32', [4], [1, 2, 3, 4]);
    const y = toValues(fp8Gemm({ a, b, bias }, { scaleA: 1 / 16, scaleB: 1 / 16, outDtype: 'f32' }));
    const av = toValues(a);
    const bv = toValues(b);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        let acc = 0;
        for (let p = 0; p < 17; p++) acc = f32(acc + av[i * 17 + p]! * bv[p * 4 + j]!); // products exact: no inner f32 needed
        expect(y[i * 4 + j]).toBe(f32(f32(acc * f32(1 / 256)) + bias.data[j]!));
      }
    }
  });
});
