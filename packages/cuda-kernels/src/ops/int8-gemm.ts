/**
 * int8-gemm on the device — exact int32 GEMM and the SmoothQuant epilogue: reference kernels
 * (csrc/int8-gemm.cu); the production pair int8GemmLt (cuBLASLt tensor-core INT8, csrc/int8-gemm-lt.cu)
 * + smoothQuantEpilogue; and int8GemmDecode (csrc/int8-gemm-decode.cu), the two in one kernel for the
 * few rows of a decode step. All tier 1: an int32 sum is exact in any order, the epilogue is elementwise.
 */
import {
  DEFAULT_LAYERNORM_EPS, expectAttr, expectDType, expectShape, matmulLayout,
  type ActDType, type Int8GemmAttrs, type Int8GemmInputs, type SmoothQuantEpilogueAttrs, type SmoothQuantEpilogueInputs, type SmoothQuantGemmAttrs, type SmoothQuantGemmInputs,
} from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';
import { streamPlan, type StreamPlan } from '../stream-plan.js';

/**
 * The SmoothQuant epilogue's operands for an [m, n] result: the output dtype; row scales [m] per token
 * or [1] (`alphaRow` null where the kernel computes them); column scales [n] per channel or [1]; the
 * bias [n] and the residual [m, n] in the output dtype.
 */
function checkEpilogue(
  op: string, m: number, n: number, attrs: { readonly outDtype: ActDType; readonly mode: { readonly perToken: boolean; readonly perChannel: boolean } },
  o: { readonly alphaRow: DeviceTensor | null; readonly alphaCol: DeviceTensor; readonly bias?: DeviceTensor | undefined; readonly residual?: DeviceTensor | undefined },
): void {
  const { outDtype, mode } = attrs;
  expectAttr(op, 'attrs.outDtype', ['f32', 'f16', 'bf16'].includes(outDtype), 'f32 | f16 | bf16', outDtype);
  if (o.alphaRow) {
    expectDType(op, 'inputs.alphaRow', o.alphaRow, ['f32']);
    expectShape(op, 'inputs.alphaRow', o.alphaRow, [mode.perToken ? m : 1]);
  }
  expectDType(op, 'inputs.alphaCol', o.alphaCol, ['f32']);
  expectShape(op, 'inputs.alphaCol', o.alphaCol, [mode.perChannel ? n : 1]);
  if (o.bias) {
    expectDType(op, 'inputs.bias', o.bias, [outDtype]);
    expectShape(op, 'inputs.bias', o.bias, [n]);
  }
  if (o.residual) {
    expectDType(op, 'inputs.residual', o.residual, [outDtype]);
    expectShape(op, 'inputs.residual', o.residual, [m, n]);
  }
}

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
  checkEpilogue(op, l.m, l.n, attrs, { alphaRow, alphaCol, bias });
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
  checkEpilogue(op, m, n, attrs, { alphaRow, alphaCol, bias, residual });
  const out = DeviceTensor.empty(outDtype, [m, n]);
  native(op, () =>
    addon().smoothQuantEpilogue({
      acc: acc.ptr, alphaRow: alphaRow.ptr, alphaCol: alphaCol.ptr, bias: bias?.ptr, residual: residual?.ptr, out: out.ptr, m, n,
      perToken: mode.perToken, perChannel: mode.perChannel, gelu: attrs.gelu ?? false, outDtype: code(outDtype), stream: stream?.handle,
    }),
  );
  return out;
}

