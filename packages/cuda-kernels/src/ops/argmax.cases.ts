/**
 * Kernel cases of op `argmax` (tier 1, exact): the device argmax over GPT-2-vocabulary logits, with
 * a tie (the first wins), leading NaNs (skipped) and an all-NaN row (V − 1).
 */
import * as ref from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function argmaxCases(): KernelCase[] {
  const logits = rnd('f32', [4, 50257], 350, 3);
  const ld = logits.data as Float32Array;
  ld[7] = 1e9; ld[8] = 1e9;                 // row 0: a tie → the first
  ld.fill(NaN, 50257, 50257 + 20);          // row 1: leading NaNs skipped
  ld.fill(NaN, 2 * 50257, 3 * 50257);       // row 2: all NaN → V − 1
  return [
    caseOf({ name: 'argmax f32 gpt2 logits (ties, NaN rows)', op: 'argmax', dtype: 'f32→i32', shape: '[4,50257]', tier: 1, host: { logits },
      ref: () => [ref.argmaxRows(logits)], launch: (d) => [gpu.argmaxRows(d['logits'] as never)], bytes: bytesOf(logits), flops: 0 }),
  ];
}
