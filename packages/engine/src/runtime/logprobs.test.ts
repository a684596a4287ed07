// Log-probabilities of the chosen tokens (GenerateRequest.logprobs): on every backend, asking for them
// changes no token (greedy or seeded sampling, batched with requests that do not ask), and each equals
// ref-math's tokenLogProbs of that position's logits row — the engine's own rows, recomputed here by a
// context pass over the prompt and the tokens before it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { tokenLogProbs } from '@trtllm/ref-math';
import { buildEngine } from '../builder/build.js';
import { EngineError } from '../errors.js';
import { BACKEND_VARIANTS, describeBackends, STEP_AHEAD } from '../testing/backends.js';
import { GptGraph } from '../models/gpt.js';
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
      const outputs: string[] = [];
      const launch = GptGraph.prototype.launch;
      const spy = vi.spyOn(GptGraph.prototype, 'launch').mockImplementation(function (this: GptGraph<unknown>, ...args: Parameters<typeof launch>) {
        outputs.push(args[1].output);
        return launch.apply(this, args);
      });
      const asked = await engine.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 8, endId: null, logprobs: 3 }, { tokens: PROMPTS[1]!, maxNewTokens: 8, endId: null, temperature: 0.9, topK: 20, seed: 4, logprobs: 0 }, third]);
      spy.mockRestore();
      expect(new Set(outputs)).toEqual(new Set(['chosenLogProbs'])); // fp32 logits: every step picks and scores on the backend, no row comes back
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

// Log-probabilities of given tokens (Engine.tokenLogProbs, what perplexity reads): each row reduced on
// the backend to four words, finished on the host — the float64 of ref-math tokenLogProbs over the
// engine's own logits row, through a context step or through decode steps, and for an engine with
// fp16 logits (scored on the host from the rows `logits` returns).
const dir16 = join(work, 'e16');
buildEngine({ flags: { vocab_size: 97, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 64, dtype: 'float16', logits_dtype: 'float16', random_seed: 5, max_batch_size: 2, max_input_len: 24, max_output_len: 12, use_inflight_batching: true, tokens_per_block: 4 }, outputDir: dir16 });
const SEQ = [5, 17, 3, 60, 2, 2, 9, 41, 96, 0, 33, 33, 70];

describeBackends('log-probabilities of given tokens', (v) => {
  it('equal tokenLogProbs of the engine’s logits rows: a context step, decode steps, fp16 logits; bad targets are typed errors', async () => {
    for (const [d, decodeFrom] of [[dir, undefined], [dir, 1], [dir, 5], [dir16, undefined]] as const) {
      const engine = await Engine.load(d, v.options);
      try {
        const tokens = SEQ.slice(0, -1);
        const targets = SEQ.slice(1);
        const o = decodeFrom === undefined ? {} : { decodeFrom };
        const got = engine.tokenLogProbs(tokens, targets, o);
        const rows = engine.logits(tokens, o);
        expect(got.length).toBe(tokens.length);
        got.forEach((lp, i) => {
          const want = tokenLogProbs(rows.subarray(i * 97, (i + 1) * 97), targets[i]!).logProb;
          if (v.exact || d === dir16) expect(lp, `${d} decodeFrom ${decodeFrom} position ${i}`).toBe(want);
          else expect(Math.abs(lp - want), `position ${i}`).toBeLessThan(1e-9);
          expect(lp).toBeLessThan(0);
        });
      } finally {
        engine.dispose();
      }
    }
    const engine = await Engine.load(dir, v.options);
    try {
      expect(() => engine.tokenLogProbs([1, 2, 3], [2, 3])).toThrow(/tokenLogProbs: targets: expected one target per token \(3\), got 2/);
      expect(() => engine.tokenLogProbs([1, 2, 3], [2, 97, 4])).toThrow(/tokenLogProbs: targets\[1\]: expected a token id in \[0, 96\], got 97/);
      expect(() => engine.tokenLogProbs([1, 2], [2, 3], { decodeFrom: 3 })).toThrow(EngineError);
    } finally {
      engine.dispose();
    }
  });
});

// Log-probabilities of the prompt (GenerateRequest.promptLogprobs, OpenAI's echo with logprobs): the
// prompt's step returns every row of that prompt, each scored for the next prompt token on the backend
// (fp32 logits) or on the host (fp16 logits) — the float64 of tokenLogProbs over the engine's own rows,
// with no token changed for it or for the requests beside it.
describeBackends('log-probabilities of the prompt', (v) => {
  it('equal tokenLogProbs of the prompt’s logits rows (top 2), beside other requests; on the first stream event too', async () => {
    for (const d of [dir, dir16]) {
      const engine = await Engine.load(d, v.options);
      try {
        const other = { tokens: [7, 7, 8, 1], maxNewTokens: 5, endId: null, temperature: 0.8, seed: 2 } as const;
        const plain = await engine.generate([{ tokens: PROMPTS[1]!, maxNewTokens: 4, endId: null }, other, { tokens: PROMPTS[0]!, maxNewTokens: 3, endId: null, topK: 5, seed: 8 }]);
        const asked = await engine.generate([{ tokens: PROMPTS[1]!, maxNewTokens: 4, endId: null, promptLogprobs: 2 }, other, { tokens: PROMPTS[0]!, maxNewTokens: 3, endId: null, topK: 5, seed: 8, promptLogprobs: 0, logprobs: 1 }]);
        expect(asked.map((r) => r.tokens)).toEqual(plain.map((r) => r.tokens));
        expect(asked[1]!.promptLogprobs).toBeUndefined();
        for (const [i, top] of [[0, 2], [2, 0]] as const) {
          const p = i === 0 ? PROMPTS[1]! : PROMPTS[0]!;
          const rows = engine.logits(p);
          const got = asked[i]!.promptLogprobs!;
          expect(got.map((l) => l.token)).toEqual(p.slice(1));
          got.forEach((l, j) => {
            const want = tokenLogProbs(rows.subarray(j * 97, (j + 1) * 97), p[j + 1]!, top);
            if (v.exact || d === dir16) expect(l, `${d} prompt ${i} position ${j + 1}`).toEqual(want);
            else {
              expect(Math.abs(l.logProb - want.logProb)).toBeLessThan(1e-4);
              expect(l.top.map((e) => e.id)).toEqual(want.top.map((e) => e.id));
            }
          });
        }
        const events = [];
        for await (const e of engine.stream({ tokens: PROMPTS[1]!, maxNewTokens: 2, endId: null, promptLogprobs: 2 })) events.push(e);
        expect(events[0]!.promptLogprobs).toEqual(asked[0]!.promptLogprobs);
        expect(events[1]!.promptLogprobs).toBeUndefined();
        await expect(engine.generate([{ tokens: PROMPTS[0]!, promptLogprobs: 21 }])).rejects.toThrow(/promptLogprobs: expected an integer in 0 … 20, got 21/);
      } finally {
        engine.dispose();
      }
    }
  });
}, [...BACKEND_VARIANTS, STEP_AHEAD]);
