// SmoothQuant smoothing: the scales by hand, the GEMM's output unchanged, the LayerNorm folded, α checked.
import { describe, expect, it } from 'vitest';
import { QuantError } from './errors.js';
import { applySmoothing, smoothingScales } from './smoothing.js';

describe('smoothingScales / applySmoothing', () => {
  // W [K=2, N=2]: wmax per input channel (row) = [2, 0.5]; xmax = [4, 1]
  const w = Float32Array.of(1, -2, 0.5, 0.25);
  const xmax = Float32Array.of(4, 1);
  it('s = xmax^α / wmax^(1−α) per input channel (α = 0.5: √(4/2), √(1/0.5); α = 1: xmax; α = 0: 1 / wmax)', () => {
    expect(Array.from(smoothingScales(xmax, w, 2, 0.5))).toEqual([2 / Math.fround(Math.sqrt(2)), 1 / Math.fround(Math.sqrt(0.5))]);
    expect(Array.from(smoothingScales(xmax, w, 2, 1))).toEqual([4, 1]);
    expect(Array.from(smoothingScales(xmax, w, 2, 0))).toEqual([0.5, 2]);
  });
  it('clamps s at 1e-5 (a channel calibration never saw)', () => {
    expect(smoothingScales(Float32Array.of(0, 1), w, 2, 0.5)[0]).toBe(1e-5);
  });
  it('x/s · (s·W) = x·W: the GEMM after LayerNorm is unchanged up to fp32 rounding', () => {
    const s = smoothingScales(xmax, w, 2, 0.5);
    const gamma = Float32Array.of(1.5, -0.75);
    const beta = Float32Array.of(0.1, 0.2);
    const sm = applySmoothing(s, { w, gamma, beta });
    const normed = [0.3, -1.2]; // a LayerNorm output before γ, β
    for (let j = 0; j < 2; j++) {
      const before = normed.reduce((acc, v, k) => acc + (v * gamma[k]! + beta[k]!) * w[k * 2 + j]!, 0);
      const after = normed.reduce((acc, v, k) => acc + (v * sm.gamma[k]! + sm.beta![k]!) * sm.w[k * 2 + j]!, 0);
      expect(after).toBeCloseTo(before, 6);
    }
    expect(sm.w[1]).toBe(Math.fround(-2 * s[0]!));
  });
  it('layernorm1p: γ stored minus one stays so: (γ + 1)/s − 1', () => {
    const s = Float64Array.of(2, 4);
    const sm = applySmoothing(s, { w, gamma: Float32Array.of(0, 1), layernorm1p: true });
    expect(Array.from(sm.gamma)).toEqual([-0.5, -0.5]); // (0+1)/2 − 1, (1+1)/4 − 1
  });
  it('α outside [0, 1] and mismatched shapes are typed errors', () => {
    expect(() => smoothingScales(xmax, w, 2, 1.5)).toThrow(QuantError);
    expect(() => smoothingScales(xmax, w, 2, Number.NaN)).toThrow(/SmoothQuant α: expected a number in \[0, 1\]/);
    expect(() => smoothingScales(Float32Array.of(1), w, 2, 0.5)).toThrow(/activation range/);
  });
});
