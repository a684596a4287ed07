/** gemm on the device — reference order, bit-exact to ref-math gemm (csrc/gemm.cu). */
import { expectAttr, expectDType, expectShape, matmulLayout, type ActDType, type GemmAttrs, type GemmInputs } from '@trtllm/ref-math';
import { addon, addonIfBuilt } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { CudaUnavailableError, native } from '../errors.js';
import { code, type OnDevice } from '../launch.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

export function gemm(inputs: OnDevice<GemmInputs>, attrs: GemmAttrs = {}, stream?: Stream): DeviceTensor<ActDType> {
  const { a, b, bias } = inputs;
  expectDType('gemm', 'inputs.a', a, ACT);
  expectDType('gemm', 'inputs.b', b, [a.dtype]);
  const l = matmulLayout('gemm', a, b, attrs.transA, attrs.transB);
  if (bias) {
    expectDType('gemm', 'inputs.bias', bias, ACT);
    expectShape('gemm', 'inputs.bias', bias, [l.n]);
  }
  const c = DeviceTensor.empty(attrs.outDtype ?? a.dtype, [l.m, l.n]);
  native('gemm', () =>
    addon().gemm({
      a: a.ptr, b: b.ptr, bias: bias?.ptr, c: c.ptr, m: l.m, n: l.n, k: l.k,
      transA: attrs.transA ?? false, transB: attrs.transB ?? false,
      inDtype: code(a.dtype), biasDtype: code(bias?.dtype ?? 'f32'), outDtype: code(c.dtype), stream: stream?.handle,
    }),
  );
  return c;
}

/** The fused epilogue's operands: bias [N] and residual [M, N] in the output dtype; no GELU with a residual. */
function checkEpilogue(op: string, l: { m: number; n: number }, outDtype: ActDType, bias: DeviceTensor | undefined, residual: DeviceTensor | undefined, activation: 'gelu' | undefined): void {
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [outDtype]);
    expectShape(op, 'inputs.bias', bias, [l.n]);
  }
  if (residual) {
    expectDType(op, 'inputs.residual', residual, [outDtype]);
    expectShape(op, 'inputs.residual', residual, [l.m, l.n]);
    expectAttr(op, 'attrs.activation', activation === undefined, 'no activation with a residual (gemm → gelu → add is two ops)', activation);
  }
}

/** Attributes of the production GEMM (cuBLASLt; DESIGN.md tier 3). */
export interface GemmLtAttrs {
  /** b is [N, K] (e.g. the lm_head over wte). */
  readonly transB?: boolean;
  /** Default: a's dtype. A bias or residual needs outDtype = a's dtype. */
  readonly outDtype?: ActDType;
  /** GELU (tanh approximation) after the bias, in cuBLASLt's epilogue. Not with a residual. */
  readonly activation?: 'gelu';
  /** Choose the algorithm per (M, N, K) instead of one per (N, K): faster for some M, not batch-invariant. */
  readonly perShape?: boolean;
}

/**
 * D[M,N] = A·B (+ bias) (then GELU) (+ residual) through cuBLASLt (fp32 accumulation). Its
 * ref-math meaning is gemm → gelu → residualAdd, each rounded to T; the fused epilogue rounds once,
 * so results differ from the oracle within the case table's tolerance.
 */
export function gemmLt(
  inputs: { readonly a: DeviceTensor<ActDType>; readonly b: DeviceTensor<ActDType>; readonly bias?: DeviceTensor<ActDType>; readonly residual?: DeviceTensor<ActDType> },
  attrs: GemmLtAttrs = {},
  stream?: Stream,
): DeviceTensor<ActDType> {
  const op = 'gemmLt';
  const { a, b, bias, residual } = inputs;
  expectDType(op, 'inputs.a', a, ACT);
  expectDType(op, 'inputs.b', b, [a.dtype]);
  const l = matmulLayout(op, a, b, false, attrs.transB);
  const outDtype = attrs.outDtype ?? a.dtype;
  checkEpilogue(op, l, outDtype, bias, residual, attrs.activation);
  const d = DeviceTensor.empty(outDtype, [l.m, l.n]);
  try {
    native(op, () =>
      addon().gemmLt({
        a: a.ptr, b: b.ptr, bias: bias?.ptr, residual: residual?.ptr, d: d.ptr, m: l.m, n: l.n, k: l.k,
        transB: attrs.transB ?? false, gelu: attrs.activation === 'gelu', perShape: attrs.perShape ?? false,
        inDtype: code(a.dtype), outDtype: code(outDtype), stream: stream?.handle,
      }),
    );
  } catch (e) {
    d.free();
    throw e;
  }
  return d;
}

