/**
 * A load test of `trtllm serve` (scripts/serve-load.mjs; a smaller run in CI): N requests of mixed
 * prompt and output lengths from C concurrent clients over HTTP, half of them streamed, a share of the
 * streaming clients disconnecting mid-stream. Every completed greedy request is then checked against
 * the engine's own solo generation of the same prompt, and the server must end with nothing running
 * and every KV block free. Reports tokens/s, time to first token and inter-token latency (client side:
 * when each server-sent event arrives), p50 / p99.
 */
import { setMaxListeners } from 'node:events';
import type { Engine } from '@trtllm/engine';
import { UsageError } from './io.js';
import { seededRandom } from '@trtllm/ref-math';
import { startServer } from './serve.js';

export interface LoadOptions {
  readonly requests: number;
  readonly concurrency: number;
  /** Share of streamed requests whose client disconnects after a few events (default 0.1 of all requests). */
  readonly disconnect?: number;
  /** Prompt lengths are drawn from [1, maxPrompt], output lengths from [1, maxTokens]. */
  readonly maxPrompt: number;
  readonly maxTokens: number;
  readonly seed?: number;
  /** Give up on the whole run after this long (a hung request fails the run). */
  readonly timeoutMs?: number;
  /** Check every completed request against a solo generation (default true). */
  readonly checkSolo?: boolean;
  /** The server's --max_queue (default 256, the CLI's); a 429 is retried after its Retry-After, as clients do. */
  readonly maxQueue?: number;
}

export interface LoadReport {
  readonly requests: number;
  readonly concurrency: number;
  readonly completed: number;
  readonly disconnected: number;
  /** 429 answers retried (a disconnected request holds its place until the engine's next step reaps it). */
  readonly retried: number;
  /** Requests that neither completed nor were disconnected on purpose (must be 0). */
  readonly lost: number;
  /** What went wrong for the first lost requests. */
  readonly errors: readonly string[];
  /** Completed requests whose text differs from their solo run (must be 0). */
  readonly mismatched: number;
  readonly mismatches: readonly { readonly prompt: readonly number[]; readonly maxTokens: number; readonly served: string; readonly solo: string }[];
  /** After the run: requests still in the engine, KV blocks still used (both must be 0). */
  readonly runningAfter: number;
  readonly blocksUsedAfter: number;
  readonly seconds: number;
  /** Tokens the server generated (its trtllm_generated_tokens_total), disconnected requests' included. */
  readonly completionTokens: number;
  readonly tokensPerSecond: number;
  readonly ttftMs: { readonly p50: number; readonly p99: number };
  readonly itlMs: { readonly p50: number; readonly p99: number };
  /** When fewer clients disconnected than planned (a short request can end before its client leaves). */
  readonly note?: string;
}

