/** gemm on the device — reference order, bit-exact to ref-math gemm (csrc/gemm.cu). */
import { DEFAULT_LAYERNORM_EPS, expectAttr, expectDType, expectShape, matmulLayout, type ActDType, type GemmAttrs, type GemmInputs, type LayerNormAttrs } from '@trtllm/ref-math';
import { addon, type NativeParams } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
import { code, currentPlanDevice, planAddon, type OnDevice } from '../launch.js';
import { checkBiasResidual } from '../epilogue-check.js';
import { kvView, type DeviceKvCache } from './kv-cache.js';

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
  checkBiasResidual(op, l, outDtype, bias, residual);
  if (residual) {
    expectAttr(op, 'attrs.activation', activation === undefined, 'no activation with a residual (gemm → gelu → add is two ops)', activation);
  }
}

/** Attributes of the production GEMM (cuBLASLt; ARCHITECTURE.md, Numerics: tier 3). */
export interface GemmLtAttrs {
  /** b is [N, K] (e.g. the lm_head over wte). */
  readonly transB?: boolean;
  /** Default: a's dtype. A bias or residual needs outDtype = a's dtype. */
  readonly outDtype?: ActDType;
  /** GELU (tanh approximation) after the bias, in cuBLASLt's epilogue. Not with a residual. */
  readonly activation?: 'gelu';
  /** Choose the algorithm per (M, N, K) instead of one per (N, K): faster for some M, not batch-invariant. */
  readonly perShape?: boolean;
  /**
   * Tune the shape's one algorithm for prompt rows (M = 512 and 8192 weigh most) instead of decode
   * steps (M = 1 weighs most) — for callers whose generation rows run on the decode GEMM. Still one
   * algorithm for every M (batch-invariant); a separate choice from the decode-tuned one.
   */
  readonly promptTuned?: boolean;
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
        transB: attrs.transB ?? false, gelu: attrs.activation === 'gelu', perShape: attrs.perShape ?? false, promptTuned: attrs.promptTuned ?? false,
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
  /**
   * LayerNorm first ([K,N] weights only): `a` is then the LayerNorm's input x and the product uses
   * layerNormFast(x) with these γ, β [K] (a's dtype) and GemmDecodeAttrs.eps / weightPlusOne — the
   * same bits, computed inside the GEMM when gemmDecodePlan says `layerNorm: 'fused'`, else by
   * layerNormFast into a scratch buffer first. K ≤ 2,048 for the fused way.
   */
  readonly norm?: { readonly gamma: DeviceTensor<ActDType>; readonly beta?: DeviceTensor<ActDType> };
  /**
   * The QKV GEMM's KV-cache write ([K,N] weights, no RoPE): the output's columns past
   * numHeads·headSize are the k and v heads of `cache`; each row's k and v are stored at
   * (slots[row], positions[row]) of `layer` with the cache's storage rule — what qkvPrepare stores
   * from the GEMM's output, bit for bit, without its launch. A row without storage sets `error`
   * (1 + row), read by the caller with the step.
   */
  readonly kvWrite?: {
    readonly cache: DeviceKvCache;
    readonly layer: number;
    readonly slots: DeviceTensor<'i32'>;
    readonly positions: DeviceTensor<'i32'>;
    readonly numHeads: number;
    readonly error: DeviceTensor<'i32'>;
  };
}

/** The decode GEMM's attributes: gemmLt's (but the cuBLASLt algorithm choices perShape and promptTuned), and the fused LayerNorm's (with inputs.norm). */
export type GemmDecodeAttrs = Omit<GemmLtAttrs, 'perShape' | 'promptTuned'> & LayerNormAttrs;

/**
 * Why the decode GEMM has no kernel for this shape ("" when it has one): f16/bf16 inputs, K a
 * multiple of 8, and N a multiple of 8 unless b is [N, K]. Depends on the shape and dtype only, never
 * on M — a caller choosing between gemmDecode and gemmLt by it stays batch-invariant.
 */
export function gemmDecodeUnsupported(n: number, k: number, transB: boolean, inDtype: ActDType): string {
  return native('gemmDecodeUnsupported', () => addon().gemmDecodeUnsupported({ n, k, transB, inDtype: code(inDtype) }));
}

