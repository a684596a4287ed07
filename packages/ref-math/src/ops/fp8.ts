/**
 * fp8 — e4m3fn quantization with a per-tensor scale, and the FP8 GEMM semantics.
 *
 * quantize:   q = e4m3(fp32(x · scale))          round to nearest even, saturating to ±448
 * dequantize: x = cast_T(fp32(value(q) · scale))
 * fp8Gemm:    acc = Σ_k fp32(A[i,k]·B[k,j]), k ascending in fp32 (products of e4m3 values are exact)
 *             out = cast_T(fp32(fp32(acc · fp32(scaleA · scaleB)) + bias[j]))
 * i.e. cuBLASLt's D = alpha·(A·B) + bias with alpha = scaleA·scaleB, bias in the fp32 compute type.
 */
import { expectAttr, expectDType, expectShape, type Shaped } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { toFp8E4m3Bits } from '../numerics/minifloat.js';
import type { Fp8DequantizeAttrs, Fp8DequantizeInputs, Fp8GemmAttrs, Fp8GemmInputs, Fp8QuantizeAttrs, Fp8QuantizeInputs } from '../op-specs.js';
import { fromF32, tensor, toF32, type Tensor } from '../tensor.js';
import { addBiasF32, matmulF32, matmulLayout, type MatmulLayout } from './gemm.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];
const positiveScale = (op: string, what: string, s: number): void =>
  expectAttr(op, what, Number.isFinite(s) && s > 0, 'a finite scale > 0', s);

export function quantizeFp8(inputs: Fp8QuantizeInputs, attrs: Fp8QuantizeAttrs): Tensor<'fp8e4m3'> {
  expectDType('quantizeFp8', 'inputs.x', inputs.x, ACT);
  positiveScale('quantizeFp8', 'attrs.scale', attrs.scale);
  const xv = toF32(inputs.x);
  const s = f32(attrs.scale);
  const q = tensor('fp8e4m3', inputs.x.shape);
  for (let i = 0; i < xv.length; i++) q.data[i] = toFp8E4m3Bits(f32(xv[i]! * s));
  return q;
}

export function dequantizeFp8(inputs: Fp8DequantizeInputs, attrs: Fp8DequantizeAttrs): Tensor<ActDType> {
  expectDType('dequantizeFp8', 'inputs.q', inputs.q, ['fp8e4m3']);
  positiveScale('dequantizeFp8', 'attrs.scale', attrs.scale);
  const q = toF32(inputs.q);
  const s = f32(attrs.scale);
  const v = new Float32Array(q.length);
  for (let i = 0; i < v.length; i++) v[i] = f32(q[i]! * s);
  return fromF32(attrs.outDtype, inputs.q.shape, v);
}

/** The fp8Gemm op's input checks, shared by every backend. */
export function checkFp8Gemm(inputs: { readonly a: Shaped; readonly b: Shaped; readonly bias?: Shaped | undefined }, attrs: Fp8GemmAttrs): MatmulLayout {
  const { a, b, bias } = inputs;
  expectDType('fp8Gemm', 'inputs.a', a, ['fp8e4m3']);
  expectDType('fp8Gemm', 'inputs.b', b, ['fp8e4m3']);
  positiveScale('fp8Gemm', 'attrs.scaleA', attrs.scaleA);
  positiveScale('fp8Gemm', 'attrs.scaleB', attrs.scaleB);
  const l = matmulLayout('fp8Gemm', a, b, false, attrs.transB);
  if (bias) {
    expectDType('fp8Gemm', 'inputs.bias', bias, ACT);
    expectShape('fp8Gemm', 'inputs.bias', bias, [l.n]);
  }
  return l;
}

export function fp8Gemm(inputs: Fp8GemmInputs, attrs: Fp8GemmAttrs): Tensor<ActDType> {
  const { a, b, bias } = inputs;
  const l = checkFp8Gemm(inputs, attrs);
  const acc = matmulF32(toF32(a), toF32(b), l);
  const alpha = f32(f32(attrs.scaleA) * f32(attrs.scaleB));
  for (let i = 0; i < acc.length; i++) acc[i] = f32(acc[i]! * alpha);
  if (bias) addBiasF32(acc, l.n, toF32(bias));
  return fromF32(attrs.outDtype, [l.m, l.n], acc);
}
