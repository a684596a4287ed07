/**
 * argmax — greedy decoding's choice, the naive sequential scan: best = 0; for i = 1 … V−1, best = i
 * when x[i] > x[best] or x[best] is NaN. So: the first index of the largest non-NaN value (ties go to
 * the lower index), and V − 1 when every value is NaN. Exact on every kernel (tier 1): it compares,
 * it never rounds.
 */
import { expectDType, expectShape } from '../check.js';
import { fromValues, type Tensor } from '../tensor.js';

/** Index of the largest value (the first one on ties); NaN is never chosen over a number. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]! || Number.isNaN(values[best]!)) best = i;
  return best;
}

/** ids[r] = argmax of row r of x [R, V] (fp32 logits). */
export function argmaxRows(x: Tensor<'f32'>): Tensor<'i32'> {
  expectDType('argmaxRows', 'x', x, ['f32']);
  const [rows, cols] = expectShape('argmaxRows', 'x', x, ['R', 'V']) as [number, number];
  const data = x.data as Float32Array;
  return fromValues('i32', [rows], Array.from({ length: rows }, (_, r) => argmax(data.subarray(r * cols, (r + 1) * cols))));
}
