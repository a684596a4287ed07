/**
 * How launched ranks find rank 0 (parallel/launch.ts): rank 0 listens on MASTER_ADDR:MASTER_PORT;
 * ranks 1 … W−1 connect (retrying until rank 0 is up or the timeout passes), say who they are, and are
 * welcomed or refused with the reason. The connection then carries the tensor-parallel protocol's
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
 * The port is meant for the job's own hosts: a hello from another job (a different job key), a rank
 * number out of range or already taken, or a different world size is refused; payloads are
 * structured clones (data, never code).
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
 * answer and the protocol taking over) wait in order for the next handler.
 */
class FramedSocket {
  #buffered: Buffer[] = [];
  #length = 0;
  #handler: ((v: unknown) => void) | undefined;
  #pending: unknown[] = [];
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
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    if (this.socket.destroyed || this.socket.writableEnded) {
      done?.(new Error('the connection is closed'));
      return;
    }
    this.socket.write(Buffer.concat([head, body]), (e) => done?.(e ?? null));
  }

  #data(chunk: Buffer): void {
    this.#buffered.push(chunk);
    this.#length += chunk.length;
    while (this.#length >= 4) {
      const all = this.#buffered.length === 1 ? this.#buffered[0]! : Buffer.concat(this.#buffered);
      this.#buffered = [all];
      const size = all.readUInt32LE(0);
      if (size > MAX_FRAME) return this.#fail(new Error(`a frame of ${size} bytes (at most ${MAX_FRAME})`));
      if (all.length < 4 + size) return;
      let value: unknown;
      try {
        value = deserialize(all.subarray(4, 4 + size));
      } catch (e) {
        return this.#fail(e as Error);
      }
      const rest = all.subarray(4 + size);
      this.#buffered = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
      if (this.#handler) this.#handler(value);
      else this.#pending.push(value);
    }
  }

  #fail(e: Error): void {
    this.#buffered = [];
    this.#length = 0;
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
    if (isObject(v) && 'exit' in v) exit(typeof v.exit === 'number' ? v.exit : 1);
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
export function acceptRanks(launch: Launch, o: { timeoutMs?: number; listenHost?: string } = {}): Promise<RankChannel[]> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_RENDEZVOUS_TIMEOUT_MS;
  const joined = new Map<number, FramedSocket>();
  const where = `${launch.masterAddr}:${launch.masterPort}`;
  return new Promise((resolve, reject) => {
    let server: Server | undefined;
    const finish = (e: EngineError | undefined): void => {
      clearTimeout(timer);
      server?.close();
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
          got: `no rank ${missing.join(', ')}`,
          hint: `start every rank with the same command; the other hosts must reach ${where} (MASTER_ADDR / MASTER_PORT); TRTLLM_RENDEZVOUS_TIMEOUT sets the wait in seconds`,
        }),
      );
    }, timeoutMs);
    server = createServer((socket) => {
      const f = new FramedSocket(socket);
      socket.on('error', () => undefined);
      f.handle((v) => {
        f.handle(undefined);
        const why = refusal(v, launch, joined);
        if (why) {
          f.write({ refused: why }, () => socket.end());
          return;
        }
        const h = v as Hello;
        joined.set(h.rank, f);
        socket.once('close', () => joined.get(h.rank) === f && joined.size < launch.worldSize - 1 && joined.delete(h.rank));
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
          hint: e.code === 'EADDRINUSE' ? 'another job uses this port: set MASTER_PORT to a free one for every rank' : 'set MASTER_ADDR / MASTER_PORT to an address of this host',
        }),
      ),
    );
    server.listen({ port: launch.masterPort, host: o.listenHost ?? listenHostFor(launch.masterAddr) });
  });
}

/** Loopback addresses are listened on as given; any other name means every interface of this host. */
function listenHostFor(addr: string): string | undefined {
  return addr === 'localhost' || addr === '::1' || addr.startsWith('127.') ? addr : undefined;
}

function refusal(v: unknown, launch: Launch, joined: ReadonlyMap<number, unknown>): string | undefined {
  if (!isObject(v) || v.hello !== PROTOCOL) return `not a ${PROTOCOL} hello`;
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
    const attempt = await tryJoin(launch);
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

function tryJoin(launch: Launch): Promise<{ port: FramedSocket } | { refused: string } | { retry: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: launch.masterAddr, port: launch.masterPort });
    const f = new FramedSocket(socket);
    let settled = false;
    const settle = (r: { port: FramedSocket } | { refused: string } | { retry: string }): void => {
      if (settled) return;
      settled = true;
      f.handle(undefined);
      if (!('port' in r)) socket.destroy();
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
