/** quantize on the device — int8 per tensor, per token, dequantize, calibration's absMaxColumns (csrc/quantize.cu). */
import {
  expectAttr, expectDType, expectShape, numel,
  type AbsMaxColumnsInputs, type ActDType, type DequantizeAttrs, type DequantizeInputs, type QuantizePerTensorAttrs, type QuantizePerTensorInputs, type QuantizePerTokenInputs,
} from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

export function quantizePerTensor(inputs: OnDevice<QuantizePerTensorInputs>, attrs: QuantizePerTensorAttrs, stream?: Stream): DeviceTensor<'i8'> {
  const { x } = inputs;
  expectDType('quantizePerTensor', 'inputs.x', x, ACT);
  expectAttr('quantizePerTensor', 'attrs.scale', Number.isFinite(attrs.scale) && attrs.scale > 0, 'a finite scale > 0', attrs.scale);
  const q = DeviceTensor.empty('i8', x.shape);
  native('quantizePerTensor', () => addon().quantize({ mode: 0, x: x.ptr, q: q.ptr, n: numel(x.shape), scale: attrs.scale, xDtype: code(x.dtype), stream: stream?.handle }));
  return q;
}

export function quantizePerToken(inputs: OnDevice<QuantizePerTokenInputs>, stream?: Stream): { q: DeviceTensor<'i8'>; scale: DeviceTensor<'f32'> } {
  const { x } = inputs;
  expectDType('quantizePerToken', 'inputs.x', x, ACT);
  const [rows, cols] = expectShape('quantizePerToken', 'inputs.x', x, ['T', 'H']) as [number, number];
  const q = DeviceTensor.empty('i8', [rows, cols]);
  const scale = DeviceTensor.empty('f32', [rows]);
  native('quantizePerToken', () => addon().quantize({ mode: 1, x: x.ptr, q: q.ptr, scale: scale.ptr, rows, cols, xDtype: code(x.dtype), stream: stream?.handle }));
  return { q, scale };
}

export function dequantize(inputs: OnDevice<DequantizeInputs>, attrs: DequantizeAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const { q, scale } = inputs;
  expectDType('dequantize', 'inputs.q', q, ['i8']);
  expectDType('dequantize', 'inputs.scale', scale, ['f32']);
  const [rows, cols] = expectShape('dequantize', 'inputs.q', q, ['T', 'H']) as [number, number];
  const perToken = numel(scale.shape) !== 1;
  if (perToken) expectShape('dequantize', 'inputs.scale', scale, [rows]);
  const out = DeviceTensor.empty(attrs.outDtype, [rows, cols]);
  native('dequantize', () => addon().quantize({ mode: 2, q: q.ptr, scale: scale.ptr, out: out.ptr, rows, cols, perToken, outDtype: code(attrs.outDtype), stream: stream?.handle }));
  return out;
}

/** Calibration: the running max |x| per column of x [M, N] from `acc` (or 0), as a new f32 [N] (ref-math absMaxColumns; exact). */
export function absMaxColumns(inputs: OnDevice<AbsMaxColumnsInputs>, stream?: Stream): DeviceTensor<'f32'> {
  const { x, acc } = inputs;
  expectDType('absMaxColumns', 'inputs.x', x, ACT);
  const [rows, cols] = expectShape('absMaxColumns', 'inputs.x', x, ['M', 'N']) as [number, number];
  if (acc) {
    expectDType('absMaxColumns', 'inputs.acc', acc, ['f32']);
    expectShape('absMaxColumns', 'inputs.acc', acc, [cols]);
  }
  const out = DeviceTensor.empty('f32', [cols]);
  native('absMaxColumns', () => addon().quantize({ mode: 3, x: x.ptr, acc: acc?.ptr, out: out.ptr, rows, cols, xDtype: code(x.dtype), stream: stream?.handle }));
  return out;
}
