// The tensor-parallel message protocol on the CPU: rank 0's TpGroup and the workers' serveRank joined
// by an in-memory transport that behaves as Node IPC with 'advanced' serialization (messages cloned by
// the structured-clone algorithm, delivered asynchronously, in order). The worker ranks record what
// they are asked to do. On a GPU the same protocol runs over forked processes and NCCL (backends.test.ts).
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import type { StepChunk } from '../models/gpt.js';
import { spawnEach, TpGroup, type RankChannel, type RankMessage, type WorkerInit, type WorkerReply } from './tp-group.js';
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
      join: () => fake.log.push('join'),
      assignBlocks: (slot, blocks) => fake.log.push(`assign ${slot} [${blocks.join(',')}]`),
      copyKvRows: (pairs) => fake.log.push(`copyKvRows ${JSON.stringify(pairs)}`),
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
        if (init.rank === o.failInit) throw new Error('rank file missing');
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
      on: (event: 'message' | 'exit', f: (...x: unknown[]) => void) => toParent.on(event, f),
      get connected() {
        return connected;
      },
      disconnect: () => (connected = false),
      unref: () => undefined,
    } as RankChannel;
  };
  return { ranks, spawn: spawnEach(spawn) };
}

const INIT = { dir: '/engine', configDigest: 'c0ffee', worldSize: 3, layout: { kind: 'paged', tokensPerBlock: 8, numBlocks: 16, maxBlocksPerSeq: 4 }, numSlots: 4, ncclId: Array.from({ length: 128 }, (_, i) => i), kernels: 'production' } as const satisfies Omit<WorkerInit, 'rank'>;
const chunk = (slot: number, start: number, n: number): StepChunk => ({ slot, start, tokens: Array.from({ length: n }, (_, i) => i) }) as StepChunk;

