/**
 * `trtllm serve`: an engine behind an OpenAI-compatible HTTP API (node:http, no framework: five routes,
 * JSON bodies and server-sent events need nothing more). Every request goes into the engine's
 * in-flight batching; the server only translates.
 *   POST /v1/completions  prompt (text, texts, token ids or lists of ids), n, max_tokens, temperature,
 *                         top_p, top_k, seed, stop, logprobs (0 … 5: each token's and the top N),
 *                         echo (with logprobs: the prompt's tokens first, the first one's null, as
 *                         OpenAI's — what lm-evaluation-harness's loglikelihood reads), stream (SSE chunks, then `data: [DONE]`), usage; and two fields
 *                         vLLM's and TensorRT-LLM's servers take beyond OpenAI's: ignore_eos (the end
 *                         id ends nothing: exactly max_tokens tokens, what a load test needs) and
 *                         min_tokens (the end id is masked until that many tokens)
 *   GET  /v1/models       the one model served
 *   GET  /health          {"status":"ok","running":n,"cancelled":c}: requests in the engine now, and
 *                         how many ended cancelled (their client went away) since the start
 *   GET  /metrics         Prometheus text: requests running and waiting, KV blocks used and free,
 *                         tokens generated, requests by finish reason, time-to-first-token and
 *                         inter-token latency histograms
 * A client that disconnects cancels its requests (their KV blocks are freed at the next step); more
 * than --max_queue requests in the engine answers 429 with Retry-After; a bad request answers 400 with
 * an OpenAI-style error naming the field; SIGTERM / SIGINT stop accepting, finish what is running, exit.
 * n samples per prompt (seeds seed … seed + n − 1); best_of k: with temperature 0 a beam search of k
 * beams and its n best, else k samples ranked by Σ log p (not streamed). Not yet: suffix, logit_bias
 * (each refused with 400, naming the field).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine, type BackendName, type FinishReason, type GenerateRequest, type TokenLogProbs } from '@trtllm/engine';
import { parseFlags, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { defaultBackend, kernelOptions, tensorParallel } from './run.js';

export const SERVE_HELP = `Usage: trtllm serve --engine_dir DIR [--host 127.0.0.1] [--port 8000] [--max_queue 256] [--model NAME]
                    [--tokenizer DIR|gpt2] [--backend ref|cuda] [--kernels production|reference] [--gemm_algo POLICY]

  OpenAI-compatible: POST /v1/completions (stream too), GET /v1/models, GET /health.
  --model NAME     the model id clients name (default: the engine directory's name)
  --max_queue N    most requests in the engine at once; more get 429 with Retry-After (default 256)
`;

/** A 400 with the field it is about. */
class BadRequest extends Error {
  constructor(message: string, readonly param: string | null) {
    super(message);
  }
}

export interface ServeOptions {
  readonly host?: string;
  readonly port?: number;
  readonly maxQueue?: number;
  /** The model id in responses and /v1/models. */
  readonly model: string;
}

export interface RunningServer {
  /** http://host:port */
  readonly url: string;
  readonly server: Server;
  /** Requests in the engine now. */
  running(): number;
  /** Requests that ended cancelled (their client went away), since the start. */
  cancelled(): number;
  /** Stop accepting, wait for what is running, close. */
  close(): Promise<void>;
}

const UNSUPPORTED = ['suffix', 'logit_bias'] as const;

