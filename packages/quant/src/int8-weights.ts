/**
 * SmoothQuant's INT8 weights and scales exactly as TensorRT-LLM's converter writes them
 * (examples/gpt/utils/convert.py `generate_int8`, run under numpy 1.x, the numpy of its era), for a
 * weight W [K, N] in FT layout (in × out; the QKV weight as [K, 3, N/3]) and the activation ranges
 * that calibration recorded for that GEMM: max |x| of its input, max |y| of its output and, per
 * output column j, max |W[:, j]|.
 *
 *   per tensor  sW_t = 127 / max_j wmax[j]        (binary64; QKV: one per Q, K, V part, in fp32)
 *   per column  sW_c[j] = fp32(127 / wmax[j])
 *   weight.int8[k, j]     = sat127(rne(W[k, j] · sW_t))    product in W's dtype (fp16 W: an fp16 product) — QKV: fp32
 *   weight.int8.col[k, j] = sat127(rne(fp32(W[k, j] · sW_c[j])))
 *   scale_w_quant_orig      = 1 / sW_t,  .col = fp32(1 / sW_c)
 *   scale_x_orig_quant = 127 / xmax,  scale_y_quant_orig = ymax / 127                 (binary64 → fp32)
 *   scale_y_accum_quant     = (127 / ymax) / ((127 / xmax) · sW_t)                      (binary64; QKV: fp32)
 *   scale_y_accum_quant.col = fp32(fp32(127 / ymax) / fp32(fp32(127 / xmax) · sW_c))     (fp32 ops)
 *
 * where rne rounds half to even and sat127 clamps to [−127, 127] (the converter's clip; the kernels'
 * activation quantizer uses [−128, 127]). Which operations run in binary64 and which in fp32 follows
 * numpy 1.x's value-based casting (a Python float or 0-d array against an fp32 array computes in fp32);
 * numpy 2 computes some of them differently. Every scale is stored as fp32. Checked against numpy
 * 1.24 running the same expressions (fixtures/int8-weights-reference.json).
 */
import { fromF16Bits, rni, tensor, toF16Bits, toF32, type Tensor } from '@trtllm/ref-math';
import { QuantError } from './errors.js';

/** Calibrated activation ranges of one GEMM (smoothquant.py's act_range entry). */
export interface ActRange {
  /**
   * max |x| over the calibration set, of the GEMM's input, exactly as calibration holds it: an fp32
   * value, or after smoothing (smoothing.ts) a binary64 one — the converter divides 127 by it in binary64.
   */
  readonly x: number;
  /** max |y|, of its output (an fp32 value). */
  readonly y: number;
  /** max |W[:, j]| per output column j (length N; QKV: Q's columns, then K's, then V's). */
  readonly w: Float32Array;
}

/** The eight arrays the converter writes for one GEMM, under their FT file names. */
export interface Int8Weights {
  readonly 'weight.int8': Tensor<'i8'>;
  readonly 'weight.int8.col': Tensor<'i8'>;
  readonly scale_x_orig_quant: Tensor<'f32'>;
  readonly scale_w_quant_orig: Tensor<'f32'>;
  readonly 'scale_w_quant_orig.col': Tensor<'f32'>;
  readonly scale_y_accum_quant: Tensor<'f32'>;
  readonly 'scale_y_accum_quant.col': Tensor<'f32'>;
  readonly scale_y_quant_orig: Tensor<'f32'>;
}

const f32 = Math.fround;
const f16 = (x: number): number => fromF16Bits(toF16Bits(x));

/** sat127(rni(v)): round half to even, then clamp to [−127, 127] (NaN stays NaN, which an Int8Array stores as 0). */
function quantize127(v: number): number {
  const r = rni(v);
  return r > 127 ? 127 : r < -127 ? -127 : r;
}

/** What generateInt8 and generateInt8Weight share: the checked input and both weight scales. */
interface Int8Plan {
  readonly wv: Float32Array;
  readonly k: number;
  readonly n: number;
  readonly qkv: boolean;
  readonly parts: number;
  readonly per: number;
  readonly partOf: (j: number) => number;
  /** Per-tensor weight scale per part: binary64 for a plain GEMM (a numpy float64 scalar), fp32 for QKV (an fp32 array). */
  readonly sWt: number[];
  /** Per-column weight scale fp32(127 / wmax[j]). */
  readonly sWc: Float32Array;
  readonly shape: number[];
  readonly colShape: number[];
}