describe('tensor-parallel protocol (rank 0 ↔ workers, in-memory transport)', () => {
  it('init reaches every rank with its number and the NCCL id; each step sends the queued cache ops, then the forward, in order', async () => {
    const w = inMemoryWorld();
    const group = await TpGroup.start(INIT, w.spawn);
    expect(w.ranks.map((r) => r.log)).toEqual([['init rank 1/3 id 128 bytes production'], ['init rank 2/3 id 128 bytes production']]);
    let rank0Joined = 0;
    await group.join(() => {
      // rank 0 blocks in ncclCommInitRank only once 'join' is written to every rank (here: delivered)
      rank0Joined = w.ranks.filter((r) => r.log.at(-1) === 'join').length;
    });
    expect(rank0Joined).toBe(2);
    group.queue({ op: 'assign', slot: 2, blocks: [7, 3] });
    group.queue({ op: 'promptTable', table: fromValues('f16', [2, 3, 4], new Array(24).fill(0.5)) });
    group.queue({ op: 'copyKvRows', pairs: [[7, 9], [3, 4]] });
    await group.step([chunk(2, 0, 5)]);
    await group.step([chunk(2, 5, 1), chunk(1, 5, 1)]); // the queue was emptied by the first step
    await tick();
    for (const r of w.ranks) {
      expect(r.log.slice(1)).toEqual([
        'join',
        'assign 2 [7,3]',
        'promptTable f16 [2,3,4] Uint16Array', // the tensor arrives as a typed array, not a plain object
        'copyKvRows [[7,9],[3,4]]',
        'forward 2:0+5 with table#4',
        'forward 2:5+1 1:5+1 with table#4',
      ]);
    }
    group.close();
    await tick();
    await tick();
    expect(w.ranks.map((r) => [r.log.at(-1), r.exitCode])).toEqual([['dispose', 0], ['dispose', 0]]);
  });

  it('a rank that fails a step reports it, exits 1, and the next step on rank 0 throws naming the error', async () => {
    const w = inMemoryWorld({ failForwardAt: 2 });
    const group = await TpGroup.start(INIT, w.spawn);
    await group.join(() => undefined);
    await group.step([chunk(0, 0, 3)]);
    await group.step([chunk(0, 3, 1)]);
    await tick();
    await tick();
    expect(w.ranks.map((r) => r.exitCode)).toEqual([1, 1]);
    await expect(group.step([chunk(0, 4, 1)])).rejects.toThrow(/tensor-parallel worker: expected running, got rank 1: cudaErrorIllegalAddress in attentionDecode/);
  });

  it('a rank that cannot load rejects start with its rank and reason, before any rank creates a communicator', async () => {
    const w = inMemoryWorld({ failInit: 2 });
    await expect(TpGroup.start(INIT, w.spawn)).rejects.toThrow(/tensor-parallel rank 2: expected loaded, got rank 2: rank file missing/);
    await tick();
    await tick();
    expect(w.ranks.map((r) => r.exitCode)).toEqual([0, 1]); // rank 1 was told to dispose
    expect(w.ranks.flatMap((r) => r.log).filter((l) => l === 'join')).toEqual([]);
  });

  it('a rank that exits, or is killed, before loading names itself', async () => {
    for (const [code, signal, why] of [
      [137, null, 'rank 1 exited with code 137'],
      [null, 'SIGKILL', 'rank 1 was killed by SIGKILL'],
      [null, null, 'rank 1: its process ended or its connection was lost'],
    ] as const) {
      const exits: ((c: number | null, s: NodeJS.Signals | null) => void)[] = [];
      const silent: RankChannel = { send: (_m: RankMessage, done: (e: Error | null) => void) => setImmediate(() => done(null)), on: (e: string, f: never) => e === 'exit' && exits.push(f), connected: true, disconnect: () => undefined, unref: () => undefined } as unknown as RankChannel;
      const started = TpGroup.start({ ...INIT, worldSize: 2 }, spawnEach(() => silent));
      await tick();
      for (const f of exits) f(code, signal);
      await expect(started).rejects.toThrow(`tensor-parallel rank 1: expected loaded, got ${why}`);
    }
  });

  it('a rank killed after it joined fails the next step, named; one ending after dispose is no failure', async () => {
    const exits: ((c: number | null, s: NodeJS.Signals | null) => void)[] = [];
    const replies: ((m: WorkerReply) => void)[] = [];
    const worker: RankChannel = {
      send: (m: RankMessage, done: (e: Error | null) => void) => setImmediate(() => {
        done(null);
        if (m === 'join') replies.forEach((f) => f({ ready: 1 }));
        else if (!Array.isArray(m) && m !== 'dispose') replies.forEach((f) => f({ loaded: 1 }));
      }),
      on: (e: string, f: never) => (e === 'exit' ? exits.push(f) : replies.push(f)),
      connected: true,
      disconnect: () => undefined,
      unref: () => undefined,
    } as unknown as RankChannel;
    const group = await TpGroup.start({ ...INIT, worldSize: 2 }, spawnEach(() => worker));
    await group.join(() => undefined);
    await group.step([chunk(0, 0, 3)]);
    for (const f of exits) f(null, 'SIGKILL');
    await expect(group.step([chunk(0, 3, 1)])).rejects.toThrow(/tensor-parallel worker: expected running, got rank 1 was killed by SIGKILL/);
    const before = exits.length;
    const calm = await TpGroup.start({ ...INIT, worldSize: 2 }, spawnEach(() => worker));
    await calm.join(() => undefined);
    calm.close();
    for (const f of exits.slice(before)) f(null, 'SIGTERM'); // the exit a dispose causes
    await expect(calm.step([chunk(0, 0, 1)])).resolves.toBeUndefined();
  });

  it('ops that arrive before the init completed are an error, not a silent no-op', async () => {
    const replies: WorkerReply[] = [];
    let exit: number | undefined;
    const port = new EventEmitter();
    serveRank({ on: (_e, f) => port.on('message', f), send: (m) => replies.push(m), exit: (c) => (exit = c) }, () => new Promise(() => undefined));
    port.emit('message', [{ op: 'forward', chunks: [] }] satisfies RankMessage);
    expect(replies).toEqual([{ error: 'ops (forward) before the rank was loaded' }]);
    expect(exit).toBe(1);
  });
});
