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
import { f32, f32FromBits, f32ToBits, rni } from '../numerics/f32.js';
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

/** Step 4: the fixed-point weight of a logit `xi` when the largest is `m`, in units of 1/`one` (beams: 2^−32). */
export function samplingWeight(xi: number, m: number, temperature: number, one: number = SAMPLING_WEIGHT_ONE): number {
  const d = xi === m ? 0 : f32(f32(xi - m) / f32(temperature));
  return rni(f32(expF32(d) * one));
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

// ---- beam search's candidates ----
//
// A beam step needs, per live beam, the log-probabilities of its most likely continuations. The spec:
// for a row x, m = the largest non-NaN x; S = Σ over x_i neither NaN nor −∞ of
// rni(expF32(fp32(x_i − m)) · 2^32) (x_i = m weighs exactly 2^32) — an exact integer sum (< 2^53 for
// V < 2^21); the candidates are the first n ids in order (x descending, id ascending, NaN left out),
// and a candidate's log-probability is x_i − (m + ln S − 32 ln 2) in float64. So a backend reduces a
// row to n ids, their n logits, m and S — the host scores them with no row of logits at all — and the
// result is the same on every backend. ln of the sum differs from a float64 log-softmax by at most
// ~V · 2^−33 relative (each term's rounding), ~6e-6 for GPT-2's vocabulary, typically far less.

/** The weight unit of a beam row's sum: weights are multiples of 2^−32 of the largest term. */
export const BEAM_WEIGHT_ONE = 2 ** 32;

/** A row reduced for beam search: its first n candidates (ids and fp32 logits, in order), its max and its weight sum. */
export interface BeamCandidates {
  readonly ids: readonly number[];
  readonly logits: readonly number[];
  /** The largest non-NaN logit (NaN when every logit is NaN). */
  readonly max: number;
  /** Σ rni(expF32(fp32(x_i − max)) · 2^32), an exact integer. */
  readonly weightSum: number;
}

/** The beam-search reduction of one row of fp32 logits to n candidates. */
export function beamCandidates(x: ArrayLike<number>, n: number): BeamCandidates {
  const first = firstInOrder(x, n);
  return { ids: first, logits: first.map((i) => x[i]!), ...rowNormalizer(x) };
}

/** A row's max m (the first largest non-NaN value; NaN when there is none) and S = Σ rni(expF32(fp32(x_i − m)) · 2^32). */
function rowNormalizer(x: ArrayLike<number>): { readonly max: number; readonly weightSum: number } {
  let m = Number.NaN;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]) && !(x[i]! <= m)) m = x[i]!; // NaN m: the first non-NaN
  let weightSum = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i]) && x[i] !== -Infinity) weightSum += samplingWeight(x[i]!, m, 1, BEAM_WEIGHT_ONE); // t 1: fp32(d / 1) = d
  return { max: m, weightSum };
}

/**
 * The first n non-NaN ids of a row in candidate order (x descending, then id ascending). Kept as a
 * sorted list of at most n while scanning (a full sort of the vocabulary per row costs ~25 ms on a
 * GPT-2 row); for large n the plain sort.
 */
function firstInOrder(x: ArrayLike<number>, n: number): number[] {
  const before = (a: number, b: number): boolean => x[a]! > x[b]! || (x[a] === x[b] && a < b);
  if (n > 64) {
    const ids: number[] = [];
    for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i])) ids.push(i);
    return ids.sort((a, b) => x[b]! - x[a]! || a - b).slice(0, n);
  }
  const top: number[] = [];
  for (let i = 0; i < x.length && n > 0; i++) {
    if (Number.isNaN(x[i])) continue;
    if (top.length === n && !before(i, top[n - 1]!)) continue;
    let j = Math.min(top.length, n - 1);
    if (top.length < n) top.push(i);
    while (j > 0 && before(i, top[j - 1]!)) {
      top[j] = top[j - 1]!;
      j--;
    }
    top[j] = i;
  }
  return top;
}

/** The row's log-sum-exp from its reduction, in float64: max + ln S − 32 ln 2 (S = Σ rni(exp(x − max)·2^32)). */
function logSumExp(c: Pick<BeamCandidates, 'max' | 'weightSum'>): number {
  return c.max + (Math.log(c.weightSum) - 32 * Math.LN2);
}

/** Each candidate's log-probability in float64: x_i − (max + ln S − 32 ln 2). */
export function beamLogProbs(c: BeamCandidates): number[] {
  const lse = logSumExp(c);
  return c.logits.map((x) => x - lse);
}

/** A token's log-probability and, when asked, the n most likely tokens' (OpenAI's `logprobs`). */
export interface TokenLogProbs {
  readonly token: number;
  readonly logProb: number;
  /** The n most likely ids (x descending, id ascending) and their log-probabilities. */
  readonly top: readonly { readonly id: number; readonly logProb: number }[];
}

/**
 * The log-probability of `token` under the row's softmax (the model's distribution: the raw logits,
 * before penalty, temperature, top-k or top-p), with beam search's arithmetic — x_token − (max + ln S −
 * 32 ln 2), S the exact fixed-point sum — so every backend that reduces the row the same way gives the
 * same float64; and the n most likely tokens' (n = 0: none).
 */
export function tokenLogProbs(x: ArrayLike<number>, token: number, n = 0): TokenLogProbs {
  return tokenLogProbsOf(token, x[token]!, beamCandidates(x, n), n);
}

/**
 * tokenLogProbs from a row's reduction: the token, its fp32 logit and the row's beam reduction to at
 * least n candidates (a backend's beamCandidateRows, or just the max and S when n = 0) — what a device
 * step returns in place of the row.
 */
