/** gemm on the device — reference order, bit-exact to ref-math gemm (csrc/gemm.cu). */
import { expectAttr, expectDType, expectShape, matmulLayout, type ActDType, type GemmAttrs, type GemmInputs } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';
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
  if (bias) {
    expectDType(op, 'inputs.bias', bias, [outDtype]);
    expectShape(op, 'inputs.bias', bias, [l.n]);
  }
  if (residual) {
    expectDType(op, 'inputs.residual', residual, [outDtype]);
    expectShape(op, 'inputs.residual', residual, [l.m, l.n]);
    expectAttr(op, 'attrs.activation', attrs.activation === undefined, 'no activation with a residual (gemm → gelu → add is two ops)', attrs.activation);
  }
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
