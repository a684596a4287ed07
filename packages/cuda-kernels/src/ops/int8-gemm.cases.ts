/**
 * Kernel cases of op `int8-gemm` (tier 1, exact): int8 × int8 → int32 and the four SmoothQuant
 * epilogue modes (per-tensor / per-token activations × per-tensor / per-channel weights).
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType } from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function int8Case(name: string, m: number, k: number, n: number, mode: ref.SmoothQuantMode | undefined, outDtype: ActDType = 'f16', transB = false): KernelCase {
  const a = rnd('i8', [m, k], m + k);
  const b = rnd('i8', transB ? [n, k] : [k, n], n + 2 * k);
  if (!mode) {
    return caseOf({
      name, op: 'int8-gemm', dtype: 'i8→i32', shape: `[${m},${k}]·[${k},${n}]${transB ? ' Bᵀ' : ''}`, tier: 1, host: { a, b },
      ref: () => [ref.int8Gemm({ a, b }, { transB })],
      launch: (d) => [gpu.int8Gemm({ a: d['a'] as never, b: d['b'] as never }, { transB })],
      bytes: bytesOf(a, b) + 4 * m * n, flops: 2 * m * n * k,
    });
  }
  const alphaRow = rnd('f32', [mode.perToken ? m : 1], 5, 0.01, 0.02);
  const alphaCol = rnd('f32', [mode.perChannel ? n : 1], 6, 0.01, 0.03);
  const bias = rnd(outDtype, [n], 7);
  const attrs = { outDtype, mode, transB };
  return caseOf({
    name, op: 'int8-gemm', dtype: `i8→${outDtype}`, shape: `[${m},${k}]·[${k},${n}] ${mode.perToken ? 'per-token' : 'per-tensor'}/${mode.perChannel ? 'per-channel' : 'per-tensor'} +bias`, tier: 1,
    host: { a, b, alphaRow, alphaCol, bias },
    ref: () => [ref.smoothQuantGemm({ a, b, alphaRow, alphaCol, bias }, attrs)],
    launch: (d) => [gpu.smoothQuantGemm({ a: d['a'] as never, b: d['b'] as never, alphaRow: d['alphaRow'] as never, alphaCol: d['alphaCol'] as never, bias: d['bias'] as never }, attrs)],
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[outDtype].bytes, flops: 2 * m * n * k,
  });
}

export function int8GemmCases(): KernelCase[] {
  return [
    int8Case('int8 gemm odd', 7, 13, 11, undefined),
    int8Case('int8 gemm Bᵀ', 5, 64, 3, undefined, 'f16', true),
    int8Case('smoothquant per-tensor', 7, 13, 11, { perToken: false, perChannel: false }),
    int8Case('smoothquant per-token', 7, 13, 11, { perToken: true, perChannel: false }, 'bf16'),
    int8Case('smoothquant per-channel', 7, 13, 11, { perToken: false, perChannel: true }, 'f32'),
    int8Case('smoothquant both, gpt2 dense', 16, 768, 768, { perToken: true, perChannel: true }),
  ];
}
