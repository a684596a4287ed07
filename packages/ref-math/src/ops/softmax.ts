/**
 * softmax — masked, scaled softmax over the last axis.
 *
 * Shapes: x [R, N], mask [R, N] int8 (1 keep, 0 masked; optional), y [R, N].
 * Order, per row, fp32, n ascending:
 *   s_n = fp32(x_n · scale)                     for kept n
 *   m   = max_n s_n                              (exact)
 *   e_n = expF32(fp32(s_n − m))                  masked n: e_n = 0
 *   Σ   = Σ_n e_n                                rounded each step
 *   y_n = cast_out(fp32(e_n / Σ))
 * A row with every position masked gives all zeros (never NaN).
 */
import { expectDType, expectShape } from '../check.js';
import type { ActDType } from '../dtype.js';
import { f32 } from '../numerics/f32.js';
import { expF32 } from '../numerics/transcendental.js';
import type { MaskedSoftmaxAttrs, MaskedSoftmaxInputs } from '../op-specs.js';
import { fromF32, toF32, type Tensor } from '../tensor.js';

const ACT: readonly ActDType[] = ['f32', 'f16', 'bf16'];

/**
 * Softmax of `scores[0 … n−1]` (fp32 values) in place, with `scale`, over kept positions only.
 * The row kernel shared by maskedSoftmax and attention.
 */
export function softmaxRowF32(scores: Float32Array, n: number, scale: number, keep?: (j: number) => boolean): void {
  const s = f32(scale);
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    if (keep && !keep(j)) continue;
    scores[j] = f32(scores[j]! * s);
    m = Math.max(m, scores[j]!);
  }
  if (m === -Infinity) {
    scores.fill(0, 0, n);
    return;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = keep && !keep(j) ? 0 : expF32(f32(scores[j]! - m));
    scores[j] = e;
    sum = f32(sum + e);
  }
  for (let j = 0; j < n; j++) scores[j] = f32(scores[j]! / sum);
}

export function maskedSoftmax(inputs: MaskedSoftmaxInputs, attrs: MaskedSoftmaxAttrs): Tensor<ActDType> {
  const { x, mask } = inputs;
  expectDType('maskedSoftmax', 'inputs.x', x, ACT);
  const [rows, n] = expectShape('maskedSoftmax', 'inputs.x', x, ['R', 'N']) as [number, number];
  if (mask) {
    expectDType('maskedSoftmax', 'inputs.mask', mask, ['i8']);
    expectShape('maskedSoftmax', 'inputs.mask', mask, [rows, n]);
  }
  const v = Float32Array.from(toF32(x));
  for (let r = 0; r < rows; r++) {
    const row = v.subarray(r * n, (r + 1) * n);
    softmaxRowF32(row, n, attrs.scale, mask ? (j) => mask.data[r * n + j] !== 0 : undefined);
  }
  return fromF32(attrs.outDtype ?? x.dtype, [rows, n], v);
}