function int8Plan(w: Tensor<'f32' | 'f16'>, range: ActRange, o: { readonly qkv?: boolean; readonly qkvParts?: readonly [number, number, number] }): Int8Plan {
  const what = 'generateInt8';
  if (w.dtype !== 'f32' && w.dtype !== 'f16') throw new QuantError({ what: `${what}: weight dtype`, expected: 'f32 or f16 (the storage types the converter quantizes)', got: w.dtype, hint: 'convert with --storage-type float32 or float16' });
  const k = w.shape[0]!;
  const n = w.shape.slice(1).reduce((a, b) => a * b, 1);
  if (o.qkv && (w.shape.length !== 3 || w.shape[1] !== 3) && n % 3 !== 0) throw new QuantError({ what: `${what}: QKV weight shape`, expected: '[K, 3, N/3] or [K, N] with N divisible by 3', got: `[${w.shape.join(', ')}]` });
  if (range.w.length !== n) throw new QuantError({ what: `${what}: act_range.w`, expected: `${n} per-column maxima (one per output column)`, got: `${range.w.length}` });
  for (const [name, v] of [['x', range.x], ['y', range.y], ...Array.from(range.w, (v, j) => [`w[${j}]`, v] as const)] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw new QuantError({ what: `${what}: act_range.${name}`, expected: 'a finite range > 0', got: String(v), hint: 'calibration saw no non-zero value here' });
  }
  const wv = toF32(w);
  const wmaxC = Float32Array.from(range.w, f32);
  const qkv = o.qkv === true || o.qkvParts !== undefined;
  if (o.qkvParts && o.qkvParts.reduce((a, b) => a + b, 0) !== n) throw new QuantError({ what: `${what}: qkvParts`, expected: `Q, K, V widths adding up to ${n}`, got: o.qkvParts.join(' + ') });
  const parts = qkv ? 3 : 1;
  const per = n / parts;
  // the part of each column: equal thirds (the seed's QKV), or the given widths (multi-query)
  const starts = o.qkvParts ? [0, o.qkvParts[0], o.qkvParts[0] + o.qkvParts[1], n] : Array.from({ length: parts + 1 }, (_, p) => p * per);
  const partOf = (j: number): number => (j < starts[1]! ? 0 : j < starts[2]! ? 1 : 2);
  const sWt = Array.from({ length: parts }, (_, p) => {
    const max = wmaxC.subarray(starts[p]!, starts[p + 1]!).reduce((a, b) => Math.max(a, b), 0);
    return qkv ? f32(127 / max) : 127 / max;
  });
  const sWc = Float32Array.from(wmaxC, (m) => f32(127 / m));
  const shape = o.qkvParts ? [k, n] : qkv ? [k, 3, per] : [k, n];
  const colShape = o.qkvParts ? [n] : qkv ? [3, per] : [n];
  return { wv, k, n, qkv, parts, per, partOf, sWt, sWc, shape, colShape };
}

/** weight.int8: W · sW_t, the product in W's dtype (fp16 W: an fp16 product) — QKV: fp32. */
function perTensorWeight(q: Int8Plan, dtype: 'f32' | 'f16'): Int8Array {
  const { wv, k, n, qkv } = q;
  // each column's multiplier, as the product below takes it
  const t = Float64Array.from({ length: n }, (_, j) => {
    const s = q.sWt[qkv ? q.partOf(j) : 0]!;
    return qkv ? s : dtype === 'f16' ? f16(s) : f32(s);
  });
  const out = new Int8Array(k * n);
  // a plain GEMM multiplies W by a float64 scalar in W's own dtype; QKV by an fp32 array, in fp32
  const round = qkv || dtype === 'f32' ? f32 : f16;
  for (let r = 0, at = 0; r < k; r++) for (let j = 0; j < n; j++, at++) out[at] = quantize127(round(wv[at]! * t[j]!));
  return out;
}

/** weight.int8.col: fp32(W[k, j] · sW_c[j]). */
function perColumnWeight(q: Int8Plan): Int8Array {
  const { wv, k, n, sWc } = q;
  const out = new Int8Array(k * n);
  for (let r = 0, at = 0; r < k; r++) for (let j = 0; j < n; j++, at++) out[at] = quantize127(f32(wv[at]! * sWc[j]!));
  return out;
}

