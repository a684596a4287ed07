/** activation on the device — GELU (tanh form) and the SwiGLU gate (csrc/activation.cu). */
import { expectDType, expectSameDType, expectShape, numel, type ActDType, type GeluInputs, type SwigluInputs } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

export function gelu(inputs: OnDevice<GeluInputs>, stream?: Stream): DeviceTensor<ActDType> {
  expectDType('gelu', 'inputs.x', inputs.x, ACT);
  const y = DeviceTensor.empty(inputs.x.dtype, inputs.x.shape);
  native('gelu', () => addon().activation({ x: inputs.x.ptr, y: y.ptr, n: numel(y.shape), dtype: code(y.dtype), stream: stream?.handle }));
  return y;
}

export function swiglu(inputs: OnDevice<SwigluInputs>, stream?: Stream): DeviceTensor<ActDType> {
  const { x, gate } = inputs;
  expectDType('swiglu', 'inputs.x', x, ACT);
  expectSameDType('swiglu', 'inputs.gate', x, gate);
  expectShape('swiglu', 'inputs.gate', gate, x.shape);
  const y = DeviceTensor.empty(x.dtype, x.shape);
  native('swiglu', () => addon().activation({ x: x.ptr, gate: gate.ptr, y: y.ptr, n: numel(y.shape), dtype: code(y.dtype), stream: stream?.handle }));
  return y;
}
