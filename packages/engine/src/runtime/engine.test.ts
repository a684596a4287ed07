// The runtime against the oracle: an engine built from random weights gives, for every variant, the
// same logits and greedy tokens as ref-math's gptForward / greedyGenerate on the same weights, bit for
// bit, on the ref backend and on the cuda reference kernels (where a GPU is usable); in-flight
// batching does not change a request's tokens there; and the runtime's own logic runs through
// describeBackends like the rest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { argmax, createGptKvCache, fromF32, fromValues, greedyGenerate, gptForward, randomGptWeights, toF32 } from '@trtllm/ref-math';
import { buildEngine } from '../builder/build.js';
import type { BuildFlags } from '../build-config.js';
import { EngineError } from '../errors.js';
import { AUTO_DECODE_KERNEL_ROWS, GEMM_ALGOS, resolveGemmAlgo } from '../backends/backend.js';
import { BACKEND_VARIANTS, describeBackends, STEP_AHEAD } from '../testing/backends.js';
import { fileURLToPath } from 'node:url';
import { Gpt2Tokenizer, type Tokenizer } from '@trtllm/loader';
import { Sampler } from '../sampling/sampler.js';
import { GptGraph } from '../models/gpt.js';
import { Engine, type GenerateResult } from './engine.js';

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

