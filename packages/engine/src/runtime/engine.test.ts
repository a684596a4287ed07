// The runtime on the ref backend against the oracle: an engine built from random weights gives, for
// every variant, the same logits and greedy tokens as ref-math's gptForward / greedyGenerate on
// the same weights, bit for bit; and in-flight batching does not change a request's tokens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGptKvCache, greedyGenerate, gptForward, randomGptWeights, toF32 } from '@trtllm/ref-math';
import { buildEngine } from '../builder/build.js';
import type { BuildFlags } from '../build-config.js';
import { Engine } from './engine.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-engine-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SMALL: BuildFlags = { vocab_size: 97, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 64, max_batch_size: 6, max_input_len: 24, max_output_len: 16, random_seed: 7 };
const VARIANTS: readonly [string, BuildFlags][] = [
  ['gpt2 fp32, contiguous KV', { ...SMALL, dtype: 'float32' }],
  ['gpt2 fp16, paged KV (tokens_per_block 4), in-flight batching', { ...SMALL, dtype: 'float16', use_inflight_batching: true, tokens_per_block: 4 }],
  ['multi-query bf16, paged', { ...SMALL, dtype: 'bfloat16', multi_query_mode: true, use_gpt_attention_plugin: true, paged_kv_cache: true, remove_input_padding: true, tokens_per_block: 8 }],
  ['GPT-Next style: RoPE 0.5, swiglu, no bias, fp16', { ...SMALL, dtype: 'float16', rotary_pct: 0.5, hidden_act: 'swiglu', no_bias: true, use_inflight_batching: true, tokens_per_block: 8 }],
];
const PROMPTS = [[5, 17, 3], [60, 2, 2, 9, 41, 13, 77, 1, 0, 96], [11], [30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]];

describe('ref backend ≡ the oracle', () => {
  for (const [name, flags] of VARIANTS) {
    it(name, async () => {
      const dir = join(work, name.replace(/\W+/g, '-'));
      const built = buildEngine({ flags, outputDir: dir });
      const engine = await Engine.load(dir);
      const model = { config: built.config.model, weights: randomGptWeights(built.config.model, 7) };
      // logits of every position, one prompt
      const want = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: PROMPTS[1]! }], { logits: 'all' }));
      expect(Array.from(engine.logits(PROMPTS[1]!))).toEqual(Array.from(want));
      // greedy tokens of a batch
      const oracle = greedyGenerate(model, PROMPTS, { maxNewTokens: 12 });
      const got = await engine.generate(PROMPTS.map((tokens) => ({ tokens, maxNewTokens: 12, endId: null })));
      expect(got.map((r) => r.tokens)).toEqual(oracle);
      expect(got.every((r) => r.finishReason === 'length')).toBe(true);
      engine.dispose();
    });
  }
});
