/**
 * fp8 on the device — e4m3 quantize / dequantize and the FP8 GEMM (csrc/fp8.cu: reference kernels,
 * tier 1), and the production FP8 GEMM fp8GemmLt (csrc/fp8-gemm-lt.cu: cuBLASLt on FP8 tensor cores,
 * compute capability ≥ 8.9, tier 3).
 */
import {
  checkFp8Gemm, expectAttr, expectDType, expectShape, matmulLayout, numel,
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

/**
 * The production FP8 GEMM (tier 3): out = T(scaleA · scaleB · (a · bᵀ) + bias), a [M, K] and b [N, K]
 * e4m3, fp32 accumulation on FP8 tensor cores (cuBLASLt), the scales f32 [1] tensors on the device (so
 * a captured CUDA graph reads the layer's scales, not constants), the bias [N] in the output dtype.
 * What FP8 tensor cores cannot run (fp8GemmLtUnsupported: a GPU below 8.9, N or K not a multiple of 16,
 * an fp32 output; also misaligned views and shapes with no cuBLASLt algorithm) runs the reference order
 * with the same device scales, inside the same call.
 */
export function fp8GemmLt(
  inputs: { readonly a: DeviceTensor<'fp8e4m3'>; readonly b: DeviceTensor<'fp8e4m3'>; readonly scaleA: DeviceTensor<'f32'>; readonly scaleB: DeviceTensor<'f32'>; readonly bias?: DeviceTensor<ActDType> },
  attrs: { readonly outDtype: ActDType },
  stream?: Stream,
): DeviceTensor<ActDType> {
  const op = 'fp8GemmLt';
  const { a, b, bias } = inputs;
  expectDType(op, 'inputs.a', a, ['fp8e4m3']);
  expectDType(op, 'inputs.b', b, ['fp8e4m3']);
  expectShape(op, 'inputs.scaleA', inputs.scaleA, [1]);
  expectShape(op, 'inputs.scaleB', inputs.scaleB, [1]);
  const l = matmulLayout(op, a, b, false, true);
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [attrs.outDtype]);
    expectShape(op, 'inputs.bias', bias, [l.n]);
  }
  const out = DeviceTensor.empty(attrs.outDtype, [l.m, l.n]);
  native(op, () =>
    addon().fp8GemmLt({
      a: a.ptr, b: b.ptr, bias: bias?.ptr, out: out.ptr, scaleA: inputs.scaleA.ptr, scaleB: inputs.scaleB.ptr,
      m: l.m, n: l.n, k: l.k, outDtype: code(attrs.outDtype), stream: stream?.handle,
    }),
  );
  return out;
}

/** Why fp8GemmLt cannot run an [N, K] weight with this output dtype on this device's FP8 tensor cores ('' when it can; it then takes the reference order). */
export function fp8GemmLtUnsupported(n: number, k: number, outDtype: ActDType): string {
  return native('fp8GemmLtUnsupported', () => addon().fp8GemmLtUnsupported({ n, k, outDtype: code(outDtype) }));
}

/** One line per (M, N, K, dtype, bias) fp8GemmLt has planned: cuBLASLt's algorithm. */
export function fp8GemmLtAlgorithms(): string {
  return native('fp8GemmLtAlgorithms', () => addon().fp8GemmLtAlgorithms());
}
