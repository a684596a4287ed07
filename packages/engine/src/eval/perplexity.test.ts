// NLL and windows against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { nll, perplexityWindows } from './perplexity.js';

describe('perplexity', () => {
  it('uniform logits cost log V per token; a sure logit costs ~0; two classes give log(1 + e^−d)', () => {
    expect(nll(new Float32Array(2 * 50).fill(3), 50, [7, 49])).toBeCloseTo(2 * Math.log(50), 12);
    expect(nll(Float32Array.from([100, 0, 0]), 3, [0])).toBeCloseTo(2 * Math.exp(-100), 40);
    expect(nll(Float32Array.from([2, 0.5]), 2, [1])).toBeCloseTo(Math.log(1 + Math.exp(1.5)), 12);
  });
  it('non-overlapping windows while s < N − W − 1, as the reference', () => {
    expect(perplexityWindows(10, 4)).toEqual([0, 4]);
    expect(perplexityWindows(9, 4)).toEqual([0]);
    expect(perplexityWindows(5, 4)).toEqual([]);
  });
});
