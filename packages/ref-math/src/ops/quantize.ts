/**
 * quantize — int8 quantization of activations, per tensor and per token, and dequantization.
 *
 * perTensor:  q = sat_s8(rni(fp32(x · scale)))                       (numerics/int8.ts)
 * perToken:   for each row t of x [T, H]:
 *               rowMax = max(1e-6, max_h |x[t,h]|)          (fp32; max is exact)
 *               qs     = fp32(127 / rowMax)                  the orig → quant multiplier
 *               q[t,h] = sat_s8(rni(fp32(x[t,h] · qs)))
 *               scale[t] = fp32(rowMax / 127)                the quant → orig multiplier (output)
 *             (as TensorRT-LLM's per-token quantization kernel computes it)
 * dequantize: x = cast_T(fp32(q · scale[t or 0]))
 * absMaxColumns (calibration): out[j] = max(acc[j], max_t |x[t,j]|) — exact (max rounds nothing);
 *             what SmoothQuant's calibration records of every linear layer's input and output.
 */
import { expectAttr, expectDType, expectShape } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { quantizeInt8 } from '../numerics/int8.js';
import type {
  AbsMaxColumnsInputs,
  DequantizeAttrs,
  DequantizeInputs,
  QuantizedPerToken,
  QuantizePerTensorAttrs,
  QuantizePerTensorInputs,
  QuantizePerTokenInputs,
} from '../op-specs.js';
import { fromF32, tensor, toF32, type Tensor } from '../tensor.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];
/** Floor of a row's max |x| (keeps the scale finite for an all-zero row). */
export const PER_TOKEN_MIN_ROW_MAX = f32(1e-6);

export function quantizePerTensor(inputs: QuantizePerTensorInputs, attrs: QuantizePerTensorAttrs): Tensor<'i8'> {
  const { x } = inputs;
  expectDType('quantizePerTensor', 'inputs.x', x, ACT);
  expectAttr('quantizePerTensor', 'attrs.scale', Number.isFinite(attrs.scale) && attrs.scale > 0, 'a finite scale > 0', attrs.scale);
  const xv = toF32(x);
  const q = tensor('i8', x.shape);
  for (let i = 0; i < xv.length; i++) q.data[i] = quantizeInt8(xv[i]!, attrs.scale);
  return q;
}

/** Quantize one row per token; also the back half of the fused layerNormQuantPerToken. */
export function quantizeRowsPerToken(xv: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let t = 0; t < rows; t++) {
    let rowMax = PER_TOKEN_MIN_ROW_MAX;
    for (let h = 0; h < cols; h++) rowMax = Math.max(rowMax, Math.abs(xv[t * cols + h]!));
    const qs = f32(127 / rowMax);
    for (let h = 0; h < cols; h++) q[t * cols + h] = quantizeInt8(xv[t * cols + h]!, qs);
    scale[t] = f32(rowMax / 127);
  }
  return { q, scale };
}

export function quantizePerToken(inputs: QuantizePerTokenInputs): QuantizedPerToken {
  const { x } = inputs;
  expectDType('quantizePerToken', 'inputs.x', x, ACT);
  const [rows, cols] = expectShape('quantizePerToken', 'inputs.x', x, ['T', 'H']) as [number, number];
  const { q, scale } = quantizeRowsPerToken(toF32(x), rows, cols);
  return { q: tensor('i8', [rows, cols], q), scale: tensor('f32', [rows], scale) };
}

export function dequantize(inputs: DequantizeInputs, attrs: DequantizeAttrs): Tensor<ActDType> {
  const { q, scale } = inputs;
  expectDType('dequantize', 'inputs.q', q, ['i8']);
  expectDType('dequantize', 'inputs.scale', scale, ['f32']);
  const [rows, cols] = expectShape('dequantize', 'inputs.q', q, ['T', 'H']) as [number, number];
  const perToken = scale.data.length !== 1;
  if (perToken) expectShape('dequantize', 'inputs.scale', scale, [rows]);
  const out = new Float32Array(rows * cols);
  for (let t = 0; t < rows; t++) {
    const s = scale.data[perToken ? t : 0]!;
    for (let h = 0; h < cols; h++) out[t * cols + h] = f32(q.data[t * cols + h]! * s);
  }
  return fromF32(attrs.outDtype, [rows, cols], out);
}

/** The running max |x| per column of x [M, N], starting from `acc` (or 0). */
export function absMaxColumns(inputs: AbsMaxColumnsInputs): Tensor<'f32'> {
  const { x, acc } = inputs;
  expectDType('absMaxColumns', 'inputs.x', x, ACT);
  const [m, n] = expectShape('absMaxColumns', 'inputs.x', x, ['M', 'N']) as [number, number];
  const out = tensor('f32', [n]);
  if (acc) {
    expectDType('absMaxColumns', 'inputs.acc', acc, ['f32']);
    expectShape('absMaxColumns', 'inputs.acc', acc, [n]);
    out.data.set(acc.data);
  }
  const v = toF32(x);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out.data[j] = Math.max(out.data[j]!, Math.abs(v[i * n + j]!));
  return out;
}
