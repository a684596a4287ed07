/**
 * Kernel cases of op `quantize` (tier 1, exact): int8 quantization per tensor and per token, and
 * dequantization.
 */
import * as ref from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function quantizeCases(): KernelCase[] {
  const x = rnd('f16', [7, 13], 21, 3);
  const xt = rnd('bf16', [11, 768], 22, 2);
  const { q, scale } = ref.quantizePerToken({ x: xt });
  return [
    caseOf({ name: 'quantize per-tensor f16', op: 'quantize', dtype: 'f16→i8', shape: '[7,13]', tier: 1, host: { x },
      ref: () => [ref.quantizePerTensor({ x }, { scale: 21.7 })], launch: (d) => [gpu.quantizePerTensor({ x: d['x'] as never }, { scale: 21.7 })], bytes: bytesOf(x) * 1.5, flops: 0 }),
    perTokenCase('quantize per-token bf16', xt),
    perTokenCase('quantize per-token f16, a zero row, 1600 cols', rnd('f16', [5, 1600], 23, 4), 2),
    perTokenCase('quantize per-token f32, 5 cols', rnd('f32', [3, 5], 24, 0.01)),
    caseOf({ name: 'absMaxColumns bf16 from acc', op: 'quantize', dtype: 'bf16→f32', shape: '[11,768]', tier: 1, production: true, host: { x: xt, acc: rnd('f32', [768], 25, 0.5, 1.5) },
      ref: () => [ref.absMaxColumns({ x: xt, acc: rnd('f32', [768], 25, 0.5, 1.5) })], launch: (d) => [gpu.absMaxColumns({ x: d['x'] as never, acc: d['acc'] as never })], bytes: bytesOf(xt) + 8 * 768, flops: 0 }),
    caseOf({ name: 'absMaxColumns f16 from 0', op: 'quantize', dtype: 'f16→f32', shape: '[7,13]', tier: 1, production: true, host: { x },
      ref: () => [ref.absMaxColumns({ x })], launch: (d) => [gpu.absMaxColumns({ x: d['x'] as never })], bytes: bytesOf(x) + 4 * 13, flops: 0 }),
    caseOf({ name: 'dequantize per-token → f32', op: 'quantize', dtype: 'i8→f32', shape: '[11,768]', tier: 1, host: { q, scale },
      ref: () => [ref.dequantize({ q, scale }, { outDtype: 'f32' })], launch: (d) => [gpu.dequantize({ q: d['q'] as never, scale: d['scale'] as never }, { outDtype: 'f32' })], bytes: bytesOf(q) * 5, flops: 0 }),
  ];
}

/** Per-token quantization of x (row `zeroRow` set to 0: its scale comes from the 1e-6 floor). */
function perTokenCase(name: string, x: ref.Tensor<ref.ActDType>, zeroRow?: number): KernelCase {
  const [rows, cols] = x.shape as [number, number];
  if (zeroRow !== undefined) x.data.fill(0, zeroRow * cols, (zeroRow + 1) * cols);
  return caseOf({ name, op: 'quantize', dtype: `${x.dtype}→i8`, shape: `[${rows},${cols}]`, tier: 1, production: true, host: { x },
    ref: () => { const r = ref.quantizePerToken({ x }); return [r.q, r.scale]; },
    launch: (d) => { const r = gpu.quantizePerToken({ x: d['x'] as never }); return [r.q, r.scale]; }, bytes: bytesOf(x) * 1.5, flops: 0 });
}
