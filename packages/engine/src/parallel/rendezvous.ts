/**
 * How launched ranks find rank 0 (parallel/launch.ts): rank 0 listens on MASTER_PORT (every
 * interface; loopback only for a loopback MASTER_ADDR); ranks 1 … W−1 connect to MASTER_ADDR
 * (retrying until rank 0 is up or the timeout passes), say who they are, and are welcomed or refused
 * with the reason. The connection then carries the tensor-parallel protocol's
 * control messages (parallel/tp-group.ts: the init with the NCCL unique id, each step's KV-cache ops
 * and chunks, 'dispose'), exactly what Node IPC carries for forked ranks; the tensors themselves
 * travel through NCCL. Works across hosts.
 *
 * Wire format: frames of a 4-byte little-endian length and a V8 structured-clone payload
 * (`v8.serialize`, what Node IPC's 'advanced' serialization sends: typed arrays stay typed arrays).
 * A frame over 1 GiB is a protocol error. The first frame from a rank is its hello
 * `{hello: 'trtllm-tp/1', rank, worldSize, jobKey, host}`; rank 0 answers `{welcome: true}` or
 * `{refused: reason}`. A rank ends with `{exit: code}` before it closes; a connection that closes
 * without one is a rank lost (its process died or its host became unreachable).
 *
 * The port is meant for the job's own hosts: a hello from another job (a different job key — a random
 * TRTLLM_JOB_KEY makes it a secret), a rank number out of range or already taken, a different world
 * size or a malformed hello is refused; until its hello is answered a connection may send 64 KiB and
 * must say hello within 10 s, and at most 64 such connections are held; payloads are structured
 * clones (data, never code). A rank waits at most 10 s for the answer to its hello, then tries again.
 */
import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { deserialize, serialize } from 'node:v8';
import { EngineError } from '../errors.js';
import type { Launch } from './launch.js';
import type { RankChannel, RankMessage, WorkerReply } from './tp-group.js';
import type { RankPort } from './tp-rank.js';

export const PROTOCOL = 'trtllm-tp/1';
const MAX_FRAME = 2 ** 30;
/** Frames before the hello is answered (a hello or its answer) are at most this big. */
const HELLO_FRAME = 64 * 1024;
/** How long a connection may take to say hello, and a rank may wait for rank 0's answer. */
const HELLO_TIMEOUT_MS = 10_000;
/** Connections that have not said hello yet, at most (more are closed at once). */
const MAX_UNANNOUNCED = 64;
/** How long ranks wait for each other to appear, unless TRTLLM_RENDEZVOUS_TIMEOUT (seconds) says otherwise. */
export const DEFAULT_RENDEZVOUS_TIMEOUT_MS = 300_000;

interface Hello {
  readonly hello: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly jobKey: string;
  readonly host: string;
}

/**
 * A connection's frames, both ways. Frames that arrive while nobody handles them (between the hello's
 * answer and the protocol taking over) wait in order for the next handler. `maxFrame` is small until
 * the hello is answered: a stranger on the port cannot make rank 0 buffer a gigabyte.
 */
