/**
 * Tensor parallelism across processes (ARCHITECTURE.md, Tensor parallelism): rank 0 is the process that loaded the engine;
 * ranks 1 … W−1 are worker processes it forks (runtime/tp-worker.ts), one GPU each
 * (CUDA_VISIBLE_DEVICES = rank), joined by an NCCL communicator whose unique id rank 0 sends them.
 * Rank 0 schedules and samples; before each step it sends the workers, in order, the KV-cache
 * operations of that step (block assignments, beam copies) and the step's chunks, waits until the
 * messages are written (rank 0 then blocks inside NCCL), and runs its own share of the graph; the
 * all-reduces pair up across processes. Workers compute no logits.
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
  | { readonly op: 'copyKv'; readonly srcSlot: number; readonly dstSlot: number; readonly blockPairs: readonly (readonly [number, number])[] }
  | { readonly op: 'promptTable'; readonly table: Tensor }
  | { readonly op: 'forward'; readonly chunks: readonly StepChunk[] };

export interface WorkerInit {
  readonly dir: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly layout: KvLayout;
  readonly numSlots: number;
  readonly ncclId: readonly number[];
  /** The kernel set rank 0 runs (every rank runs the same). */
  readonly kernels: KernelSet;
  readonly gemmAlgo?: GemmAlgo;
}

export type WorkerReply = { readonly ready: number } | { readonly error: string };

/** What rank 0 sends a worker: its init once, then each step's ops in order, then 'dispose'. */
export type RankMessage = WorkerInit | readonly RankOp[] | 'dispose';

/**
 * Rank 0's end of the channel to one worker rank. A forked child process is one (the default
 * transport: Node IPC with 'advanced' serialization, so tensors travel as typed arrays); tests
 * pass an in-memory one.
 */
export interface RankChannel {
  send(msg: RankMessage, done: (e: Error | null) => void): unknown;
  on(event: 'message', f: (m: WorkerReply) => void): unknown;
  on(event: 'exit', f: (code: number | null) => void): unknown;
  readonly connected: boolean;
  disconnect(): void;
  unref(): void;
}

/** Starts worker rank `rank` (1 … W−1) and returns the channel to it. */
export type SpawnRank = (rank: number) => RankChannel;

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

  private constructor(workers: RankChannel[]) {
    this.#workers = workers;
    for (const w of workers) {
      w.on('message', (m: WorkerReply) => {
        if ('error' in m) this.#failed = m.error;
      });
      w.on('exit', (code) => {
        if (code !== 0 && code !== null) this.#failed ??= `a worker rank exited with code ${code}`;
      });
    }
  }

  /** Start ranks 1 … W−1 (forked processes unless `spawn` says otherwise), hand them the NCCL id; they load their weights and join the communicator. */
  static async start(o: Omit<WorkerInit, 'rank'>, spawn: SpawnRank = forkRank): Promise<{ group: TpGroup; ready: Promise<void> }> {
    const workers = Array.from({ length: o.worldSize - 1 }, (_, i) => spawn(i + 1));
    const group = new TpGroup(workers);
    const ready = Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((ok, fail) => {
            w.on('message', (m: WorkerReply) => ('ready' in m ? ok() : fail(new EngineError('backend', { what: 'tensor-parallel worker', expected: 'ready', got: m.error }))));
            w.on('exit', (code) => fail(new EngineError('backend', { what: 'tensor-parallel worker', expected: 'ready', got: `exit code ${code}` })));
          }),
      ),
    ).then(() => undefined);
    await Promise.all(workers.map((w, i) => send(w, { ...o, rank: i + 1 })));
    return { group, ready };
  }

  queue(op: RankOp): void {
    this.#queue.push(op);
  }

  /** Send the queued cache operations and this step's chunks; resolves once written. */
  async step(chunks: readonly StepChunk[]): Promise<void> {
    if (this.#failed) throw new EngineError('backend', { what: 'tensor-parallel worker', expected: 'running', got: this.#failed });
    const ops = [...this.#queue, { op: 'forward' as const, chunks }];
    this.#queue = [];
    await Promise.all(this.#workers.map((w) => send(w, ops)));
  }

  /** Tell the workers to exit, and stop waiting for them (this process may end first). */
  close(): void {
    for (const w of this.#workers) {
      if (w.connected) w.send('dispose', () => w.disconnect());
      w.unref();
    }
  }
}

function send(w: RankChannel, msg: RankMessage): Promise<void> {
  return new Promise((ok, fail) => w.send(msg, (e) => (e ? fail(e) : ok())));
}
