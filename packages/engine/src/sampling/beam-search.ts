/**
 * Beam-search scoring (HF BeamSearchScorer's rule), pure: no slots, no KV cache.
 *   step:  every live beam's top 2k continuations by Σ log p (each beam's row reduced by ref-math
 *          beamCandidates — on the backend, or on the host from logits — and scored by beamLogProbs in
 *          float64; ties to the lower beam, then the lower token); candidates ending in the end id
 *          among the first k become finished hypotheses, the best k others continue;
 *   score: Σ log p / length^lengthPenalty, length = new tokens (the end id included);
 *   done:  k hypotheses finished and the best live beam cannot beat the worst of them, or maxNew reached
 *          (then the live beams are finished as they are); the best k hypotheses, best first.
 */

import { beamLogProbs, type BeamCandidates } from '@trtllm/ref-math';

export interface BeamState {
  readonly tokens: readonly number[];
  /** Σ log p of its tokens. */
  readonly logProb: number;
}

export interface Hypothesis {
  readonly tokens: readonly number[];
  readonly score: number;
  /** 'end': it ended with the end id; 'length': a live beam finished at maxNew. */
  readonly finishReason: 'end' | 'length';
}

/** A continuation chosen this step: the parent beam's index and the appended token. */
export interface BeamChoice {
  readonly parent: number;
  readonly token: number;
  readonly logProb: number;
}

export const beamScore = (logProb: number, length: number, lengthPenalty: number): number => logProb / length ** lengthPenalty;

/**
 * One step: the k continuations (best first) and the hypotheses that ended with the end id.
 * `rows[b]`: beam b's row reduced to at least its first 2k candidates (ref-math beamCandidates).
 */
export function beamStep(parents: readonly BeamState[], rows: readonly BeamCandidates[], k: number, endId: number | undefined, lengthPenalty: number): { next: BeamChoice[]; ended: Hypothesis[] } {
  const cands: BeamChoice[] = [];
  parents.forEach((b, parent) => {
    const c = rows[parent]!;
    const lp = beamLogProbs(c);
    c.ids.slice(0, 2 * k).forEach((token, j) => cands.push({ parent, token, logProb: b.logProb + lp[j]! }));
  });
  cands.sort((a, b) => b.logProb - a.logProb || a.parent - b.parent || a.token - b.token);
  const next: BeamChoice[] = [];
  const ended: Hypothesis[] = [];
  for (const [rank, c] of cands.entries()) {
    if (c.token === endId) {
      if (rank < k) {
        const tokens = [...parents[c.parent]!.tokens, c.token];
        ended.push({ tokens, score: beamScore(c.logProb, tokens.length, lengthPenalty), finishReason: 'end' });
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
  const all = generated >= maxNew ? [...finished, ...live.map((b) => ({ tokens: b.tokens, score: beamScore(b.logProb, b.tokens.length, lengthPenalty), finishReason: 'length' as const }))] : [...finished];
  return all.sort((a, b) => b.score - a.score).slice(0, k);
}
