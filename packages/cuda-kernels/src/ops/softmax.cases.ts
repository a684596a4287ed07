/**
 * Kernel cases of op `softmax` (tier 2, exact in the reference order): scaled softmax, with a mask,
 * and a wide row.
 */
import * as ref from '@trtllm/ref-math';
import { fromValues } from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function softmaxCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [name, dt, rows, cols, masked] of [['softmax f32 odd', 'f32', 5, 13, false], ['softmax f16 masked', 'f16', 7, 11, true], ['softmax bf16 wide', 'bf16', 3, 1024, false]] as const) {
    const x = rnd(dt, [rows, cols], rows * cols, 3);
    const mask = masked ? fromValues('i8', [rows, cols], Array.from({ length: rows * cols }, (_, i) => (i % 3 === 1 || i % cols === cols - 1 ? 0 : 1))) : undefined;
    cases.push(caseOf({ name, op: 'softmax', dtype: dt, shape: `[${rows},${cols}]${masked ? ' masked' : ''}`, tier: 2, host: { x, mask },
      ref: () => [ref.maskedSoftmax(mask ? { x, mask } : { x }, { scale: 0.37 })], launch: (d) => [gpu.maskedSoftmax({ x: d['x'] as never, mask: d['mask'] as never }, { scale: 0.37 })],
      bytes: bytesOf(x) * 2, flops: 5 * rows * cols }));
  }
  return cases;
}
