/**
 * FP8 (e4m3) weights and scales for a GEMM with per-tensor scaling, the layout TensorRT-LLM's FP8
 * engines use (one scale per tensor; activations quantized with a static calibrated scale):
 *
 *   weight.fp8          = e4m3(fp32(W · s_w)),  s_w = fp32(448 / max|W|)   (round to nearest even, saturating)
 *   scale_w_quant_orig  = fp32(max|W| / 448)                               (dequantizes the weight)
 *   scale_x_orig_quant  = fp32(448 / xmax)                                  (quantizes the activation)
 *
 * so the GEMM computes y = (x_q · W_q) · (1 / scale_x_orig_quant) · scale_w_quant_orig (+ bias),
 * ref-math fp8Gemm with scaleA = fp32(1 / scale_x_orig_quant) and scaleB = scale_w_quant_orig.
 * 448 is e4m3fn's largest finite value: the tensor's largest |value| maps onto it.
 */
import { quantizeFp8, tensor, toF32, type Tensor } from '@trtllm/ref-math';
import { QuantError } from './errors.js';

/** e4m3's largest finite magnitude. */
export const FP8_E4M3_MAX = 448;

export interface Fp8Weights {
  readonly 'weight.fp8': Tensor<'fp8e4m3'>;
  readonly scale_w_quant_orig: Tensor<'f32'>;
  readonly scale_x_orig_quant: Tensor<'f32'>;
}

const f32 = Math.fround;

/** FP8 weight and scales for weight `w` (any shape) and the calibrated max |x| of the GEMM's input. */
export function generateFp8(w: Tensor<'f32' | 'f16' | 'bf16'>, range: { readonly x: number }): Fp8Weights {
  if (!(range.x > 0) || !Number.isFinite(range.x)) throw new QuantError({ what: 'generateFp8: act_range.x', expected: 'a finite range > 0', got: String(range.x), hint: 'calibration saw no non-zero value here' });
  const amax = toF32(w).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  if (!(amax > 0)) throw new QuantError({ what: 'generateFp8: weight', expected: 'a weight with a non-zero value', got: 'all zeros' });
  const toQuant = f32(FP8_E4M3_MAX / amax);
  return {
    'weight.fp8': quantizeFp8({ x: w }, { scale: toQuant }),
    scale_w_quant_orig: tensor('f32', [1], Float32Array.of(amax / FP8_E4M3_MAX)),
    scale_x_orig_quant: tensor('f32', [1], Float32Array.of(FP8_E4M3_MAX / f32(range.x))),
  };
}
