/**
 * A load test of `trtllm serve` (scripts/serve-load.mjs; a smaller run in CI): N requests of mixed
 * prompt and output lengths from C concurrent clients over HTTP, half of them streamed, a share of the
 * streaming clients disconnecting mid-stream. Every completed greedy request is then checked against
 * the engine's own solo generation of the same prompt, and the server must end with nothing running
 * and every KV block free. Reports tokens/s, time to first token and inter-token latency (client side:
 * when each server-sent event arrives), p50 / p99.
 */
import { Worker } from 'node:worker_threads';
import type { Engine } from '@trtllm/engine';
import { compiledExecArgv, compiledWorker } from '@trtllm/loader';
import { seededRandom } from '@trtllm/ref-math';
import { UsageError } from './io.js';
import { runClients, type ClientResults, type PlannedRequest } from './serve-load-clients.js';
import { startServer } from './serve.js';

export interface LoadOptions {
  readonly requests: number;
  readonly concurrency: number;
  /** Share of streamed requests whose client disconnects after a few events (default 0.1 of all requests). */
  readonly disconnect?: number;
  /** Prompt lengths are drawn from [1, maxPrompt], output lengths from [1, maxTokens]. */
  readonly maxPrompt: number;
  readonly maxTokens: number;
  /**
   * Every request exactly maxPrompt prompt tokens and maxTokens new tokens (`ignore_eos`): the shape of
   * `trtllm benchmark`'s offline batches, so that the two rates can be compared (the serving overhead).
   */
  readonly fixed?: boolean;
  readonly seed?: number;
  /** Give up on the whole run after this long (a hung request fails the run). */
  readonly timeoutMs?: number;
  /** Check every completed request against a solo generation (default true). */
  readonly checkSolo?: boolean;
  /** The server's --max_queue (default 256, the CLI's); a 429 is retried after its Retry-After, as clients do. */
  readonly maxQueue?: number;
  /** Run the clients on this thread even where their worker is built (default: a worker thread). */
  readonly clientsHere?: boolean;
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
  /** Where the clients ran: on a worker thread of their own, or sharing the server's thread (from sources, not built). */
  readonly clients: 'worker thread' | 'this thread';
  /** When fewer clients disconnected than planned (a short request can end before its client leaves). */
  readonly note?: string;
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
  const plan: PlannedRequest[] = Array.from({ length: o.requests }, (): PlannedRequest => {
    const prompt = Array.from({ length: o.fixed ? o.maxPrompt : 1 + Math.floor(random() * o.maxPrompt) }, () => Math.floor(random() * vocab));
    const maxTokens = o.fixed ? o.maxTokens : 1 + Math.floor(random() * o.maxTokens);
    const drop = random() < dropShare;
    const stream = drop || random() < 0.5;
    const eos = o.fixed ? { ignoreEos: true } : {};
    return drop ? { prompt, maxTokens: Math.max(maxTokens, 4), stream, ...eos, dropAfter: 1 + Math.floor(random() * 3) } : { prompt, maxTokens, stream, ...eos };
  });
  const server = await startServer(engine, { port: 0, model: 'load', maxQueue: o.maxQueue ?? 256 });
  const timeoutMs = o.timeoutMs ?? 600_000;
  // the clients on a worker thread of their own where the package is built (a real server's clients are
  // other processes; sharing this event loop, their work counted as serving overhead); from sources, here
  const worker = o.clientsHere ? undefined : compiledWorker(import.meta.url, './serve-load-worker.js');
  let c: ClientResults;
  try {
    c = worker
    ? await new Promise<ClientResults>((ok, fail) => {
        const w = new Worker(worker, { workerData: { url: server.url, plan, concurrency: o.concurrency, timeoutMs }, execArgv: compiledExecArgv() });
        w.once('message', (m: ClientResults) => {
          ok(m);
          void w.terminate();
        });
        w.once('error', fail);
        // after its message this settles nothing; before it, a worker that exits would leave the load waiting forever
        w.once('exit', (code) => fail(new Error(`the load test's client thread exited (code ${code}) before reporting`)));
      })
    : await runClients(server.url, plan, o.concurrency, timeoutMs);
  } catch (e) {
    await server.close(); // the client thread failed: the server must not outlive the run
    throw e;
  }
  const served = new Map(c.served);
  const seconds = c.ms / 1000;
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
      const [solo] = await engine.generate([{ tokens: p.prompt, maxNewTokens: p.maxTokens, temperature: 0, ...(p.ignoreEos ? { endId: null } : {}) }]);
      if (solo!.text !== text) mismatches.push({ prompt: p.prompt, maxTokens: p.maxTokens, served: text, solo: solo!.text ?? '' });
    }
  }
  if (c.failures.length > 0 && c.failures.length === o.requests) throw new Error(c.failures[0]);
  const planned = plan.filter((p) => p.dropAfter !== undefined).length;
  return {
    requests: o.requests,
    concurrency: o.concurrency,
    completed: served.size,
    disconnected: c.disconnected,
    retried: c.retried,
    lost: o.requests - served.size - c.disconnected,
    errors: c.failures.slice(0, 5),
    mismatched: mismatches.length,
    mismatches: mismatches.slice(0, 5),
    runningAfter,
    blocksUsedAfter,
    seconds,
    completionTokens,
    tokensPerSecond: completionTokens / seconds,
    ttftMs: { p50: percentile(c.ttft, 50), p99: percentile(c.ttft, 99) },
    itlMs: { p50: percentile(c.itl, 50), p99: percentile(c.itl, 99) },
    clients: worker ? 'worker thread' : 'this thread',
    ...(planned !== c.disconnected ? { note: `${planned} disconnects planned, ${c.disconnected} happened (a request may end before its client leaves)` } : {}),
  };
}