/**
 * The decode GEMM (ARCHITECTURE.md, Numerics: tier 3): D = act(A·B + bias) + residual for the few rows of generation
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
export function gemmDecode(inputs: GemmDecodeInputs, attrs: GemmDecodeAttrs = {}, stream?: Stream): DeviceTensor<ActDType> {
  const op = 'gemmDecode';
  const { a, b, bias, residual, rows, out, norm, kvWrite } = inputs;
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
  if (norm) {
    expectAttr(op, 'inputs.norm', !transB, 'a LayerNorm only before [K,N] weights', 'transB');
    for (const [name, t] of [['gamma', norm.gamma], ['beta', norm.beta]] as const) {
      if (!t) continue;
      expectDType(op, `inputs.norm.${name}`, t, [a.dtype]);
      expectShape(op, `inputs.norm.${name}`, t, [l.k]);
    }
  }
  let kv: NativeParams | undefined;
  if (kvWrite) {
    const { cache, layer, slots, positions, numHeads, error } = kvWrite;
    const { numKvHeads, headSize } = cache.spec;
    expectAttr(op, 'inputs.kvWrite', !transB && outDtype === a.dtype, 'a [K,N] QKV GEMM with the output in the input dtype', transB ? 'transB' : outDtype);
    expectAttr(op, 'inputs.kvWrite.layer', Number.isInteger(layer) && layer >= 0 && layer < cache.pools.length, `0 ≤ layer < ${cache.pools.length}`, layer);
    expectAttr(op, 'inputs.kvWrite.numHeads', Number.isInteger(numHeads) && numHeads > 0 && (numHeads + 2 * numKvHeads) * headSize === l.n,
      `N = ${l.n} = (numHeads + 2·${numKvHeads}) · ${headSize}`, numHeads);
    expectShape(op, 'inputs.kvWrite.slots', slots, [l.m]);
    expectShape(op, 'inputs.kvWrite.positions', positions, [l.m]);
    expectDType(op, 'inputs.kvWrite.error', error, ['i32']);
    kv = { kv: kvView(cache, layer), kvSlots: slots.ptr, kvPositions: positions.ptr, kvQHeads: numHeads, kvError: error.ptr };
  }
  const m = rows ? rows.shape[0]! : l.m;
  const d = out ?? DeviceTensor.empty(outDtype, [l.m, l.n]);
  try {
    native(op, () =>
      addon().gemmDecode({
        a: a.ptr, b: b.ptr, bias: bias?.ptr, residual: residual?.ptr, d: d.ptr, rows: rows?.ptr, m, n: l.n, k: l.k, aRows: l.m,
        transB, gelu: attrs.activation === 'gelu', inDtype: code(a.dtype), outDtype: code(outDtype), stream: stream?.handle,
        ...(norm ? { lnGamma: norm.gamma.ptr, lnBeta: norm.beta?.ptr, lnEps: attrs.eps ?? DEFAULT_LAYERNORM_EPS, lnPlusOne: attrs.weightPlusOne ?? false } : {}),
        ...kv,
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
  /** Compute capability major: thread-block clusters from 9 (Hopper), unless `clusters` says. */
  readonly computeMajor: number;
  /**
   * Whether the kernel runs as thread-block clusters (default: computeMajor ≥ 9). The current GPU's
   * comes from the code that loads there: a GPU newer than the build runs its compute_80 PTX, without.
   */
  readonly clusters?: boolean;
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
  /** [K,N] asked with `layerNorm`: computed inside the GEMM, or by layerNormFast first (the same bits either way). */
  readonly layerNorm?: 'fused' | 'separate';
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
export function gemmDecodePlan(s: { readonly n: number; readonly k: number; readonly m: number; readonly transB?: boolean; /** with inputs.norm */ readonly layerNorm?: boolean }, device?: DecodeGemmDevice): GemmDecodePlan {
  const op = 'gemmDecodePlan';
  for (const key of ['n', 'k', 'm'] as const) expectAttr(op, key, Number.isInteger(s[key]) && s[key] > 0 && s[key] < 2 ** 31, 'a positive integer', s[key]);
  const a = planAddon();
  const d = device ?? currentPlanDevice(op, a, '`device`');
  for (const key of ['multiprocessors', 'computeMajor', 'sharedMemoryOptin'] as const) expectAttr(op, `device.${key}`, Number.isInteger(d[key]) && d[key] > 0 && d[key] < 2 ** 31, 'a positive integer', d[key]);
  const text = native(op, () => a.gemmDecodePlan({ n: s.n, k: s.k, m: s.m, transB: s.transB ?? false, layerNorm: s.layerNorm ?? false, ...d }));
  return JSON.parse(text) as GemmDecodePlan;
}
