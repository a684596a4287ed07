/**
 * Shared by the op wrappers: the device form of an op spec (every ref-math Tensor<D> becomes a
 * DeviceTensor<D>), dtype codes, turning a kernel's error flag into ref-math's IndexRangeError, and
 * what the decode GEMMs' launch plans read (the built addon, the current GPU's figures).
 */
import { IndexRangeError, type DType, type Tensor } from '@trtllm/ref-math';
import { addonIfBuilt, DTYPE_CODES, type NativeAddon } from './binding.js';
import type { DeviceTensor } from './device.js';
import { CudaUnavailableError } from './errors.js';
import type { DecodeGemmDevice } from './ops/gemm.js';

/** An op's inputs with device tensors in place of host tensors (optional inputs stay optional). */
export type OnDevice<T> = {
  readonly [K in keyof T]: T[K] extends Tensor<infer D> ? DeviceTensor<D> : T[K] extends Tensor<infer D> | undefined ? DeviceTensor<D> | undefined : T[K];
};

export const code = (d: DType): number => DTYPE_CODES[d];

/** A kernel's error flag (1 + index) as the oracle's error for the same input. */
export function throwIfFlagged(flag: number, op: string, what: string, expected: string): void {
  if (flag !== 0) throw new IndexRangeError({ op, what: `${what}[${flag - 1}]`, expected, got: 'a value outside it (checked on the device)' });
}

/** The built addon, for a launch plan (host arithmetic: no GPU needed), or a typed error. */
export function planAddon(): NativeAddon {
  const a = addonIfBuilt();
  if (!a) throw new CudaUnavailableError('the native addon is not built (npm run build in packages/cuda-kernels)');
  return a;
}

/** The current GPU's figures a launch plan depends on, or a typed error saying to pass `what` instead. */
export function currentPlanDevice(op: string, a: NativeAddon, what: string): DecodeGemmDevice {
  const info = a.deviceInfo();
  if (!info.available || info.multiprocessors === undefined || info.sharedMemoryOptin === undefined) throw new CudaUnavailableError(`${op}: no usable GPU to plan for (${info.reason ?? 'no device'}); pass ${what}`);
  return { multiprocessors: info.multiprocessors, computeMajor: Number((info.computeCapability ?? '0').split('.')[0]), sharedMemoryOptin: info.sharedMemoryOptin, clusters: a.gemmDecodeClusters() };
}
