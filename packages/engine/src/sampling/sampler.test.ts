// The sampler on crafted logits: greedy defaults, filters, penalties, per-request seeds.
import { describe, expect, it } from 'vitest';
import { penalizedLogits } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import { Sampler } from './sampler.js';

const logits = (): Float32Array => Float32Array.from([1, 3, 2, 2.9, -1, 0]);

describe('Sampler', () => {
  it('greedy unless told otherwise; temperature 0 and topK 1 are greedy too', () => {
    for (const o of [{}, { temperature: 0 }, { topK: 1, temperature: 5 }]) expect(new Sampler(o).next(logits(), [], 0, undefined)).toBe(1);
    expect(new Sampler({}).greedy).toBe(true);
    expect(new Sampler({ topP: 0.9 }).greedy).toBe(false);
  });
  it('repetition penalty divides positive logits and multiplies negative ones of seen tokens', () => {
    const s = new Sampler({ repetitionPenalty: 2 });
    expect(s.next(logits(), [1, 4, 1], 0, undefined)).toBe(3); // 3 → 1.5 < 2.9
    const y = penalizedLogits(logits(), s.row([1, 4, 1], 0, undefined));
    expect(y[1]).toBe(1.5);
    expect(y[4]).toBe(-2);
  });
  it('minNewTokens masks the end id until reached', () => {
    expect(new Sampler({ minNewTokens: 2 }).next(logits(), [], 1, 1)).toBe(3);
    expect(new Sampler({ minNewTokens: 2 }).next(logits(), [], 2, 1)).toBe(1);
  });
  it('top-k and top-p keep only the most likely tokens; a seed fixes the draws', () => {
    const draws = (o: ConstructorParameters<typeof Sampler>[0]): number[] => {
      const s = new Sampler(o);
      return Array.from({ length: 200 }, () => s.next(logits(), [], 0, undefined));
    };
    expect(new Set(draws({ topK: 2, temperature: 1, seed: 3 }))).toEqual(new Set([1, 3]));
    // p = 0.5: token 1 alone has ~0.37 of the mass, 1 and 3 together ~0.71 → {1, 3}
    expect(new Set(draws({ topP: 0.5, seed: 3 }))).toEqual(new Set([1, 3]));
    expect(draws({ temperature: 1.3, seed: 11 })).toEqual(draws({ temperature: 1.3, seed: 11 }));
    expect(draws({ temperature: 1.3, seed: 11 })).not.toEqual(draws({ temperature: 1.3, seed: 12 }));
    expect(new Set(draws({ temperature: 1, seed: 5 })).size).toBeGreaterThan(3);
  });
  it('plainGreedy: the device may pick the token only when next() would be a plain argmax', () => {
    expect(new Sampler({}).plainGreedy(0, 50256)).toBe(true);
    expect(new Sampler({ topP: 0.9 }).plainGreedy(0, undefined)).toBe(false);
    expect(new Sampler({ repetitionPenalty: 1.2 }).plainGreedy(5, undefined)).toBe(false);
    expect(new Sampler({ minNewTokens: 3 }).plainGreedy(2, 50256)).toBe(false); // the end id is still masked
    expect(new Sampler({ minNewTokens: 3 }).plainGreedy(3, 50256)).toBe(true);
    expect(new Sampler({ minNewTokens: 3 }).plainGreedy(0, undefined)).toBe(true); // no end id: nothing to mask
  });
  it('bad options are request errors naming the field', () => {
    expect(() => new Sampler({ topP: 0 }, 'request 2')).toThrow(EngineError);
    expect(() => new Sampler({ topP: 0 }, 'request 2')).toThrow(/request 2\.topP: expected a number in \(0, 1\] \(not 0 in fp32: at least 1\.4e-45\), got 0/);
    expect(() => new Sampler({ topP: 1e-46 })).toThrow(/topP: expected a number in \(0, 1\] \(not 0 in fp32/); // the kernels read fp32
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature: expected a finite number ≥ 0/);
  });
});

/** Frequencies of each token over `n` seeded draws from the same logits (a fresh copy per draw). */
function frequencies(o: ConstructorParameters<typeof Sampler>[0], values: readonly number[], n = 20_000, seen: readonly number[] = []): number[] {
  const s = new Sampler(o);
  const counts = new Array<number>(values.length).fill(0);
  for (let i = 0; i < n; i++) counts[s.next(Float32Array.from(values), seen, 0, undefined)]!++;
  return counts.map((c) => c / n);
}

