/**
 * The clients of the serve load test (serve-load.ts): C concurrent clients, each taking the next
 * planned request when its last one ends, over HTTP to the server's /v1/completions. Streamed
 * requests are timed per server-sent event (time to first token, inter-token gaps); some clients leave
 * mid-stream. Runs on a worker thread of its own (serve-load-worker.ts), so that the clients' fetch and
 * parsing do not share the server's event loop: a real server's clients are other processes. Sharing
 * it, they were measured as serving overhead (tiny engine on ref, 2-core CPU, 64 clients: 36.7 %
 * overhead against the offline benchmark, 5.8 % with the clients on their own thread).
 */
import { setMaxListeners } from 'node:events';

/** One planned request. */
export interface PlannedRequest {
  readonly prompt: number[];
  readonly maxTokens: number;
  readonly stream: boolean;
  /** The end id ends nothing (a fixed-length load). */
  readonly ignoreEos?: boolean;
  /** Disconnect after this many events (streamed requests only). */
  readonly dropAfter?: number;
}

/** What the clients saw; plain data, so it crosses from a worker thread as it is. */
export interface ClientResults {
  /** Completed requests: index in the plan → the text received. */
  readonly served: [number, string][];
  readonly disconnected: number;
  readonly retried: number;
  /** Ms from sending to the first event of each streamed request, and between later events. */
  readonly ttft: number[];
  readonly itl: number[];
  /** Messages of the requests that failed. */
  readonly failures: string[];
  /** Wall time of the whole load, ms. */
  readonly ms: number;
}

/** Run `plan` against the server at `url` from `concurrency` clients; give up on everything after timeoutMs. */
export async function runClients(url: string, plan: readonly PlannedRequest[], concurrency: number, timeoutMs: number): Promise<ClientResults> {
  let retried = 0;
  let disconnected = 0;
  const served: [number, string][] = [];
  const ttft: number[] = [];
  const itl: number[] = [];
  const failures: string[] = [];
  const deadline = new AbortController();
  setMaxListeners(0, deadline.signal); // one listener per request in flight
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const started = performance.now();
  const one = async (i: number): Promise<void> => {
    const p = plan[i]!;
    const abort = new AbortController();
    const onDeadline = (): void => abort.abort();
    deadline.signal.addEventListener('abort', onDeadline);
    const t0 = performance.now();
    try {
      let res: Response;
      for (;;) {
        res = await fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'load', prompt: p.prompt, max_tokens: p.maxTokens, temperature: 0, stream: p.stream, ...(p.ignoreEos ? { ignore_eos: true } : {}) }),
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
        served.push([i, body.choices[0]!.text]);
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
            served.push([i, text]);
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
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, plan.length) }, async () => {
      while (next < plan.length) {
        const i = next++;
        await one(i).catch((e: unknown) => failures.push(e instanceof Error ? e.message : String(e)));
      }
    }),
  );
  clearTimeout(timer);
  return { served, disconnected, retried, ttft, itl, failures, ms: performance.now() - started };
}
