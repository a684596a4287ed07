// The tensor-parallel message protocol on the CPU: rank 0's TpGroup and the workers' serveRank joined
// by an in-memory transport that behaves as Node IPC with 'advanced' serialization (messages cloned by
// the structured-clone algorithm, delivered asynchronously, in order). The worker ranks record what
// they are asked to do. On a GPU the same protocol runs over forked processes and NCCL (backends.test.ts).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import type { StepChunk } from '../models/gpt.js';
import { TpGroup, type RankChannel, type RankMessage, type WorkerInit, type WorkerReply } from './tp-group.js';
import { serveRank, type RankHandle } from './tp-rank.js';

const tick = (): Promise<void> => new Promise((ok) => setImmediate(ok));

interface FakeRank {
  readonly rank: number;
  readonly log: string[];
  exitCode: number | undefined;
}

/** A world of `world` ranks: rank 0 is the test; ranks 1 … W−1 serve the protocol in memory. */
function inMemoryWorld(o: { failInit?: number; failForwardAt?: number } = {}) {
  const ranks: FakeRank[] = [];
  const spawn = (rank: number): RankChannel => {
    const toWorker = new EventEmitter();
    const toParent = new EventEmitter();
    const fake: FakeRank = { rank, log: [], exitCode: undefined };
    ranks.push(fake);
    let forwards = 0;
    const handle: RankHandle = {
      assignBlocks: (slot, blocks) => fake.log.push(`assign ${slot} [${blocks.join(',')}]`),
      copyKv: (op) => fake.log.push(`copyKv ${op.srcSlot}→${op.dstSlot} ${JSON.stringify(op.blockPairs)}`),
      upload: (table) => {
        fake.log.push(`promptTable ${table.dtype} [${table.shape.join(',')}] ${table.data.constructor.name}`);
        return `table#${fake.log.length}`;
      },
      forward: (chunks, promptTable) => {
        if (++forwards === o.failForwardAt) throw new Error('cudaErrorIllegalAddress in attentionDecode');
        fake.log.push(`forward ${chunks.map((c) => `${c.slot}:${c.start}+${c.tokens.length}`).join(' ')}${promptTable ? ` with ${String(promptTable)}` : ''}`);
      },
      dispose: () => fake.log.push('dispose'),
    };
    serveRank(
      {
        on: (_e, f) => toWorker.on('message', f),
        send: (m: WorkerReply) => setImmediate(() => toParent.emit('message', structuredClone(m))),
        exit: (code) => {
          fake.exitCode = code;
          setImmediate(() => toParent.emit('exit', code));
        },
      },
      async (init: WorkerInit) => {
        fake.log.push(`init rank ${init.rank}/${init.worldSize} id ${init.ncclId.length} bytes ${init.kernels}`);
        if (init.rank === o.failInit) throw new Error('ncclCommInitRank: unhandled system error');
        return handle;
      },
    );
    let connected = true;
    return {
      send: (m: RankMessage, done: (e: Error | null) => void) => {
        const copy = structuredClone(m); // what 'advanced' serialization delivers
        setImmediate(() => {
          toWorker.emit('message', copy);
          done(null);
        });
      },
      on: (event: 'message' | 'exit', f: (x: unknown) => void) => toParent.on(event, f),
      get connected() {
        return connected;
      },
      disconnect: () => (connected = false),
      unref: () => undefined,
    } as RankChannel;
  };
  return { ranks, spawn };
}

const INIT = { dir: '/engine', worldSize: 3, layout: { kind: 'paged', tokensPerBlock: 8, numBlocks: 16, maxBlocksPerSeq: 4 }, numSlots: 4, ncclId: Array.from({ length: 128 }, (_, i) => i), kernels: 'production' } as const satisfies Omit<WorkerInit, 'rank'>;
const chunk = (slot: number, start: number, n: number): StepChunk => ({ slot, start, tokens: Array.from({ length: n }, (_, i) => i) }) as StepChunk;

describe('tensor-parallel protocol (rank 0 ↔ workers, in-memory transport)', () => {
  it('init reaches every rank with its number and the NCCL id; each step sends the queued cache ops, then the forward, in order', async () => {
    const w = inMemoryWorld();
    const { group, ready } = await TpGroup.start(INIT, w.spawn);
    await ready;
    expect(w.ranks.map((r) => r.log)).toEqual([['init rank 1/3 id 128 bytes production'], ['init rank 2/3 id 128 bytes production']]);
    group.queue({ op: 'assign', slot: 2, blocks: [7, 3] });
    group.queue({ op: 'promptTable', table: fromValues('f16', [2, 3, 4], new Array(24).fill(0.5)) });
    group.queue({ op: 'copyKv', srcSlot: 2, dstSlot: 1, blockPairs: [[7, 9]] });
    await group.step([chunk(2, 0, 5)]);
    await group.step([chunk(2, 5, 1), chunk(1, 5, 1)]); // the queue was emptied by the first step
    await tick();
    for (const r of w.ranks) {
      expect(r.log.slice(1)).toEqual([
        'assign 2 [7,3]',
        'promptTable f16 [2,3,4] Uint16Array', // the tensor arrives as a typed array, not a plain object
        'copyKv 2→1 [[7,9]]',
        'forward 2:0+5 with table#3',
        'forward 2:5+1 1:5+1 with table#3',
      ]);
    }
    group.close();
    await tick();
    await tick();
    expect(w.ranks.map((r) => [r.log.at(-1), r.exitCode])).toEqual([['dispose', 0], ['dispose', 0]]);
  });

  it('a rank that fails a step reports it, exits 1, and the next step on rank 0 throws naming the error', async () => {
    const w = inMemoryWorld({ failForwardAt: 2 });
    const { group, ready } = await TpGroup.start(INIT, w.spawn);
    await ready;
    await group.step([chunk(0, 0, 3)]);
    await group.step([chunk(0, 3, 1)]);
    await tick();
    await tick();
    expect(w.ranks.map((r) => r.exitCode)).toEqual([1, 1]);
    await expect(group.step([chunk(0, 4, 1)])).rejects.toThrow(/tensor-parallel worker: expected running, got cudaErrorIllegalAddress in attentionDecode/);
  });

  it('a rank that cannot start rejects ready with its rank and reason', async () => {
    const w = inMemoryWorld({ failInit: 2 });
    const { ready } = await TpGroup.start(INIT, w.spawn);
    await expect(ready).rejects.toThrow(/expected ready, got rank 2: ncclCommInitRank: unhandled system error/);
    await tick();
    expect(w.ranks.map((r) => r.exitCode)).toEqual([undefined, 1]);
  });

  it('ops that arrive before the init completed are an error, not a silent no-op', async () => {
    const replies: WorkerReply[] = [];
    let exit: number | undefined;
    const port = new EventEmitter();
    serveRank({ on: (_e, f) => port.on('message', f), send: (m) => replies.push(m), exit: (c) => (exit = c) }, () => new Promise(() => undefined));
    port.emit('message', [{ op: 'forward', chunks: [] }] satisfies RankMessage);
    expect(replies).toEqual([{ error: 'ops before the rank was ready: forward' }]);
    expect(exit).toBe(1);
  });
});
