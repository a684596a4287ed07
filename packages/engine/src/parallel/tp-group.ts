/**
 * Tensor parallelism across processes (ARCHITECTURE.md, Tensor parallelism): rank 0 is the process that loaded the engine;
 * ranks 1 … W−1 are either worker processes it forks (parallel/tp-worker.ts, one GPU each:
 * CUDA_VISIBLE_DEVICES = rank) or the processes a launcher started (mpirun, srun: parallel/launch.ts,
 * joined over TCP by parallel/rendezvous.ts). Either way they speak one protocol:
 *
 *   rank 0 → rank r   init (engine dir, config digest, KV layout, NCCL id)   r loads its weights → {loaded}
 *   rank 0 → all      'join'                                               all create the NCCL communicator → {ready}
 *   rank 0 → all      per step: the queued KV-cache ops, then the forward   (no reply: the all-reduces pair up)
 *   rank 0 → all      'dispose'                                            r exits 0
 *
 * Loading comes before the communicator so that a rank that cannot load (missing rank file, another
 * engine on its host, out of memory) fails rank 0 with its reason instead of leaving it inside
 * ncclCommInitRank, which waits for every rank. Rank 0 schedules and samples; before each step it
 * sends the workers that step's ops and waits until they are written (rank 0 then blocks inside
 * NCCL). Workers compute no logits. A rank that reports an error, exits or loses its connection fails
 * rank 0's next step with an error naming it.
 */
import type { GemmAlgo, KernelSet } from '../backends/backend.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compiledExecArgv, compiledWorker } from '@trtllm/loader';
import type { KvLayout, Tensor } from '@trtllm/ref-math';
import { EngineError } from '../errors.js';
import type { StepChunk } from '../models/gpt.js';

export type RankOp =
  | { readonly op: 'assign'; readonly slot: number; readonly blocks: readonly number[] }
  | { readonly op: 'copyKvRows'; readonly pairs: readonly (readonly [number, number])[] }
  | { readonly op: 'promptTable'; readonly table: Tensor }
  | { readonly op: 'forward'; readonly chunks: readonly StepChunk[] };

export interface WorkerInit {
  readonly dir: string;
  /** sha256 of rank 0's `config.json`: a rank whose engine differs refuses before loading (engineConfigDigest). */
  readonly configDigest: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly layout: KvLayout;
  readonly numSlots: number;
  readonly ncclId: readonly number[];
  /** The kernel set rank 0 runs (every rank runs the same). */
  readonly kernels: KernelSet;
  readonly gemmAlgo?: GemmAlgo;
}

export type WorkerReply = { readonly loaded: number } | { readonly ready: number } | { readonly error: string };

/** What rank 0 sends a worker: its init once, 'join', then each step's ops in order, then 'dispose'. */
export type RankMessage = WorkerInit | 'join' | readonly RankOp[] | 'dispose';

/**
 * Rank 0's end of the channel to one worker rank. A forked child process is one (the default
 * transport: Node IPC with 'advanced' serialization, so tensors travel as typed arrays); tests
 * pass an in-memory one.
 */
export interface RankChannel {
  send(msg: RankMessage, done: (e: Error | null) => void): unknown;
  on(event: 'message', f: (m: WorkerReply) => void): unknown;
  /** The rank ended: its exit code, or null with the signal that killed it (null too: the connection was lost). */
  on(event: 'exit', f: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  readonly connected: boolean;
  disconnect(): void;
  unref(): void;
}

/** Starts worker rank `rank` (1 … W−1) and returns the channel to it. */
export type SpawnRank = (rank: number) => RankChannel;

/** The channels to ranks 1 … W−1, in rank order: forked here (`spawnEach(forkRank)`) or launched and accepted (rendezvous.ts). */
export type RankTransport = (worldSize: number) => Promise<RankChannel[]>;

export const spawnEach =
  (spawn: SpawnRank): RankTransport =>
  (worldSize) =>
    Promise.resolve(Array.from({ length: worldSize - 1 }, (_, i) => spawn(i + 1)));

/** The default transport: fork the compiled tp-worker on GPU `rank`. */
export function forkRank(rank: number): RankChannel {
  return fork(workerPath(), [], { env: { ...process.env, CUDA_VISIBLE_DEVICES: String(rank) }, execArgv: compiledExecArgv(), serialization: 'advanced' }) as RankChannel;
}

function workerPath(): string {
  const url = compiledWorker(import.meta.url, './tp-worker.js');
  if (!url) throw new EngineError('config', { what: 'tensorParallel: processes', expected: 'the compiled worker (dist/runtime/tp-worker.js)', got: 'no such file', hint: 'npm run build' });
  return fileURLToPath(url);
}

export class TpGroup {
  readonly #workers: RankChannel[];
  #queue: RankOp[] = [];
  #failed: string | undefined;
  #closing = false;

