/** fp8 on the device — e4m3 quantize / dequantize and the FP8 GEMM (csrc/fp8.cu). */
import {
  checkFp8Gemm, expectAttr, expectDType, numel,
  type ActDType, type Fp8DequantizeAttrs, type Fp8DequantizeInputs, type Fp8GemmAttrs, type Fp8GemmInputs, type Fp8QuantizeAttrs, type Fp8QuantizeInputs,
} from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];
const positive = (op: string, what: string, s: number): void => expectAttr(op, what, Number.isFinite(s) && s > 0, 'a finite scale > 0', s);

export function quantizeFp8(inputs: OnDevice<Fp8QuantizeInputs>, attrs: Fp8QuantizeAttrs, stream?: Stream): DeviceTensor<'fp8e4m3'> {
  expectDType('quantizeFp8', 'inputs.x', inputs.x, ACT);
  positive('quantizeFp8', 'attrs.scale', attrs.scale);
  const q = DeviceTensor.empty('fp8e4m3', inputs.x.shape);
  native('quantizeFp8', () => addon().fp8({ mode: 0, x: inputs.x.ptr, q: q.ptr, n: numel(q.shape), scale: attrs.scale, xDtype: code(inputs.x.dtype), stream: stream?.handle }));
  return q;
}

export function dequantizeFp8(inputs: OnDevice<Fp8DequantizeInputs>, attrs: Fp8DequantizeAttrs, stream?: Stream): DeviceTensor<ActDType> {
  expectDType('dequantizeFp8', 'inputs.q', inputs.q, ['fp8e4m3']);
  positive('dequantizeFp8', 'attrs.scale', attrs.scale);
  const out = DeviceTensor.empty(attrs.outDtype, inputs.q.shape);
  native('dequantizeFp8', () => addon().fp8({ mode: 1, q: inputs.q.ptr, out: out.ptr, n: numel(out.shape), scale: attrs.scale, outDtype: code(attrs.outDtype), stream: stream?.handle }));
  return out;
}

export function fp8Gemm(inputs: OnDevice<Fp8GemmInputs>, attrs: Fp8GemmAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const { a, b, bias } = inputs;
  const l = checkFp8Gemm(inputs, attrs);
  const c = DeviceTensor.empty(attrs.outDtype, [l.m, l.n]);
  native('fp8Gemm', () =>
    addon().fp8({
      mode: 2, a: a.ptr, b: b.ptr, bias: bias?.ptr, c: c.ptr, m: l.m, n: l.n, k: l.k, transB: attrs.transB ?? false,
      scaleA: attrs.scaleA, scaleB: attrs.scaleB, biasDtype: code(bias?.dtype ?? 'f32'), outDtype: code(attrs.outDtype), stream: stream?.handle,
    }),
  );
  return c;
}
