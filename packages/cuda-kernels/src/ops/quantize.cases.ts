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
    caseOf({ name: 'quantize per-token bf16', op: 'quantize', dtype: 'bf16→i8', shape: '[11,768]', tier: 1, host: { x: xt },
      ref: () => { const r = ref.quantizePerToken({ x: xt }); return [r.q, r.scale]; },
      launch: (d) => { const r = gpu.quantizePerToken({ x: d['x'] as never }); return [r.q, r.scale]; }, bytes: bytesOf(xt) * 1.5, flops: 0 }),
    caseOf({ name: 'dequantize per-token → f32', op: 'quantize', dtype: 'i8→f32', shape: '[11,768]', tier: 1, host: { q, scale },
      ref: () => [ref.dequantize({ q, scale }, { outDtype: 'f32' })], launch: (d) => [gpu.dequantize({ q: d['q'] as never, scale: d['scale'] as never }, { outDtype: 'f32' })], bytes: bytesOf(q) * 5, flops: 0 }),
  ];
}