/** int8GemmDecode's inputs: a [M, K] and b [N, K] (K contiguous) with the SmoothQuant epilogue's tensors. */
export interface Int8GemmDecodeInputs {
  /**
   * The int8 activations — or, for at most INT8_DECODE_MAX_QUANTIZE_ROWS rows, the activations in the
   * output dtype, quantized inside the kernel as quantizePerToken / quantizePerTensor would (then
   * alphaRow is their scales: computed inside per token, given per tensor).
   */
  readonly a: DeviceTensor<'i8'> | DeviceTensor<ActDType>;
  readonly b: DeviceTensor<'i8'>;
  /** [M] with per-token scales, else [1]; absent when a is quantized inside per token. */
  readonly alphaRow?: DeviceTensor<'f32'>;
  /** [N] with per-channel scales, else [1]. */
  readonly alphaCol: DeviceTensor<'f32'>;
  readonly bias?: DeviceTensor<ActDType>;
  readonly residual?: DeviceTensor<ActDType>;
  /**
   * With float `a`: a LayerNorm's γ (and β), [K] in the output dtype — `a` is then the LayerNorm's input,
   * normalized inside as layerNormFast does and quantized as layerNormFastQuant does (at most
   * INT8_DECODE_MAX_NORM_ROWS rows, K ≤ INT8_DECODE_MAX_NORM_K): the bits of layerNormFastQuant →
   * int8GemmDecode, in one kernel.
   */
  readonly norm?: { readonly gamma: DeviceTensor<ActDType>; readonly beta?: DeviceTensor<ActDType> };
}

/** int8GemmDecode's attributes: the epilogue's, for activations quantized inside per tensor the multiplier, and the fused LayerNorm's. */
export interface Int8GemmDecodeAttrs extends SmoothQuantEpilogueAttrs {
  /** Per tensor with float a: q = sat(rni(fp32(a · quantScale))) (quantizePerTensor's scale). */
  readonly quantScale?: number;
  /** With `norm`: the LayerNorm's ε (default 1e-5, the engine's). */
  readonly eps?: number;
  /** With `norm`: γ' = γ + 1 (NeMo's layernorm1p). */
  readonly weightPlusOne?: boolean;
}

/** Rows up to which int8GemmDecode takes float activations and quantizes them itself (each block re-reads them). */
export const INT8_DECODE_MAX_QUANTIZE_ROWS = 16;

/** The widest row (K) int8GemmDecode's fused LayerNorm takes: 64 elements of a row per lane (layerNormFast's warp way). */
export const INT8_DECODE_MAX_NORM_K = 2048;

/** Rows up to which int8GemmDecode's LayerNorm may be fused (one token group of 8: its int8 rows in shared memory). */
export const INT8_DECODE_MAX_NORM_ROWS = 8;

/** Why (N, K) has no int8 decode GEMM ('' when it has one); the caller then runs int8GemmLt + smoothQuantEpilogue. */
export function int8GemmDecodeUnsupported(n: number, k: number): string {
  return native('int8GemmDecodeUnsupported', () => addon().int8GemmDecodeUnsupported({ n, k }));
}

/**
 * The SmoothQuant linear layer in one kernel for the few rows of a decode step: a · bᵀ int8 on tensor
 * cores (mma.sync, int32 sums), then the epilogue — scales, + bias, GELU, + residual — on the sums.
 * Equal bit for bit to smoothQuantEpilogue(int8GemmLt(a, b)) and to the oracle
 * ref-math smoothQuantEpilogue({ acc: int8Gemm({ a, b }, { transB: true }), … }) for every M: tier 1.
 * With float `a` (≤ 16 rows) the quantization runs inside too, giving quantizePerToken's /
 * quantizePerTensor's int8 and scales, so the result equals that op followed by this one; with `norm`
 * too, a LayerNorm runs first (layerNormFastQuant's arithmetic: the bits of that op followed by this
 * one; tier 3 against the oracle, as the LayerNorm).
 * Needs K a multiple of 16 (int8GemmDecodeUnsupported says why not) and 16-byte aligned a and b.
 */
