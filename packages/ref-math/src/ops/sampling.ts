/**
 * sampling — the next token of a row of fp32 logits: repetition penalty, a banned token, then greedy
 * argmax or temperature / top-k / top-p and a seeded draw. This file is the specification; every
 * backend gives the same token for the same inputs (tier 2: the fp32 steps below are elementwise and
 * every sum is an exact integer sum, so the order a kernel adds in cannot change a bit).
 *
 * For one row x[0 … V−1] and its settings (SamplingRow):
 *   1. Penalty: for each distinct seen id s < V, x[s] = fp32(x[s] / ρ) if x[s] > 0, else fp32(x[s] · ρ)
 *      (ρ = fp32(repetitionPenalty); 1 leaves x as it is). Then x[banned] = −∞ (the end id before
 *      min_new_tokens; −1: none).
 *   2. Greedy (temperature 0): argmax(x) — the first largest non-NaN value (ops/argmax.ts).
 *   3. m = the largest x that is neither NaN nor −∞ (none: argmax(x), as greedy).
 *   4. Weights, fixed point: for every x_i neither NaN nor −∞, w_i = rni(expF32(d_i) · 2^24), with
 *      d_i = 0 where x_i = m and d_i = fp32(fp32(x_i − m) / t) otherwise (t = fp32(temperature) > 0).
 *      So the most likely token weighs exactly 2^24 and every other w_i is an integer in [0, 2^24]:
 *      its probability relative to the first, to 2^−24. The candidates are the ids of positive
 *      weight, in order: x descending, then id ascending (weight 0 is never drawn nor counted).
 *      Sums of weights are exact integers (< 2^53 for V < 2^29), so they do not depend on the order
 *      a kernel adds them in.
 *   5. Top-k (k > 0): only the first k candidates stay.
 *   6. Top-p (p = fp32(topP) < 1): with S = Σ w over what stays, the shortest prefix whose cumulative
 *      weight reaches ⌈p · S⌉ (one float64 product, rounded up) stays; at least one candidate.
 *   7. Draw: with S = Σ w over what stays and the request's uint32 draw r, the target is
 *      ⌊r · S / 2^32⌋ (exact: 0 ≤ target < S); the token is the first candidate, in order, whose
 *      inclusive cumulative weight exceeds the target.
 * So P(token i) = w_i / S: the softmax of x / t over what stays, each weight rounded to 2^−24 of the
 * first's, and the draw's own resolution 2^−32.
 *
 * The draw r is the next output of the request's own generator (model/weights.ts mulberry32, seeded
 * per request), taken only when a row is not greedy, so a request's tokens never depend on other
 * requests, the batch or the backend.
 */
import { expectDType, expectShape } from '../check.js';
import { ShapeError } from '../errors.js';
import { f32, rni } from '../numerics/f32.js';
import { expF32 } from '../numerics/transcendental.js';
import { fromValues, type Tensor } from '../tensor.js';
import { argmax } from './argmax.js';

/** One row's settings (the engine validates them: temperature ≥ 0, topK ≥ 0, topP in (0, 1], penalty > 0). */
export interface SamplingRow {
  /** 0: greedy (argmax after the penalty and the ban). Used as fp32. */
  readonly temperature: number;
  /** Keep the k most likely candidates; 0: no filter. */
  readonly topK: number;
  /** Keep the most likely candidates whose weight reaches this share; 1: no filter. Used as fp32. */
  readonly topP: number;
  /** > 0; 1: off. Used as fp32. */
  readonly repetitionPenalty: number;
  /** The sequence's tokens so far (prompt and output); repeats, negative ids and ids ≥ V are ignored. */
  readonly seen: readonly number[];
  /** A token that cannot be chosen (−1: none). */
  readonly banned: number;
  /** A uint32 from the request's generator; unused when greedy. */
  readonly draw: number;
}

/** The weight of the most likely candidate: weights are fixed-point multiples of 2^−24. */
export const SAMPLING_WEIGHT_ONE = 2 ** 24;

