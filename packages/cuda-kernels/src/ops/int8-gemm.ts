/**
 * int8-gemm on the device — exact int32 GEMM and the SmoothQuant epilogue: reference kernels
 * (csrc/int8-gemm.cu), and the production pair int8GemmLt (cuBLASLt tensor-core INT8, csrc/int8-gemm-lt.cu)
 * + smoothQuantEpilogue. All tier 1: an int32 sum is exact in any order, the epilogue is elementwise.
 */
import {
  expectAttr, expectDType, expectShape, matmulLayout,
  type ActDType, type Int8GemmAttrs, type Int8GemmInputs, type SmoothQuantEpilogueAttrs, type SmoothQuantEpilogueInputs, type SmoothQuantGemmAttrs, type SmoothQuantGemmInputs,
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

/**
 * a [M, K] · bᵀ for b [N, K] (K contiguous), int8 → int32 on tensor cores (cuBLASLt IMMA); shapes IMMA
 * cannot run (N or K not a multiple of 4) take the reference kernel. Equals ref-math
 * int8Gemm({a, b}, {transB: true}) bit for bit.
 */
export function int8GemmLt(inputs: { readonly a: DeviceTensor<'i8'>; readonly b: DeviceTensor<'i8'> }, stream?: Stream): DeviceTensor<'i32'> {
  const { a, b } = inputs;
  expectDType('int8GemmLt', 'inputs.a', a, ['i8']);
  expectDType('int8GemmLt', 'inputs.b', b, ['i8']);
  const l = matmulLayout('int8GemmLt', a, b, false, true);
  const c = DeviceTensor.empty('i32', [l.m, l.n]);
  native('int8GemmLt', () => addon().int8GemmLt({ a: a.ptr, b: b.ptr, c: c.ptr, m: l.m, n: l.n, k: l.k, stream: stream?.handle }));
  return c;
}

/** Why int8GemmLt runs an [N, K] weight on the reference kernel instead of IMMA ('' when it does not). */
export function int8GemmLtUnsupported(n: number, k: number): string {
  return native('int8GemmLtUnsupported', () => addon().int8GemmLtUnsupported({ n, k }));
}

/** One line per (M, N, K) int8GemmLt has planned: cuBLASLt's algorithm, or the reference kernel. */
export function int8GemmLtAlgorithms(): string {
  return native('int8GemmLtAlgorithms', () => addon().int8GemmLtAlgorithms());
}

/** The SmoothQuant epilogue over an int32 accumulator, then GELU and + residual (ref-math smoothQuantEpilogue). */
export function smoothQuantEpilogue(inputs: OnDevice<SmoothQuantEpilogueInputs>, attrs: SmoothQuantEpilogueAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'smoothQuantEpilogue';
  const { acc, alphaRow, alphaCol, bias, residual } = inputs;
  const { outDtype, mode } = attrs;
  expectDType(op, 'inputs.acc', acc, ['i32']);
  const [m, n] = expectShape(op, 'inputs.acc', acc, ['M', 'N']) as [number, number];
  expectDType(op, 'inputs.alphaRow', alphaRow, ['f32']);
  expectDType(op, 'inputs.alphaCol', alphaCol, ['f32']);
  expectShape(op, 'inputs.alphaRow', alphaRow, [mode.perToken ? m : 1]);
  expectShape(op, 'inputs.alphaCol', alphaCol, [mode.perChannel ? n : 1]);
  expectAttr(op, 'attrs.outDtype', ['f32', 'f16', 'bf16'].includes(outDtype), 'f32 | f16 | bf16', outDtype);
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [outDtype]);
    expectShape(op, 'inputs.bias', bias, [n]);
  }
  if (residual) {
    expectDType(op, 'inputs.residual', residual, [outDtype]);
    expectShape(op, 'inputs.residual', residual, [m, n]);
  }
  const out = DeviceTensor.empty(outDtype, [m, n]);
  native(op, () =>
    addon().smoothQuantEpilogue({
      acc: acc.ptr, alphaRow: alphaRow.ptr, alphaCol: alphaCol.ptr, bias: bias?.ptr, residual: residual?.ptr, out: out.ptr, m, n,
      perToken: mode.perToken, perChannel: mode.perChannel, gelu: attrs.gelu ?? false, outDtype: code(outDtype), stream: stream?.handle,
    }),
  );
  return out;
}