class FramedSocket {
  #chunks: Buffer[] = [];
  #length = 0;
  #need: number | undefined;
  #handler: ((v: unknown) => void) | undefined;
  #pending: unknown[] = [];
  maxFrame = HELLO_FRAME;
  onProtocolError: (e: Error) => void = () => undefined;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
  }

  /** Who gets the frames from now on (undefined: hold them). */
  handle(fn: ((v: unknown) => void) | undefined): void {
    this.#handler = fn;
    while (this.#handler && this.#pending.length > 0) this.#handler(this.#pending.shift());
  }

  write(value: unknown, done?: (e: Error | null) => void): void {
    const body = serialize(value);
    if (body.length > MAX_FRAME) {
      done?.(new Error(`a message of ${body.length} bytes (at most ${MAX_FRAME} go in one frame)`));
      return;
    }
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    if (this.socket.destroyed || this.socket.writableEnded) {
      done?.(new Error('the connection is closed'));
      return;
    }
    this.socket.write(Buffer.concat([head, body]), (e) => done?.(e ?? null));
  }

  #data(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    for (;;) {
      if (this.#need === undefined) {
        if (this.#length < 4) return;
        const size = this.#take(4).readUInt32LE(0);
        if (size > this.maxFrame) return this.#fail(new Error(`a frame of ${size} bytes (at most ${this.maxFrame} here)`));
        this.#need = size;
      }
      if (this.#length < this.#need) return;
      const body = this.#take(this.#need);
      this.#need = undefined;
      let value: unknown;
      try {
        value = deserialize(body);
      } catch (e) {
        return this.#fail(e as Error);
      }
      if (this.#handler) this.#handler(value);
      else this.#pending.push(value);
      if (this.socket.destroyed) return;
    }
  }

  /** The next n buffered bytes (copied only when they span chunks). */
  #take(n: number): Buffer {
    this.#length -= n;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let o = 0; o < n; ) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - o);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return out;
  }

  #fail(e: Error): void {
    this.#chunks = [];
    this.#length = 0;
    this.#need = undefined;
    this.onProtocolError(e);
    this.socket.destroy();
  }
}

/** Rank 0's end of one launched rank's connection, as a RankChannel (what a forked child is). */
function socketChannel(f: FramedSocket, rank: number): RankChannel {
  const events = new EventEmitter();
  let exited = false;
  const exit = (code: number | null): void => {
    if (exited) return;
    exited = true;
    events.emit('exit', code, null);
  };
  f.onProtocolError = (e) => events.emit('message', { error: `rank ${rank}: protocol error: ${e.message}` } satisfies WorkerReply);
  f.handle((v) => {
    if (!isObject(v)) events.emit('message', { error: `rank ${rank}: protocol error: a reply that is not an object` } satisfies WorkerReply);
    else if ('exit' in v) exit(typeof v.exit === 'number' ? v.exit : 1);
    else events.emit('message', v);
  });
  f.socket.on('error', () => undefined); // 'close' follows and reports it
  f.socket.on('close', () => exit(null));
  return {
    send: (msg: RankMessage, done: (e: Error | null) => void) => f.write(msg, done),
    on: (event: string, fn: (...a: unknown[]) => void) => events.on(event, fn),
    get connected() {
      return !f.socket.destroyed && !f.socket.writableEnded;
    },
    disconnect: () => f.socket.end(),
    unref: () => f.socket.unref(),
  } as RankChannel;
}

/**
 * Rank 0's listener: accepts ranks 1 … W−1 and resolves with their channels in rank order, or
 * rejects naming the ranks that never came (after `timeoutMs`) or a listen failure (port in use).
 * The listener closes once everyone is in.
 */