/** scale_x_orig_quant, the per-tensor and per-column scale_w_quant_orig and scale_y_accum_quant, scale_y_quant_orig. */
function int8Scales(q: Int8Plan, range: ActRange, qkvParts: boolean): Omit<Int8Weights, 'weight.int8' | 'weight.int8.col'> {
  const { qkv, n, per, sWt, sWc, colShape } = q;
  const xOrig = 127 / range.x;
  const yOrig = 127 / range.y;
  const perTensor = (v: (p: number) => number): Tensor<'f32'> =>
    qkv ? tensor('f32', qkvParts ? [n] : [3, per], Float32Array.from({ length: n }, (_, j) => v(q.partOf(j)))) : tensor('f32', [1], Float32Array.of(v(0)));
  return {
    scale_x_orig_quant: tensor('f32', [1], Float32Array.of(xOrig)),
    scale_w_quant_orig: perTensor((p) => (qkv ? f32(1 / sWt[p]!) : 1 / sWt[p]!)),
    'scale_w_quant_orig.col': tensor('f32', colShape, Float32Array.from(sWc, (s) => f32(1 / s))),
    scale_y_accum_quant: perTensor((p) => (qkv ? f32(f32(yOrig) / f32(f32(xOrig) * sWt[p]!)) : yOrig / (xOrig * sWt[p]!))),
    'scale_y_accum_quant.col': tensor('f32', colShape, Float32Array.from(sWc, (s) => f32(f32(yOrig) / f32(f32(xOrig) * s)))),
    scale_y_quant_orig: tensor('f32', [1], Float32Array.of(range.y / 127)),
  };
}

/**
 * The converter's INT8 weights and scales for weight `w` ([K, N], or [K, 3, N/3] with `qkv`), fp32 or fp16.
 * `qkvParts` (beyond the seed, which refuses multi-query INT8): a multi-query QKV weight [K, N] whose Q, K
 * and V parts have these widths (e.g. [H, HS, HS]); each part gets its per-tensor scale, and the
 * per-tensor arrays come as [N] vectors (each part's value repeated over its columns) instead of [3, N/3].
 */
export function generateInt8(w: Tensor<'f32' | 'f16'>, range: ActRange, o: { readonly qkv?: boolean; readonly qkvParts?: readonly [number, number, number] } = {}): Int8Weights {
  const q = int8Plan(w, range, o);
  return {
    'weight.int8': tensor('i8', q.shape, perTensorWeight(q, w.dtype)),
    'weight.int8.col': tensor('i8', q.shape, perColumnWeight(q)),
    ...int8Scales(q, range, o.qkvParts !== undefined),
  };
}

/**
 * The one INT8 weight an engine of a per-channel or per-tensor mode reads, with its scale_w_quant_orig
 * and scale_x_orig_quant: the same arrays generateInt8 makes (`weight.int8.col` and
 * `scale_w_quant_orig.col`, or `weight.int8` and `scale_w_quant_orig`), at half its work.
 */
export function generateInt8Weight(
  w: Tensor<'f32' | 'f16'>,
  range: ActRange,
  o: { readonly qkv?: boolean; readonly qkvParts?: readonly [number, number, number]; readonly perChannel: boolean },
): { readonly weight: Tensor<'i8'>; readonly scaleW: Tensor<'f32'>; readonly scaleX: Tensor<'f32'> } {
  const q = int8Plan(w, range, o);
  const s = int8Scales(q, range, o.qkvParts !== undefined);
  return o.perChannel
    ? { weight: tensor('i8', q.shape, perColumnWeight(q)), scaleW: s['scale_w_quant_orig.col'], scaleX: s.scale_x_orig_quant }
    : { weight: tensor('i8', q.shape, perTensorWeight(q, w.dtype)), scaleW: s.scale_w_quant_orig, scaleX: s.scale_x_orig_quant };
}

/** max |W[:, j]| per output column of W [K, N] (≥ 1e-8, as smoothquant.py clips it): the `w` of an ActRange. */
export function columnAbsMax(w: Tensor<'f32' | 'f16' | 'bf16'>): Float32Array {
  const k = w.shape[0]!;
  const n = w.shape.slice(1).reduce((a, b) => a * b, 1);
  const v = toF32(w);
  const out = new Float32Array(n).fill(f32(1e-8));
  for (let r = 0; r < k; r++) for (let j = 0; j < n; j++) out[j] = Math.max(out[j]!, Math.abs(v[r * n + j]!));
  return out;
}