// On every bit-exact backend (ref; the cuda reference kernels where a GPU is usable): the oracle's bits.
describeBackends('engine ≡ the oracle', (v) => {
  for (const [name, flags] of VARIANTS) {
    it(name, async () => {
      const dir = join(work, `${v.name}-${name}`.replace(/\W+/g, '-'));
      const built = buildEngine({ flags, outputDir: dir });
      const engine = await Engine.load(dir, v.options);
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
}, BACKEND_VARIANTS.filter((v) => v.exact));

// The runtime's own logic (token selection, scheduling, capacity, cancellation, stop conditions,
// failures) on the backends where a request's bits cannot depend on its batch (ref; the cuda reference
// kernels where a GPU is usable) — alone and batched must agree token for token there; failures on
// every backend. Production kernels' batch invariance has its own tests (backends.test.ts).
const argmaxDir = join(work, 'argmax-path');
buildEngine({ flags: { ...SMALL, dtype: 'float16', use_inflight_batching: true, tokens_per_block: 4 }, outputDir: argmaxDir });
const ifbDir = join(work, 'ifb');
buildEngine({ flags: { ...SMALL, dtype: 'float16', use_inflight_batching: true, tokens_per_block: 4, max_batch_size: 4, max_num_tokens: 40 }, outputDir: ifbDir });

describeBackends('token selection on the backend', (v) => {
  it('greedy requests get the same tokens from the device argmax (all-greedy steps) and from the sampling op (steps with a sampled request)', async () => {
    const engine = await Engine.load(argmaxDir, v.options);
    const greedy = PROMPTS.map((tokens) => ({ tokens, maxNewTokens: 10, endId: null }));
    const alone = (await engine.generate(greedy)).map((r) => r.tokens);
    const mixed = await engine.generate([...greedy, { tokens: [7, 8, 9], maxNewTokens: 10, endId: null, topP: 0.9, seed: 4 }]);
    expect(mixed.slice(0, PROMPTS.length).map((r) => r.tokens)).toEqual(alone);
    engine.dispose();
  });
}, [...BACKEND_VARIANTS.filter((x) => x.exact), STEP_AHEAD]);

// Sampled requests: each step's token is ref-math's sampleToken of that step's logits with the
// request's settings and its seeded draw — on the device for every backend. The replay asks the engine
// for the same logits through the KV cache (logits decodeFrom: the context step, then decode steps)
// and samples them on the host with a fresh Sampler of the same seed.
const SAMPLED = [
  { tokens: [5, 17, 3], maxNewTokens: 8, endId: null, temperature: 0.8, topK: 20, seed: 1 },
  { tokens: [60, 2, 2, 9], maxNewTokens: 8, endId: null, topP: 0.9, seed: 2 },
  { tokens: [11], maxNewTokens: 8, endId: null, temperature: 1.3, repetitionPenalty: 1.5, seed: 3 },
  { tokens: [30, 31, 32], maxNewTokens: 8, endId: 3, minNewTokens: 5, temperature: 2, topK: 5, topP: 0.7, seed: 4 },
  { tokens: [7, 8, 9], maxNewTokens: 8, endId: null, seed: 5 }, // greedy, in a step with sampled rows
];
describeBackends('sampling on the backend', (v) => {
  it('a batch of sampled requests (temperature, top-k, top-p, penalty, min new tokens) draws the host oracle sampler’s tokens', async () => {
    const engine = await Engine.load(argmaxDir, v.options);
    const got = await engine.generate(SAMPLED);
    const vocab = engine.model.vocabSize;
    for (const [i, q] of SAMPLED.entries()) {
      const sampler = new Sampler(q);
      const out: number[] = [];
      while (out.length < q.maxNewTokens) {
        const all = [...q.tokens, ...out];
        const logits = engine.logits(all, { decodeFrom: q.tokens.length });
        const token = sampler.next(logits.subarray(logits.length - vocab), all, out.length, q.endId ?? undefined);
        out.push(token);
        if (token === q.endId) break;
      }
      expect(got[i]!.tokens, `request ${i}`).toEqual(out);
    }
    expect(got[3]!.tokens.slice(0, 5)).not.toContain(3); // the end id is banned before 5 new tokens
    engine.dispose();
  });
}, [...BACKEND_VARIANTS.filter((x) => x.exact), STEP_AHEAD]);

describeBackends('sampling on the backend, batch invariance', (v) => {
  it('a seeded sampled request gets the same tokens alone and in a batch of others', async () => {
    const engine = await Engine.load(argmaxDir, v.options);
    const batched = (await engine.generate(SAMPLED)).map((r) => r.tokens);
    for (const [i, q] of SAMPLED.entries()) expect((await engine.generate([q]))[0]!.tokens, `request ${i}`).toEqual(batched[i]);
    engine.dispose();
  });
});

describe('streaming', () => {
  // a byte-level BPE of 1,200 tokens (a StarCoder-style tokenizer.json fixture): its single-byte tokens
  // include the UTF-8 lead and continuation bytes, so random draws split characters across tokens
  const dir = join(work, 'stream-text');
  buildEngine({ flags: { ...SMALL, vocab_size: 1200, dtype: 'float32' }, outputDir: dir });
  const tokenizer = Gpt2Tokenizer.fromTokenizerJson(fileURLToPath(new URL('../../../loader/fixtures/tiny/tokenizers/starcoder-style.tokenizer.json', import.meta.url)));
  it('text deltas never split a UTF-8 character; joined they are the result text', async () => {
    const engine = await Engine.load(dir, { tokenizer });
    let held = 0;
    let naiveDiffers = 0;
    for (const seed of [1, 29, 63]) { // 29 and 63 draw whole multi-byte characters split over tokens
      const stream = engine.stream({ tokens: [5, 17, 3], maxNewTokens: 16, endId: null, temperature: 1.5, seed });
      const deltas: string[] = [];
      for await (const e of stream) deltas.push(e.text!);
      const r = await stream.result;
      expect(deltas.join(''), `seed ${seed}`).toBe(r.text);
      expect(deltas.length).toBe(16);
      held += deltas.filter((d) => d === '').length; // a token inside a character adds nothing yet
      if (r.tokens.map((t) => tokenizer.decode([t])).join('') !== r.text) naiveDiffers++; // decoding token by token would not do
    }
    expect(held).toBeGreaterThan(0);
    expect(naiveDiffers).toBe(2);
    engine.dispose();
  });
  it.each([false, true])('leaving the loop early cancels the request and frees its blocks (stepAhead %s)', async (stepAhead) => {
    const engine = await Engine.load(dir, { kvCacheBlocks: 6, stepAhead });
    const stream = engine.stream({ tokens: [5, 17, 3], maxNewTokens: 16, endId: null });
    for await (const e of stream) if (e.index === 2) break;
    const r = await stream.result;
    expect(r.finishReason).toBe('cancelled');
    expect(r.tokens.length).toBe(3);
    expect(engine.logits([1, 2, 3]).length).toBe(3 * 1200); // idle again: nothing holds a slot
    engine.dispose();
  });
  it.each([false, true])("listen: the events and results of stream, callbacks in the engine's delivery (stepAhead %s)", async (stepAhead) => {
    const engine = await Engine.load(dir, { tokenizer, stepAhead });
    // seeds 29 and 63 split characters over tokens: token 13 of seed 29 and tokens 0 and 1 of seed 63
    // are inside one, so 14 and 2 new tokens end those requests mid-character
    const asks = [[1, 16], [29, 16], [29, 14], [63, 16], [63, 2]].map(([seed, maxNewTokens]) => ({ tokens: [5, 17, 3], maxNewTokens, endId: null, temperature: 1.5, seed }));
    const streamed = await Promise.all(asks.map(async (q) => {
      const s = engine.stream(q);
      const events = [];
      for await (const e of s) events.push(e);
      return { events, result: await s.result };
    }));
    const listened = await Promise.all(asks.map((q) => new Promise<{ events: unknown[]; result: unknown }>((ok, fail) => {
      const events: unknown[] = [];
      engine.listen(q, { onToken: (e) => events.push(e), onEnd: (result) => ok({ events, result }), onError: fail });
    })));
    expect(listened).toEqual(streamed);
    // the open bytes of a request that ends mid-character come with its last token, in both
    expect(streamed.some(({ events }) => (events.at(-1) as { text: string }).text.includes('\ufffd'))).toBe(true);
    engine.dispose();
  });
  it('listen: cancel() ends the request (onEnd, cancelled); a tokenizer that refuses an id calls onError once and the engine goes on', async () => {
    const engine = await Engine.load(dir, { tokenizer });
    const cancelled = await new Promise<GenerateResult>((ok, fail) => {
      const h = engine.listen({ tokens: [5, 17, 3], maxNewTokens: 16, endId: null }, {
        onToken: (e) => e.index === 2 && h.cancel(),
        onEnd: ok,
        onError: fail,
      });
    });
    expect([cancelled.finishReason, cancelled.tokens.length]).toEqual(['cancelled', 3]);
    const refusing: Tokenizer = { ...tokenizer, kind: 'test', encode: () => [1], tokenText: (id) => String(id), decode: () => '', specialIds: {}, vocabSize: 1200,
      decoder: () => ({ push: (id) => { if (id >= 0) throw new Error(`decoder: id ${id} refused`); return ''; }, flush: () => '' }) };
    const strict = await Engine.load(dir, { tokenizer: refusing });
    const calls: string[] = [];
    await new Promise<void>((ok) => {
      strict.listen({ tokens: [5, 17, 3], maxNewTokens: 4, endId: null }, {
        onToken: () => calls.push('token'),
        onEnd: () => calls.push('end'),
        onError: (e) => (calls.push(e.message.replace(/\d+/, 'N')), setTimeout(ok, 20)),
      });
    });
    expect(calls).toEqual(['decoder: id N refused']);
    expect((await strict.generate([{ tokens: [5], maxNewTokens: 2, endId: null }]))[0]!.tokens).toHaveLength(2); // the engine went on
    strict.dispose();
    engine.dispose();
  });
});

describe('a result that cannot be made', () => {
  it.each([false, true])("a tokenizer that refuses to decode rejects the stream's result; the engine serves the next request (stepAhead %s)", async (stepAhead) => {
    // decode throws (as a tokenizer does for an id outside its vocabulary): the result is the one
    // thing that decodes the whole output, after the last token
    const refusing: Tokenizer = {
      kind: 'test', vocabSize: 97, specialIds: {}, encode: () => [1], tokenText: (id) => String(id),
      decode: () => {
        throw new Error('decode: expected ids in the vocabulary, got one outside it');
      },
      decoder: () => ({ push: () => '', flush: () => '' }),
    };
    const engine = await Engine.load(failDir, { tokenizer: refusing, stepAhead });
    const stream = engine.stream({ tokens: [4, 9], maxNewTokens: 3, endId: null });
    const seen: number[] = [];
    for await (const e of stream) seen.push(e.token);
    expect(seen).toHaveLength(3);
    await expect(stream.result).rejects.toThrow(/decode: expected ids in the vocabulary/);
    await expect(engine.generate([{ tokens: [4, 9], maxNewTokens: 3, endId: null }])).rejects.toThrow(/decode: expected ids/); // generate decodes too
    const next = engine.stream({ tokens: [5], maxNewTokens: 2, endId: null });
    const tokens: number[] = [];
    for await (const e of next) tokens.push(e.token);
    expect(tokens).toHaveLength(2); // the engine went on
    engine.dispose();
  });
});

describe('kernel sets', () => {
  it("kernels 'production' needs the cuda backend", async () => {
    await expect(Engine.load(argmaxDir, { kernels: 'production' })).rejects.toThrow(/kernels 'production': expected backend 'cuda', got backend 'ref'/);
  });
});

describeBackends('in-flight batching', (v) => {
  const dir = ifbDir;
  const rnd = (seed: number): (() => number) => {
    let s = seed;
    return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  };
  const r = rnd(42);
  const requests = Array.from({ length: 30 }, (_, i) => {
    const len = 1 + Math.floor(r() * 24);
    return {
      tokens: Array.from({ length: len }, () => Math.floor(r() * 97)),
      maxNewTokens: 1 + Math.floor(r() * 16),
      endId: null,
      ...(i % 3 === 0 ? { temperature: 0.8, topK: 20, seed: i } : i % 3 === 1 ? { topP: 0.9, seed: 100 + i } : {}),
    };
  });

  it('30 requests of mixed lengths arriving over time (batch 4, 14 KV blocks of 4) each get the tokens they get alone', async () => {
    const alone = await Engine.load(dir, v.options);
    const solo: number[][] = [];
    for (const q of requests) solo.push([...(await alone.generate([q]))[0]!.tokens]);
    alone.dispose();
    const engine = await Engine.load(dir, { ...v.options, kvCacheBlocks: 14 });
    const pending: Promise<readonly number[]>[] = [];
    for (const [i, q] of requests.entries()) {
      pending.push(engine.stream(q).result.then((x) => x.tokens));
      if (i % 4 === 3) await new Promise((ok) => setTimeout(ok, 1)); // later arrivals join running batches
    }
    expect(await Promise.all(pending)).toEqual(solo);
    expect(engine.steps).toBeLessThan(solo.reduce((s, x) => s + x.length, 0)); // batched, not one by one
    engine.dispose();
  });

  it('a request that can never fit is refused; one that cannot fit now waits; cancellation ends running and waiting ones', async () => {
    const engine = await Engine.load(dir, { ...v.options, kvCacheBlocks: 9 });
    await expect(engine.generate([{ tokens: new Array(24).fill(3), maxNewTokens: 16 }])).rejects.toThrow(/request 0: expected at most 36 positions in the KV cache, got 40 \(load the engine with more kvCacheBlocks\)/);
    const ac = new AbortController();
    const ac2 = new AbortController();
    const a = engine.stream({ tokens: [5, 6, 7], maxNewTokens: 16, endId: null, signal: ac.signal });
    const b = engine.stream({ tokens: new Array(20).fill(9), maxNewTokens: 16, endId: null }); // needs all 9 blocks: waits for a (5)
    const c = engine.stream({ tokens: [1, 2], maxNewTokens: 4, endId: null, signal: ac2.signal }); // waits behind b
    ac2.abort();
    const seen: number[] = [];
    for await (const e of a) {
      seen.push(e.token);
      if (seen.length === 3) ac.abort();
    }
    expect((await a.result).finishReason).toBe('cancelled');
    expect((await a.result).tokens).toEqual(seen); // no token after the abort, one step ahead too
    expect((await c.result)).toMatchObject({ finishReason: 'cancelled', tokens: [] });
    expect((await b.result)).toMatchObject({ finishReason: 'length' });
    expect((await b.result).tokens.length).toBe(16);
    engine.dispose();
  });

  it('end id, stop words and request validation', async () => {
    const engine = await Engine.load(dir, v.options);
    const [free] = await engine.generate([{ tokens: [4, 8, 15], maxNewTokens: 10, endId: null }]);
    const t = free!.tokens;
    const [ended] = await engine.generate([{ tokens: [4, 8, 15], maxNewTokens: 10, endId: t[2]! }]);
    expect(ended).toMatchObject({ finishReason: 'end', tokens: t.slice(0, t.indexOf(t[2]!) + 1) });
    const [stopped] = await engine.generate([{ tokens: [4, 8, 15], maxNewTokens: 10, endId: null, stopWords: [[t[3]!, t[4]!]] }]);
    expect(stopped!.finishReason).toBe('stop');
    expect(stopped!.tokens.slice(-2)).toEqual([t[3], t[4]]);
    await expect(engine.generate([{ tokens: new Array(25).fill(1) }])).rejects.toThrow(/request 0: prompt: expected 1 … 24 tokens \(max_input_len\), got 25 tokens/);
    await expect(engine.generate([{ tokens: [1], maxNewTokens: 17 }])).rejects.toThrow(/request 0\.maxNewTokens: expected 1 … 16/);
    await expect(engine.generate([{ tokens: [97] }])).rejects.toThrow(/request 0: token: expected ids in \[0, 97\), got 97/);
    await expect(engine.generate(['text'])).rejects.toThrow(/request 0\.prompt: expected token ids \(this engine has no tokenizer\)/);
    engine.dispose();
  });
}, [...BACKEND_VARIANTS.filter((x) => x.exact), STEP_AHEAD]);

describeBackends('beam search', (v) => {
  /** An independent beam search on the oracle: every candidate's logits from a fresh full forward (no KV cache reuse). */
  function oracleBeams(model: Parameters<typeof gptForward>[0], prompt: number[], k: number, maxNew: number, endId: number | undefined, lengthPenalty = 1): { tokens: number[]; score: number }[] {
    const v = model.config.vocabSize;
    const lastLogProbs = (tokens: number[]): Float64Array => {
      const l = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens }], { logits: 'last' })).subarray(0, v);
      const max = Math.max(...l);
      const lse = max + Math.log(l.reduce((a, x) => a + Math.exp(x - max), 0));
      return Float64Array.from(l, (x) => x - lse);
    };
    let beams = [{ tokens: [] as number[], lp: 0 }];
    const done: { tokens: number[]; score: number }[] = [];
    const norm = (lp: number, n: number): number => lp / n ** lengthPenalty;
    for (let step = 0; step < maxNew; step++) {
      const cands: { score: number; beam: number; token: number }[] = [];
      beams.forEach((b, bi) => {
        const lp = lastLogProbs([...prompt, ...b.tokens]);
        const order = Array.from(lp.keys()).sort((x, y) => lp[y]! - lp[x]! || x - y).slice(0, 2 * k);
        for (const t of order) cands.push({ score: b.lp + lp[t]!, beam: bi, token: t });
      });
      cands.sort((a, b) => b.score - a.score || a.beam - b.beam || a.token - b.token);
      const next: typeof beams = [];
      for (const [rank, c] of cands.entries()) {
        const tokens = [...beams[c.beam]!.tokens, c.token];
        if (c.token === endId) {
          if (rank < k) done.push({ tokens, score: norm(c.score, tokens.length) });
          continue;
        }
        next.push({ tokens, lp: c.score });
        if (next.length === k) break;
      }
      beams = next;
      if (step + 1 === maxNew) for (const b of beams) done.push({ tokens: b.tokens, score: norm(b.lp, b.tokens.length) });
      else if (done.length >= k) {
        const worst = [...done].sort((a, b) => b.score - a.score)[k - 1]!.score;
        if (worst >= Math.max(...beams.map((b) => norm(b.lp, b.tokens.length)))) break;
      }
    }
    return done.sort((a, b) => b.score - a.score).slice(0, k);
  }

  for (const [name, flags] of [
    ['fp32, contiguous KV', { ...SMALL, dtype: 'float32', max_beam_width: 4 }],
    ['fp16, paged KV (tokens_per_block 4), in-flight batching', { ...SMALL, dtype: 'float16', max_beam_width: 4, use_inflight_batching: true, tokens_per_block: 4 }],
  ] as const) {
    it(`${name}: 3 and 4 beams equal an independent oracle beam search (scores too); 1 beam is greedy`, async () => {
      const dir = join(work, `beam-${v.name}-${name}`.replace(/\W+/g, '-'));
      const built = buildEngine({ flags, outputDir: dir });
      const engine = await Engine.load(dir, v.options);
      const model = { config: built.config.model, weights: randomGptWeights(built.config.model, 7) };
      const greedy = await engine.generate([{ tokens: PROMPTS[1]!, maxNewTokens: 8, endId: null }]);
      expect((await engine.generate([{ tokens: PROMPTS[1]!, maxNewTokens: 8, endId: null, numBeams: 1 }]))[0]!.tokens).toEqual(greedy[0]!.tokens);
      // a frequent token as the end id makes hypotheses finish early, exercising that path too
      const endId = greedy[0]!.tokens[3]!;
      const [three, four, plain] = await engine.generate([
        { tokens: PROMPTS[0]!, maxNewTokens: 10, numBeams: 3, endId },
        { tokens: PROMPTS[1]!, maxNewTokens: 7, numBeams: 4, endId: null, lengthPenalty: 0.6 },
        { tokens: PROMPTS[2]!, maxNewTokens: 5, endId: null },
      ]);
      const want3 = oracleBeams(model, PROMPTS[0]!, 3, 10, endId);
      const want4 = oracleBeams(model, PROMPTS[1]!, 4, 7, undefined, 0.6);
      // the engine scores with ref-math's beam reduction (an exact fixed-point sum for the log-softmax
      // denominator): the same beams as this float64 search, scores within its stated 1e-6
      const close = (got: readonly { score: number }[], want: readonly { score: number }[]): void => got.forEach((b, i) => expect(Math.abs(b.score - want[i]!.score)).toBeLessThan(1e-6));
      expect(three!.beams!.map((b) => b.tokens)).toEqual(want3.map((b) => b.tokens));
      expect(three!.beams!.map((b) => b.finishReason)).toEqual(want3.map((b) => (b.tokens.at(-1) === endId ? 'end' : 'length')));
      close(three!.beams!, want3);
      expect(four!.beams!.map((b) => b.tokens)).toEqual(want4.map((b) => b.tokens));
      close(four!.beams!, want4);
      expect(four!.tokens).toEqual(want4[0]!.tokens);
      // a step that also holds a sampled request reduces the beams' rows on the host from logits: the
      // same beams and scores, bit for bit, as the backend's reduction in steps of beams alone
      const [mixed] = await engine.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 10, endId, numBeams: 3 }, { tokens: [5, 6], maxNewTokens: 12, endId: null, temperature: 0.7, seed: 9 }]);
      expect(mixed!.beams!.map((b) => [b.tokens, b.score])).toEqual(three!.beams!.map((b) => [b.tokens, b.score]));
      // a step that fails while handing out its tokens (after the beams forked) fails its requests and
      // leaves no fork copy behind: the next beam search is the same as before
      const next = Sampler.prototype.next;
      const spy = vi.spyOn(Sampler.prototype, 'next').mockImplementationOnce(() => {
        throw new Error('a sampler that fails once');
      });
      await expect(engine.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 10, endId, numBeams: 3 }, { tokens: [5, 6], maxNewTokens: 12, endId: null, temperature: 0.7, seed: 9 }])).rejects.toThrow(/fails once/);
      spy.mockRestore();
      expect(Sampler.prototype.next).toBe(next);
      const [again] = await engine.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 10, numBeams: 3, endId }]);
      expect(again!.beams!.map((b) => [b.tokens, b.score])).toEqual(three!.beams!.map((b) => [b.tokens, b.score]));
      expect(plain!.tokens).toEqual(greedyGenerate(model, [PROMPTS[2]!], { maxNewTokens: 5 })[0]);
      await expect(engine.generate([{ tokens: [1], numBeams: 5 }])).rejects.toThrow(/request 0\.numBeams: expected 1 … 4 \(max_beam_width\), got 5/);
      await expect(engine.generate([{ tokens: [1], numBeams: 2, topK: 5 }])).rejects.toThrow(/beam search without sampling options/);
      engine.dispose();
    });
  }
}, [...BACKEND_VARIANTS.filter((x) => x.exact), STEP_AHEAD]);

