/** int8-gemm on the device — exact int32 GEMM and the SmoothQuant epilogue (csrc/int8-gemm.cu). */
import {
  expectAttr, expectDType, expectShape, matmulLayout,
  type ActDType, type Int8GemmAttrs, type Int8GemmInputs, type SmoothQuantGemmAttrs, type SmoothQuantGemmInputs,
} from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

export function int8Gemm(inputs: OnDevice<Int8GemmInputs>, attrs: Int8GemmAttrs = {}, stream?: Stream): DeviceTensor<'i32'> {
  const { a, b } = inputs;
  expectDType('int8Gemm', 'inputs.a', a, ['i8']);
  expectDType('int8Gemm', 'inputs.b', b, ['i8']);
  const l = matmulLayout('int8Gemm', a, b, false, attrs.transB);
  const c = DeviceTensor.empty('i32', [l.m, l.n]);
  native('int8Gemm', () => addon().int8Gemm({ a: a.ptr, b: b.ptr, c: c.ptr, m: l.m, n: l.n, k: l.k, transB: attrs.transB ?? false, epilogue: false, stream: stream?.handle }));
  return c;
}

export function smoothQuantGemm(inputs: OnDevice<SmoothQuantGemmInputs>, attrs: SmoothQuantGemmAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'smoothQuantGemm';
  const { a, b, alphaRow, alphaCol, bias } = inputs;
  const { outDtype, mode } = attrs;
  expectDType(op, 'inputs.a', a, ['i8']);
  expectDType(op, 'inputs.b', b, ['i8']);
  const l = matmulLayout(op, a, b, false, attrs.transB);
  expectDType(op, 'inputs.alphaRow', alphaRow, ['f32']);
  expectDType(op, 'inputs.alphaCol', alphaCol, ['f32']);
  expectShape(op, 'inputs.alphaRow', alphaRow, [mode.perToken ? l.m : 1]);
  expectShape(op, 'inputs.alphaCol', alphaCol, [mode.perChannel ? l.n : 1]);
  expectAttr(op, 'attrs.outDtype', ['f32', 'f16', 'bf16'].includes(outDtype), 'f32 | f16 | bf16', outDtype);
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [outDtype]);
    expectShape(op, 'inputs.bias', bias, [l.n]);
  }
  const c = DeviceTensor.empty(outDtype, [l.m, l.n]);
  native(op, () =>
    addon().int8Gemm({
      a: a.ptr, b: b.ptr, alphaRow: alphaRow.ptr, alphaCol: alphaCol.ptr, bias: bias?.ptr, c: c.ptr, m: l.m, n: l.n, k: l.k,
      transB: attrs.transB ?? false, perToken: mode.perToken, perChannel: mode.perChannel, outDtype: code(outDtype), epilogue: true, stream: stream?.handle,
    }),
  );
  return c;
}
