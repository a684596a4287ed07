/** Checks shared by the ops with a fused epilogue (internal: not re-exported). */
import { expectDType, expectShape, type ActDType } from '@trtllm/ref-math';
import type { DeviceTensor } from './device.js';

/** An epilogue's bias [N] and residual [M, N], each in the output dtype when given. */
export function checkBiasResidual(op: string, l: { m: number; n: number }, outDtype: ActDType, bias: DeviceTensor | undefined, residual: DeviceTensor | undefined): void {
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [outDtype]);
    expectShape(op, 'inputs.bias', bias, [l.n]);
  }
  if (residual) {
    expectDType(op, 'inputs.residual', residual, [outDtype]);
    expectShape(op, 'inputs.residual', residual, [l.m, l.n]);
  }
}
