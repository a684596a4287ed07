/**
 * SmoothQuant smoothing (Xiao et al. 2022, arXiv 2211.10438) as TensorRT-LLM's examples/gpt
 * (smoothquant.py smooth_gemm / apply_smoothing, hf_gpt_convert.py smooth_gpt_model) computes it.
 *
 * A GEMM y = x·W whose input x comes from a LayerNorm has activation outliers in a few input channels.
 * Dividing input channel k of x by s[k] and multiplying row k of W by s[k] leaves y unchanged, and
 * with the division folded into the LayerNorm's γ and β it costs nothing at run time:
 *
 *   wmax[k] = max_j |W[k, j]|                                  fp32 (per input channel of W [K, N])
 *   s[k]    = max(1e-5, xmax[k]^α / wmax[k]^(1−α))            xmax^α in binary64, wmax^(1−α) in fp32
 *   γ[k] ← fp32(γ[k] / s[k]),  β[k] ← fp32(β[k] / s[k])       (layernorm1p: γ ← fp32(γ + (1/s − 1)))
 *   W[k, j] ← fp32(W[k, j] · s[k])
 *   xmax[k] ← xmax[k] / s[k]                                   binary64 (the calibrated input range, smoothed)
 *
 * where xmax is the calibrated max |x| per input channel (fp32) and α ∈ [0, 1] moves quantization
 * difficulty from activations (α → 1) to weights (α → 0). The divisions and products run in binary64
 * and round once to fp32, as torch computes an fp32 tensor's in-place op with a float64 operand. The
 * seed's clamp of wmax to 1e-5 is discarded there (its result is never used), so wmax is not clamped here
 * either; s is. The smoothed layer's weight range per output column is then taken again from the new W.
 */
import { QuantError } from './errors.js';

const f32 = Math.fround;

/** fp32 a^b as torch computes an fp32 tensor to a Python-float power: correctly rounded here (powf is within 1 ulp). */
const powF32 = (a: number, b: number): number => f32(Math.pow(a, b));

/** The smoothing scales s [K] of one GEMM: from its input's calibrated max |x| per channel and its weight W [K, N] (fp32 values, row-major). */
export function smoothingScales(xmax: Float32Array | Float64Array, w: Float32Array, k: number, alpha: number): Float64Array {
  if (!(alpha >= 0 && alpha <= 1)) throw new QuantError({ what: 'SmoothQuant α', expected: 'a number in [0, 1]', got: String(alpha), hint: 'a good first try is 0.5' });
  if (xmax.length !== k) throw new QuantError({ what: 'smoothing: activation range', expected: `${k} per-channel maxima (one per input channel)`, got: String(xmax.length) });
  if (w.length % k !== 0) throw new QuantError({ what: 'smoothing: weight', expected: `[${k}, N] values`, got: `${w.length} values` });
  const n = w.length / k;
  const s = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    let m = 0;
    for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(w[r * n + j]!));
    s[r] = Math.max(1e-5, Math.pow(xmax[r]!, alpha) / powF32(m, 1 - alpha));
  }
  return s;
}

/** The smoothed GEMM: W [K, N] with row k times s[k], and γ, β of its LayerNorm divided by s (new arrays). */
export function applySmoothing(
  s: Float64Array,
  o: { readonly w: Float32Array; readonly gamma: Float32Array; readonly beta?: Float32Array; readonly layernorm1p?: boolean },
): { w: Float32Array; gamma: Float32Array; beta?: Float32Array } {
  const k = s.length;
  const n = o.w.length / k;
  if (o.gamma.length !== k || (o.beta && o.beta.length !== k)) throw new QuantError({ what: 'smoothing: LayerNorm', expected: `γ and β of ${k} channels`, got: `${o.gamma.length} and ${o.beta?.length ?? 'no'}` });
  const w = new Float32Array(o.w.length);
  for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) w[r * n + j] = f32(o.w[r * n + j]! * s[r]!);
  // layernorm1p models store γ − 1: divide γ, then add (1/s − 1), as the seed's apply_smoothing does
  const gamma = Float32Array.from(o.gamma, (g, r) => f32(g / s[r]!));
  if (o.layernorm1p) gamma.forEach((g, r) => (gamma[r] = f32(g + (1 / s[r]! - 1))));
  const out: { w: Float32Array; gamma: Float32Array; beta?: Float32Array } = { w, gamma };
  if (o.beta) out.beta = Float32Array.from(o.beta, (b, r) => f32(b / s[r]!));
  return out;
}
