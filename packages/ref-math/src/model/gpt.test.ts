import { describe, expect, it } from 'vitest';
import { bitEqual, tensor, toValues, type Tensor } from '../tensor.js';
import { gptForward64, maxAbsDiff } from '../testing/reference64.js';
import { assignBlocks } from '../ops/kv-cache.js';
import type { KvCache } from '../op-specs.js';
import { gptConfig, headSize, type GptConfig, type GptConfigInput } from './config.js';
import { argmax } from '../ops/argmax.js';
import { createGptKvCache, gptForward, greedyGenerate } from './gpt.js';
import { randomGptWeights, type GptModel, type GptWeights, type LinearWeights } from './weights.js';
import type { ActDType } from '../dtype.js';

const base = { vocabSize: 53, nPositions: 32, nEmbd: 24, nHead: 4, nLayer: 2 } as const;
const VARIANTS: Record<string, GptConfigInput> = {
  'gpt2 (MHA, learned positions, gelu, bias)': base,
  'starcoder (MQA, NKV = 1)': { ...base, nKvHead: 1 },
  'gqa (NKV = 2)': { ...base, nKvHead: 2 },
  'gpt-next (RoPE on 4 of 6 dims, swiglu, no bias, layernorm1p)': { ...base, rotaryPct: 2 / 3, activation: 'swiglu', bias: false, layernorm1p: true, intermediateSize: 40 },
};
const model = (input: GptConfigInput, seed = 1): GptModel => {
  const config = gptConfig(input);
  return { config, weights: randomGptWeights(config, seed) };
};
const prompt = [5, 17, 2, 40, 33, 1, 9];
const prefill = (m: GptModel, tokens: readonly number[], cache?: KvCache): Tensor<ActDType> =>
  gptForward(m, cache ?? createGptKvCache(m.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens }], { logits: 'all' });

describe('gptForward vs an independent float64 forward', () => {
  for (const [name, input] of Object.entries(VARIANTS)) {
    it(`${name}: fp32 logits within 2e-5`, () => {
      const m = model(input);
      const got = toValues(prefill(m, prompt));
      const want = gptForward64(m.config, m.weights, prompt).flat();
      expect(maxAbsDiff(got, want)).toBeLessThan(2e-5);
    });
  }
  it('f16 and bf16 stay within their precision of float64 (NMSE)', () => {
    for (const [dtype, bound] of [['f16', 1e-5], ['bf16', 5e-4]] as const) {
      const m = model({ ...base, dtype });
      const got = toValues(prefill(m, prompt));
      const want = gptForward64(m.config, m.weights, prompt).flat();
      const err = got.reduce((s, v, i) => s + (v - want[i]!) ** 2, 0) / want.reduce((s, v) => s + v * v, 0);
      expect(err).toBeLessThan(bound);
    }
  });
});

