// ROUGE against rouge_score itself (fixtures/rouge-score-reference.json, made by the real package:
// scripts/fixtures/rouge_reference.py) — per-pair precision / recall / F of rouge1/2/L/Lsum and the
// BootstrapAggregator's low / mid / high with numpy seeded as summarize.py seeds it — plus values worked
// out by hand, and the bootstrap's generator against numpy's legacy MT19937 outputs for seed 0.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedData } from '@trtllm/ref-math/testing';
import { bootstrapAggregate, Mt19937, ROUGE_TYPES, rougeScores, rougeTokenize, type RougeScore, type RougeScores } from './rouge.js';

type Triple = [number, number, number]; // precision, recall, fmeasure
interface Fixture {
  made_by: string;
  inline: { reference: string; prediction: string; scores: Record<string, Triple> }[];
  cnn: { file: string; pairs: { id: string; scores: Record<string, Triple> }[] };
  bootstrap: { pairs: string; seed: number; samples: number; result: Record<string, { low: Triple; mid: Triple; high: Triple }> }[];
}
const fixture = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/rouge-score-reference.json'), 'utf8')) as Fixture;
const triple = (s: RougeScore): Triple => [s.precision, s.recall, s.fmeasure];
/** Every score of `got` equals rouge_score's to 1e-15 relative (both are float64 sums and quotients in the same order). */
function expectScores(got: RougeScores, want: Record<string, Triple>, what: string): void {
  for (const t of ROUGE_TYPES) triple(got[t]).forEach((v, i) => expect(v, `${what} ${t}[${i}]`).toBeCloseTo(want[t]![i]!, 14));
}
const cnn = sharedData(fixture.cnn.file);
let cnnCache: { id: string; reference: string; prediction: string }[] | undefined;
/** The cnn pairs exactly as the fixture script builds them (see its header); read once. */
function cnnPairs(): { id: string; reference: string; prediction: string }[] {
  return (cnnCache ??= readFileSync(cnn.path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
    const r = JSON.parse(l) as { id: string; article: string; highlights: string };
    const words = r.article.split(/\s+/).filter((w) => w.length > 0);
    return { id: r.id, reference: r.highlights.replaceAll(' . ', ' .\n'), prediction: `${words.slice(0, 30).join(' ')}\n${words.slice(30, 60).join(' ')}` };
  }));
}

describe(`rouge_score itself (${fixture.made_by.slice(0, 60)}…)`, () => {
  it(`order matters for rougeL: "a b c d" vs "d c b a" → rouge1 recall 1, rougeL recall 0.25`, () => {
    const s = rougeScores('a b c d', 'd c b a');
    expect(s.rouge1.recall).toBe(1);
    expect(s.rougeL.recall).toBe(0.25);
    expect(s.rougeLsum.recall).toBe(0.25);
    expect(fixture.inline[0]!.scores['rougeL']).toEqual([0.25, 0.25, 0.25]);
  });
  it(`${fixture.inline.length} hand-made, demo and State of the Union pairs: every P / R / F of rouge1, rouge2, rougeL, rougeLsum`, () => {
    for (const [i, x] of fixture.inline.entries()) expectScores(rougeScores(x.reference, x.prediction), x.scores, `inline ${i} ${JSON.stringify(x.prediction.slice(0, 30))}`);
  });
  it('BootstrapAggregator on the inline pairs, numpy seeded 0: low / mid / high of every measure', () => {
    const b = fixture.bootstrap.find((x) => x.pairs === 'inline')!;
    const got = bootstrapAggregate(fixture.inline.map((x) => rougeScores(x.reference, x.prediction)), { seed: b.seed, samples: b.samples });
    for (const t of ROUGE_TYPES) for (const k of ['low', 'mid', 'high'] as const) triple(got[t][k]).forEach((v, i) => expect(v, `${t}.${k}[${i}]`).toBeCloseTo(b.result[t]![k][i]!, 13));
  });
});

describe.skipIf(cnn.skip)(cnn.title(`rouge_score itself on the 100 cnn_dailymail test articles (shared/${fixture.cnn.file})`), () => {
  it('every pair: P / R / F of rouge1, rouge2, rougeL, rougeLsum (multi-line references and predictions)', () => {
    const pairs = cnnPairs();
    expect(pairs.map((p) => p.id)).toEqual(fixture.cnn.pairs.map((p) => p.id));
    pairs.forEach((p, i) => expectScores(rougeScores(p.reference, p.prediction), fixture.cnn.pairs[i]!.scores, p.id));
  });
  it("BootstrapAggregator, as summarize.py reports it: 100 and the first 20 (--max_ite 20) pairs, seeds 0 and 7", () => {
    const scores = cnnPairs().map((p) => rougeScores(p.reference, p.prediction));
    for (const b of fixture.bootstrap.filter((x) => x.pairs.startsWith('cnn'))) {
      const n = b.pairs === 'cnn[:20]' ? 20 : scores.length;
      const got = bootstrapAggregate(scores.slice(0, n), { seed: b.seed, samples: b.samples });
      for (const t of ROUGE_TYPES) for (const k of ['low', 'mid', 'high'] as const) triple(got[t][k]).forEach((v, i) => expect(v, `${b.pairs} seed ${b.seed} ${t}.${k}[${i}]`).toBeCloseTo(b.result[t]![k][i]!, 13));
    }
  });
});

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
