/**
 * A worker rank's side of the tensor-parallel protocol (runtime/tp-group.ts), apart from how it is
 * started: `serveRank` answers rank 0's messages on a port — the init (build the rank, reply
 * `{ready: rank}`), each step's ops applied in order (KV block assignments, beam copies, a prompt
 * table, then the forward pass, which computes no logits), and 'dispose' — and turns any failure into
 * `{error}` for rank 0 followed by exit code 1. tp-worker.ts serves it on a forked process with a
 * cuda rank; tests serve it over an in-memory channel with a rank that records what it was asked.
 */
import type { StepChunk } from '../models/gpt.js';
import type { RankMessage, RankOp, WorkerInit, WorkerReply } from './tp-group.js';

/** What a rank does with the ops (tp-worker.ts: a cuda backend, its weights and an NCCL communicator). */
export interface RankHandle {
  assignBlocks(slot: number, blocks: readonly number[]): void;
  copyKv(op: Extract<RankOp, { op: 'copyKv' }>): void;
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
  let promptTable: unknown;
  const fail = (e: unknown, rank?: number): void => {
    const message = e instanceof Error ? e.message : String(e);
    port.send({ error: rank !== undefined ? `rank ${rank}: ${message}` : message });
    port.exit(1);
  };
  const apply = (ops: readonly RankOp[]): void => {
    if (!handle) throw new Error(`ops before the rank was ready: ${ops.map((o) => o.op).join(', ')}`);
    for (const op of ops) {
      if (op.op === 'assign') handle.assignBlocks(op.slot, op.blocks);
      else if (op.op === 'copyKv') handle.copyKv(op);
      else if (op.op === 'promptTable') promptTable = handle.upload(op.table);
      else handle.forward(op.chunks, promptTable);
    }
  };
  port.on('message', (m) => {
    try {
      if (m === 'dispose') {
        // no ncclCommDestroy: it can wait on ranks that are already gone; the exit releases it
        handle?.dispose();
        port.exit(0);
      } else if (Array.isArray(m)) apply(m as readonly RankOp[]);
      else {
        const o = m as WorkerInit;
        void init(o).then(
          (h) => {
            handle = h;
            port.send({ ready: o.rank });
          },
          (e: unknown) => fail(e, o.rank),
        );
      }
    } catch (e) {
      fail(e);
    }
  });
}