/** The cuBLASLt algorithms this process chose, one line per shape (for benchmark reports). */
export function gemmLtAlgorithms(): string {
  return native('gemmLtAlgorithms', () => addon().gemmLtAlgorithms());
}

/** Inputs of the decode GEMM: the gemmLt operands, optionally through a row list. */
export interface GemmDecodeInputs {
  readonly a: DeviceTensor<ActDType>;
  readonly b: DeviceTensor<ActDType>;
  readonly bias?: DeviceTensor<ActDType>;
  readonly residual?: DeviceTensor<ActDType>;
  /**
   * [M] i32: the rows of a (and of residual and the output) to compute; the other rows of `out`
   * are left as they are. Needs `out`. An index outside a's rows is clamped to them. Without it:
   * every row of a.
   */
  readonly rows?: DeviceTensor<'i32'>;
  /** Write into this [rows of a, N] tensor (required with `rows`). */
  readonly out?: DeviceTensor<ActDType>;
}

/**
 * Why the decode GEMM has no kernel for this shape ("" when it has one): f16/bf16 inputs, K a
 * multiple of 8, and N a multiple of 8 unless b is [N, K]. Depends on the shape and dtype only, never
 * on M — a caller choosing between gemmDecode and gemmLt by it stays batch-invariant.
 */
export function gemmDecodeUnsupported(n: number, k: number, transB: boolean, inDtype: ActDType): string {
  return native('gemmDecodeUnsupported', () => addon().gemmDecodeUnsupported({ n, k, transB, inDtype: code(inDtype) }));
}

/**
 * The decode GEMM (DESIGN.md tier 3): D = act(A·B + bias) + residual for the few rows of generation
 * steps, on tensor cores (mma.sync m16n8k16, fp32 accumulation). [K,N] weights: a block owns 64
 * outputs and a range of K (a thread-block cluster of 1, 2, 4 or 8 blocks covers K on Hopper), streams
 * its weights through cp.async rings started before the previous kernel ends (PDL) and reads them once
 * per 32 rows; [N,K] (the lm_head): split-K over blocks, partials added in order. Batch-invariant by
 * construction: each output's K order depends on (N, K, layout, SM count, clusters) only — see
 * gemmDecodePlan — so a row's result is the same for every M and every row list. Its ref-math meaning
 * is gemm → gelu →
 * residualAdd (rounded to T after each); here the sum, bias, GELU (the oracle's formula) and residual
 * stay in fp32 and are rounded once — within the case table's tolerance. f32 inputs have no decode
 * GEMM (tensor cores would round them to tf32): use gemmLt.
 */
export function gemmDecode(inputs: GemmDecodeInputs, attrs: Omit<GemmLtAttrs, 'perShape'> = {}, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'gemmDecode';
  const { a, b, bias, residual, rows, out } = inputs;
  expectDType(op, 'inputs.a', a, ['f16', 'bf16']);
  expectDType(op, 'inputs.b', b, [a.dtype]);
  const l = matmulLayout(op, a, b, false, attrs.transB);
  const transB = attrs.transB ?? false;
  const why = gemmDecodeUnsupported(l.n, l.k, transB, a.dtype);
  expectAttr(op, 'inputs.b', why === '', why, `[${b.shape.join(', ')}]`);
  const outDtype = attrs.outDtype ?? a.dtype;
  checkEpilogue(op, l, outDtype, bias, residual, attrs.activation);
  if (rows) {
    expectDType(op, 'inputs.rows', rows, ['i32']);
    expectShape(op, 'inputs.rows', rows, ['M']);
    expectAttr(op, 'inputs.out', out !== undefined, 'an output tensor to write the listed rows into', 'none');
  }
  if (out) {
    expectDType(op, 'inputs.out', out, [outDtype]);
    expectShape(op, 'inputs.out', out, [l.m, l.n]);
  }
  const m = rows ? rows.shape[0]! : l.m;
  const d = out ?? DeviceTensor.empty(outDtype, [l.m, l.n]);
  try {
    native(op, () =>
      addon().gemmDecode({
        a: a.ptr, b: b.ptr, bias: bias?.ptr, residual: residual?.ptr, d: d.ptr, rows: rows?.ptr, m, n: l.n, k: l.k, aRows: l.m,
        transB, gelu: attrs.activation === 'gelu', inDtype: code(a.dtype), outDtype: code(outDtype), stream: stream?.handle,
      }),
    );
  } catch (e) {
    if (!out) d.free();
    throw e;
  }
  return d;
}

