/**
 * Kernel cases of op `residual` (tier 1, exact): the residual add in each dtype, with operands of
 * very different magnitude.
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType } from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function residualCase(dt: ActDType): KernelCase {
  const a = rnd(dt, [5, 11], 42, 100);
  const b = rnd(dt, [5, 11], 43);
  return caseOf({ name: `residual ${dt}`, op: 'residual', dtype: dt, shape: '[5,11]', tier: 1, host: { a, b },
    ref: () => [ref.residualAdd({ a, b })], launch: (d) => [gpu.residualAdd({ a: d['a'] as never, b: d['b'] as never })], bytes: bytesOf(a, b, a), flops: 55 });
}
