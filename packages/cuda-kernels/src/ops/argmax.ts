/** argmax on the device — per-row argmax of fp32 logits, exact (csrc/argmax.cu). Enqueue only. */
import { expectDType, expectShape } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';

/** ids[r] = ref-math argmax of row r of x [R, V] (first index of the largest non-NaN value). */
export function argmaxRows(x: DeviceTensor, stream?: Stream): DeviceTensor<'i32'> {
  expectDType('argmaxRows', 'x', x, ['f32']);
  const [rows, cols] = expectShape('argmaxRows', 'x', x, ['R', 'V']) as [number, number];
  const ids = DeviceTensor.empty('i32', [rows]);
  native('argmaxRows', () => addon().argmax({ x: x.ptr, ids: ids.ptr, rows, cols, stream: stream?.handle }));
  return ids;
}