describe('gptForward identities (bit for bit)', () => {
  for (const [name, input] of Object.entries(VARIANTS)) {
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      it(`${name}, ${dtype}: prefill + decode steps == one prefill, every position`, () => {
        const m = model({ ...input, dtype });
        const full = prefill(m, prompt);
        const cache = createGptKvCache(m.config, { numSlots: 1 });
        const parts: Tensor<ActDType>[] = [gptForward(m, cache, [{ slot: 0, start: 0, tokens: prompt.slice(0, 4) }], { logits: 'all' })];
        for (let p = 4; p < prompt.length; p++) parts.push(gptForward(m, cache, [{ slot: 0, start: p, tokens: [prompt[p]!] }], { logits: 'all' }));
        const joined = tensor(full.dtype, full.shape, Float32Array.from(parts.flatMap((t) => Array.from(t.data as Float32Array))) as never);
        expect(bitEqual(joined, full)).toBe(true);
      });
    }
  }
  it('a paged cache (blocks scattered) gives the same logits as a contiguous one', () => {
    const m = model({ ...VARIANTS['starcoder (MQA, NKV = 1)']!, dtype: 'f16' });
    const contiguous = createGptKvCache(m.config, { numSlots: 2 });
    const paged = createGptKvCache(m.config, { numSlots: 2, layout: { kind: 'paged', tokensPerBlock: 2, numBlocks: 12, maxBlocksPerSeq: 6 } });
    assignBlocks(paged, 0, [7, 2, 9, 0, 11, 4]);
    assignBlocks(paged, 1, [1, 3, 5, 6, 8, 10]);
    const run = (cache: KvCache): Tensor<ActDType>[] => [
      gptForward(m, cache, [{ slot: 1, start: 0, tokens: prompt }], { logits: 'last' }),
      gptForward(m, cache, [{ slot: 1, start: prompt.length, tokens: [3] }], { logits: 'last' }),
    ];
    const [a, b] = [run(contiguous), run(paged)];
    expect(bitEqual(a[0]!, b[0]!) && bitEqual(a[1]!, b[1]!)).toBe(true);
  });
  it('is batch-invariant: a sequence packed with others gets the logits it gets alone', () => {
    const m = model({ ...base, dtype: 'bf16' });
    const others = [[1, 2, 3], [50, 49, 48, 47, 46, 45, 44, 43, 42]];
    const batched = gptForward(m, createGptKvCache(m.config, { numSlots: 3 }), [
      { slot: 0, start: 0, tokens: others[0]! },
      { slot: 1, start: 0, tokens: prompt },
      { slot: 2, start: 0, tokens: others[1]! },
    ], { logits: 'last' });
    const alone = gptForward(m, createGptKvCache(m.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: prompt }], { logits: 'last' });
    expect(Array.from(batched.data.subarray(base.vocabSize, 2 * base.vocabSize))).toEqual(Array.from(alone.data));
  });
  it('an MQA model equals the MHA model whose K/V projection columns are repeated per head', () => {
    const mqa = model({ ...base, nKvHead: 1, dtype: 'f16' });
    const c: GptConfig = gptConfig({ ...base, dtype: 'f16' });
    const hs = headSize(c);
    const widen = (l: LinearWeights, rows: number): LinearWeights => {
      // columns: Q (NH·HS) | K (HS) | V (HS)  →  Q | K repeated NH times | V repeated NH times
      const src = l.weight.data;
      const wIn = (c.nHead + 2) * hs;
      const wOut = 3 * c.nHead * hs;
      const col = (j: number): number => (j < c.nHead * hs ? j : j < 2 * c.nHead * hs ? c.nHead * hs + ((j - c.nHead * hs) % hs) : (c.nHead + 1) * hs + ((j - 2 * c.nHead * hs) % hs));
      const w = tensor(l.weight.dtype, [rows, wOut]);
      for (let r = 0; r < rows; r++) for (let j = 0; j < wOut; j++) w.data[r * wOut + j] = src[r * wIn + col(j)]!;
      const b = l.bias ? tensor(l.bias.dtype, [wOut]) : undefined;
      if (b) for (let j = 0; j < wOut; j++) b.data[j] = l.bias!.data[col(j)]!;
      return b ? { weight: w, bias: b } : { weight: w };
    };
    const weights: GptWeights = { ...mqa.weights, layers: mqa.weights.layers.map((l) => ({ ...l, qkv: widen(l.qkv, c.nEmbd) })) };
    const mha: GptModel = { config: c, weights };
    expect(bitEqual(prefill(mqa, prompt), prefill(mha, prompt))).toBe(true);
  });
});

describe('greedyGenerate', () => {
  it('incremental decoding picks the same tokens as re-running the whole sequence each step', () => {
    const m = model({ ...base, dtype: 'f16' }, 3);
    const [fast] = greedyGenerate(m, [prompt], { maxNewTokens: 8 });
    const slow: number[] = [];
    const seq = [...prompt];
    for (let i = 0; i < 8; i++) {
      const logits = gptForward(m, createGptKvCache(m.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: seq }], { logits: 'last' });
      const id = argmax(toValues(logits));
      slow.push(id);
      seq.push(id);
    }
    expect(fast).toEqual(slow);
  });
  it('decodes a batch of different prompt lengths like each prompt alone, and stops at endId', () => {
    const m = model({ ...base, nKvHead: 1 }, 4);
    const prompts = [[1, 2, 3, 4, 5, 6], [7], [30, 31, 32]];
    const batch = greedyGenerate(m, prompts, { maxNewTokens: 6 });
    prompts.forEach((p, i) => expect(greedyGenerate(m, [p], { maxNewTokens: 6 })[0]).toEqual(batch[i]));
    const endId = batch[0]![2]!;
    const stopped = greedyGenerate(m, [prompts[0]!], { maxNewTokens: 6, endId })[0]!;
    expect(stopped).toEqual(batch[0]!.slice(0, batch[0]!.indexOf(endId) + 1));
  });
  it('argmax takes the first of equal maxima', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });
});
