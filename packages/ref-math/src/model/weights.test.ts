import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, AttrError } from '../errors.js';
import { bitEqual, fromValues, toF32, type Tensor } from '../tensor.js';
import { gptConfig, GPT_SHAPES, qkvWidth } from './config.js';
import { gptWeightSpecs, normalSampler, randomGptWeights, randomGptWeightsPlan, randomNormalsAt, randomTensor, seededRandom, uniformAt, validateGptWeights } from './weights.js';

describe('gptConfig', () => {
  it('fills FT defaults (MHA, 4·H MLP, gelu, bias, learned positions, eps 1e-5, fp32 logits)', () => {
    const c = gptConfig({ vocabSize: 10, nPositions: 8, nEmbd: 16, nHead: 4, nLayer: 1 });
    expect(c).toMatchObject({ nKvHead: 4, intermediateSize: 64, activation: 'gelu', bias: true, rotaryPct: 0, layernormEps: 1e-5, logitsDtype: 'f32' });
    expect(qkvWidth(gptConfig({ ...GPT_SHAPES.santacoder }))).toBe(2048 + 2 * 128);
  });
  it('rejects a hidden size not divisible by heads, bad kv heads and an odd rotary dim', () => {
    expect(() => gptConfig({ vocabSize: 10, nPositions: 8, nEmbd: 18, nHead: 4, nLayer: 1 })).toThrow(/a multiple of nHead/);
    expect(() => gptConfig({ vocabSize: 10, nPositions: 8, nEmbd: 16, nHead: 4, nKvHead: 3, nLayer: 1 })).toThrow(AttrError);
    expect(() => gptConfig({ vocabSize: 10, nPositions: 8, nEmbd: 16, nHead: 4, nLayer: 1, rotaryPct: 0.25 })).toThrow(/rotary_pct/); // HS 4 · 0.25 = 1
  });
});

describe('validateGptWeights', () => {
  const c = gptConfig({ vocabSize: 11, nPositions: 8, nEmbd: 8, nHead: 2, nLayer: 2 });
  const w = randomGptWeights(c, 5);
  it('accepts random weights for every variant', () => {
    for (const over of [{}, { nKvHead: 1 }, { rotaryPct: 0.5, activation: 'swiglu' as const, bias: false }]) {
      const cc = gptConfig({ ...c, ...over });
      expect(() => validateGptWeights(cc, randomGptWeights(cc, 1))).not.toThrow();
    }
  });
  it('names the tensor path, expected and got', () => {
    const bad = { ...w, layers: [w.layers[0]!, { ...w.layers[1]!, fc: { ...w.layers[1]!.fc, weight: fromValues('f32', [8, 31], new Array(248).fill(0)) } }] };
    expect(() => validateGptWeights(c, bad)).toThrow('validateGptWeights: layers.1.fc.weight: expected [8, 32], got [8, 31]');
    expect(() => validateGptWeights(c, { ...w, wpe: undefined })).toThrow(/wpe: expected \[8, 8\], got missing/);
    expect(() => validateGptWeights({ ...c, dtype: 'f16' }, w)).toThrow(DTypeError);
    expect(() => validateGptWeights(c, { ...w, layers: w.layers.slice(1) })).toThrow(ShapeError);
  });
  it('random weights are deterministic in the seed', () => {
    expect(Array.from(randomGptWeights(c, 5).wte.data)).toEqual(Array.from(w.wte.data));
    expect(Array.from(randomGptWeights(c, 6).wte.data)).not.toEqual(Array.from(w.wte.data));
    const r = seededRandom(42);
    expect([r(), r()].map((v) => v.toFixed(6))).toEqual(['0.601104', '0.448291']);
  });
});

describe('randomGptWeights: every tensor drawn alone equals the sequential draw', () => {
  it('uniformAt(seed, n) is the n-th seededRandom output, also past 2^31 draws', () => {
    const r = seededRandom(77);
    for (let n = 0; n < 1000; n++) expect(uniformAt(77, n)).toBe(r());
    // state after n+1 steps is seed + (n+1)·C mod 2^32: check one far index against the recurrence done in BigInt
    const n = 3_000_000_001;
    const s = Number((77n + BigInt(n + 1) * 0x6d2b79f5n) % 2n ** 32n);
    const mixed = ((): number => {
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    })();
    expect(uniformAt(77, n)).toBe(mixed);
  });

  for (const [name, over] of [
    ['gpt2 f16', { dtype: 'f16' }],
    ['swiglu, RoPE, no bias, bf16', { dtype: 'bf16', activation: 'swiglu', rotaryPct: 0.5, bias: false }],
    ['layernorm1p, MQA, f32', { dtype: 'f32', layernorm1p: true, nKvHead: 1 }],
  ] as const) {
    it(name, () => {
      const config = gptConfig({ vocabSize: 37, nPositions: 16, nEmbd: 16, nHead: 4, nLayer: 2, intermediateSize: 20, ...over });
      // the sequential definition: one normalSampler stream, tensors in plan order
      const normal = normalSampler(seededRandom(9));
      const w = randomGptWeights(config, 9);
      const byPath = new Map(gptWeightSpecs(config, { lmHead: false }).map((s) => [s.path, s]));
      expect(randomGptWeightsPlan(config).map((p) => p.path).sort()).toEqual([...byPath.keys()].sort());
      for (const p of randomGptWeightsPlan(config)) {
        const want = fromValues(config.dtype, p.shape, Float64Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => normal(p.mean, p.std)));
        const got = p.path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], w) as Tensor;
        expect(bitEqual(got, want), p.path).toBe(true);
      }
    });
  }

  it('a tensor drawn in chunks, or any run of its elements, is the tensor drawn at once (odd starts included)', () => {
    const config = gptConfig({ vocabSize: 37, nPositions: 16, nEmbd: 15, nHead: 5, nLayer: 2, intermediateSize: 21, dtype: 'bf16' });
    const plan = randomGptWeightsPlan(config);
    expect(plan.some((p) => p.first % 2 === 1)).toBe(true);
    for (const p of plan) {
      const whole = randomTensor(5, p, 'bf16');
      for (const chunk of [1, 7, 64]) expect(bitEqual(randomTensor(5, p, 'bf16', chunk), whole), `${p.path} chunk ${chunk}`).toBe(true);
      const n = whole.data.length;
      const mid = randomNormalsAt(5, p, 3, Math.max(0, n - 5));
      expect(bitEqual(fromValues('bf16', [mid.length], mid), fromValues('bf16', [mid.length], Array.from(toF32(whole).subarray(3, n - 2)))), p.path).toBe(true);
    }
  });
});