describe('tensor parallelism (the ref backend runs the ranks in one process)', () => {
  const variants: readonly [string, BuildFlags][] = [
    ['gpt2 fp32', { ...SMALL, dtype: 'float32' }],
    ['multi-query fp16, paged', { ...SMALL, dtype: 'float16', multi_query_mode: true, use_inflight_batching: true, tokens_per_block: 8 }],
    ['RoPE + swiglu, no bias, bf16', { ...SMALL, dtype: 'bfloat16', rotary_pct: 0.5, hidden_act: 'swiglu', no_bias: true, use_inflight_batching: true, tokens_per_block: 8 }],
  ];
  for (const [name, flags] of variants) {
    it(`${name}: TP 2 and 4 give TP 1's greedy tokens; logits within the declared tolerance (partials summed in T)`, async () => {
      const results: { tokens: (readonly number[])[]; logits: Float32Array }[] = [];
      for (const tp of [1, 2, 4]) {
        const dir = join(work, `tp${tp}-${name.replace(/\W+/g, '-')}`);
        buildEngine({ flags: { ...flags, world_size: tp }, outputDir: dir });
        const e = await Engine.load(dir);
        results.push({ tokens: (await e.generate(PROMPTS.map((tokens) => ({ tokens, maxNewTokens: 10, endId: null })))).map((r) => r.tokens), logits: e.logits(PROMPTS[3]!) });
        e.dispose();
      }
      const [one, ...more] = results;
      for (const r of more) {
        expect(r.tokens).toEqual(one!.tokens);
        let num = 0;
        let den = 0;
        r.logits.forEach((x, i) => {
          num += (x - one!.logits[i]!) ** 2;
          den += one!.logits[i]! ** 2;
        });
        // fp32: the row-parallel sums round differently (≈ 1e-14); f16/bf16: one extra rounding per rank step
        expect(num / den).toBeLessThan(flags.dtype === 'float32' ? 1e-12 : 1e-4);
      }
      expect(Array.from(results[1]!.logits)).not.toEqual(Array.from(one!.logits)); // TP really changes the summation
    });
  }
});