export function tokenLogProbsOf(token: number, logit: number, c: Pick<BeamCandidates, 'max' | 'weightSum'> & Partial<Pick<BeamCandidates, 'ids' | 'logits'>>, n: number): TokenLogProbs {
  const lse = logSumExp(c);
  const ids = (c.ids ?? []).slice(0, n);
  return { token, logProb: logit - lse, top: ids.map((id, j) => ({ id, logProb: c.logits![j]! - lse })) };
}

/**
 * The batched op the backends implement: i32 [R, 2n + 3] per row — n candidate ids (−1 past the
 * row's non-NaN count), the n logits' fp32 bits (0 there), the max's bits, and S as two uint32 halves
 * (low, high). beamCandidatesFromRow unpacks one row.
 */
export function beamCandidateRows(x: Tensor<'f32'>, n: number): Tensor<'i32'> {
  expectDType('beamCandidateRows', 'x', x, ['f32']);
  const [rows, v] = expectShape('beamCandidateRows', 'x', x, ['R', 'V']) as [number, number];
  if (!Number.isInteger(n) || n < 1) throw new ShapeError({ op: 'beamCandidateRows', what: 'n', expected: 'an integer ≥ 1', got: String(n) });
  const data = x.data as Float32Array;
  const out = new Int32Array(rows * (2 * n + 3));
  for (let r = 0; r < rows; r++) {
    const c = beamCandidates(data.subarray(r * v, (r + 1) * v), n);
    const o = r * (2 * n + 3);
    for (let j = 0; j < n; j++) {
      out[o + j] = c.ids[j] ?? -1;
      out[o + n + j] = j < c.ids.length ? f32ToBits(c.logits[j]!) : 0;
    }
    out[o + 2 * n] = f32ToBits(c.max);
    out[o + 2 * n + 1] = c.weightSum % 2 ** 32 | 0;
    out[o + 2 * n + 2] = Math.floor(c.weightSum / 2 ** 32) | 0;
  }
  return fromValues('i32', [rows, 2 * n + 3], out);
}

/** Row r of a beamCandidateRows result (n candidates per row) as BeamCandidates. */
export function beamCandidatesFromRow(packed: ArrayLike<number>, r: number, n: number): BeamCandidates {
  const o = r * (2 * n + 3);
  const ids: number[] = [];
  const logits: number[] = [];
  for (let j = 0; j < n && packed[o + j]! >= 0; j++) {
    ids.push(packed[o + j]!);
    logits.push(f32FromBits(packed[o + n + j]!));
  }
  return { ids, logits, max: f32FromBits(packed[o + 2 * n]!), weightSum: (packed[o + 2 * n + 1]! >>> 0) + (packed[o + 2 * n + 2]! >>> 0) * 2 ** 32 };
}

// ---- given tokens' log-probabilities (evaluation: perplexity, scoring a text) ----
//
// To score a text the model predicts each next token: row r of the logits and the token that follows,
// tokens[r]. Its log-probability is tokenLogProbs(row, token).logProb — x_token − (m + ln S − 32 ln 2)
// with m and S as beam search reduces the row — so a backend reduces a row to four words (the token's
// logit, m, S) and the host finishes in float64: no row of logits crosses to the host.

/** The bits every NaN is written as (a quiet NaN, no payload). */
const CANONICAL_NAN_BITS = 0x7fc00000;

/** i32 words per row of tokenLogProbRows: the token's logit bits, the max's bits, S low, S high. */
export const TOKEN_LOG_PROB_WORDS = 4;

/**
 * The batched op the backends implement: i32 [R, 4] — per row r the bits of x[r, tokens[r]] (every
 * NaN as 0x7fc00000; NaN too for a token outside [0, V): such a token has no logit), the bits of the row's max m and
 * S = Σ rni(expF32(fp32(x_i − m)) · 2^32) as two uint32 halves (low, high). tokenLogProbFromRow turns
 * a row into the float64 log-probability.
 */
export function tokenLogProbRows(x: Tensor<'f32'>, tokens: Tensor<'i32'>): Tensor<'i32'> {
  expectDType('tokenLogProbRows', 'x', x, ['f32']);
  const [rows, v] = expectShape('tokenLogProbRows', 'x', x, ['R', 'V']) as [number, number];
  expectDType('tokenLogProbRows', 'tokens', tokens, ['i32']);
  expectShape('tokenLogProbRows', 'tokens', tokens, [rows]);
  const data = x.data as Float32Array;
  const out = new Int32Array(rows * TOKEN_LOG_PROB_WORDS);
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * v, (r + 1) * v);
    const token = tokens.data[r]!;
    const { max, weightSum } = rowNormalizer(row);
    const logit = token >= 0 && token < v ? row[token]! : Number.NaN;
    out.set([Number.isNaN(logit) ? CANONICAL_NAN_BITS : f32ToBits(logit), Number.isNaN(max) ? CANONICAL_NAN_BITS : f32ToBits(max), weightSum % 2 ** 32 | 0, Math.floor(weightSum / 2 ** 32) | 0], r * TOKEN_LOG_PROB_WORDS);
  }
  return fromValues('i32', [rows, TOKEN_LOG_PROB_WORDS], out);
}

/** Row r of a tokenLogProbRows result as a log-probability in float64: x_token − (m + ln S − 32 ln 2). */
export function tokenLogProbFromRow(packed: ArrayLike<number>, r: number): number {
  const o = r * TOKEN_LOG_PROB_WORDS;
  return f32FromBits(packed[o]!) - logSumExp({ max: f32FromBits(packed[o + 1]!), weightSum: (packed[o + 2]! >>> 0) + (packed[o + 3]! >>> 0) * 2 ** 32 });
}
