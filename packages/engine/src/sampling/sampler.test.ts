// The sampler on crafted logits: greedy defaults, filters, penalties, per-request seeds.
import { describe, expect, it } from 'vitest';
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
    const l = logits();
    expect(new Sampler({ repetitionPenalty: 2 }).next(l, [1, 4, 1], 0, undefined)).toBe(3); // 3 → 1.5 < 2.9
    expect(l[1]).toBe(1.5);
    expect(l[4]).toBe(-2);
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
    expect(() => new Sampler({ topP: 0 }, 'request 2')).toThrow(/request 2\.topP: expected a number in \(0, 1\], got 0/);
    expect(() => new Sampler({ temperature: -1 })).toThrow(/temperature: expected a finite number ≥ 0/);
  });
});
