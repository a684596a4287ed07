/**
 * A worker rank's side of the tensor-parallel protocol (parallel/tp-group.ts), apart from how it is
 * started: `serveRank` answers rank 0's messages on a port — the init (load the rank, reply
 * `{loaded: rank}`), 'join' (create the communicator, reply `{ready: rank}`), each step's ops applied
 * in order (KV block assignments, beam copies, a prompt table, then the forward pass, which computes
 * no logits), and 'dispose' — and turns any failure into `{error: 'rank r: …'}` for rank 0 followed
 * by exit code 1. tp-worker.ts serves it on a forked process, launched-rank.ts on a launcher's
 * process over TCP, both with a cuda rank; tests serve it in memory or over real sockets with a rank
 * that records what it was asked.
 */
import type { StepChunk } from '../models/gpt.js';
import type { RankMessage, RankOp, WorkerInit, WorkerReply } from './tp-group.js';

/** What a rank does with the ops (tp-worker.ts: a cuda backend, its weights and an NCCL communicator). */
export interface RankHandle {
  /** Create the NCCL communicator (blocks until every rank has joined). */
  join(): void;
  assignBlocks(slot: number, blocks: readonly number[]): void;
  copyKvRows(pairs: readonly (readonly [number, number])[]): void;
  /** Upload a prompt table; the returned handle goes with every later forward. */
  upload(table: Extract<RankOp, { op: 'promptTable' }>['table']): unknown;
  forward(chunks: readonly StepChunk[], promptTable: unknown): void;
  dispose(): void;
}

/** The worker's end of the channel: a child process's `process`, or an in-memory port. */
export interface RankPort {
  on(event: 'message', f: (m: RankMessage) => void): unknown;
  send(m: WorkerReply): unknown;
  exit(code: number): void;
}

export function serveRank(port: RankPort, init: (o: WorkerInit) => Promise<RankHandle>): void {
  let handle: RankHandle | undefined;
  let rank: number | undefined;
  let promptTable: unknown;
  let ended = false;
  const fail = (e: unknown): void => {
    if (ended) return;
    ended = true;
    const message = e instanceof Error ? e.message : String(e);
    port.send({ error: rank !== undefined ? `rank ${rank}: ${message}` : message });
    port.exit(1);
  };
  const ready = (what: string): RankHandle => {
    if (!handle) throw new Error(`${what} before the rank was loaded`);
    return handle;
  };
  const apply = (ops: readonly RankOp[]): void => {
    const h = ready(`ops (${ops.map((o) => o.op).join(', ')})`);
    for (const op of ops) {
      if (op.op === 'assign') h.assignBlocks(op.slot, op.blocks);
      else if (op.op === 'copyKvRows') h.copyKvRows(op.pairs);
      else if (op.op === 'promptTable') promptTable = h.upload(op.table);
      else h.forward(op.chunks, promptTable);
    }
  };
  port.on('message', (m) => {
    if (ended) return;
    try {
      if (m === 'dispose') {
        // no ncclCommDestroy: it can wait on ranks that are already gone; the exit releases it
        ended = true;
        handle?.dispose();
        port.exit(0);
      } else if (m === 'join') {
        ready("'join'").join();
        port.send({ ready: rank! });
      } else if (Array.isArray(m)) apply(m as readonly RankOp[]);
      else {
        const o = m as WorkerInit;
        rank = o.rank;
        void init(o).then(
          (h) => {
            handle = h;
            port.send({ loaded: o.rank });
          },
          fail,
        );
      }
    } catch (e) {
      fail(e);
    }
  });
}
