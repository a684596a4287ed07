/**
 * int8-gemm — exact int8 × int8 → int32 GEMM, and the SmoothQuant epilogue on top of it.
 *
 * Shapes: A [M, K] i8, B [K, N] i8 ([N, K] with transB), C [M, N].
 * int8Gemm:  acc[i,j] = Σ_k A[i,k]·B[k,j], k ascending, in int32 with two's-complement wrap-around
 *            (exact: |A·B| ≤ 2^14, so K < 2^17 never wraps; the wrap is specified for completeness).
 * smoothQuantGemm (ARCHITECTURE.md, Numerics):
 *   y[i,j] = cast_T(fp32(fp32(acc[i,j]) · fp32(alphaCol[j] · alphaRow[i])))   scale product first
 *   out[i,j] = cast_T(fp32(y[i,j] + bias[j]))                                  bias after, in T
 * where fp32(acc) rounds int32 → fp32 to nearest even (exact for |acc| ≤ 2^24). alphaRow is [M]
 * for per-token, else [1]; alphaCol is [N] for per-channel, else [1].
 * smoothQuantEpilogue is the same epilogue over a given int32 accumulator (a tensor-core GEMM's output),
 * optionally followed by GELU and a residual add, each rounded to T as the separate ops round:
 *   out = cast_T(geluF32(out))                 with gelu (ops/activation.ts)
 *   out = cast_T(fp32(residual + out))         with a residual (ops/residual.ts)
 */
import { expectAttr, expectDType, expectShape } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { geluF32 } from '../numerics/transcendental.js';
import type { Int8GemmAttrs, Int8GemmInputs, SmoothQuantEpilogueAttrs, SmoothQuantEpilogueInputs, SmoothQuantGemmAttrs, SmoothQuantGemmInputs } from '../op-specs.js';
import { encodeValue, decodeValue, tensor, toF32, type Tensor } from '../tensor.js';
import { matmulLayout } from './gemm.js';

/** int8 × int8 → int32, exact. */
export function int8Gemm(inputs: Int8GemmInputs, attrs: Int8GemmAttrs = {}): Tensor<'i32'> {
  const { a, b } = inputs;
  expectDType('int8Gemm', 'inputs.a', a, ['i8']);
  expectDType('int8Gemm', 'inputs.b', b, ['i8']);
  const l = matmulLayout('int8Gemm', a, b, false, attrs.transB);
  const out = tensor('i32', [l.m, l.n]);
  for (let i = 0; i < l.m; i++) {
    for (let j = 0; j < l.n; j++) {
      let acc = 0;
      for (let p = 0; p < l.k; p++) acc = (acc + a.data[i * l.aRow + p * l.aCol]! * b.data[p * l.bRow + j * l.bCol]!) | 0;
      out.data[i * l.n + j] = acc;
    }
  }
  return out;
}

/** int8 GEMM with the SmoothQuant dequantization epilogue (per-tensor / per-token / per-channel / both). */
export function smoothQuantGemm(inputs: SmoothQuantGemmInputs, attrs: SmoothQuantGemmAttrs): Tensor<ActDType> {
  const { alphaRow, alphaCol, bias } = inputs;
  const acc = int8Gemm(inputs, attrs);
  return epilogue('smoothQuantGemm', bias ? { acc, alphaRow, alphaCol, bias } : { acc, alphaRow, alphaCol }, attrs);
}

/** The SmoothQuant epilogue over an int32 accumulator [M, N], then GELU and + residual when asked. */
export function smoothQuantEpilogue(inputs: SmoothQuantEpilogueInputs, attrs: SmoothQuantEpilogueAttrs): Tensor<ActDType> {
  expectDType('smoothQuantEpilogue', 'inputs.acc', inputs.acc, ['i32']);
  expectShape('smoothQuantEpilogue', 'inputs.acc', inputs.acc, ['M', 'N']);
  return epilogue('smoothQuantEpilogue', inputs, attrs);
}

function epilogue(op: string, inputs: SmoothQuantEpilogueInputs, attrs: SmoothQuantEpilogueAttrs): Tensor<ActDType> {
  const { acc, alphaRow, alphaCol, bias, residual } = inputs;
  const [m, n] = acc.shape as [number, number];
  const { outDtype, mode } = attrs;
  expectDType(op, 'inputs.alphaRow', alphaRow, ['f32']);
  expectDType(op, 'inputs.alphaCol', alphaCol, ['f32']);
  expectShape(op, 'inputs.alphaRow', alphaRow, [mode.perToken ? m : 1]);
  expectShape(op, 'inputs.alphaCol', alphaCol, [mode.perChannel ? n : 1]);
  expectAttr(op, 'attrs.outDtype', ['f32', 'f16', 'bf16'].includes(outDtype), 'f32 | f16 | bf16', outDtype);
  let biasV: Float32Array | undefined;
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [outDtype]);
    expectShape(op, 'inputs.bias', bias, [n]);
    biasV = toF32(bias);
  }
  let resV: Float32Array | undefined;
  if (residual) {
    expectDType(op, 'inputs.residual', residual, [outDtype]);
    expectShape(op, 'inputs.residual', residual, [m, n]);
    resV = toF32(residual);
  }
  const out = tensor(outDtype, [m, n]);
  for (let i = 0; i < m; i++) {
    const ar = alphaRow.data[mode.perToken ? i : 0]!;
    for (let j = 0; j < n; j++) {
      const alpha = f32(alphaCol.data[mode.perChannel ? j : 0]! * ar);
      let y = encodeValue(outDtype, f32(f32(acc.data[i * n + j]!) * alpha));
      if (biasV) y = encodeValue(outDtype, f32(decodeValue(outDtype, y) + biasV[j]!));
      if (attrs.gelu) y = encodeValue(outDtype, geluF32(decodeValue(outDtype, y)));
      if (resV) y = encodeValue(outDtype, f32(resV[i * n + j]! + decodeValue(outDtype, y)));
      out.data[i * n + j] = y;
    }
  }
  return out;
}