export function acceptRanks(launch: Launch, o: { timeoutMs?: number; listenHost?: string; signal?: AbortSignal } = {}): Promise<RankChannel[]> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_RENDEZVOUS_TIMEOUT_MS;
  const joined = new Map<number, FramedSocket>();
  const unannounced = new Set<Socket>();
  const left: string[] = [];
  const where = `${launch.masterAddr}:${launch.masterPort}`;
  return new Promise((resolve, reject) => {
    let server: Server | undefined;
    let done = false;
    const finish = (e: EngineError | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', aborted);
      server?.close();
      for (const s of unannounced) s.destroy(); // strangers, and hellos still unanswered
      if (e) {
        for (const f of joined.values()) f.socket.destroy();
        reject(e);
      } else resolve([...joined.keys()].sort((a, b) => a - b).map((r) => socketChannel(joined.get(r)!, r)));
    };
    const timer = setTimeout(() => {
      const missing = Array.from({ length: launch.worldSize - 1 }, (_, i) => i + 1).filter((r) => !joined.has(r));
      finish(
        new EngineError('backend', {
          what: `rendezvous at ${where} (${launch.launcher})`,
          expected: `ranks 1 … ${launch.worldSize - 1} within ${timeoutMs / 1000} s`,
          got: `no rank ${missing.join(', ')}${left.length ? ` (${left.join('; ')})` : ''}`,
          hint: `start every rank with the same command; the other hosts must reach ${where} (MASTER_ADDR / MASTER_PORT); TRTLLM_RENDEZVOUS_TIMEOUT sets the wait in seconds`,
        }),
      );
    }, timeoutMs);
    const aborted = (): void => finish(new EngineError('backend', { what: `rendezvous at ${where} (${launch.launcher}, rank 0)`, expected: 'ranks to join', got: 'cancelled: rank 0 failed first' }));
    o.signal?.addEventListener('abort', aborted);
    if (o.signal?.aborted) aborted();
    server = createServer((socket) => {
      socket.on('error', () => undefined);
      if (unannounced.size >= MAX_UNANNOUNCED) {
        socket.destroy();
        return;
      }
      unannounced.add(socket);
      socket.once('close', () => unannounced.delete(socket));
      socket.setTimeout(HELLO_TIMEOUT_MS, () => socket.destroy());
      const f = new FramedSocket(socket);
      f.handle((v) => {
        f.handle(undefined);
        const why = refusal(v, launch, joined);
        if (why) {
          f.write({ refused: why }, () => socket.end());
          return;
        }
        const h = v as Hello;
        unannounced.delete(socket);
        socket.setTimeout(0);
        f.maxFrame = MAX_FRAME;
        joined.set(h.rank, f);
        socket.once('close', () => {
          if (done || joined.get(h.rank) !== f) return;
          joined.delete(h.rank);
          left.push(`rank ${h.rank} (${h.host}) joined, then its connection closed`);
        });
        f.write({ welcome: true });
        if (joined.size === launch.worldSize - 1) finish(undefined);
      });
    });
    server.on('error', (e: NodeJS.ErrnoException) =>
      finish(
        new EngineError('backend', {
          what: `rendezvous at ${where} (${launch.launcher}, rank 0)`,
          expected: 'a port to listen on',
          got: `${e.code ?? ''} ${e.message}`.trim(),
          hint: e.code === 'EADDRINUSE' ? 'another job uses this port: set MASTER_PORT (or TRTLLM_MASTER_PORT) to a free one for every rank' : 'set MASTER_ADDR / MASTER_PORT to an address of this host',
        }),
      ),
    );
    if (!done) server.listen({ port: launch.masterPort, host: o.listenHost ?? listenHostFor(launch.masterAddr) });
  });
}

/** Loopback addresses are listened on as given; any other name means every interface of this host. */
function listenHostFor(addr: string): string | undefined {
  return addr === 'localhost' || addr === '::1' || addr.startsWith('127.') ? addr : undefined;
}

function refusal(v: unknown, launch: Launch, joined: ReadonlyMap<number, unknown>): string | undefined {
  if (!isObject(v) || v.hello !== PROTOCOL) return `not a ${PROTOCOL} hello`;
  if (typeof v.jobKey !== 'string' || typeof v.host !== 'string' || typeof v.rank !== 'number' || typeof v.worldSize !== 'number') return `a ${PROTOCOL} hello without its rank, worldSize, jobKey and host`;
  const h = v as unknown as Hello;
  if (h.jobKey !== launch.jobKey) return `rank ${h.rank} of job '${h.jobKey}' is not of this job ('${launch.jobKey}'): set a different MASTER_PORT per job`;
  if (h.worldSize !== launch.worldSize) return `rank ${h.rank} (${h.host}) was launched with world size ${h.worldSize}, rank 0 with ${launch.worldSize}`;
  if (!Number.isInteger(h.rank) || h.rank < 1 || h.rank >= launch.worldSize) return `rank ${h.rank} (${h.host}) is not one of 1 … ${launch.worldSize - 1}`;
  if (joined.has(h.rank)) return `rank ${h.rank} (${h.host}) joined twice`;
  return undefined;
}

/**
 * A launched rank's side: connect to rank 0 (retrying while nothing listens there yet), say hello, and
 * return the RankPort serveRank answers on. `onEnd(code)` runs once when this rank is done: after its
 * `{exit}` frame is flushed, or when rank 0 goes away first (code 1, with the reason on stderr).
 */
