/**
 * fp8 on the device — e4m3 quantize / dequantize and the FP8 GEMM (csrc/fp8.cu: reference kernels,
 * tier 1), the production FP8 GEMM fp8GemmLt (csrc/fp8-gemm-lt.cu: cuBLASLt on FP8 tensor cores,
 * compute capability ≥ 8.9, tier 3) and the FP8 decode GEMM fp8GemmDecode (csrc/fp8-gemm-decode.cu: the
 * whole layer in one kernel for a decode step's few rows, tier 3).
 */
import {
  checkFp8Gemm, expectAttr, expectDType, expectShape, matmulLayout, numel,
  type ActDType, type Fp8DequantizeAttrs, type Fp8DequantizeInputs, type Fp8GemmAttrs, type Fp8GemmInputs, type Fp8QuantizeAttrs, type Fp8QuantizeInputs,
} from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { CudaUnavailableError, native } from '../errors.js';
import { code, planAddon, type OnDevice } from '../launch.js';
import { checkBiasResidual } from '../epilogue-check.js';
import { streamPlan, type StreamPlan } from '../stream-plan.js';

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

/** Rows up to which fp8GemmDecode takes x (each block quantizes its rows' K range again). */
export const FP8_DECODE_MAX_ROWS = 16;

/** Float inputs of fp8GemmDecode; the scales f32 [1] on the device (a captured graph reads the layer's). */
export interface Fp8GemmDecodeInputs {
  /** [M, K] f16 / bf16 activations, quantized inside: e4m3(fp32(x · attrs.quantScale)). */
  readonly x: DeviceTensor<ActDType>;
  /** [N, K] e4m3 weight. */
  readonly b: DeviceTensor<'fp8e4m3'>;
  /** [1]: dequantizes x's e4m3 (1 / quantScale as the checkpoint stores it). */
  readonly scaleA: DeviceTensor<'f32'>;
  /** [1]: dequantizes b. */
  readonly scaleB: DeviceTensor<'f32'>;
  /** [N] in x's dtype. */
  readonly bias?: DeviceTensor<ActDType>;
  /** [M, N] in x's dtype, added last. */
  readonly residual?: DeviceTensor<ActDType>;
}

/**
 * The FP8 linear layer in one kernel for the few rows of a decode step (tier 3): x quantized to e4m3
 * as quantizeFp8 does, times bᵀ on FP8 tensor cores (mma.sync m16n8k32, each mma's 32 exact products
 * added to an fp32 sum), then fp8GemmLt's epilogue T(acc · sa·sb + bias), GELU and + residual as the gelu
 * and residualAdd kernels round them — the layer quantizeFp8 → fp8GemmLt → gelu → residualAdd computes,
 * up to the order of the fp32 sum, which depends on (N, K, SM count) only: a row gives the same bits
 * alone or among others. Needs compute capability ≥ 8.9, K a multiple of 16, at most 16 rows
 * (fp8GemmDecodeUnsupported says which fails) and 16-byte aligned x and b.
 */
export function fp8GemmDecode(inputs: Fp8GemmDecodeInputs, attrs: { readonly quantScale: number; readonly gelu?: boolean }, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'fp8GemmDecode';
  const { x, b, bias, residual } = inputs;
  expectDType(op, 'inputs.x', x, ['f16', 'bf16']);
  const outDtype = x.dtype;
  expectDType(op, 'inputs.b', b, ['fp8e4m3']);
  expectShape(op, 'inputs.scaleA', inputs.scaleA, [1]);
  expectShape(op, 'inputs.scaleB', inputs.scaleB, [1]);
  expectDType(op, 'inputs.scaleA', inputs.scaleA, ['f32']);
  expectDType(op, 'inputs.scaleB', inputs.scaleB, ['f32']);
  positive(op, 'attrs.quantScale', attrs.quantScale);
  const l = matmulLayout(op, x, b, false, true);
  expectAttr(op, 'inputs.x', l.m <= FP8_DECODE_MAX_ROWS, `at most ${FP8_DECODE_MAX_ROWS} rows (more: quantizeFp8 → fp8GemmLt)`, `${l.m} rows`);
  expectAttr(op, 'inputs.b', l.k % 16 === 0, 'K a multiple of 16 (16-byte rows; other K: quantizeFp8 → fp8GemmLt)', `[${b.shape.join(', ')}]`);
  const why = native(op, () => addon().fp8GemmDecodeUnsupported({ n: l.n, k: l.k, m: l.m })); // this GPU and the code it runs (cached natively)
  expectAttr(op, 'device', why === '', `${why} (else: quantizeFp8 → fp8GemmLt)`, 'this GPU');
  checkBiasResidual(op, l, outDtype, bias, residual);
  const out = DeviceTensor.empty(outDtype, [l.m, l.n]);
  native(op, () =>
    addon().fp8GemmDecode({
      x: x.ptr, b: b.ptr, scaleA: inputs.scaleA.ptr, scaleB: inputs.scaleB.ptr, qScale: attrs.quantScale, bias: bias?.ptr, residual: residual?.ptr, out: out.ptr,
      m: l.m, n: l.n, k: l.k, gelu: attrs.gelu ?? false, outDtype: code(outDtype), stream: stream?.handle,
    }),
  );
  return out;
}

/**
 * Why fp8GemmDecode cannot run an [N, K] weight for M rows ('' when it can): K, M, and the compute
 * capability — the current GPU's, capped by the code this build runs there (an sm_89 card runs the
 * sm_80 code, a GPU newer than the build its compute_80 PTX: no FP8 tensor cores in either), or
 * `capability` (major · 10 + minor) to ask about another GPU without one.
 */
export function fp8GemmDecodeUnsupported(n: number, k: number, m: number, capability?: number): string {
  const op = 'fp8GemmDecodeUnsupported';
  for (const [key, v] of [['n', n], ['k', k], ['m', m]] as const) expectAttr(op, key, Number.isInteger(v) && v > 0 && v < 2 ** 31, 'a positive integer', v);
  if (capability !== undefined) expectAttr(op, 'capability', Number.isInteger(capability) && capability >= 10 && capability < 1000, 'major · 10 + minor, e.g. 89 or 90', capability);
  const lib = planAddon();
  if (capability === undefined) {
    const info = lib.deviceInfo();
    if (!info.available) throw new CudaUnavailableError(`${op}: no usable GPU to ask (${info.reason ?? 'no device'}); pass capability`);
  }
  return native(op, () => lib.fp8GemmDecodeUnsupported({ n, k, m, ...(capability !== undefined ? { capability } : {}) }));
}

/**
 * How fp8GemmDecode runs one shape (StreamPlan, int8GemmDecode's layout). Its fp32 sums are added in
 * an order the plan's splits and warps fix — from (N, K, SM count), never M — so a row gets the same
 * bits at any M on one GPU, and may differ in the last bits between GPUs of other SM counts.
 */
export type Fp8GemmDecodePlan = StreamPlan;

/** fp8GemmDecode's launch plan for (N, K, M) on a device of `multiprocessors` SMs (default: the current GPU's) — host arithmetic. The sum order follows from it. */
export function fp8GemmDecodePlan(s: { readonly n: number; readonly k: number; readonly m: number }, multiprocessors?: number): Fp8GemmDecodePlan {
  return streamPlan('fp8GemmDecodePlan', s, multiprocessors, (lib, p) => lib.fp8GemmDecodePlan(p));
}
