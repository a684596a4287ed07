/** residual on the device — y = cast_T(fp32(a + b)) (csrc/residual.cu). */
import { expectDType, expectSameDType, expectShape, numel, type ActDType, type ResidualAddInputs } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

export function residualAdd(inputs: OnDevice<ResidualAddInputs>, stream?: Stream): DeviceTensor<ActDType> {
  const { a, b } = inputs;
  expectDType('residualAdd', 'inputs.a', a, ['f32', 'f16', 'bf16']);
  expectSameDType('residualAdd', 'inputs.b', a, b);
  expectShape('residualAdd', 'inputs.b', b, a.shape);
  const y = DeviceTensor.empty(a.dtype, a.shape);
  native('residualAdd', () => addon().residual({ a: a.ptr, b: b.ptr, y: y.ptr, n: numel(y.shape), dtype: code(y.dtype), stream: stream?.handle }));
  return y;
}