  private constructor(workers: RankChannel[]) {
    this.#workers = workers;
    workers.forEach((w, i) => {
      w.on('message', (m: WorkerReply) => {
        if ('error' in m) this.#failed ??= m.error;
      });
      w.on('exit', (code, signal) => {
        if (!this.#closing && code !== 0) this.#failed ??= endedHow(i + 1, code, signal);
      });
    });
  }

  /**
   * Reach ranks 1 … W−1 (forked here unless `transport` says otherwise), hand each its init and wait
   * until every one has loaded its weights. A rank that fails to load or exits rejects this with its
   * reason; the group is closed then.
   */
  static async start(o: Omit<WorkerInit, 'rank'>, transport: RankTransport = spawnEach(forkRank)): Promise<TpGroup> {
    const workers = await transport(o.worldSize);
    const group = new TpGroup(workers);
    try {
      const loaded = group.#replies('loaded');
      loaded.catch(() => undefined); // awaited below; a rank may fail while the inits are still being written
      await Promise.all(workers.map((w, i) => send(w, { ...o, rank: i + 1 })));
      await loaded;
    } catch (e) {
      group.close();
      throw e;
    }
    return group;
  }

  /**
   * Every rank creates the NCCL communicator: 'join' is sent and written, then `initRank0` runs here
   * (it blocks until every rank has joined), then each rank's ready is awaited.
   */
  async join(initRank0: () => void): Promise<void> {
    const ready = this.#replies('ready');
    ready.catch(() => undefined); // awaited below
    await Promise.all(this.#workers.map((w) => send(w, 'join')));
    initRank0();
    await ready;
  }

  /** Resolves when every worker has sent `{[kind]: rank}`; rejects with the first error or exit. */
  #replies(kind: 'loaded' | 'ready'): Promise<void> {
    return Promise.all(
      this.#workers.map(
        (w, i) =>
          new Promise<void>((ok, fail) => {
            const failed = (got: string): void => fail(new EngineError('backend', { what: `tensor-parallel rank ${i + 1}`, expected: kind, got }));
            w.on('message', (m: WorkerReply) => ('error' in m ? failed(m.error) : kind in m ? ok() : undefined));
            w.on('exit', (code, signal) => failed(endedHow(i + 1, code, signal)));
          }),
      ),
    ).then(() => undefined);
  }

  queue(op: RankOp): void {
    this.#queue.push(op);
  }

  /** Send the queued cache operations and this step's chunks; resolves once written. */
  async step(chunks: readonly StepChunk[]): Promise<void> {
    if (this.#failed) throw new EngineError('backend', { what: 'tensor-parallel worker', expected: 'running', got: this.#failed, hint: 'the engine cannot continue; dispose it and load again' });
    const ops = [...this.#queue, { op: 'forward' as const, chunks }];
    this.#queue = [];
    await Promise.all(this.#workers.map((w) => send(w, ops)));
  }

  /** Tell the workers to exit, and stop waiting for them (this process may end first). */
  close(): void {
    this.#closing = true;
    for (const w of this.#workers) {
      if (w.connected) w.send('dispose', () => w.disconnect());
      w.unref();
    }
  }
}

function send(w: RankChannel, msg: RankMessage): Promise<void> {
  return new Promise((ok, fail) => w.send(msg, (e) => (e ? fail(e) : ok())));
}

function endedHow(rank: number, code: number | null, signal: NodeJS.Signals | null): string {
  if (code !== null) return `rank ${rank} exited with code ${code}`;
  return signal ? `rank ${rank} was killed by ${signal}` : `rank ${rank}: its process ended or its connection was lost`;
}
