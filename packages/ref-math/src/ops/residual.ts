/**
 * residual — elementwise y = cast_T(fp32(a + b)), a and b of one dtype and shape (the residual add).
 * Rounding: one fp32 add (exact for f16/bf16 operands unless it overflows), one round-to-nearest-even
 * cast to T. Exact on every kernel (tier 1): an elementwise op has no order to choose.
 */
import { expectDType, expectSameDType, expectShape } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import type { ResidualAddInputs } from '../op-specs.js';
import { fromF32, toF32, type Tensor } from '../tensor.js';

export function residualAdd(inputs: ResidualAddInputs): Tensor<ActDType> {
  const { a, b } = inputs;
  expectDType('residualAdd', 'inputs.a', a, ['f32', 'f16', 'bf16']);
  expectSameDType('residualAdd', 'inputs.b', a, b);
  expectShape('residualAdd', 'inputs.b', b, a.shape);
  const av = toF32(a);
  const bv = toF32(b);
  const out = new Float32Array(av.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(av[i]! + bv[i]!);
  return fromF32(a.dtype, a.shape, out);
}