/** The engine requests of one completions body (one per prompt), checked field by field. */
function requestsOf(body: Record<string, unknown>, engine: Engine): { prompts: (string | number[])[]; n: number; bestOf: number; /** best_of > n at temperature 0: one beam search of best_of beams per prompt */ beams: boolean; request: Omit<GenerateRequest, 'prompt' | 'tokens'>; stream: boolean; echo: boolean } {
  for (const f of UNSUPPORTED) {
    const v = body[f];
    if (v === undefined || v === null) continue;
    throw new BadRequest(`${f} is not supported by this server yet`, f);
  }
  const p = body['prompt'];
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && t >= 0);
  let prompts: (string | number[])[];
  if (typeof p === 'string') prompts = [p];
  else if (isIds(p)) prompts = [p];
  else if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string')) prompts = p as string[];
  else if (Array.isArray(p) && p.length > 0 && p.every(isIds)) prompts = p as number[][];
  else throw new BadRequest('prompt must be a string, a list of strings, a list of token ids or a list of such lists', 'prompt');
  if (prompts.some((x) => typeof x === 'string') && !engine.tokenizer) throw new BadRequest('text prompts need a tokenizer: start the server with --tokenizer, or send token ids', 'prompt');
  const num = (f: string, ok: (x: number) => boolean, what: string): number | undefined => {
    const v = body[f];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !ok(v)) throw new BadRequest(`${f} must be ${what}, got ${JSON.stringify(v)}`, f);
    return v;
  };
  const maxTokens = num('max_tokens', (x) => Number.isInteger(x) && x >= 1, 'an integer ≥ 1') ?? 16;
  const temperature = num('temperature', (x) => x >= 0 && x <= 2, 'a number in [0, 2]') ?? 1;
  const topP = num('top_p', (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const topK = num('top_k', (x) => Number.isInteger(x) && x >= 0, 'an integer ≥ 0');
  const seed = num('seed', (x) => Number.isInteger(x), 'an integer');
  const n = num('n', (x) => Number.isInteger(x) && x >= 1 && x <= 16, 'an integer in [1, 16]') ?? 1;
  // best_of k: k candidates per prompt, the n best returned — greedy (temperature 0): beam search of
  // width k (at most the engine's max_beam_width); sampled: k seeded samples ranked by Σ log p
  const bestOf = num('best_of', (x) => Number.isInteger(x) && x >= n && x <= 16, `an integer in [n (${n}), 16]`) ?? n;
  const beams = bestOf > n && temperature === 0;
  if (bestOf > n) {
    if (body['stream'] === true) throw new BadRequest('best_of cannot be streamed (the best are known only at the end)', 'best_of');
    if (beams && bestOf > engine.config.maxBeamWidth) throw new BadRequest(`best_of ${bestOf} with temperature 0 is a beam search of ${bestOf} beams: this engine has max_beam_width ${engine.config.maxBeamWidth}`, 'best_of');
    if (beams && (body['stop'] !== undefined || body['logprobs'] !== undefined)) throw new BadRequest('best_of with temperature 0 (beam search) takes neither stop nor logprobs', 'best_of');
    if (beams && (body['ignore_eos'] !== undefined || body['min_tokens'] !== undefined)) throw new BadRequest('best_of with temperature 0 (beam search) takes neither ignore_eos nor min_tokens (its beams end at the end id)', 'best_of');
  }
  const stop = body['stop'];
  let stopWords: string[] = [];
  if (typeof stop === 'string') stopWords = [stop];
  else if (Array.isArray(stop) && stop.length <= 4 && stop.every((s) => typeof s === 'string' && s.length > 0)) stopWords = stop as string[];
  else if (stop !== undefined && stop !== null) throw new BadRequest('stop must be a string or a list of at most 4 non-empty strings', 'stop');
  if (stopWords.length && !engine.tokenizer) throw new BadRequest('stop strings need a tokenizer', 'stop');
  const stream = body['stream'] === true;
  // logprobs N: each new token's log-probability and the N most likely tokens' (OpenAI allows 0 … 5)
  const logprobs = num('logprobs', (x) => Number.isInteger(x) && x >= 0 && x <= 5, 'an integer in [0, 5]');
  const echo = body['echo'];
  if (echo !== undefined && echo !== null && typeof echo !== 'boolean') throw new BadRequest(`echo must be true or false, got ${JSON.stringify(echo)}`, 'echo');
  if (echo === true && !engine.tokenizer && prompts.some((x) => typeof x !== 'string')) throw new BadRequest('echo of a token-id prompt needs a tokenizer to write it as text', 'echo');
  if (logprobs !== undefined && !engine.tokenizer) throw new BadRequest('logprobs name tokens by their text: the server needs a tokenizer', 'logprobs');
  const ignoreEos = body['ignore_eos'];
  if (ignoreEos !== undefined && ignoreEos !== null && typeof ignoreEos !== 'boolean') throw new BadRequest(`ignore_eos must be true or false, got ${JSON.stringify(ignoreEos)}`, 'ignore_eos');
  const minTokens = num('min_tokens', (x) => Number.isInteger(x) && x >= 0 && x <= maxTokens, `an integer in [0, max_tokens (${maxTokens})]`);
  return {
    prompts, n, bestOf, beams, stream, echo: echo === true,
    request: {
      maxNewTokens: maxTokens, temperature, ...(topP !== undefined ? { topP } : {}), ...(topK !== undefined ? { topK } : {}), ...(seed !== undefined ? { seed } : {}),
      ...(stopWords.length ? { stopWords } : {}), ...(logprobs !== undefined ? { logprobs } : {}),
      ...(echo === true && logprobs !== undefined ? { promptLogprobs: logprobs } : {}), // the prompt's log-probabilities, on the engine
      ...(ignoreEos === true ? { endId: null } : {}), ...(minTokens ? { minNewTokens: minTokens } : {}),
    },
  };
}

/**
 * One token as the client sees it: its text in the choice's text (from `offset`), and its
 * log-probabilities (none for an echoed prompt's first token: OpenAI's null).
 */
interface TokenOut {
  readonly offset: number;
  readonly text: string;
  lp: TokenLogProbs | null;
  /** One of an echoed prompt's tokens (not counted in best_of's ranking). */
  readonly prompt?: boolean;
}

/**
 * An echoed prompt's tokens as TokenOut, their texts from the incremental decoder — the echoed text is
 * their concatenation, so `tokens` joins to it even where decoding does not give the prompt string
 * back — and log-probabilities to be filled in from the first event's promptLogprobs.
 */
function promptTokens(engine: Engine, ids: readonly number[]): TokenOut[] {
  const d = engine.tokenizer!.decoder();
  let offset = 0;
  return ids.map((id, i) => {
    const text = d.push(id) + (i === ids.length - 1 ? d.flush() : '');
    const t = { offset, text, lp: null, prompt: true };
    offset += text.length;
    return t;
  });
}

/**
 * OpenAI's `logprobs` object for tokens of a choice: each token's text as it appears in the choice's
 * text (so `tokens` joins to it), and the top N named by tokenText — most likely first, the first of any
 * two that read the same.
 */
function logprobsOf(engine: Engine, toks: readonly TokenOut[], top: number): Record<string, unknown> {
  const tok = engine.tokenizer!;
  const named = (t: TokenOut): Record<string, number> | null => {
    if (!t.lp) return null;
    const out: Record<string, number> = {};
    for (const e of t.lp.top) {
      const key = tok.tokenText(e.id);
      if (!(key in out)) out[key] = e.logProb;
    }
    return out;
  };
  return {
    tokens: toks.map((t) => t.text),
    token_logprobs: toks.map((t) => t.lp?.logProb ?? null),
    top_logprobs: top > 0 ? toks.map(named) : null,
    text_offset: toks.map((t) => t.offset),
  };
}

/** OpenAI's finish reasons: a stop word or the end id is 'stop', running out of tokens 'length'. */
const finishOf = (r: string): string => (r === 'length' ? 'length' : 'stop');

/** Text up to the first stop string (the engine stops after the tokens that complete it). */
function cutAtStop(text: string, stops: readonly (string | readonly number[])[] | undefined): string {
  let end = text.length;
  for (const s of stops ?? []) if (typeof s === 'string') {
    const at = text.indexOf(s);
    if (at >= 0) end = Math.min(end, at);
  }
  return text.slice(0, end);
}

/** A Prometheus histogram in seconds: cumulative counts per upper bound, the sum and the count. */
class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #n = 0;
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }
  /** One observation, counted in the first bucket that holds it (text() makes the counts cumulative). */
  observe(seconds: number): void {
    let i = 0;
    while (i < this.#bounds.length && !(seconds <= this.#bounds[i]!)) i++; // NaN counts in no bucket but +Inf
    if (i < this.#bounds.length) this.#counts[i]!++;
    this.#sum += seconds;
    this.#n++;
  }
  text(name: string, help: string): string {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    let below = 0;
    this.#bounds.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${(below += this.#counts[i]!)}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.#n}`, `${name}_sum ${this.#sum}`, `${name}_count ${this.#n}`);
    return lines.join('\n');
  }
}

const gauge = (name: string, help: string, value: number, type = 'gauge'): string => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}`;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json), ...headers });
  res.end(json);
}

function error(res: ServerResponse, status: number, message: string, param: string | null, type: string, headers: Record<string, string> = {}): void {
  send(res, status, { error: { message, type, param, code: null } }, headers);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 16 << 20) throw new BadRequest('request body larger than 16 MiB', null);
    chunks.push(c as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new BadRequest(`the body is not JSON: ${(e as Error).message}`, null);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object', null);
  return body as Record<string, unknown>;
}

/** Serve `engine` until close(). */
export async function startServer(engine: Engine, o: ServeOptions): Promise<RunningServer> {
  let running = 0;
  let cancelled = 0;
  let tokens = 0;
  const finished = new Map<string, number>();
  const ttft = new Histogram([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  const itl = new Histogram([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]);
  let closing = false;
  let nextId = 0;
  const maxQueue = o.maxQueue ?? 256;
  const completions = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readJson(req);
    const { prompts, n, bestOf, beams, request, stream, echo } = requestsOf(body, engine);
    // requests per prompt: n, or best_of samples to choose the n from (a beam search is one request)
    const per = beams ? 1 : bestOf;
    if (prompts.length * per > maxQueue) throw new BadRequest(`${prompts.length} prompts × ${bestOf > n ? `best_of ${bestOf}` : `n ${n}`} is ${prompts.length * per} completions, more than this server runs at once (${maxQueue})`, bestOf > n ? 'best_of' : 'n');
    if (running + prompts.length * per > maxQueue) return error(res, 429, `the server holds ${running} requests (at most ${maxQueue}): retry shortly`, null, 'rate_limit_error', { 'retry-after': '1' });
    const id = `cmpl-${Date.now().toString(36)}-${nextId++}`;
    const created = Math.floor(Date.now() / 1000);
    // a client that goes away cancels what it asked for
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    // n choices per prompt (choice index = prompt · n + i), sample i drawing from seed + i (the seed, or
    // one picked for the request, so the n samples differ and a given seed reproduces all of them)
    const base = request.seed ?? Math.floor(Math.random() * 2 ** 31);
    const rank = bestOf > n && !beams; // sampled best_of: every sample's log-probabilities, to rank them
    const asks = prompts.flatMap((p) => Array.from({ length: per }, (_, i) => ({ ...request, seed: base + i, ...(rank ? { logprobs: request.logprobs ?? 0 } : {}), ...(typeof p === 'string' ? { prompt: p } : { tokens: p }), signal: abort.signal }) as GenerateRequest));
    running += asks.length;
    try {
      const t0 = performance.now();
      /** echo: a choice's text starts with its prompt's. */
      const head = (p: string | readonly number[]): string => (!echo ? '' : typeof p === 'string' ? p : engine.tokenizer?.decode(p) ?? '');
      /** A request's end in the metrics. */
      const ended = (reason: FinishReason): void => {
        finished.set(reason, (finished.get(reason) ?? 0) + 1);
        if (reason === 'cancelled') cancelled++;
      };
      /**
       * One prompt through engine.listen (callbacks in the engine's delivery: no promise per token):
       * each token's text to `onText` (streaming), timings and counts to the metrics.
       */
      const one = (ask: GenerateRequest, onText?: (text: string, toks: readonly TokenOut[], start: number) => void): Promise<{ text: string; prompt: number; generated: number; finish: string; toks: TokenOut[] }> => new Promise((ok, fail) => {
        // echo with logprobs: the prompt as its tokens decode, one TokenOut each (the first has no log-probability)
        // (encoded once here, the ids then go to the engine in place of the text)
        const ids = ask.promptLogprobs !== undefined ? (ask.tokens ?? engine.tokenizer!.encode(ask.prompt!)) : undefined;
        const echoed = ids ? promptTokens(engine, ids) : undefined;
        let text = echoed ? echoed.map((t) => t.text).join('') : head(ask.prompt ?? ask.tokens!);
        const start = text.length;
        const toks: TokenOut[] = echoed ?? [];
        let last = 0;
        let stopped = false; // this request failed in its own callback: nothing more of it counts
        const { prompt: _text, ...rest } = ask;
        const handle = engine.listen(ids ? { ...rest, tokens: ids } : ask, {
          onToken: (e) => {
            if (stopped) return;
            try {
              const now = performance.now();
              if (e.index === 0) ttft.observe((now - t0) / 1000);
              else itl.observe((now - last) / 1000);
              last = now;
              tokens++;
              if (e.promptLogprobs && echoed) e.promptLogprobs.forEach((lp, j) => (echoed[j + 1]!.lp = lp));
              if (e.logprobs) toks.push({ offset: text.length, text: e.text ?? '', lp: e.logprobs });
              text += e.text ?? '';
              onText?.(text, toks, start);
            } catch (err) {
              stopped = true;
              handle.cancel(); // this request's failure is its own: the engine and the others go on
              fail(err);
            }
          },
          onEnd: (r) => {
            if (stopped) return;
            ended(r.finishReason);
            const full = text.slice(0, start) + cutAtStop(r.text ?? text.slice(start), request.stopWords);
            // the tokens of what the client gets (not those completing a stop string, nor the end id)
            ok({ text: full, prompt: r.promptTokens.length, generated: r.tokens.length, finish: finishOf(r.finishReason), toks: toks.filter((t) => t.offset < full.length).map((t) => ({ ...t, text: t.text.slice(0, full.length - t.offset) })) });
          },
          onError: fail,
        });
      });
      const top = request.logprobs;
      if (beams) {
        // best_of with temperature 0: one beam search of best_of beams per prompt, its n best beams
        // (its tokens reach the client together, when the search ends: that is its time to first token)
        const done = await Promise.all(prompts.map(async (p) => {
          const [r] = await engine.generate([{ maxNewTokens: request.maxNewTokens!, numBeams: bestOf, ...(typeof p === 'string' ? { prompt: p } : { tokens: p }), signal: abort.signal }]);
          ttft.observe((performance.now() - t0) / 1000);
          ended(r!.finishReason);
          return r!;
        }));
        const choices = done.flatMap((r, k) => (r.beams ?? []).slice(0, n).map((b, i) => ({ text: head(prompts[k]!) + (b.text ?? ''), index: k * n + i, logprobs: null, finish_reason: finishOf(b.finishReason) })));
        const usage = done.reduce((u, r) => ({ prompt_tokens: u.prompt_tokens + r.promptTokens.length, completion_tokens: u.completion_tokens + (r.beams ?? []).reduce((a, b) => a + b.tokens.length, 0) }), { prompt_tokens: 0, completion_tokens: 0 });
        tokens += usage.completion_tokens;
        send(res, 200, { id, object: 'text_completion', created, model: o.model, choices, usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } });
        return;
      }
      if (!stream) {
        const allResults = await Promise.all(asks.map((a) => one(a)));
        let results = allResults;
        if (rank) {
          // best_of sampled: per prompt, the n samples of highest Σ log p (ties: the earlier seed)
          const score = (r: (typeof results)[number]): number => r.toks.reduce((a, t) => a + (t.prompt ? 0 : t.lp!.logProb), 0); // the completion's tokens only
          results = prompts.flatMap((_, k) => results.slice(k * per, (k + 1) * per).map((r, i) => ({ r, i, s: score(r) })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, n).map((x) => x.r));
        }
        const usage = (rank ? allResults : results).reduce((u, r) => ({ prompt_tokens: u.prompt_tokens + r.prompt, completion_tokens: u.completion_tokens + r.generated }), { prompt_tokens: 0, completion_tokens: 0 });
        send(res, 200, {
          id, object: 'text_completion', created, model: o.model,
          choices: results.map((r, index) => ({ text: r.text, index, logprobs: top !== undefined ? logprobsOf(engine, r.toks, top) : null, finish_reason: r.finish })),
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      // a chunk is JSON.stringify({ id, object, created, model, choices: [{ text, index, logprobs, finish_reason }] }),
      // written from its parts: the same bytes, without building and walking the object per token
      const opening = `data: {"id":${JSON.stringify(id)},"object":"text_completion","created":${created},"model":${JSON.stringify(o.model)},"choices":[{"text":`;
      const chunk = (index: number, text: string, finish: string | null, toks: readonly TokenOut[]): void => {
        const logprobs = top !== undefined ? JSON.stringify(logprobsOf(engine, toks, top)) : 'null';
        res.write(`${opening}${JSON.stringify(text)},"index":${index},"logprobs":${logprobs},"finish_reason":${JSON.stringify(finish)}}]}\n\n`);
      };
      // hold back what could still be the start of a stop string; never send past one
      const stopWords = request.stopWords?.length ? request.stopWords : undefined;
      const holdBack = Math.max(0, ...(stopWords ?? []).map((w) => (typeof w === 'string' ? w.length - 1 : 0)));
      await Promise.all(asks.map(async (ask, index) => {
        let sent = 0;
        let sentToks = 0;
        // a chunk carries the tokens whose text starts inside it
        const upTo = (toks: readonly TokenOut[], end: number): readonly TokenOut[] => {
          let k = sentToks;
          while (k < toks.length && toks[k]!.offset < end) k++;
          const out = toks.slice(sentToks, k);
          sentToks = k;
          return out;
        };
        const r = await one(ask, (text, toks, start) => {
          // without stop strings all of the text is safe (and no copy of it is made per token)
          const cut = stopWords ? text.slice(0, start) + cutAtStop(text.slice(start), stopWords) : text; // a stop string in an echoed prompt does not count
          const safe = cut.length < text.length ? cut.length : Math.max(sent, text.length - holdBack);
          if (safe > sent && !res.writableEnded) chunk(index, text.slice(sent, safe), null, upTo(toks, safe)), (sent = safe);
        });
        if (!res.writableEnded) chunk(index, r.text.slice(sent), r.finish, upTo(r.toks, Infinity));
      }));
      if (!res.writableEnded) res.end('data: [DONE]\n\n');
    } finally {
      running -= asks.length;
    }
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    const done = (e: unknown): void => {
      if (res.headersSent) return void res.end();
      if (e instanceof BadRequest) return error(res, 400, e.message, e.param, 'invalid_request_error');
      error(res, 500, (e as Error).message, null, 'server_error');
    };
    if (closing) return error(res, 503, 'the server is shutting down', null, 'server_error');
    if (route === 'GET /health') return send(res, 200, { status: 'ok', running, cancelled });
    if (route === 'GET /metrics') {
      const l = engine.load;
      const byReason = [...finished].map(([r, n]) => `trtllm_requests_total{finish_reason="${r}"} ${n}`);
      const text = [
        gauge('trtllm_requests_running', 'Requests in the engine’s running batch.', l.running),
        gauge('trtllm_requests_waiting', 'Requests admitted to the server, waiting for a slot and KV blocks.', l.waiting),
        gauge('trtllm_kv_blocks_used', 'KV-cache blocks in use.', l.kvBlocks - l.freeKvBlocks),
        gauge('trtllm_kv_blocks_free', 'KV-cache blocks free.', l.freeKvBlocks),
        gauge('trtllm_generated_tokens_total', 'Tokens generated since the server started.', tokens, 'counter'),
        ['# HELP trtllm_requests_total Requests ended, by finish reason.', '# TYPE trtllm_requests_total counter', ...byReason].join('\n'),
        ttft.text('trtllm_time_to_first_token_seconds', 'Time from a completion request to its first token.'),
        itl.text('trtllm_inter_token_latency_seconds', 'Time between consecutive tokens of a request.'),
      ].join('\n') + '\n';
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(text);
    }
    if (route === 'GET /v1/models') return send(res, 200, { object: 'list', data: [{ id: o.model, object: 'model', created: 0, owned_by: 'trtllm-ts' }] });
    if (route === 'POST /v1/completions') return void completions(req, res).catch(done);
    error(res, 404, `no route ${route} (POST /v1/completions, GET /v1/models, GET /health, GET /metrics)`, null, 'invalid_request_error');
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port ?? 8000, o.host ?? '127.0.0.1', () => ok());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    server,
    running: () => running,
    cancelled: () => cancelled,
    close: async () => {
      closing = true;
      await new Promise<void>((ok) => server.close(() => ok()));
      while (running > 0) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

export async function serve(argv: readonly string[], io: CliIO): Promise<number> {
  const v = parseFlags(argv, {
    engine_dir: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, max_queue: { type: 'string' }, model: { type: 'string' },
    tokenizer: { type: 'string' }, backend: { type: 'string' }, kernels: { type: 'string' }, gemm_algo: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, SERVE_HELP);
  if (v.help) {
    io.out(SERVE_HELP);
    return 0;
  }
  if (!v.engine_dir) throw new UsageError(`--engine_dir is required\n\n${SERVE_HELP}`);
  const int = (flag: string, s: string | undefined, dflt: number, min: number): number => {
    if (s === undefined) return dflt;
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer ≥ ${min}, got '${s}'`);
    return n;
  };
  const port = int('port', v.port, 8000, 0);
  const maxQueue = int('max_queue', v.max_queue, 256, 1);
  const backend = (v.backend ?? (await defaultBackend())) as BackendName;
  if (backend !== 'ref' && backend !== 'cuda') throw new UsageError(`--backend must be ref or cuda, got '${v.backend}'`);
  const kernelFlags = kernelOptions(v);
  return withLibraryErrors('serve', io, async () => {
    const engine = await Engine.load(v.engine_dir!, { backend, ...kernelFlags, ...(v.tokenizer ? { tokenizer: v.tokenizer } : {}), ...tensorParallel(undefined) });
    const model = v.model ?? v.engine_dir!.replace(/\/+$/, '').split('/').pop()!;
    const s = await startServer(engine, { host: v.host ?? '127.0.0.1', port, maxQueue, model });
    io.out(`serving ${model} on ${s.url} (${backend} backend): POST /v1/completions, GET /v1/models, GET /health, GET /metrics\n`);
    await new Promise<void>((ok) => {
      const stop = (): void => {
        io.out('shutting down: finishing running requests\n');
        void s.close().then(ok);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    engine.dispose();
    return 0;
  });
}
