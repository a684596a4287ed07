import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { geluF32, siluF32 } from '../numerics/transcendental.js';
import { fromValues, toF32, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { gelu64, maxAbsDiff } from '../testing/reference64.js';
import { gelu, swiglu } from './activation.js';
import { DTypeError, ShapeError } from '../errors.js';

describe('gelu', () => {
  it('applies geluF32 elementwise with one cast, for every dtype', () => {
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      const x = randomTensor(dtype, [3, 19], 21, 3);
      const want = fromValues(dtype, [3, 19], Array.from(toF32(x), geluF32));
      expect(Array.from(gelu({ x }).data)).toEqual(Array.from(want.data));
    }
  });
  it('tracks the float64 formula (GPT-2 gelu_new)', () => {
    const x = randomTensor('f32', [1000], 22, 4);
    expect(maxAbsDiff(toValues(gelu({ x })), Array.from(x.data, gelu64))).toBeLessThan(1e-6);
  });
});

describe('swiglu', () => {
  it('is fp32(silu(x) · gate), one cast', () => {
    const x = randomTensor('bf16', [4, 9], 23, 2);
    const gate = randomTensor('bf16', [4, 9], 24, 2);
    const xv = toF32(x);
    const gv = toF32(gate);
    const want = fromValues('bf16', [4, 9], Array.from(xv, (v, i) => f32(siluF32(v) * gv[i]!)));
    expect(Array.from(swiglu({ x, gate }).data)).toEqual(Array.from(want.data));
  });
  it('rejects a gate of another shape or dtype', () => {
    const x = randomTensor('f32', [2, 3], 1);
    expect(() => swiglu({ x, gate: randomTensor('f32', [3, 2], 2) })).toThrow(ShapeError);
    expect(() => swiglu({ x, gate: randomTensor('f16', [2, 3], 2) })).toThrow(DTypeError);
  });
});
