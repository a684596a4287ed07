// Log-probabilities of the chosen tokens (GenerateRequest.logprobs): on every backend, asking for them
// changes no token (greedy or seeded sampling, batched with requests that do not ask), and each equals
// ref-math's tokenLogProbs of that position's logits row — the engine's own rows, recomputed here by a
// context pass over the prompt and the tokens before it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tokenLogProbs } from '@trtllm/ref-math';
import { buildEngine } from '../builder/build.js';
import { EngineError } from '../errors.js';
import { describeBackends } from '../testing/backends.js';
import { Engine } from './engine.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-logprobs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dir = join(work, 'e');
buildEngine({ flags: { vocab_size: 97, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 64, dtype: 'float32', random_seed: 3, max_batch_size: 4, max_input_len: 24, max_output_len: 12, max_beam_width: 2, use_inflight_batching: true, tokens_per_block: 4 }, outputDir: dir });
const PROMPTS = [[5, 17, 3], [60, 2, 2, 9, 41]];

describeBackends('logprobs of the chosen tokens', (v) => {
  it('change no token, and equal tokenLogProbs of the engine’s own logits rows (top 3 too)', async () => {
    const engine = await Engine.load(dir, v.options);
    try {
      const third = { tokens: [7, 7, 8], maxNewTokens: 8, endId: null, temperature: 0.7, seed: 9 } as const; // asks for none
      const plain = await engine.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 8, endId: null }, { tokens: PROMPTS[1]!, maxNewTokens: 8, endId: null, temperature: 0.9, topK: 20, seed: 4 }, third]);
      const asked = await engine.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 8, endId: null, logprobs: 3 }, { tokens: PROMPTS[1]!, maxNewTokens: 8, endId: null, temperature: 0.9, topK: 20, seed: 4, logprobs: 0 }, third]);
      expect(asked.map((r) => r.tokens)).toEqual(plain.map((r) => r.tokens)); // the third, batched with askers, keeps its tokens too
      expect(asked[2]!.logprobs).toBeUndefined();
      asked.pop();
      for (const [i, r] of asked.entries()) {
        expect(r.logprobs!.map((l) => l.token)).toEqual(r.tokens);
        const seq = [...PROMPTS[i]!, ...r.tokens];
        const all = engine.logits(seq.slice(0, -1));
        r.logprobs!.forEach((l, k) => {
          const row = all.subarray((PROMPTS[i]!.length - 1 + k) * 97, (PROMPTS[i]!.length + k) * 97);
          const want = tokenLogProbs(row, l.token, i === 0 ? 3 : 0);
          if (v.exact) expect(l).toEqual(want);
          else {
            expect(Math.abs(l.logProb - want.logProb)).toBeLessThan(1e-4);
            expect(l.top.map((e) => e.id)).toEqual(want.top.map((e) => e.id));
          }
        });
      }
      // greedy: the chosen token is the most likely one
      expect(asked[0]!.logprobs!.every((l) => l.top[0]!.id === l.token && l.top[0]!.logProb === l.logProb)).toBe(true);
      // streamed events carry them too
      const events = [];
      for await (const e of engine.stream({ tokens: PROMPTS[0]!, maxNewTokens: 3, endId: null, logprobs: 1 })) events.push(e.logprobs);
      expect(events).toEqual(asked[0]!.logprobs!.slice(0, 3).map((l) => ({ ...l, top: l.top.slice(0, 1) })));
      await expect(engine.generate([{ tokens: PROMPTS[0]!, numBeams: 2, logprobs: 0 }])).rejects.toThrow(EngineError);
      await expect(engine.generate([{ tokens: PROMPTS[0]!, logprobs: 21 }])).rejects.toThrow(/logprobs: expected an integer in 0 … 20, got 21/);
    } finally {
      engine.dispose();
    }
  });
});
