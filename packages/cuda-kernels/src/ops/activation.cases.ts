/**
 * Kernel cases of op `activation` (tier 1, exact): GELU (tanh form) at the GPT-2 MLP width in each
 * dtype, and SwiGLU.
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType } from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function geluCase(dt: ActDType): KernelCase {
  const x = rnd(dt, [7, 3072], 41, 3);
  return caseOf({ name: `gelu ${dt} (gpt2 MLP width)`, op: 'activation', dtype: dt, shape: '[7,3072]', tier: 1, host: { x },
    ref: () => [ref.gelu({ x })], launch: (d) => [gpu.gelu({ x: d['x'] as never })], bytes: bytesOf(x) * 2, flops: 20 * 7 * 3072 });
}

export function swigluCase(): KernelCase {
  const x = rnd('bf16', [5, 11], 44, 4);
  const gate = rnd('bf16', [5, 11], 45, 2);
  return caseOf({ name: 'swiglu bf16', op: 'activation', dtype: 'bf16', shape: '[5,11]', tier: 1, host: { x, gate },
    ref: () => [ref.swiglu({ x, gate })], launch: (d) => [gpu.swiglu({ x: d['x'] as never, gate: d['gate'] as never })], bytes: bytesOf(x, gate, x), flops: 20 * 55 });
}
