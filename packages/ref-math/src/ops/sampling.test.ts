// The sampling specification: weights against float64 exp, the draw as an inverse CDF, the
// distribution of seeded draws, filters on hand-worked cases, and typed errors.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../model/weights.js';
import { fromValues } from '../tensor.js';
import { randomTensor, thrown } from '../testing/random.js';
import { ShapeError } from '../errors.js';
import { f32ToBits } from '../numerics/f32.js';
import { BEAM_WEIGHT_ONE, beamCandidateRows, beamCandidates, beamCandidatesFromRow, beamLogProbs, drawTarget, sampleRows, sampleToken, SAMPLING_WEIGHT_ONE, samplingCandidates, samplingWeight, TOKEN_LOG_PROB_WORDS, tokenLogProbFromRow, tokenLogProbRows, tokenLogProbs, type SamplingRow } from './sampling.js';

const row = (o: Partial<SamplingRow> = {}): SamplingRow => ({ temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, seen: [], banned: -1, draw: 0, ...o });

/** Frequencies of each token over n draws of a seeded generator. */
function frequencies(x: readonly number[], o: Partial<SamplingRow>, n = 20_000, seed = 1): number[] {
  const next = mulberry32(seed);
  const counts = new Array<number>(x.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(x, row({ ...o, draw: next() }))]!++;
  return counts.map((c) => c / n);
}

describe('sampling: weights', () => {
  it('are e^((x − m) / t) in units of 2^−24, to within one unit (float64 reference)', () => {
    const x = randomTensor('f32', [4096], 7, 3).data as Float32Array;
    for (const t of [0.3, 1, 1.7]) {
      const m = Math.max(...x);
      for (const xi of x) expect(Math.abs(samplingWeight(xi, m, t) - Math.exp((xi - m) / t) * SAMPLING_WEIGHT_ONE)).toBeLessThanOrEqual(1);
    }
  });
  it('the most likely candidate weighs exactly 2^24; far below it, 0', () => {
    expect(samplingWeight(3.5, 3.5, 0.7)).toBe(SAMPLING_WEIGHT_ONE);
    expect(samplingWeight(-30, 0, 1)).toBe(0); // e^−30 · 2^24 ≈ 1.6e−6 rounds to 0
  });
  it('candidates: x descending, ties by the lower id; NaN, −∞ and weight 0 left out', () => {
    expect(samplingCandidates([1, 3, NaN, 3, -Infinity, 2], 1).order).toEqual([1, 3, 5, 0]);
    expect(samplingCandidates([0, -40, 0.5], 1)).toEqual({ order: [2, 0], weights: [2 ** 24, samplingWeight(0, 0.5, 1)] }); // e^−40.5 · 2^24 rounds to 0
  });
});

describe('sampling: the draw', () => {
  it('target = ⌊r · S / 2^32⌋ exactly, below S, for S up to 2^53', () => {
    expect(drawTarget(2 ** 32 - 1, 2 ** 53 - 1)).toBe(2 ** 53 - 2 ** 21 - 1);
    expect(drawTarget(2 ** 31, 3 * 2 ** 24)).toBe(3 * 2 ** 23);
    expect(drawTarget(0, 12345)).toBe(0);
  });
  it('is an inverse CDF: as r grows the token only moves later in the order', () => {
    const x = Array.from(randomTensor('f32', [300], 3, 2).data);
    const rank = new Map(samplingCandidates(x, 1).order.map((id, j) => [id, j]));
    let last = -1;
    for (let r = 0; r < 2 ** 32; r += 2 ** 32 / 4096) {
      const j = rank.get(sampleToken(x, row({ draw: r, topK: 40 })))!;
      expect(j).toBeGreaterThanOrEqual(last);
      last = j;
    }
    expect(last).toBeGreaterThan(20); // and it reaches deep into the 40 kept
  });
});

// 20,000 seeded draws put each frequency within ±0.01 of its probability (binomial σ ≤ 0.0036, so
// ~3σ; the seed is fixed, the result deterministic). Probabilities worked out by hand in the names.
describe('sampling: the distribution of drawn tokens', () => {
  const ln3 = Math.log(3);
  it('temperature: [0, ln 3] → token 1 with 3/4 at t = 1, 9/10 at t = 0.5', () => {
    expect(frequencies([0, ln3], { temperature: 1 })[1]).toBeCloseTo(0.75, 1.7);
    expect(frequencies([0, ln3], { temperature: 0.5 }, 20_000, 2)[1]).toBeCloseTo(0.9, 1.7);
  });
  it('top-k 3 then top-p 0.5 over ln [1, 2, 3, 4]: weights 1, 3/4, 1/2 → p keeps tokens 3, 2 with 4/7, 3/7', () => {
    const f = frequencies([1, 2, 3, 4].map(Math.log), { topK: 3, topP: 0.5 }, 20_000, 3);
    expect(f[0]).toBe(0);
    expect(f[1]).toBe(0);
    expect(f[3]).toBeCloseTo(4 / 7, 1.7);
    expect(f[2]).toBeCloseTo(3 / 7, 1.7);
  });
  it('repetition penalty and the ban: [ln 3, 0, 5], 0 seen (ρ 3), 2 banned → x = [ln 3 / 3, 0, −∞]: token 0 with 0.5906', () => {
    const f = frequencies([ln3, 0, 5], { repetitionPenalty: 3, seen: [0], banned: 2 }, 20_000, 4);
    expect(f[2]).toBe(0);
    expect(f[0]).toBeCloseTo(Math.exp(ln3 / 3) / (Math.exp(ln3 / 3) + 1), 1.7);
  });
});

