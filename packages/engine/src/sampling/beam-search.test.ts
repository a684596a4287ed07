// Beam-search scoring on its own, on logits whose log-probabilities are worked out by hand:
// log-softmax, top-n with ties, the 2k candidates per beam, ended hypotheses only from the first k
// ranks, the length penalty, and when the search is over.
import { describe, expect, it } from 'vitest';
import { beamCandidates, beamLogProbs } from '@trtllm/ref-math';
import { beamResults, beamScore, beamStep } from './beam-search.js';

/** A beam's row of logits ln p, reduced as the backend reduces it (its first 8 candidates). */
const row = (...p: number[]) => beamCandidates(Float32Array.from(p.map(Math.log)), 8); // log-softmax of ln p is ln p again when Σp = 1

describe('beam search scoring', () => {
  it('candidates: log p back for logits ln p, in order, ties to the lower token; shift invariant', () => {
    const c = row(0.25, 0.5, 0.25);
    expect(c.ids).toEqual([1, 0, 2]);
    beamLogProbs(c).forEach((lp, j) => expect(Math.exp(lp)).toBeCloseTo([0.5, 0.25, 0.25][j]!, 6)); // logits are ln p rounded to fp32
    const shifted = beamLogProbs(beamCandidates(Float32Array.from([3, 2, 2]), 3));
    expect(shifted[1]).toBe(shifted[2]);
    expect(shifted[0]! - shifted[1]!).toBeCloseTo(1, 6);
  });
  it('a step keeps the best k of every beam\'s 2k continuations by Σ log p; ties go to the lower beam, then token', () => {
    // beam 0 has log p −1 so far, beam 1 −2; tokens 0…3
    const parents = [{ tokens: [7], logProb: -1 }, { tokens: [8], logProb: -2 }];
    const rows = [row(0.1, 0.6, 0.2, 0.1), row(0.7, 0.1, 0.1, 0.1)];
    const { next, ended } = beamStep(parents, rows, 2, undefined, 1);
    expect(ended).toEqual([]);
    // candidates: beam 0: −1 + ln .6 = −1.51, −1 + ln .2 = −2.61; beam 1: −2 + ln .7 = −2.36, −2 + ln .1 = −4.30
    expect(next.map((c) => [c.parent, c.token])).toEqual([[0, 1], [1, 0]]);
    expect(next[0]!.logProb).toBeCloseTo(-1 + Math.log(0.6), 6);
    expect(next[1]!.logProb).toBeCloseTo(-2 + Math.log(0.7), 6);
    // ties: equal log-probabilities go to the lower beam, then the lower token
    const tie = beamStep([{ tokens: [1], logProb: 0 }, { tokens: [2], logProb: 0 }], [row(0.5, 0.5), row(0.5, 0.5)], 3, undefined, 1);
    expect(tie.next.map((c) => [c.parent, c.token])).toEqual([[0, 0], [0, 1], [1, 0]]);
  });
  it('an end id among the first k ranks finishes a hypothesis (length counts the end id); beyond rank k it is dropped', () => {
    const parents = [{ tokens: [1, 2], logProb: -0.5 }];
    const { next, ended } = beamStep(parents, [row(0.5, 0.3, 0.15, 0.05)], 2, 0, 1);
    expect(ended.map((h) => h.tokens)).toEqual([[1, 2, 0]]);
    expect(ended[0]!.score).toBeCloseTo((-0.5 + Math.log(0.5)) / 3, 6);
    expect(next.map((c) => c.token)).toEqual([1, 2]); // the k live beams skip the end id
    // k 1, two beams both ending first: the end id at rank 0 finishes, the one at rank 1 (= k) does not
    const two = beamStep([{ tokens: [4], logProb: -0.1 }, { tokens: [5], logProb: -0.2 }], [row(0.9, 0.1), row(0.9, 0.1)], 1, 0, 1);
    expect(two.ended.map((h) => [h.tokens, h.finishReason])).toEqual([[[4, 0], 'end']]);
    expect(two.next.map((c) => [c.parent, c.token])).toEqual([[0, 1]]);
    const late = beamStep(parents, [row(0.5, 0.3, 0.15, 0.05)], 2, 3, 1); // end id 3 is 4th: no hypothesis
    expect(late.ended).toEqual([]);
    expect(late.next.map((c) => c.token)).toEqual([0, 1]);
  });
  it('length penalty: score = Σ log p / length^α', () => {
    expect(beamScore(-6, 3, 1)).toBe(-2);
    expect(beamScore(-6, 4, 0.5)).toBe(-3);
    expect(beamScore(-6, 4, 0)).toBe(-6);
  });
  it('done when k hypotheses are in and no live beam can beat the worst; at maxNew the live beams finish too', () => {
    const finished = [{ tokens: [1, 0], score: -1, finishReason: 'end' as const }, { tokens: [2, 0], score: -2, finishReason: 'end' as const }];
    expect(beamResults([{ tokens: [3, 4], logProb: -1 }], finished, 2, 10, 1)).toBeUndefined(); // live −0.5 beats −2
    expect(beamResults([{ tokens: [3, 4], logProb: -5 }], finished, 2, 10, 1)).toEqual(finished); // live −2.5 cannot
    const atMax = beamResults([{ tokens: [3, 4], logProb: -1 }], [finished[1]!], 2, 2, 1);
    expect(atMax).toEqual([{ tokens: [3, 4], score: -0.5, finishReason: 'length' }, finished[1]]); // best first, live beam included (finished by length)
  });
});