export async function joinRankZero(launch: Launch, o: { timeoutMs?: number; onEnd: (code: number) => void; log?: (line: string) => void }): Promise<RankPort> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_RENDEZVOUS_TIMEOUT_MS;
  const where = `${launch.masterAddr}:${launch.masterPort}`;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const attempt = await tryJoin(launch, Math.max(250, Math.min(HELLO_TIMEOUT_MS, deadline - Date.now())));
    if ('port' in attempt) return wire(attempt.port, o.onEnd, o.log ?? ((l) => process.stderr.write(`${l}\n`)), launch.rank);
    if ('refused' in attempt) throw new EngineError('backend', { what: `rank ${launch.rank}: rendezvous at ${where}`, expected: 'to be welcomed by rank 0', got: `refused: ${attempt.refused}` });
    last = attempt.retry;
    if (Date.now() >= deadline) {
      throw new EngineError('backend', {
        what: `rank ${launch.rank}: rendezvous at ${where} (${launch.launcher})`,
        expected: `rank 0 listening within ${timeoutMs / 1000} s`,
        got: last,
        hint: 'is rank 0 running (the same command, same MASTER_ADDR / MASTER_PORT)? TRTLLM_RENDEZVOUS_TIMEOUT sets the wait in seconds',
      });
    }
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

function tryJoin(launch: Launch, waitMs: number): Promise<{ port: FramedSocket } | { refused: string } | { retry: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: launch.masterAddr, port: launch.masterPort });
    const f = new FramedSocket(socket);
    let settled = false;
    // something that accepts but never answers (another service on the port, a rank 0 stuck) is retried, not waited on
    const timer = setTimeout(() => settle({ retry: `no answer to the hello within ${Math.round(waitMs / 100) / 10} s` }), waitMs);
    const settle = (r: { port: FramedSocket } | { refused: string } | { retry: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f.handle(undefined);
      if ('port' in r) f.maxFrame = MAX_FRAME;
      else socket.destroy();
      resolve(r);
    };
    socket.on('error', (e: NodeJS.ErrnoException) => settle({ retry: `${e.code ?? ''} ${e.message}`.trim() }));
    socket.on('close', () => settle({ retry: 'the connection closed before rank 0 answered' }));
    socket.on('connect', () => f.write({ hello: PROTOCOL, rank: launch.rank, worldSize: launch.worldSize, jobKey: launch.jobKey, host: hostname() } satisfies Hello));
    f.handle((v) => {
      if (isObject(v) && v.welcome === true) settle({ port: f });
      else settle({ refused: isObject(v) && typeof v.refused === 'string' ? v.refused : 'an answer that is not a welcome' });
    });
  });
}

function wire(f: FramedSocket, onEnd: (code: number) => void, log: (line: string) => void, rank: number): RankPort {
  let ended = false;
  const end = (code: number): void => {
    if (ended) return;
    ended = true;
    onEnd(code);
  };
  f.socket.on('error', () => undefined);
  f.socket.on('close', () => {
    if (!ended) log(`trtllm: rank ${rank}: the connection to rank 0 closed (rank 0 ended or its host is unreachable); exiting`);
    end(1);
  });
  f.onProtocolError = (e) => log(`trtllm: rank ${rank}: protocol error from rank 0: ${e.message}`);
  return {
    on: (_event, fn) => f.handle(fn as (m: unknown) => void),
    send: (m: WorkerReply) => f.write(m),
    exit: (code: number) => {
      f.write({ exit: code }, () => {
        f.socket.end();
        end(code);
      });
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** TRTLLM_RENDEZVOUS_TIMEOUT (seconds) as milliseconds, or the default. */
export function rendezvousTimeoutMs(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const s = env.TRTLLM_RENDEZVOUS_TIMEOUT;
  if (s === undefined) return DEFAULT_RENDEZVOUS_TIMEOUT_MS;
  const n = Number(s);
  if (!(n > 0) || !Number.isFinite(n)) throw new EngineError('config', { what: 'TRTLLM_RENDEZVOUS_TIMEOUT', expected: 'seconds > 0', got: `'${s}'` });
  return n * 1000;
}
