/**
 * Shared by the op wrappers: the device form of an op spec (every ref-math Tensor<D> becomes a
 * DeviceTensor<D>), dtype codes, and turning a kernel's error flag into ref-math's IndexRangeError.
 */
import { IndexRangeError, type DType, type Tensor } from '@trtllm/ref-math';
import { DTYPE_CODES } from './binding.js';
import type { DeviceTensor } from './device.js';

/** An op's inputs with device tensors in place of host tensors (optional inputs stay optional). */
export type OnDevice<T> = {
  readonly [K in keyof T]: T[K] extends Tensor<infer D> ? DeviceTensor<D> : T[K] extends Tensor<infer D> | undefined ? DeviceTensor<D> | undefined : T[K];
};

export const code = (d: DType): number => DTYPE_CODES[d];

/** A kernel's error flag (1 + index) as the oracle's error for the same input. */
export function throwIfFlagged(flag: number, op: string, what: string, expected: string): void {
  if (flag !== 0) throw new IndexRangeError({ op, what: `${what}[${flag - 1}]`, expected, got: 'a value outside it (checked on the device)' });
}
