import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { bitEqual, fromValues, toF32, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { layerNorm64, maxAbsDiff } from '../testing/reference64.js';
import { layerNorm, layerNormQuantPerToken } from './layernorm.js';
import { quantizePerToken } from './quantize.js';
import { ShapeError } from '../errors.js';

describe('layerNorm', () => {
  const x = randomTensor('f32', [6, 37], 11, 2, 0.5);
  const gamma = randomTensor('f32', [37], 12, 0.1, 1);
  const beta = randomTensor('f32', [37], 13, 0.1);
  it('is within 1e-6 of float64 LayerNorm (odd H), with and without β', () => {
    const rows = (t: typeof x, r: number): number[] => Array.from(toValues(t).subarray(r * 37, (r + 1) * 37));
    const got = toValues(layerNorm({ x, gamma, beta }));
    const want = Array.from({ length: 6 }, (_, r) => layerNorm64(rows(x, r), Array.from(gamma.data), Array.from(beta.data), 1e-5)).flat();
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    const noBeta = toValues(layerNorm({ x, gamma }));
    const want0 = Array.from({ length: 6 }, (_, r) => layerNorm64(rows(x, r), Array.from(gamma.data), new Array(37).fill(0), 1e-5)).flat();
    expect(maxAbsDiff(noBeta, want0)).toBeLessThan(1e-5);
  });
  it('follows the two-pass spec exactly on a hand-checked row', () => {
    const y = toValues(layerNorm({ x: fromValues('f32', [1, 4], [1, 2, 3, 4]), gamma: fromValues('f32', [4], [1, 1, 1, 1]) }));
    const rstd = f32(1 / f32(Math.sqrt(f32(1.25 + f32(1e-5)))));
    expect(Array.from(y)).toEqual([-1.5, -0.5, 0.5, 1.5].map((d) => f32(d * rstd)));
  });
  it('layernorm1p uses fp32(γ + 1), equal to passing γ + 1', () => {
    const g1 = fromValues('f32', [37], Array.from(gamma.data, (v) => f32(v + 1)));
    expect(bitEqual(layerNorm({ x, gamma, beta }, { weightPlusOne: true }), layerNorm({ x, gamma: g1, beta }))).toBe(true);
  });
  it('rounds once to the input dtype (f16 output = f16 of the fp32 result)', () => {
    const x16 = fromValues('f16', [6, 37], toF32(x));
    const y16 = layerNorm({ x: x16, gamma, beta });
    const y32 = layerNorm({ x: fromValues('f32', [6, 37], toF32(x16)), gamma, beta });
    expect(bitEqual(y16, fromValues('f16', [6, 37], toF32(y32)))).toBe(true);
  });
  it('fused per-token quantization equals LayerNorm then quantizePerToken, bit for bit', () => {
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      const xd = fromValues(dtype, [6, 37], toF32(x));
      const g = fromValues(dtype, [37], toF32(gamma));
      const fused = layerNormQuantPerToken({ x: xd, gamma: g });
      const composed = quantizePerToken({ x: layerNorm({ x: xd, gamma: g }) });
      expect(bitEqual(fused.q, composed.q)).toBe(true);
      expect(bitEqual(fused.scale, composed.scale)).toBe(true);
    }
  });
  it('rejects a γ of the wrong length', () => {
    expect(() => layerNorm({ x, gamma: randomTensor('f32', [36], 1) })).toThrow(ShapeError);
  });
});