describe('sampling: rows and errors', () => {
  it('sampleRows samples each row with its own settings', () => {
    const x = fromValues('f32', [2, 3], [0, 9, 1, 7, 2, 7]);
    expect(Array.from(sampleRows(x, [row({ temperature: 0 }), row({ topK: 2, draw: 2 ** 32 - 1 })]).data)).toEqual([1, 2]);
  });
  it('every candidate NaN or −∞ falls back to argmax', () => {
    expect(sampleToken([NaN, -Infinity, NaN], row({ draw: 5 }))).toBe(1);
  });
  it('a settings list of the wrong length is a shape error naming rows', () => {
    const e = thrown(() => sampleRows(fromValues('f32', [2, 2], [0, 0, 0, 0]), [row()]));
    expect(e).toBeInstanceOf(ShapeError);
    expect(String(e)).toMatch(/sampleRows.*rows.*2 settings.*got 1/);
  });
});

describe('beam candidates', () => {
  it('log-probabilities within 1e-6 of a float64 log-softmax (GPT-2 vocabulary, σ 0.5 … 4)', () => {
    for (const [seed, std] of [[21, 0.5], [22, 2], [23, 4]] as const) {
      const x = randomTensor('f32', [50257], seed, std).data as Float32Array;
      let max = -Infinity;
      for (const v of x) max = Math.max(max, v);
      let sum = 0;
      for (const v of x) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      const c = beamCandidates(x, 8);
      beamLogProbs(c).forEach((lp, j) => expect(Math.abs(lp - (x[c.ids[j]!]! - lse))).toBeLessThan(1e-6));
      expect(c.logits[0]).toBe(max);
    }
  });
  it('tokenLogProbs: any token within 1e-6 of a float64 log-softmax, the top n in order, probabilities summing to 1', () => {
    const x = randomTensor('f32', [50257], 24, 3).data as Float32Array;
    let max = -Infinity;
    for (const v of x) max = Math.max(max, v);
    let sum = 0;
    for (const v of x) sum += Math.exp(v - max);
    const lse = max + Math.log(sum);
    for (const token of [0, 17, 50256]) expect(Math.abs(tokenLogProbs(x, token).logProb - (x[token]! - lse))).toBeLessThan(1e-6);
    const t = tokenLogProbs(x, 5, 3);
    expect(t.top.map((e) => e.id)).toEqual(beamCandidates(x, 3).ids);
    expect(t.top[0]!.logProb).toBeGreaterThanOrEqual(t.top[2]!.logProb);
    expect(tokenLogProbs(x, 0).top).toEqual([]);
    const ours = x[0]! - tokenLogProbs(x, 0).logProb; // the log-sum-exp every token's log-probability subtracts
    let total = 0;
    for (const v of x) total += Math.exp(v - ours);
    expect(Math.abs(total - 1)).toBeLessThan(1e-5);
  });
  it('the first n in order (ties by id, NaN left out, −∞ last); weights: the max 2^32, far below it 0', () => {
    const c = beamCandidates([1, 3, NaN, 3, -Infinity, -40], 5);
    expect(c.ids).toEqual([1, 3, 0, 5, 4]);
    expect(c.weightSum).toBe(2 * BEAM_WEIGHT_ONE + Math.round(Math.fround(Math.exp(-2)) * BEAM_WEIGHT_ONE) + 0); // e^−43 · 2^32 rounds to 0
  });
  it('the scan that keeps n in order (n ≤ 64) and the sort (n > 64) agree: ties, NaN and ±∞ included', () => {
    const draw = mulberry32(17);
    for (let row = 0; row < 20; row++) {
      // a coarse grid makes many ties; some NaN and ±∞
      const x = Float32Array.from({ length: 3000 }, () => {
        const u = draw() / 2 ** 32;
        return u < 0.01 ? NaN : u < 0.02 ? -Infinity : u < 0.025 ? Infinity : Math.round((draw() / 2 ** 32) * 40) / 4;
      });
      expect(beamCandidates(x, 65).ids.slice(0, 64), `row ${row}`).toEqual(beamCandidates(x, 64).ids);
    }
  });
  it('tokenLogProbRows: a given token per row, four words a row; the float64 log-probability of tokenLogProbs', () => {
    const x = fromValues('f32', [4, 3], [0.5, 2, -1, NaN, NaN, NaN, -Infinity, 1, 1, 4, 4, 4]);
    const packed = tokenLogProbRows(x, fromValues('i32', [4], [1, 0, 0, 3])).data as Int32Array;
    expect(packed.length).toBe(4 * TOKEN_LOG_PROB_WORDS);
    // row 0 by hand: max 2, S = 2^32 · (1 + e^−1.5 + e^−3) to 2^−32, so log p(1) = −ln(1.27292) = −0.241313
    expect(packed[0]).toBe(f32ToBits(2) | 0);
    expect(packed[1]).toBe(f32ToBits(2) | 0);
    expect(tokenLogProbFromRow(packed, 0)).toBeCloseTo(-Math.log(1 + Math.exp(-1.5) + Math.exp(-3)), 8);
    expect(tokenLogProbFromRow(packed, 0)).toBe(tokenLogProbs([0.5, 2, -1], 1).logProb);
    expect(tokenLogProbFromRow(packed, 1)).toBeNaN(); // no non-NaN logit: no distribution
    expect(tokenLogProbFromRow(packed, 2)).toBe(-Infinity); // a −∞ logit: probability 0
    expect(packed[3 * TOKEN_LOG_PROB_WORDS]).toBe(0x7fc00000); // token 3 of a vocabulary of 3 has no logit
    expect(tokenLogProbFromRow(packed, 3)).toBeNaN();
    // the rows a kernel gets wrong first: ±0 maxima (the first one's bits), +∞, leading NaNs, a signalling NaN target
    const sNaN = new Float32Array(new Uint32Array([0x7fa00000]).buffer)[0]!;
    const special = [[-5, -0, 0, -5, -7], [1, Infinity, 2, NaN, 0], [NaN, NaN, 2, 2, -1], [0.5, sNaN, 1, 1, 1], [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity]];
    const tokens5 = [2, 2, 3, 1, 0];
    const words = tokenLogProbRows(fromValues('f32', [5, 5], special.flat()), fromValues('i32', [5], tokens5)).data as Int32Array;
    expect(words[1]).toBe(0x80000000 | 0); // −0 comes first: the max is −0
    expect(words[3 * TOKEN_LOG_PROB_WORDS]).toBe(0x7fc00000); // a signalling NaN target written as the quiet NaN
    special.forEach((row, r) => expect(tokenLogProbFromRow(words, r), `row ${r}`).toBe(tokenLogProbs(Float32Array.from(row), tokens5[r]!).logProb));
    const wide = randomTensor('f32', [3, 50257], 25, 3);
    const tokens = [0, 31337, 50256];
    const rows = tokenLogProbRows(wide, fromValues('i32', [3], tokens)).data as Int32Array;
    tokens.forEach((t, r) => expect(tokenLogProbFromRow(rows, r)).toBe(tokenLogProbs((wide.data as Float32Array).subarray(r * 50257, (r + 1) * 50257), t).logProb));
    expect(() => tokenLogProbRows(wide, fromValues('i32', [2], [0, 1]))).toThrow(/tokenLogProbRows: tokens/);
    expect(tokenLogProbFromRow(tokenLogProbRows(wide, fromValues('i32', [3], [7, -1, -1])).data, 1)).toBeNaN(); // a negative token has no logit
  });
  it('packed rows: ids (−1 past the candidates), logit bits, max bits, S in two halves; unpacked back', () => {
    const x = fromValues('f32', [2, 3], [0.5, 2, -1, NaN, NaN, 7]);
    const packed = beamCandidateRows(x, 2).data as Int32Array;
    expect(packed.length).toBe(2 * 7);
    expect(beamCandidatesFromRow(packed, 0, 2)).toEqual(beamCandidates([0.5, 2, -1], 2));
    expect(beamCandidatesFromRow(packed, 1, 2)).toEqual({ ids: [2], logits: [7], max: 7, weightSum: BEAM_WEIGHT_ONE });
    const big = beamCandidates(Float32Array.from({ length: 70000 }, () => 0), 1);
    expect(big.weightSum).toBe(70000 * 2 ** 32); // past 2^32: the high half carries it
    expect(beamCandidatesFromRow(beamCandidateRows(fromValues('f32', [1, 70000], new Float32Array(70000)), 1).data, 0, 1).weightSum).toBe(70000 * 2 ** 32);
  });
});