/** Steps 1: the row after the repetition penalty and the ban (a new array). */
export function penalizedLogits(x: ArrayLike<number>, r: Pick<SamplingRow, 'repetitionPenalty' | 'seen' | 'banned'>): Float32Array {
  const y = Float32Array.from(x);
  const rho = f32(r.repetitionPenalty);
  if (rho !== 1) {
    for (const s of new Set(r.seen)) {
      if (!(s >= 0 && s < y.length)) continue; // a prompt-table (virtual) token has no logit
      const v = y[s]!;
      y[s] = v > 0 ? f32(v / rho) : f32(v * rho);
    }
  }
  if (r.banned >= 0 && r.banned < y.length) y[r.banned] = -Infinity;
  return y;
}

/** Steps 3–4: the candidates of a (penalized) row in order, with their weights; none when every x is NaN or −∞. */
export function samplingCandidates(x: ArrayLike<number>, temperature: number): { readonly order: number[]; readonly weights: number[] } {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (m === -Infinity) return { order: [], weights: [] };
  const w = new Float64Array(x.length);
  const order: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]) || x[i] === -Infinity) continue;
    w[i] = samplingWeight(x[i]!, m, temperature);
    if (w[i]! > 0) order.push(i);
  }
  order.sort((a, b) => x[b]! - x[a]! || a - b);
  return { order, weights: order.map((i) => w[i]!) };
}

/** Step 4: the fixed-point weight of a logit `xi` when the largest is `m`. */
export function samplingWeight(xi: number, m: number, temperature: number): number {
  const d = xi === m ? 0 : f32(f32(xi - m) / f32(temperature));
  return rni(f32(expF32(d) * SAMPLING_WEIGHT_ONE));
}

/** Step 7's target: ⌊r · S / 2^32⌋ for a uint32 r and an integer S < 2^53, exactly. */
export function drawTarget(draw: number, total: number): number {
  return Number((BigInt(draw >>> 0) * BigInt(total)) >> 32n);
}

/** The next token of one row of fp32 logits (the whole specification above). */
export function sampleToken(x: ArrayLike<number>, r: SamplingRow): number {
  const y = penalizedLogits(x, r);
  if (f32(r.temperature) === 0) return argmax(y);
  let { order, weights } = samplingCandidates(y, r.temperature);
  if (order.length === 0) return argmax(y);
  if (r.topK > 0) {
    order = order.slice(0, r.topK);
    weights = weights.slice(0, r.topK);
  }
  let total = weights.reduce((s, w) => s + w, 0);
  const p = f32(r.topP);
  if (p < 1) {
    const need = Math.ceil(p * total);
    let cum = 0;
    let keep = 0;
    while (keep < order.length && (keep === 0 || cum < need)) cum += weights[keep++]!;
    order = order.slice(0, keep);
    weights = weights.slice(0, keep);
    total = cum;
  }
  const target = drawTarget(r.draw, total);
  let cum = 0;
  for (let j = 0; j < order.length; j++) {
    cum += weights[j]!;
    if (cum > target) return order[j]!;
  }
  throw new Error('unreachable: the target is below the total weight');
}

/** tokens[r] = sampleToken(row r of x [R, V], rows[r]): the batched op the backends implement. */
export function sampleRows(x: Tensor<'f32'>, rows: readonly SamplingRow[]): Tensor<'i32'> {
  expectDType('sampleRows', 'x', x, ['f32']);
  const [n, v] = expectShape('sampleRows', 'x', x, ['R', 'V']) as [number, number];
  if (rows.length !== n) throw new ShapeError({ op: 'sampleRows', what: 'rows', expected: `${n} settings (one per row of x)`, got: String(rows.length) });
  const data = x.data as Float32Array;
  return fromValues('i32', [n], rows.map((r, i) => sampleToken(data.subarray(i * v, (i + 1) * v), r)));
}
