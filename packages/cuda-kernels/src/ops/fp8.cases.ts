/**
 * Kernel cases of op `fp8` (tier 1, exact): e4m3 quantization (saturating), dequantization and the
 * fp8 GEMM with its scales and bias.
 */
import * as ref from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function fp8Cases(): KernelCase[] {
  const x = rnd('f16', [13, 7], 31, 40);
  const q = ref.quantizeFp8({ x: rnd('f32', [5, 13], 32, 3) }, { scale: 16 });
  const w = ref.quantizeFp8({ x: rnd('f32', [7, 13], 33, 3) }, { scale: 16 });
  const bias = rnd('bf16', [7], 34);
  return [
    caseOf({ name: 'fp8 quantize f16 (saturating)', op: 'fp8', dtype: 'f16→fp8', shape: '[13,7]', tier: 1, host: { x },
      ref: () => [ref.quantizeFp8({ x }, { scale: 11.3 })], launch: (d) => [gpu.quantizeFp8({ x: d['x'] as never }, { scale: 11.3 })], bytes: bytesOf(x) * 1.5, flops: 0 }),
    caseOf({ name: 'fp8 dequantize → bf16', op: 'fp8', dtype: 'fp8→bf16', shape: '[5,13]', tier: 1, host: { q },
      ref: () => [ref.dequantizeFp8({ q }, { scale: 0.0625, outDtype: 'bf16' })], launch: (d) => [gpu.dequantizeFp8({ q: d['q'] as never }, { scale: 0.0625, outDtype: 'bf16' })], bytes: bytesOf(q) * 3, flops: 0 }),
    caseOf({ name: 'fp8 gemm Bᵀ +bias → bf16', op: 'fp8', dtype: 'fp8→bf16', shape: '[5,13]·[13,7] Bᵀ +bias', tier: 1, host: { a: q, b: w, bias },
      ref: () => [ref.fp8Gemm({ a: q, b: w, bias }, { transB: true, scaleA: 0.0625, scaleB: 0.0625, outDtype: 'bf16' })],
      launch: (d) => [gpu.fp8Gemm({ a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never }, { transB: true, scaleA: 0.0625, scaleB: 0.0625, outDtype: 'bf16' })], bytes: bytesOf(q, w), flops: 2 * 5 * 7 * 13 }),
  ];
}