/** softmax(values / t) in float64: the distribution a draw should follow. */
function softmax(values: readonly number[], t = 1): number[] {
  const e = values.map((v) => Math.exp(v / t));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

// Statistical checks of what is drawn, not only of which tokens may be drawn: 20,000 seeded draws put
// each frequency within ±0.01 of its probability (binomial σ ≤ 0.0036 here, so ±0.01 is ~3σ; the seeds
// are fixed, so the result is deterministic). Probabilities are worked out by hand in each comment.
describe('Sampler: the distribution of sampled tokens', () => {
  const ln3 = Math.log(3);
  it('temperature divides the logits: [0, ln 3] gives token 1 with p 3/4 at T = 1 and 9/10 at T = 0.5', () => {
    expect(frequencies({ temperature: 1, seed: 1 }, [0, ln3])[1]).toBeCloseTo(0.75, 1.7); // |Δ| < 0.01
    expect(frequencies({ temperature: 0.5, seed: 2 }, [0, ln3])[1]).toBeCloseTo(0.9, 1.7); // e^(2 ln 3) = 9 → 9/10
    expect(frequencies({ temperature: 2, seed: 3 }, [0, ln3])[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 1.7); // 0.634
  });
  it('top-k keeps the k most likely tokens and renormalizes: ln [1, 2, 3, 4], k 2 → tokens 3, 2 with 4/7, 3/7', () => {
    const f = frequencies({ topK: 2, temperature: 1, seed: 4 }, [1, 2, 3, 4].map(Math.log));
    expect(f[0]).toBe(0);
    expect(f[1]).toBe(0);
    expect(f[3]).toBeCloseTo(4 / 7, 1.7);
    expect(f[2]).toBeCloseTo(3 / 7, 1.7);
  });
  it('top-p keeps the smallest most-likely set reaching p: probabilities .1 .2 .3 .4, p 0.6 → {3, 2}; p 0.75 → {3, 2, 1}', () => {
    const logits = [1, 2, 3, 4].map(Math.log); // probabilities 0.1, 0.2, 0.3, 0.4
    const f = frequencies({ topP: 0.6, seed: 5 }, logits); // 0.4 < 0.6, 0.4 + 0.3 ≥ 0.6
    expect([f[0], f[1]]).toEqual([0, 0]);
    expect(f[3]).toBeCloseTo(4 / 7, 1.7);
    const g = frequencies({ topP: 0.75, seed: 6 }, logits); // 0.7 < 0.75, + 0.2 ≥ 0.75
    expect(g[0]).toBe(0);
    expect(g[3]).toBeCloseTo(4 / 9, 1.7);
    expect(g[2]).toBeCloseTo(3 / 9, 1.7);
    expect(g[1]).toBeCloseTo(2 / 9, 1.7);
    // with k and p together, k applies first: k 3 keeps .4 .3 .2; p 0.5 of those 0.9 → 0.4 < 0.45, + 0.3
    const h = frequencies({ topK: 3, topP: 0.5, seed: 7 }, logits);
    expect([h[0], h[1]]).toEqual([0, 0]);
    expect(h[3]).toBeCloseTo(4 / 7, 1.7);
  });
  it('repetition penalty, worked by hand: [2, −1, 0.5, 1.9], seen {0, 1}, penalty 2 → [1, −2, 0.5, 1.9]', () => {
    const logits = [2, -1, 0.5, 1.9];
    expect(new Sampler({ repetitionPenalty: 2 }).next(Float32Array.from(logits), [0, 1, 0], 0, undefined)).toBe(3); // greedy: 1.9 > 1
    const f = frequencies({ repetitionPenalty: 2, temperature: 1, seed: 8 }, logits, 20_000, [0, 1, 0]);
    const want = softmax([1, -2, 0.5, 1.9]); // 0.247, 0.012, 0.150, 0.591
    f.forEach((x, i) => expect(x, `token ${i}`).toBeCloseTo(want[i]!, 1.7));
  });
  it('temperature and penalty compose: penalized logits are divided by T before the softmax', () => {
    const f = frequencies({ repetitionPenalty: 2, temperature: 0.5, seed: 9 }, [2, -1, 0.5, 1.9], 20_000, [0, 1]);
    const want = softmax([1, -2, 0.5, 1.9], 0.5);
    f.forEach((x, i) => expect(x, `token ${i}`).toBeCloseTo(want[i]!, 1.7));
  });
});
