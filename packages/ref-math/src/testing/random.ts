/** Test-only: seeded random tensors, and a helper to capture a thrown error. */
import type { DType } from '../dtype.js';
import { normalSampler, seededRandom } from '../model/weights.js';
import { fromValues, type Tensor } from '../tensor.js';

export function randomTensor<D extends DType>(dtype: D, shape: readonly number[], seed: number, std = 1, mean = 0): Tensor<D> {
  const normal = normalSampler(seededRandom(seed));
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'i8') return fromValues(dtype, shape, Float64Array.from({ length: n }, () => Math.max(-128, Math.min(127, Math.round(normal(mean, std))))));
  if (dtype === 'i32') return fromValues(dtype, shape, Float64Array.from({ length: n }, () => Math.round(normal(mean, std))));
  return fromValues(dtype, shape, Float64Array.from({ length: n }, () => normal(mean, std)));
}

/** Uniformly random int8 values over the full range [−128, 127]. */
export function randomInt8(shape: readonly number[], seed: number): Tensor<'i8'> {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return fromValues('i8', shape, Float64Array.from({ length: n }, () => Math.floor(rand() * 256) - 128));
}

/** The error `fn` throws; fails the test (by throwing) if it returns normally. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw, but it returned');
}
