// ROUGE against values worked out by hand from rouge_score's definitions, and the bootstrap's
// generator against numpy's legacy MT19937 outputs for seed 0 (np.random.seed(0); randint / rand).
import { describe, expect, it } from 'vitest';
import { bootstrapAggregate, Mt19937, rougeScores, rougeTokenize } from './rouge.js';

describe('rouge_score port', () => {
  it('tokenizes as rouge_score: lower-case, non-alphanumerics to spaces, ASCII tokens only', () => {
    expect(rougeTokenize("The U.S. isn't 42-ish — café!")).toEqual(['the', 'u', 's', 'isn', 't', '42', 'ish', 'caf']);
    expect(rougeTokenize('')).toEqual([]);
  });
  it('rouge1 / rouge2 / rougeL on "the cat sat on the mat" vs "the cat on the mat"', () => {
    const s = rougeScores('the cat sat on the mat', 'the cat on the mat');
    expect(s.rouge1.precision).toBe(1);
    expect(s.rouge1.recall).toBeCloseTo(5 / 6, 15);
    expect(s.rouge1.fmeasure).toBeCloseTo(10 / 11, 15);
    expect(s.rouge2.precision).toBeCloseTo(3 / 4, 15); // the cat, on the, the mat of 4
    expect(s.rouge2.recall).toBeCloseTo(3 / 5, 15);
    expect(s.rouge2.fmeasure).toBeCloseTo(2 / 3, 15);
    expect(s.rougeL.fmeasure).toBeCloseTo(10 / 11, 15); // LCS 5
    expect(s.rougeLsum.fmeasure).toBeCloseTo(10 / 11, 15);
  });
  it('rougeLsum takes the union of LCS positions over predicted sentences; clipped by token counts', () => {
    // ref sentence "a b c d"; predicted sentences "a b" and "c d": union LCS = all 4 tokens
    const s = rougeScores('a b c d', 'a b\nc d');
    expect(s.rougeLsum).toEqual({ precision: 1, recall: 1, fmeasure: 1 });
    expect(s.rougeL.recall).toBe(1); // as one text, "a b c d" too
    // repeated tokens count at most as often as the prediction has them: ref "a a a", pred "a" → 1 hit
    expect(rougeScores('a a a', 'a').rougeLsum.recall).toBeCloseTo(1 / 3, 15);
    // empty prediction scores 0, never NaN
    expect(rougeScores('a b', '')).toEqual({ rouge1: { precision: 0, recall: 0, fmeasure: 0 }, rouge2: { precision: 0, recall: 0, fmeasure: 0 }, rougeL: { precision: 0, recall: 0, fmeasure: 0 }, rougeLsum: { precision: 0, recall: 0, fmeasure: 0 } });
  });
});

describe('numpy legacy MT19937, seed 0', () => {
  it('randint(0, 10, 5) = [5, 0, 3, 3, 7]; randint(0, 100, 10) = [44, 47, 64, 67, 67, 9, 83, 21, 36, 87]', () => {
    const a = new Mt19937(0);
    expect(Array.from({ length: 5 }, () => a.below(10))).toEqual([5, 0, 3, 3, 7]);
    const b = new Mt19937(0);
    expect(Array.from({ length: 10 }, () => b.below(100))).toEqual([44, 47, 64, 67, 67, 9, 83, 21, 36, 87]);
  });
  it('rand() = 0.5488135039273248 (two draws → 53 bits)', () => {
    const g = new Mt19937(0);
    expect(((g.next() >>> 5) * 67108864 + (g.next() >>> 6)) / 9007199254740992).toBe(0.5488135039273248);
  });
  it('bootstrap: identical examples give that score at every percentile; mid lies between low and high', () => {
    const one = rougeScores('the cat sat on the mat', 'the cat on the mat');
    const agg = bootstrapAggregate([one, one, one]);
    expect(agg.rouge1.mid.fmeasure).toBeCloseTo(10 / 11, 14);
    const mixed = bootstrapAggregate(['a b', 'a c', 'x y', 'a b c'].map((p) => rougeScores('a b c', p)));
    expect(mixed.rouge1.low.fmeasure).toBeLessThanOrEqual(mixed.rouge1.mid.fmeasure);
    expect(mixed.rouge1.mid.fmeasure).toBeLessThanOrEqual(mixed.rouge1.high.fmeasure);
  });
});