/** The device numbers a decode GEMM launch plan depends on. */
export interface DecodeGemmDevice {
  readonly multiprocessors: number;
  /** Compute capability major: thread-block clusters from 9 (Hopper). */
  readonly computeMajor: number;
  /** Shared memory a block may opt into, bytes. */
  readonly sharedMemoryOptin: number;
}

/**
 * How gemmDecode runs one shape. Each output's sum order is fixed by `stepK`/`steps` and, for
 * [K,N], `cluster` (blocks splitting the steps into contiguous ranges, added in rank order) and
 * `warps` (each block's range split again, added in warp order); for [N,K], `splits` ×
 * `stepsPerSplit` (added in split order) and `warps` (steps strided over them, added in warp order).
 * The rest only places work: it may change with M without changing a bit of the result.
 */
export interface GemmDecodePlan {
  readonly layout: 'KN' | 'NK';
  /** Blocks: [K,N] [cluster, n tiles, 1]; [N,K] [n tiles, row chunks, splits]. */
  readonly grid: readonly [number, number, number];
  readonly threads: number;
  /** K per step (16 for [K,N], 32 for [N,K]) and ⌈K / stepK⌉. */
  readonly stepK: number;
  readonly steps: number;
  readonly warps: number;
  /** Outputs per block along N. */
  readonly tileN: number;
  /** [K,N]: blocks of a thread-block cluster splitting K (1 without clusters). */
  readonly cluster?: number;
  /** [N,K]: blocks along z splitting K, and steps per split. */
  readonly splits?: number;
  readonly stepsPerSplit?: number;
  /** [K,N]: how the activation rows reach shared memory, token groups of 8 per pass, passes, ring depth. */
  readonly way?: 'slab' | 'ring';
  readonly groups?: number;
  readonly passes?: number;
  readonly stages?: number;
  readonly smemBytes: number;
}

/**
 * The decode GEMM's launch plan for `n`, `k` (the weight's shape), `m` rows and the layout, on
 * `device` (default: the current GPU). Host arithmetic only, so with `device` given it needs the
 * built addon but no GPU — for reports, and to check that what fixes the sum order never depends on m.
 */
export function gemmDecodePlan(s: { readonly n: number; readonly k: number; readonly m: number; readonly transB?: boolean }, device?: DecodeGemmDevice): GemmDecodePlan {
  const op = 'gemmDecodePlan';
  for (const key of ['n', 'k', 'm'] as const) expectAttr(op, key, Number.isInteger(s[key]) && s[key] > 0 && s[key] < 2 ** 31, 'a positive integer', s[key]);
  const a = addonIfBuilt();
  if (!a) throw new CudaUnavailableError('the native addon is not built (npm run build in packages/cuda-kernels)');
  let d = device;
  if (!d) {
    const info = a.deviceInfo();
    if (!info.available || info.multiprocessors === undefined || info.sharedMemoryOptin === undefined) throw new CudaUnavailableError(`${op}: no usable GPU to plan for (${info.reason ?? 'no device'}); pass \`device\``);
    d = { multiprocessors: info.multiprocessors, computeMajor: Number((info.computeCapability ?? '0').split('.')[0]), sharedMemoryOptin: info.sharedMemoryOptin };
  }
  for (const key of ['multiprocessors', 'computeMajor', 'sharedMemoryOptin'] as const) expectAttr(op, `device.${key}`, Number.isInteger(d[key]) && d[key] > 0 && d[key] < 2 ** 31, 'a positive integer', d[key]);
  const text = native(op, () => a.gemmDecodePlan({ n: s.n, k: s.k, m: s.m, transB: s.transB ?? false, ...d }));
  return JSON.parse(text) as GemmDecodePlan;
}
