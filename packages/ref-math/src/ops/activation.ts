/**
 * activation — elementwise GELU (tanh form) and the SwiGLU gate.
 *
 * gelu:   y = cast_T(geluF32(x))                          numerics/transcendental.ts gives the order
 * swiglu: y = cast_T(fp32(siluF32(x) · gate))             the gated MLP's proj(silu(fc(x)) · gate(x))
 * One rounding to T per element; inputs decoded exactly to fp32.
 */
import { expectDType, expectSameDType, expectShape } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { geluF32, siluF32 } from '../numerics/transcendental.js';
import type { GeluInputs, SwigluInputs } from '../op-specs.js';
import { fromF32, toF32, type Tensor } from '../tensor.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

export function gelu(inputs: GeluInputs): Tensor<ActDType> {
  expectDType('gelu', 'inputs.x', inputs.x, ACT);
  const v = Float32Array.from(toF32(inputs.x), geluF32);
  return fromF32(inputs.x.dtype, inputs.x.shape, v);
}

export function swiglu(inputs: SwigluInputs): Tensor<ActDType> {
  const { x, gate } = inputs;
  expectDType('swiglu', 'inputs.x', x, ACT);
  expectSameDType('swiglu', 'inputs.gate', x, gate);
  expectShape('swiglu', 'inputs.gate', gate, x.shape);
  const xv = toF32(x);
  const gv = toF32(gate);
  const out = new Float32Array(xv.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(siluF32(xv[i]!) * gv[i]!);
  return fromF32(x.dtype, x.shape, out);
}
