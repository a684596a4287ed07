/**
 * layernorm — y = (x − mean) · rstd · γ + β per row, and the variant fused with per-token int8 quantization.
 *
 * Shapes: x [T, H], γ [H], β [H] (optional), y [T, H] in x.dtype.
 * Order, per row, fp32, h ascending, two passes (no sum-of-squares shortcut):
 *   mean = fp32(Σ_h x_h / H)                       sum rounded each step, then one division
 *   var  = fp32(Σ_h fp32(fp32(x_h − mean)²) / H)
 *   rstd = fp32(1 / fp32(sqrt(fp32(var + eps))))    eps = fp32(1e-5) by default
 *   y_h  = cast_T(fp32(fp32(fp32(x_h − mean) · rstd) · γ'_h) + β_h)
 * with γ' = γ, or γ' = fp32(γ + 1) for NeMo's layernorm1p.
 * layerNormQuantPerToken: y as above (rounded to T), then quantizePerToken(y): the fused kernel
 * must equal the two ops composed.
 */
import { expectDType, expectShape, type Shaped } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import type { LayerNormAttrs, LayerNormInputs, QuantizedPerToken } from '../op-specs.js';
import { fromF32, tensor, toF32, type Tensor } from '../tensor.js';
import { quantizeRowsPerToken } from './quantize.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];
export const DEFAULT_LAYERNORM_EPS = 1e-5;

/** The layerNorm op's input checks, shared by every backend: returns [rows, H]. */
export function checkLayerNorm(inputs: { readonly x: Shaped; readonly gamma: Shaped; readonly beta?: Shaped | undefined }): [number, number] {
  const { x, gamma, beta } = inputs;
  expectDType('layerNorm', 'inputs.x', x, ACT);
  const [rows, h] = expectShape('layerNorm', 'inputs.x', x, ['T', 'H']) as [number, number];
  expectDType('layerNorm', 'inputs.gamma', gamma, ACT);
  expectShape('layerNorm', 'inputs.gamma', gamma, [h]);
  if (beta) {
    expectDType('layerNorm', 'inputs.beta', beta, ACT);
    expectShape('layerNorm', 'inputs.beta', beta, [h]);
  }
  return [rows, h];
}

export function layerNorm(inputs: LayerNormInputs, attrs: LayerNormAttrs = {}): Tensor<ActDType> {
  const { x, gamma, beta } = inputs;
  const [rows, h] = checkLayerNorm(inputs);
  const eps = f32(attrs.eps ?? DEFAULT_LAYERNORM_EPS);
  const xv = toF32(x);
  const g = Float32Array.from(toF32(gamma), (v) => (attrs.weightPlusOne ? f32(v + 1) : v));
  const b = beta ? toF32(beta) : undefined;
  const out = new Float32Array(rows * h);
  for (let t = 0; t < rows; t++) {
    const row = t * h;
    let sum = 0;
    for (let i = 0; i < h; i++) sum = f32(sum + xv[row + i]!);
    const mean = f32(sum / h);
    let sq = 0;
    for (let i = 0; i < h; i++) {
      const d = f32(xv[row + i]! - mean);
      sq = f32(sq + f32(d * d));
    }
    const variance = f32(sq / h);
    const rstd = f32(1 / f32(Math.sqrt(f32(variance + eps))));
    for (let i = 0; i < h; i++) {
      const y = f32(f32(f32(xv[row + i]! - mean) * rstd) * g[i]!);
      out[row + i] = b ? f32(y + b[i]!) : y;
    }
  }
  return fromF32(x.dtype, [rows, h], out);
}

/** LayerNorm whose output (rounded to x.dtype) is quantized per token to int8. */
export function layerNormQuantPerToken(inputs: LayerNormInputs, attrs: LayerNormAttrs = {}): QuantizedPerToken {
  const y = layerNorm(inputs, attrs);
  const [rows, h] = y.shape as [number, number];
  const { q, scale } = quantizeRowsPerToken(toF32(y), rows, h);
  return { q: tensor('i8', [rows, h], q), scale: tensor('f32', [rows], scale) };
}