describe('tensor parallelism on the cuda backend (checked before any GPU is touched)', () => {
  it("a multi-rank engine on production kernels in one process is refused: its ranks would not share the step's state", async () => {
    const dir = join(work, 'tp2-production-refused');
    buildEngine({ flags: { ...SMALL, dtype: 'float16', world_size: 2 }, outputDir: dir });
    for (const o of [{ backend: 'cuda' as const }, { backend: 'cuda' as const, kernels: 'production' as const, tensorParallel: 'in-process' as const }]) {
      await expect(Engine.load(dir, o)).rejects.toThrow(/tensorParallel: expected 'processes' \(one GPU per rank\) for a 2-rank engine on production kernels, got 'in-process' \(load with tensorParallel: 'processes'/);
    }
  });
});

describe('prompt tuning', () => {
  it('virtual tokens V … V+Pt−1 embed as the task\'s prompt-table rows: logits equal the oracle on a model whose wte holds those rows', async () => {
    for (const dtype of ['float32', 'float16'] as const) {
      const dir = join(work, `prompt-${dtype}`);
      const built = buildEngine({ flags: { ...SMALL, dtype, max_prompt_embedding_table_size: 12, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: dir });
      const c = built.config.model;
      const engine = await Engine.load(dir);
      const [tasks, pt, h, v] = [2, 5, c.nEmbd, c.vocabSize];
      const values = Array.from({ length: tasks * pt * h }, (_, i) => Math.sin(i * 0.37) * 0.05);
      const table = fromValues(c.dtype, [tasks, pt, h], values);
      engine.setPromptTable(table);
      const prompt = [v, v + 1, v + 2, v + 3, v + 4, 5, 17, 3];
      const got = engine.logits(prompt, { promptTask: 1 });
      // the oracle: wte extended with task 1's rows; lm_head = wte plus zero rows (the first V logits are the engine's)
      const w = randomGptWeights(c, 7);
      const rows = toF32(w.wte).length;
      const wte = fromF32(c.dtype, [v + pt, h], Float32Array.from([...toF32(w.wte), ...toF32(table).subarray(pt * h, 2 * pt * h)]));
      const lmHead = fromF32(c.dtype, [v + pt, h], Float32Array.from([...toF32(w.wte), ...new Array<number>(pt * h).fill(0)]));
      expect(rows).toBe(v * h);
      const big = { config: { ...c, vocabSize: v + pt }, weights: { ...w, wte, lmHead } };
      const want = toF32(gptForward(big, createGptKvCache(big.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: prompt }], { logits: 'all' }));
      const wantFirstV = Float32Array.from({ length: prompt.length * v }, (_, i) => want[Math.floor(i / v) * (v + pt) + (i % v)]!);
      expect(Array.from(got)).toEqual(Array.from(wantFirstV));
      // generation with a task; task 0 differs from task 1; bad task / id / oversize table are typed errors
      const [a] = await engine.generate([{ tokens: prompt, maxNewTokens: 6, endId: null, promptTask: 1 }]);
      expect(a!.tokens.every((t) => t < v)).toBe(true);
      expect(a!.tokens[0]).toBe(argmax(got.subarray((prompt.length - 1) * v, prompt.length * v)));
      expect(Array.from(engine.logits(prompt, { promptTask: 0 }))).not.toEqual(Array.from(got));
      await expect(engine.generate([{ tokens: prompt, promptTask: 2 }])).rejects.toThrow(/promptTask: expected a task in \[0, 2\), got 2/);
      await expect(engine.generate([{ tokens: [v + 5] }])).rejects.toThrow(new RegExp(`token: expected ids in \\[0, ${v + 5}\\) \\(vocab plus 5 prompt tokens\\), got ${v + 5}`));
      expect(() => engine.setPromptTable(fromValues(c.dtype, [3, 5, h], new Array(15 * h).fill(0)))).toThrow(/at most 12 rows \(--max_prompt_embedding_table_size\), got 3 × 5 = 15/);
      engine.dispose();
    }
  });
});

const failDir = join(work, 'fail');
buildEngine({ flags: { ...SMALL, dtype: 'float32' }, outputDir: failDir });
describeBackends('failures', (v) => {
  it('a step that throws ends every request with the typed error (no hang, no crash); generate rejects, stream throws', async () => {
    const engine = await Engine.load(failDir, v.options);
    const pending = engine.generate([{ tokens: [1, 2], maxNewTokens: 4 }, { tokens: [3], maxNewTokens: 4 }]);
    const stream = engine.stream({ tokens: [4], maxNewTokens: 4 });
    engine.dispose(); // the KV cache is gone before the first step
    await expect(pending).rejects.toThrow(/kv cache: expected createKvCache first, got none/);
    await expect(stream.result).rejects.toThrow(EngineError);
    await expect((async () => {
      for await (const _ of stream) void _;
    })()).rejects.toThrow(/kv cache/);
  });
  it("a step that fails after others: each request's tokens of the steps before it, then the error", async () => {
    const [solo] = await (async () => {
      const e = await Engine.load(failDir, v.options);
      const r = await e.generate([{ tokens: [4], maxNewTokens: 8, endId: null }]);
      e.dispose();
      return r;
    })();
    const engine = await Engine.load(failDir, v.options);
    const stream = engine.stream({ tokens: [4], maxNewTokens: 8, endId: null });
    const seen: number[] = [];
    await expect((async () => {
      for await (const e of stream) {
        seen.push(e.token);
        if (e.index === 2) engine.dispose(); // the next step to launch finds no KV cache (or, one step ahead on a device, the step in flight its backend gone)
      }
    })()).rejects.toThrow(/kv cache: expected createKvCache first|PendingStep\.collect: .*a disposed backend/);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual(solo!.tokens.slice(0, seen.length));
  });
}, [...BACKEND_VARIANTS, STEP_AHEAD]);

describe('one step ahead', () => {
  // the order of launches and token events, seen through GptGraph.launch: ahead, step k + 1 is on the
  // backend before step k's token reaches the stream; in step, each token arrives before the next launch
  const launchesAndTokens = async (o: { readonly stepAhead?: boolean }, maxNewTokens: number): Promise<{ log: string[]; tokens: readonly number[] }> => {
    const log: string[] = [];
    const original = GptGraph.prototype.launch;
    const spy = vi.spyOn(GptGraph.prototype, 'launch').mockImplementation(function (this: GptGraph<unknown>, ...args: Parameters<typeof original>) {
      log.push('launch');
      return original.apply(this, args);
    });
    try {
      const engine = await Engine.load(failDir, o);
      const stream = engine.stream({ tokens: [4, 9], maxNewTokens, endId: null });
      for await (const e of stream) log.push(`token ${e.index}`);
      const { tokens } = await stream.result;
      engine.dispose();
      return { log, tokens };
    } finally {
      spy.mockRestore();
    }
  };
  it("ahead, step k + 1 is launched before step k's token is handed over (the first token before it); in step, after; the tokens are the same", async () => {
    const ahead = await launchesAndTokens({ stepAhead: true }, 4);
    const inStep = await launchesAndTokens({ stepAhead: false }, 4);
    expect(ahead.log).toEqual(['launch', 'token 0', 'launch', 'launch', 'token 1', 'launch', 'token 2', 'token 3']);
    expect(inStep.log).toEqual(['launch', 'token 0', 'launch', 'token 1', 'launch', 'token 2', 'launch', 'token 3']);
    expect(ahead.tokens).toEqual(inStep.tokens);
  });
  it('is off by default on the ref backend (it would only hand each token over a step later)', async () => {
    vi.stubEnv('TRTLLM_STEP_AHEAD', ''); // the default, whatever the environment says
    try {
      expect((await launchesAndTokens({}, 2)).log).toEqual(['launch', 'token 0', 'launch', 'token 1']);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('GEMM policy', () => {
  it("'auto' takes the decode GEMM for engines of at most 8 generation rows per step, and is fixed per engine", () => {
    expect(AUTO_DECODE_KERNEL_ROWS).toBe(8);
    expect(resolveGemmAlgo(undefined, 1)).toBe('decode-kernel');
    expect(resolveGemmAlgo('auto', 8)).toBe('decode-kernel');
    expect(resolveGemmAlgo('auto', 9)).toBe('batch-invariant');
    expect(resolveGemmAlgo(undefined, 64)).toBe('batch-invariant');
    for (const a of GEMM_ALGOS.filter((x) => x !== 'auto')) expect(resolveGemmAlgo(a, 1)).toBe(a);
  });
  it('engines on the ref backend report no GEMM policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gemm-policy-'));
    try {
      await buildEngine({ flags: { vocab_size: 64, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32, dtype: 'float32', random_seed: 3, max_batch_size: 2, max_input_len: 8, max_output_len: 4 }, outputDir: dir });
      const e = await Engine.load(dir, { backend: 'ref' });
      expect(e.gemmAlgo).toBeUndefined();
      e.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
