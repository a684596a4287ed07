/** softmax on the device — masked, scaled softmax over the last axis (csrc/softmax.cu). */
import { expectDType, expectShape, type ActDType, type MaskedSoftmaxAttrs, type MaskedSoftmaxInputs } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

export function maskedSoftmax(inputs: OnDevice<MaskedSoftmaxInputs>, attrs: MaskedSoftmaxAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const { x, mask } = inputs;
  expectDType('maskedSoftmax', 'inputs.x', x, ['f32', 'f16', 'bf16']);
  const [rows, cols] = expectShape('maskedSoftmax', 'inputs.x', x, ['R', 'N']) as [number, number];
  if (mask) {
    expectDType('maskedSoftmax', 'inputs.mask', mask, ['i8']);
    expectShape('maskedSoftmax', 'inputs.mask', mask, [rows, cols]);
  }
  const y = DeviceTensor.empty(attrs.outDtype ?? x.dtype, [rows, cols]);
  native('maskedSoftmax', () =>
    addon().softmax({ x: x.ptr, mask: mask?.ptr, y: y.ptr, rows, cols, scale: attrs.scale, xDtype: code(x.dtype), outDtype: code(y.dtype), stream: stream?.handle }),
  );
  return y;
}