interface Planned {
  readonly prompt: number[];
  readonly maxTokens: number;
  readonly stream: boolean;
  /** Disconnect after this many events (streamed requests only). */
  readonly dropAfter?: number;
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Start a server on `engine` (loopback, an ephemeral port), run the load, check, close. */
export async function runServeLoad(engine: Engine, o: LoadOptions): Promise<LoadReport> {
  // completions are compared by text, and streamed deltas timed by text: an engine without a tokenizer would compare '' with ''
  if (!engine.tokenizer) throw new UsageError('the load test compares completion texts: the engine has no tokenizer (build with --tokenizer_dir, or load it with a tokenizer: serve-load.mjs --tokenizer gpt2)');
  const random = seededRandom(o.seed ?? 1);
  const vocab = engine.model.vocabSize;
  const dropShare = o.disconnect ?? 0.1;
  const plan: Planned[] = Array.from({ length: o.requests }, (): Planned => {
    const prompt = Array.from({ length: 1 + Math.floor(random() * o.maxPrompt) }, () => Math.floor(random() * vocab));
    const maxTokens = 1 + Math.floor(random() * o.maxTokens);
    const drop = random() < dropShare;
    const stream = drop || random() < 0.5;
    return drop ? { prompt, maxTokens: Math.max(maxTokens, 4), stream, dropAfter: 1 + Math.floor(random() * 3) } : { prompt, maxTokens, stream };
  });
  const server = await startServer(engine, { port: 0, model: 'load', maxQueue: o.maxQueue ?? 256 });
  let retried = 0;
  const served = new Map<number, string>();
  let disconnected = 0;
  const ttft: number[] = [];
  const itl: number[] = [];
  const started = performance.now();
  const deadline = new AbortController();
  setMaxListeners(0, deadline.signal); // one listener per request in flight
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs ?? 600_000);
  const one = async (i: number): Promise<void> => {
    const p = plan[i]!;
    const abort = new AbortController();
    const onDeadline = (): void => abort.abort();
    deadline.signal.addEventListener('abort', onDeadline);
    const t0 = performance.now();
    try {
      let res: Response;
      for (;;) {
        res = await fetch(`${server.url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'load', prompt: p.prompt, max_tokens: p.maxTokens, temperature: 0, stream: p.stream }),
          signal: abort.signal,
        });
        if (res.status !== 429) break;
        await res.text();
        retried++;
        await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1)));
      }
      if (res.status !== 200) throw new Error(`request ${i}: HTTP ${res.status} ${await res.text()}`);
      if (!p.stream) {
        const body = (await res.json()) as { choices: { text: string }[] };
        served.set(i, body.choices[0]!.text);
        return;
      }
      // server-sent events: `data: {json}` … `data: [DONE]`
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      let text = '';
      let events = 0;
      let last = t0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, cut);
          buffered = buffered.slice(cut + 2);
          const data = event.replace(/^data: /, '');
          if (data === '[DONE]') {
            served.set(i, text);
            return;
          }
          const chunk = JSON.parse(data) as { choices: { text: string }[] };
          const now = performance.now();
          if (events === 0) ttft.push(now - t0);
          else itl.push(now - last);
          last = now;
          events++;
          text += chunk.choices[0]?.text ?? '';
          if (p.dropAfter !== undefined && events >= p.dropAfter) {
            abort.abort(); // the client goes away mid-stream
            disconnected++;
            return;
          }
        }
      }
      throw new Error(`request ${i}: the stream ended without [DONE]`);
    } catch (e) {
      if (abort.signal.aborted && p.dropAfter !== undefined) return;
      throw e;
    } finally {
      deadline.signal.removeEventListener('abort', onDeadline);
    }
  };
  // C clients, each taking the next planned request when its last one ends
  let next = 0;
  const failures: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency, o.requests) }, async () => {
      while (next < plan.length) {
        const i = next++;
        await one(i).catch((e: unknown) => failures.push(e));
      }
    }),
  );
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  // the server notices disconnects asynchronously: wait for it to settle
  for (let k = 0; k < 200 && (server.running() > 0 || engine.load.running > 0); k++) await new Promise((r) => setTimeout(r, 10));
  const runningAfter = server.running();
  let completionTokens = NaN;
  try {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    completionTokens = Number(/^trtllm_generated_tokens_total (\d+)$/m.exec(metrics)?.[1] ?? NaN);
  } finally {
    await server.close();
  }
  const load = engine.load;
  const blocksUsedAfter = load.kvBlocks - load.freeKvBlocks;
  // every completed request equals its solo run (greedy; the same prompt alone)
  const mismatches: { prompt: number[]; maxTokens: number; served: string; solo: string }[] = [];
  if (o.checkSolo ?? true) {
    for (const [i, text] of served) {
      const p = plan[i]!;
      const [solo] = await engine.generate([{ tokens: p.prompt, maxNewTokens: p.maxTokens, temperature: 0 }]);
      if (solo!.text !== text) mismatches.push({ prompt: p.prompt, maxTokens: p.maxTokens, served: text, solo: solo!.text ?? '' });
    }
  }
  if (failures.length > 0 && failures.length === o.requests) throw failures[0];
  const planned = plan.filter((p) => p.dropAfter !== undefined).length;
  return {
    requests: o.requests,
    concurrency: o.concurrency,
    completed: served.size,
    disconnected,
    retried,
    lost: o.requests - served.size - disconnected,
    errors: failures.slice(0, 5).map((e) => (e instanceof Error ? e.message : String(e))),
    mismatched: mismatches.length,
    mismatches: mismatches.slice(0, 5),
    runningAfter,
    blocksUsedAfter,
    seconds,
    completionTokens,
    tokensPerSecond: completionTokens / seconds,
    ttftMs: { p50: percentile(ttft, 50), p99: percentile(ttft, 99) },
    itlMs: { p50: percentile(itl, 50), p99: percentile(itl, 99) },
    ...(planned !== disconnected ? { note: `${planned} disconnects planned, ${disconnected} happened (a request may end before its client leaves)` } : {}),
  };
}
