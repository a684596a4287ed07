/**
 * Beam-search scoring (HF BeamSearchScorer's rule), pure: no slots, no KV cache.
 *   step:  every live beam's top 2k continuations by Σ log p (float64 log-softmax of the fp32
 *          logits; ties to the lower beam, then the lower token); candidates ending in the end id
 *          among the first k become finished hypotheses, the best k others continue;
 *   score: Σ log p / length^lengthPenalty, length = new tokens (the end id included);
 *   done:  k hypotheses finished and the best live beam cannot beat the worst of them, or maxNew reached
 *          (then the live beams are finished as they are); the best k hypotheses, best first.
 */

export interface BeamState {
  readonly tokens: readonly number[];
  /** Σ log p of its tokens. */
  readonly logProb: number;
}

export interface Hypothesis {
  readonly tokens: readonly number[];
  readonly score: number;
}

/** A continuation chosen this step: the parent beam's index and the appended token. */
export interface BeamChoice {
  readonly parent: number;
  readonly token: number;
  readonly logProb: number;
}

/** log-softmax of fp32 logits, in float64. */
export function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - lse);
}

/** Indices of the n largest values, largest first (ties: lower index first). */
export function topN(values: Float64Array, n: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === n && values[i]! <= values[best[n - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && values[best[at - 1]!]! < values[i]!) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

export const beamScore = (logProb: number, length: number, lengthPenalty: number): number => logProb / length ** lengthPenalty;

/** One step: the k continuations (best first) and the hypotheses that ended with the end id. */
export function beamStep(parents: readonly BeamState[], rows: readonly Float32Array[], k: number, endId: number | undefined, lengthPenalty: number): { next: BeamChoice[]; ended: Hypothesis[] } {
  const cands: BeamChoice[] = [];
  parents.forEach((b, parent) => {
    const lp = logSoftmax(rows[parent]!);
    for (const token of topN(lp, 2 * k)) cands.push({ parent, token, logProb: b.logProb + lp[token]! });
  });
  cands.sort((a, b) => b.logProb - a.logProb || a.parent - b.parent || a.token - b.token);
  const next: BeamChoice[] = [];
  const ended: Hypothesis[] = [];
  for (const [rank, c] of cands.entries()) {
    if (c.token === endId) {
      if (rank < k) {
        const tokens = [...parents[c.parent]!.tokens, c.token];
        ended.push({ tokens, score: beamScore(c.logProb, tokens.length, lengthPenalty) });
      }
      continue;
    }
    next.push(c);
    if (next.length === k) break;
  }
  return { next, ended };
}

/** Whether the search is over; if so, the best k hypotheses (live beams finished when at maxNew). */
export function beamResults(live: readonly BeamState[], finished: readonly Hypothesis[], k: number, maxNew: number, lengthPenalty: number): Hypothesis[] | undefined {
  const generated = live[0]?.tokens.length ?? maxNew;
  let done = generated >= maxNew || live.length === 0;
  if (!done && finished.length >= k) {
    const worst = [...finished].sort((a, b) => b.score - a.score)[k - 1]!.score;
    done = worst >= Math.max(...live.map((b) => beamScore(b.logProb, b.tokens.length, lengthPenalty)));
  }
  if (!done) return undefined;
  const all = generated >= maxNew ? [...finished, ...live.map((b) => ({ tokens: b.tokens, score: beamScore(b.logProb, b.tokens.length, lengthPenalty) }))] : [...finished];
  return all.sort((a, b) => b.score - a.score).slice(0, k);
}
