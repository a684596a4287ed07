// trtllm serve over loopback, driven by the official `openai` npm client (a client we did not write):
// completions equal the engine's own generation, streaming chunks join to the same text, stop strings
// cut it, bad fields are 400s naming the field, a full server answers 429, a client that goes away
// cancels its request.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, Engine } from '@trtllm/engine';
import { startServer, type RunningServer } from './serve.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-serve-'));
const tokDir = join(work, 'tok');
mkdirSync(tokDir);
// a byte-level BPE of 1,200 tokens with <|endoftext|> = 0 (a StarCoder-style tokenizer.json fixture)
copyFileSync(fileURLToPath(new URL('../../packages/loader/fixtures/tiny/tokenizers/starcoder-style.tokenizer.json', import.meta.url)), join(tokDir, 'tokenizer.json'));
const dir = join(work, 'engine');
buildEngine({ flags: { vocab_size: 1200, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 128, dtype: 'float32', random_seed: 5, max_batch_size: 4, max_input_len: 32, max_output_len: 64, max_beam_width: 4, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: dir, tokenizerDir: tokDir });

let engine: Engine;
let server: RunningServer;
let client: OpenAI;
beforeAll(async () => {
  engine = await Engine.load(dir, { backend: 'ref' });
  server = await startServer(engine, { port: 0, model: 'tiny', maxQueue: 3 });
  client = new OpenAI({ apiKey: 'none', baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server.close();
  engine.dispose();
  rmSync(work, { recursive: true, force: true });
});

const solo = async (prompt: string, n: number): Promise<string> => (await engine.generate([{ prompt, maxNewTokens: n, temperature: 0, endId: 0 }]))[0]!.text!;

describe('trtllm serve (openai client, ref backend)', () => {
  it('completions: the engine’s own greedy text, usage counts, /v1/models and /health', async () => {
    const r = await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 12, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.text).toBe(await solo('def hello(', 12));
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(12);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    const two = await client.completions.create({ model: 'tiny', prompt: ['a = 1', 'for i in'], max_tokens: 6, temperature: 0 });
    expect(two.choices.map((c) => c.text)).toEqual([await solo('a = 1', 6), await solo('for i in', 6)]); // batched in flight = solo
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['tiny']);
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok', running: 0, cancelled: 0 });
  });

  it('n samples per prompt: choice prompt · n + i draws with seed + i, each the engine’s own sample', async () => {
    const sample = async (prompt: string, seed: number): Promise<string> => (await engine.generate([{ prompt, maxNewTokens: 8, temperature: 1.2, seed, endId: 0 }]))[0]!.text!;
    const r = await client.completions.create({ model: 'tiny', prompt: 'def f(', n: 3, max_tokens: 8, temperature: 1.2, seed: 40 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(r.choices.map((c) => c.text)).toEqual([await sample('def f(', 40), await sample('def f(', 41), await sample('def f(', 42)]);
    expect(new Set(r.choices.map((c) => c.text)).size).toBeGreaterThan(1); // the samples differ
    const two = await client.completions.create({ model: 'tiny', prompt: ['def f(', 'x ='], n: 1, max_tokens: 8, temperature: 1.2, seed: 41 });
    expect(two.choices.map((c) => c.text)).toEqual([await sample('def f(', 41), await sample('x =', 41)]);
    // more completions than the server ever runs at once (max_queue 3) can never be served: 400, not 429
    const e = await client.completions.create({ model: 'tiny', prompt: ['a', 'b'], n: 2, max_tokens: 1 }).then(() => undefined, (x: unknown) => x);
    expect((e as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
  });

  it('streaming: chunks join to the same text, the last one says why it ended', async () => {
    const chunks: { text: string; finish: string | null }[] = [];
    for await (const c of await client.completions.create({ model: 'tiny', prompt: 'class Foo', max_tokens: 16, temperature: 0, stream: true })) chunks.push({ text: c.choices[0]!.text, finish: c.choices[0]!.finish_reason });
    expect(chunks.map((c) => c.text).join('')).toBe(await solo('class Foo', 16));
    expect(chunks.at(-1)!.finish).toMatch(/^(length|stop)$/);
    expect(chunks.slice(0, -1).every((c) => c.finish === null)).toBe(true);
  });

  it('stop: the text ends before the stop string, streamed or not', async () => {
    const full = await solo('import os', 24);
    const stop = full.slice(3, 5); // a string the greedy text contains
    const cut = full.slice(0, full.indexOf(stop));
    const r = await client.completions.create({ model: 'tiny', prompt: 'import os', max_tokens: 24, temperature: 0, stop });
    expect(r.choices[0]!.text).toBe(cut);
    expect(r.choices[0]!.finish_reason).toBe('stop');
    let streamed = '';
    for await (const c of await client.completions.create({ model: 'tiny', prompt: 'import os', max_tokens: 24, temperature: 0, stop, stream: true })) streamed += c.choices[0]!.text;
    expect(streamed).toBe(cut);
  });

  it('logprobs: each token’s log-probability (the engine’s) and the top N by text, streamed or not; echo puts the prompt first', async () => {
    const want = (await engine.generate([{ prompt: 'def hello(', maxNewTokens: 6, temperature: 0, endId: 0, logprobs: 2 }]))[0]!;
    const r = await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 6, temperature: 0, logprobs: 2 });
    const lp = r.choices[0]!.logprobs!;
    expect(lp.token_logprobs).toEqual(want.logprobs!.map((l) => l.logProb));
    expect(lp.tokens!.join('')).toBe(r.choices[0]!.text);
    expect(lp.text_offset![0]).toBe(0);
    expect(lp.top_logprobs!.every((t, i) => Object.keys(t).length <= 2 && t[lp.tokens![i]!] === lp.token_logprobs![i])).toBe(true); // greedy: the chosen token is the top one
    let streamed: number[] = [];
    for await (const c of await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 6, temperature: 0, logprobs: 0, stream: true })) {
      expect(c.choices[0]!.logprobs).toBeTruthy();
      streamed = [...streamed, ...c.choices[0]!.logprobs!.token_logprobs!];
      expect(c.choices[0]!.logprobs!.top_logprobs).toBe(null);
    }
    expect(streamed).toEqual(lp.token_logprobs);
    const e = await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 6, temperature: 0, echo: true });
    expect(e.choices[0]!.text).toBe(`def hello(${await solo('def hello(', 6)}`);
  });

  it('echo with logprobs: the prompt’s tokens first (the first one’s null), each scored by the engine given those before it, then the completion’s — streamed or not', async () => {
    const want = (await engine.generate([{ prompt: 'def hello(', maxNewTokens: 3, temperature: 0, endId: 0, logprobs: 2, promptLogprobs: 2 }]))[0]!;
    const r = await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 3, temperature: 0, echo: true, logprobs: 2 });
    const lp = r.choices[0]!.logprobs!;
    const p = want.promptTokens.length;
    expect(lp.tokens!.length).toBe(p + want.tokens.length);
    expect(lp.tokens!.join('')).toBe(r.choices[0]!.text);
    expect(r.choices[0]!.text.startsWith('def hello(')).toBe(true);
    expect(lp.token_logprobs).toEqual([null, ...want.promptLogprobs!.map((l) => l.logProb), ...want.logprobs!.map((l) => l.logProb)]);
    expect(lp.top_logprobs![0]).toBe(null);
    expect(Object.keys(lp.top_logprobs![1]!).length).toBeGreaterThan(0);
    expect(lp.text_offset!.slice(0, 2)).toEqual([0, lp.tokens![0]!.length]);
    expect(lp.token_logprobs!.slice(1, p).every((x) => x! < 0)).toBe(true);
    let streamed: (number | null)[] = [];
    for await (const c of await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 3, temperature: 0, echo: true, logprobs: 0, stream: true })) streamed = [...streamed, ...c.choices[0]!.logprobs!.token_logprobs!];
    expect(streamed).toEqual(lp.token_logprobs);
    // sampled best_of ranks by the completion's log-probabilities only: echoing the prompt with its own changes no choice
    const plainBest = await client.completions.create({ model: 'tiny', prompt: 'x =', max_tokens: 6, temperature: 1.2, seed: 70, best_of: 3, logprobs: 0 });
    const echoBest = await client.completions.create({ model: 'tiny', prompt: 'x =', max_tokens: 6, temperature: 1.2, seed: 70, best_of: 3, logprobs: 0, echo: true });
    expect(echoBest.choices[0]!.text).toBe(`x =${plainBest.choices[0]!.text}`);
    expect(echoBest.choices[0]!.logprobs!.token_logprobs!.slice(-plainBest.choices[0]!.logprobs!.token_logprobs!.length)).toEqual(plainBest.choices[0]!.logprobs!.token_logprobs);
  });

  it('best_of: with temperature 0 the n best beams of a beam search that wide; sampled, the n of best_of seeded samples with the highest Σ log p', async () => {
    const beams = (await engine.generate([{ prompt: 'def hello(', maxNewTokens: 6, numBeams: 3 }]))[0]!.beams!;
    const metric = async (series: string): Promise<number> => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(await (await fetch(`${server.url}/metrics`)).text())?.[1] ?? 0);
    const [tokens0, ttft0, length0] = [await metric('trtllm_generated_tokens_total'), await metric('trtllm_time_to_first_token_seconds_count'), await metric('trtllm_requests_total{finish_reason="length"}')];
    const r = await client.completions.create({ model: 'tiny', prompt: 'def hello(', max_tokens: 6, temperature: 0, best_of: 3, n: 2 });
    expect(r.choices.map((c) => c.text)).toEqual(beams.slice(0, 2).map((b) => b.text));
    expect(r.choices.map((c) => c.finish_reason)).toEqual(beams.slice(0, 2).map((b) => (b.finishReason === 'length' ? 'length' : 'stop')));
    // the beam search is in the metrics: one request ended, its tokens counted, its time to first (= every) token
    expect(await metric('trtllm_generated_tokens_total')).toBe(tokens0 + r.usage!.completion_tokens);
    expect(await metric('trtllm_time_to_first_token_seconds_count')).toBe(ttft0 + 1);
    expect(await metric('trtllm_requests_total{finish_reason="length"}')).toBe(length0 + (beams[0]!.finishReason === 'length' ? 1 : 0));
    const samples = await engine.generate([0, 1, 2].map((i) => ({ prompt: 'x =', maxNewTokens: 6, temperature: 1.2, seed: 70 + i, endId: 0, logprobs: 0 })));
    const sum = (l: readonly { logProb: number }[]): number => l.reduce((a, x) => a + x.logProb, 0);
    const best = samples.map((x, i) => ({ text: x.text!, s: sum(x.logprobs!.slice(0, x.tokens[x.tokens.length - 1] === 0 ? -1 : undefined)), i })).sort((a, b) => b.s - a.s || a.i - b.i)[0]!;
    const s = await client.completions.create({ model: 'tiny', prompt: 'x =', max_tokens: 6, temperature: 1.2, seed: 70, best_of: 3 });
    expect(s.choices.map((c) => c.text)).toEqual([best.text]);
    const wide = await client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 2, temperature: 0, best_of: 8 }).then(() => undefined, (x: unknown) => x);
    expect((wide as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('best_of');
  });

  it('ignore_eos and min_tokens (vLLM’s extensions): the end id ends nothing / is masked that long, as the engine’s endId null / minNewTokens', async () => {
    // a seeded sample that draws the end id (0) as its 4th token (found by trying seeds; asserted below)
    const req = { prompt: 'def f(', max_tokens: 24, temperature: 2, seed: 361 };
    const gen = { prompt: req.prompt, maxNewTokens: 24, temperature: 2, seed: 361 };
    const post = async (extra: object): Promise<{ choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number } }> =>
      (await (await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', ...req, ...extra }) })).json()) as never;
    const plain = await post({});
    expect(plain.usage.completion_tokens).toBe(4); // the end id counts as a token of the completion
    expect(plain.choices[0]!.finish_reason).toBe('stop');
    const all = await post({ ignore_eos: true });
    const [free] = await engine.generate([{ ...gen, endId: null }]);
    expect(all.usage.completion_tokens).toBe(24);
    expect(all.choices[0]!.finish_reason).toBe('length');
    expect(all.choices[0]!.text).toBe(engine.tokenizer!.decode(free!.tokens));
    const min = await post({ min_tokens: plain.usage.completion_tokens + 2 });
    const [masked] = await engine.generate([{ ...gen, minNewTokens: plain.usage.completion_tokens + 2 }]);
    expect(min.usage.completion_tokens).toBe(masked!.tokens.length);
    expect(min.usage.completion_tokens).toBeGreaterThanOrEqual(plain.usage.completion_tokens + 2);
    expect(min.choices[0]!.text).toBe(masked!.text);
  });

  it('bad requests are 400s naming the field; an unknown route is a 404', async () => {
    for (const [body, param] of [[{ temperature: 5 }, 'temperature'], [{ n: 0 }, 'n'], [{ logprobs: 6 }, 'logprobs'], [{ best_of: 3, stream: true }, 'best_of'], [{ max_tokens: 0 }, 'max_tokens'], [{ prompt: 7 }, 'prompt'], [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'], [{ ignore_eos: 'yes' }, 'ignore_eos'], [{ max_tokens: 4, min_tokens: 5 }, 'min_tokens'], [{ temperature: 0, best_of: 2, ignore_eos: true }, 'best_of']] as const) {
      const e = await client.completions.create({ model: 'tiny', prompt: 'x', ...body } as never).then(() => undefined, (x: unknown) => x);
      expect(e, param).toBeInstanceOf(OpenAI.BadRequestError);
      expect((e as InstanceType<typeof OpenAI.BadRequestError>).param, param).toBe(param);
    }
    const notJson = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(/not JSON/);
    expect((await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('a full server answers 429 with Retry-After; a client that disconnects cancels its request', async () => {
    const ac = new AbortController();
    const long = await client.completions.create({ model: 'tiny', prompt: [[5, 6], [7, 8], [9, 10]], max_tokens: 64, temperature: 0, stream: true }, { signal: ac.signal });
    const it = long[Symbol.asyncIterator]();
    await it.next(); // the three requests are running (max_queue 3)
    const busy = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', prompt: 'x', max_tokens: 1 }) });
    expect(busy.status).toBe(429);
    expect(busy.headers.get('retry-after')).toBe('1');
    ac.abort(); // the client goes away mid-stream
    await it.return?.();
    for (let i = 0; i < 200 && server.running() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.running()).toBe(0);
    expect(server.cancelled()).toBe(3); // ended by the disconnect, not by running out their 64 tokens
    const after = await client.completions.create({ model: 'tiny', prompt: 'x = ', max_tokens: 4, temperature: 0 }); // the blocks are free again
    expect(after.choices[0]!.text).toBe(await solo('x = ', 4));
  });

  it('/metrics: Prometheus text of the load, the KV blocks, tokens, finish reasons and latency histograms', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"+]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('trtllm_requests_running')).toBe(0);
    expect(value('trtllm_kv_blocks_used')).toBe(0); // every request has ended: every block is back
    expect(value('trtllm_kv_blocks_free')).toBeGreaterThan(0);
    expect(value('trtllm_requests_total{finish_reason="cancelled"}')).toBe(3);
    expect(value('trtllm_generated_tokens_total')).toBeGreaterThan(40);
    for (const h of ['trtllm_time_to_first_token_seconds', 'trtllm_inter_token_latency_seconds']) {
      expect(value(`${h}_count`), h).toBeGreaterThan(0);
      expect(value(`${h}_bucket{le="+Inf"}`), h).toBe(value(`${h}_count`));
    }
    expect(text).toMatch(/^# TYPE trtllm_time_to_first_token_seconds histogram$/m);
  });
});
