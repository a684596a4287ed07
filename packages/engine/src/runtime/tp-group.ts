/**
 * Tensor parallelism across processes (DESIGN.md §6): rank 0 is the process that loaded the engine;
 * ranks 1 … W−1 are worker processes it forks (runtime/tp-worker.ts), one GPU each
 * (CUDA_VISIBLE_DEVICES = rank), joined by an NCCL communicator whose unique id rank 0 sends them.
 * Rank 0 schedules and samples; before each step it sends the workers, in order, the KV-cache
 * operations of that step (block assignments, beam copies) and the step's chunks, waits until the
 * messages are written (rank 0 then blocks inside NCCL), and runs its own share of the graph; the
 * all-reduces pair up across processes. Workers compute no logits.
 */
import type { GemmAlgo, KernelSet } from '../backends/backend.js';
import { fork, type ChildProcess } from 'node:child_process';
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

function workerPath(): string {
  const url = compiledWorker(import.meta.url, './tp-worker.js');
  if (!url) throw new EngineError('config', { what: 'tensorParallel: processes', expected: 'the compiled worker (dist/runtime/tp-worker.js)', got: 'no such file', hint: 'npm run build' });
  return fileURLToPath(url);
}

export class TpGroup {
  readonly #workers: ChildProcess[];
  #queue: RankOp[] = [];
  #failed: string | undefined;

  private constructor(workers: ChildProcess[]) {
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

  /** Fork ranks 1 … W−1, hand them the NCCL id; they load their weights and join the communicator. */
  static async start(o: Omit<WorkerInit, 'rank'>): Promise<{ group: TpGroup; ready: Promise<void> }> {
    const path = workerPath();
    const workers = Array.from({ length: o.worldSize - 1 }, (_, i) =>
      fork(path, [], { env: { ...process.env, CUDA_VISIBLE_DEVICES: String(i + 1) }, execArgv: compiledExecArgv(), serialization: 'advanced' }),
    );
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

function send(w: ChildProcess, msg: unknown): Promise<void> {
  return new Promise((ok, fail) => w.send(msg as never, (e) => (e ? fail(e) : ok())));
}
