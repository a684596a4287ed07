/**
 * gemm — C = op(A) · op(B) (+ bias), A/B in f32 | f16 | bf16.
 *
 * Shapes: A [M, K] ([K, M] with transA), B [K, N] ([N, K] with transB), bias [N], C [M, N].
 * Order: for each output element (i, j), in fp32, k ascending, no FMA:
 *   acc = 0;  for k = 0 … K−1: acc = fp32(acc + fp32(A[i,k] · B[k,j]))
 *   C[i,j] = cast_out(fp32(acc + bias[j]))          (bias omitted: cast_out(acc))
 * Inputs are decoded exactly to fp32 (f16 and bf16 products are then exact in fp32); the one
 * rounding to the output dtype is round-to-nearest-even. cuBLASLt's BIAS epilogue has the same
 * placement of the bias (in the fp32 compute type, before the cast); its summation order does not
 * match this, so cuBLASLt paths are tier 3.
 */
import { expectAttr, expectDType, expectShape, type Shaped } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import type { GemmAttrs, GemmInputs } from '../op-specs.js';
import { fromF32, toF32, type Tensor } from '../tensor.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

/** Dimensions and strides of op(A) [M, K] and op(B) [K, N] over row-major storage. */
export interface MatmulLayout {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** Element offset of A[i, k] is i·aRow + k·aCol; of B[k, j] is k·bRow + j·bCol. */
  readonly aRow: number;
  readonly aCol: number;
  readonly bRow: number;
  readonly bCol: number;
}

/** Validate A and B as matrices for C = op(A)·op(B) and return the layout. */
export function matmulLayout(op: string, a: Shaped, b: Shaped, transA = false, transB = false): MatmulLayout {
  expectShape(op, 'inputs.a', a, transA ? ['K', 'M'] : ['M', 'K']);
  expectShape(op, 'inputs.b', b, transB ? ['N', 'K'] : ['K', 'N']);
  const [a0, a1] = a.shape as [number, number];
  const [b0, b1] = b.shape as [number, number];
  const m = transA ? a1 : a0;
  const k = transA ? a0 : a1;
  const kb = transB ? b1 : b0;
  const n = transB ? b0 : b1;
  expectAttr(op, 'inner dimension K of b', kb === k, `${k} (K of a)`, kb);
  return {
    m,
    n,
    k,
    aRow: transA ? 1 : k,
    aCol: transA ? m : 1,
    bRow: transB ? 1 : n,
    bCol: transB ? k : 1,
  };
}

/**
 * The fp32 accumulation every float GEMM of the oracle shares: acc[i·N + j] = Σ_k fp32(a·b),
 * k ascending, each step rounded. `av`/`bv` are the exact fp32 values of the inputs.
 */
export function matmulF32(av: Float32Array, bv: Float32Array, l: MatmulLayout): Float32Array {
  const { m, n, k, aRow, aCol, bRow, bCol } = l;
  // A local binding: test runners that rewrite imports turn each call of an imported f32 into a
  // property read, which in this innermost loop costs 4×.
  const round = Math.fround;
  const acc = new Float32Array(m * n);
  if (bCol === 1 && bRow === n) {
    // B stored row by row (not transposed): walk each row of B once per row of A, adding
    // fp32(a[i, p]·b[p, j]) to every acc[i, j] — p still ascending for each acc[i, j], each step
    // rounded, so the same bits as the loop below, reading B in the order it is stored
    for (let i = 0; i < m; i++) {
      const row = acc.subarray(i * n, (i + 1) * n);
      for (let p = 0, ai = i * aRow, bi = 0; p < k; p++, ai += aCol, bi += n) {
        const x = av[ai]!;
        for (let j = 0; j < n; j++) row[j] = round(row[j]! + round(x * bv[bi + j]!));
      }
    }
    return acc;
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      // Running offsets of A[i, p] and B[p, j] (the same order as the formula, cheaper indexing).
      for (let p = 0, ai = i * aRow, bi = j * bCol; p < k; p++, ai += aCol, bi += bRow) s = round(s + round(av[ai]! * bv[bi]!));
      acc[i * n + j] = s;
    }
  }
  return acc;
}

/** Add a per-column bias in fp32 (one rounding per element), in place. */
export function addBiasF32(acc: Float32Array, n: number, bias: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = f32(acc[i]! + bias[i % n]!);
}

/** Float GEMM with optional bias (see the file header for the exact arithmetic). */
export function gemm(inputs: GemmInputs, attrs: GemmAttrs = {}): Tensor<ActDType> {
  const { a, b, bias } = inputs;
  expectDType('gemm', 'inputs.a', a, ACT);
  expectDType('gemm', 'inputs.b', b, [a.dtype]);
  const l = matmulLayout('gemm', a, b, attrs.transA, attrs.transB);
  const acc = matmulF32(toF32(a), toF32(b), l);
  if (bias) {
    expectDType('gemm', 'inputs.bias', bias, ACT);
    expectShape('gemm', 'inputs.bias', bias, [l.n]);
    addBiasF32(acc, l.n, toF32(bias));
  }
  return fromF32(attrs.outDtype ?? a.dtype, [l.m, l.n], acc);
}
