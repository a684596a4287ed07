import { describe, expect, it } from 'vitest';
import { f32 } from '../numerics/f32.js';
import { fromValues, toF32, toValues } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { residualAdd } from './residual.js';
import { DTypeError, ShapeError } from '../errors.js';

describe('residualAdd', () => {
  it('is cast_T(fp32(a + b)) elementwise', () => {
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      const a = randomTensor(dtype, [3, 5], 41);
      const b = randomTensor(dtype, [3, 5], 42);
      const av = toF32(a);
      const bv = toF32(b);
      const want = fromValues(dtype, [3, 5], Array.from(av, (v, i) => f32(v + bv[i]!)));
      expect(Array.from(residualAdd({ a, b }).data)).toEqual(Array.from(want.data));
    }
    expect(toValues(residualAdd({ a: fromValues('f16', [1], [2048]), b: fromValues('f16', [1], [1]) }))[0]).toBe(2048);
  });
  it('rejects mismatched shapes and dtypes', () => {
    const a = randomTensor('f32', [2, 2], 1);
    expect(() => residualAdd({ a, b: randomTensor('f32', [4], 1) })).toThrow(ShapeError);
    expect(() => residualAdd({ a, b: randomTensor('f16', [2, 2], 1) })).toThrow(DTypeError);
  });
});