export function int8GemmDecode(inputs: Int8GemmDecodeInputs, attrs: Int8GemmDecodeAttrs, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'int8GemmDecode';
  const { a, b, alphaRow, alphaCol, bias, residual, norm } = inputs;
  const { outDtype, mode } = attrs;
  expectAttr(op, 'attrs.outDtype', ['f32', 'f16', 'bf16'].includes(outDtype), 'f32 | f16 | bf16', outDtype);
  const inside = a.dtype !== 'i8'; // float activations: quantized in the kernel
  expectDType(op, 'inputs.a', a, inside ? [outDtype] : ['i8']);
  expectDType(op, 'inputs.b', b, ['i8']);
  const l = matmulLayout(op, a, b, false, true);
  const why = int8GemmDecodeUnsupported(l.n, l.k);
  expectAttr(op, 'inputs.b', why === '', why, `[${b.shape.join(', ')}]`);
  if (inside) {
    expectAttr(op, 'inputs.a', l.m <= INT8_DECODE_MAX_QUANTIZE_ROWS, `at most ${INT8_DECODE_MAX_QUANTIZE_ROWS} rows of float activations (more: quantize first, pass int8)`, `${l.m} rows`);
    if (!mode.perToken) expectAttr(op, 'attrs.quantScale', attrs.quantScale !== undefined && Number.isFinite(attrs.quantScale) && attrs.quantScale > 0, 'a finite multiplier > 0 (per-tensor quantization inside)', attrs.quantScale);
  }
  if (norm) {
    expectAttr(op, 'inputs.norm', inside, 'float a (the LayerNorm\'s input) with a LayerNorm', 'int8 a');
    expectAttr(op, 'inputs.a', l.k <= INT8_DECODE_MAX_NORM_K && l.m <= INT8_DECODE_MAX_NORM_ROWS, `at most ${INT8_DECODE_MAX_NORM_ROWS} rows and K ≤ ${INT8_DECODE_MAX_NORM_K} with the fused LayerNorm (more: layerNormFastQuant first, then int8 a)`, `[${l.m}, ${l.k}]`);
    for (const [key, t] of [['inputs.norm.gamma', norm.gamma], ['inputs.norm.beta', norm.beta]] as const) {
      if (!t) continue;
      expectDType(op, key, t, [outDtype]);
      expectShape(op, key, t, [l.k]);
    }
    if (attrs.eps !== undefined) expectAttr(op, 'attrs.eps', Number.isFinite(attrs.eps) && attrs.eps >= 0, 'a finite ε ≥ 0', attrs.eps);
  }
  // the row scales: given, except for activations quantized inside per token (computed there)
  const computed = inside && mode.perToken;
  const rowScales = computed ? undefined : alphaRow;
  expectAttr(op, 'inputs.alphaRow', computed ? alphaRow === undefined : alphaRow !== undefined, computed ? 'none (computed in the kernel with float activations per token)' : 'the row scales', alphaRow ? `[${alphaRow.shape.join(', ')}]` : 'none');
  checkEpilogue(op, l.m, l.n, attrs, { alphaRow: rowScales ?? null, alphaCol, bias, residual });
  const out = DeviceTensor.empty(outDtype, [l.m, l.n]);
  native(op, () =>
    addon().int8GemmDecode({
      ...(inside ? { x: a.ptr, qStatic: attrs.quantScale ?? 0 } : { a: a.ptr }), b: b.ptr, alphaRow: rowScales?.ptr, alphaCol: alphaCol.ptr,
      ...(norm ? { lnGamma: norm.gamma.ptr, lnBeta: norm.beta?.ptr, lnEps: attrs.eps ?? DEFAULT_LAYERNORM_EPS, lnPlusOne: attrs.weightPlusOne ?? false } : {}),
      bias: bias?.ptr, residual: residual?.ptr, out: out.ptr, m: l.m, n: l.n, k: l.k,
      perToken: mode.perToken, perChannel: mode.perChannel, gelu: attrs.gelu ?? false, outDtype: code(outDtype), stream: stream?.handle,
    }),
  );
  return out;
}

/**
 * How int8GemmDecode runs one shape (StreamPlan). Any plan gives the same bits (int32 sums); it only
 * places work. With the fused LayerNorm (`norm`) the blocks always have 8 warps, which share each row's
 * LayerNorm.
 */
export type Int8GemmDecodePlan = StreamPlan;

/** int8GemmDecode's launch plan for (N, K, M) on a device of `multiprocessors` SMs (default: the current GPU's) — host arithmetic. */
export function int8GemmDecodePlan(s: { readonly n: number; readonly k: number; readonly m: number }, multiprocessors?: number): Int8GemmDecodePlan {
  return streamPlan('int8GemmDecodePlan', s, multiprocessors, (lib, p) => lib.int8GemmDecodePlan(p));
}
