// Launched ranks over real TCP on loopback: rank 0's TpGroup accepts ranks that serveLaunchedRank
// started (here in this process, with a rank that records what it is asked; on GPUs a cuda rank), the
// whole protocol runs over the sockets, and every way of going wrong ends in bounded time with an
// error that names the rank: refusals at the door, ranks that never come, a rank 0 that never comes, a
// rank whose connection drops, a rank 0 that goes away, a rank with another engine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterAll, describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import { engineConfigDigest } from '../engine-dir.js';
import type { StepChunk } from '../models/gpt.js';
import { cudaRank } from './cuda-rank.js';
import type { Launch } from './launch.js';
import { serveLaunchedRank } from './launched-rank.js';
import { acceptRanks, joinRankZero, PROTOCOL } from './rendezvous.js';
import { TpGroup, type WorkerInit } from './tp-group.js';
import type { RankHandle } from './tp-rank.js';

const freePort = (): Promise<number> =>
  new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => ok(port));
    });
  });

const launchAt = (port: number, rank: number, worldSize = 3, jobKey = 'job-1'): Launch => ({ launcher: 'mpirun', rank, worldSize, localRank: rank, localSize: worldSize, masterAddr: '127.0.0.1', masterPort: port, jobKey });
const INIT = { dir: '/engine', configDigest: 'c0ffee', worldSize: 3, layout: { kind: 'paged', tokensPerBlock: 8, numBlocks: 16, maxBlocksPerSeq: 4 }, numSlots: 4, ncclId: Array.from({ length: 128 }, (_, i) => i), kernels: 'production' } as const satisfies Omit<WorkerInit, 'rank'>;
const chunk = (slot: number, start: number, n: number): StepChunk => ({ slot, start, tokens: Array.from({ length: n }, (_, i) => i) }) as StepChunk;
const wait = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

function recordingRank(log: string[]): (o: WorkerInit) => Promise<RankHandle> {
  return (o) => {
    log.push(`init ${o.rank}/${o.worldSize} ${o.dir} id ${o.ncclId.length}`);
    return Promise.resolve({
      join: () => log.push('join'),
      assignBlocks: (slot, blocks) => log.push(`assign ${slot} [${blocks.join(',')}]`),
      copyKvRows: (pairs) => log.push(`copyKvRows ${JSON.stringify(pairs)}`),
      upload: (t) => {
        log.push(`table ${t.dtype} [${t.shape.join(',')}] ${t.data.constructor.name}`);
        return 'T';
      },
      forward: (chunks, table) => log.push(`forward ${chunks.map((c) => `${c.slot}:${c.start}+${c.tokens.length}`).join(' ')}${table ? ` ${String(table)}` : ''}`),
      dispose: () => log.push('dispose'),
    });
  };
}

const frame = (v: unknown): Buffer => {
  const body = serialize(v);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
};

/** A rank speaking the wire protocol by hand: its hello (byte by byte if asked), then rank 0's decoded answer. */
function rawRank(port: number, hello: object, o: { byteByByte?: boolean } = {}): Promise<{ socket: Socket; answer: unknown }> {
  return new Promise((ok, fail) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      const bytes = frame({ hello: PROTOCOL, host: 'raw', ...hello });
      if (!o.byteByByte) socket.write(bytes);
      else {
        let i = 0;
        const next = (): void => {
          if (i < bytes.length) socket.write(bytes.subarray(i, ++i), () => setImmediate(next));
        };
        next();
      }
    });
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        socket.off('data', onData);
        ok({ socket, answer: deserialize(buf.subarray(4, 4 + buf.readUInt32LE(0))) });
      }
    };
    socket.on('data', onData);
    socket.on('error', fail);
  });
}

describe('launched ranks over TCP (rendezvous)', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('ranks started before rank 0 wait for it; the whole protocol runs over the sockets; dispose ends every rank with 0', async () => {
    const port = await freePort();
    const logs: string[][] = [[], []];
    // ranks 1 and 2 first: they retry until rank 0 listens
    const served = [1, 2].map((r) => serveLaunchedRank(launchAt(port, r), { init: recordingRank(logs[r - 1]!), timeoutMs: 10_000 }));
    await wait(300);
    const group = await TpGroup.start(INIT, () => acceptRanks(launchAt(port, 0), { timeoutMs: 10_000 }));
    await group.join(() => undefined);
    group.queue({ op: 'assign', slot: 1, blocks: [5, 2] });
    group.queue({ op: 'promptTable', table: fromValues('f16', [2, 3, 4], new Array(24).fill(0.25)) });
    await group.step([chunk(1, 0, 7)]);
    await group.step([chunk(1, 7, 1), chunk(0, 3, 1)]);
    group.close();
    expect(await Promise.all(served)).toEqual([0, 0]);
    for (const [i, log] of logs.entries()) {
      expect(log).toEqual([`init ${i + 1}/3 /engine id 128`, 'join', 'assign 1 [5,2]', 'table f16 [2,3,4] Uint16Array', 'forward 1:0+7 T', 'forward 1:7+1 0:3+1 T', 'dispose']);
    }
  });

  it('refuses at the door: another job, another world size, a rank taken twice or out of range', async () => {
    const port = await freePort();
    const accepted = acceptRanks(launchAt(port, 0), { timeoutMs: 5_000 });
    const refusals = await Promise.all(
      [launchAt(port, 1, 3, 'job-2'), launchAt(port, 1, 4), launchAt(port, 3, 3)].map((l) =>
        joinRankZero(l, { onEnd: () => undefined, timeoutMs: 5_000 }).then(
          () => 'welcomed',
          (e: Error) => e.message,
        ),
      ),
    );
    expect(refusals[0]).toMatch(/rank 1: rendezvous at 127\.0\.0\.1:\d+: expected to be welcomed by rank 0, got refused: rank 1 of job 'job-2' is not of this job \('job-1'\): set a different MASTER_PORT per job/);
    expect(refusals[1]).toMatch(/refused: rank 1 \(\S+\) was launched with world size 4, rank 0 with 3/);
    expect(refusals[2]).toMatch(/refused: rank 3 \(\S+\) is not one of 1 … 2/);
    const ends: number[] = [];
    await joinRankZero(launchAt(port, 1), { onEnd: (c) => ends.push(c) });
    await expect(joinRankZero(launchAt(port, 1), { onEnd: () => undefined })).rejects.toThrow(/refused: rank 1 \(\S+\) joined twice/);
    await joinRankZero(launchAt(port, 2), { onEnd: (c) => ends.push(c) });
    const channels = await accepted;
    expect(channels).toHaveLength(2);
    channels.forEach((c) => c.disconnect());
    await wait(100);
    expect(ends).toEqual([1, 1]); // rank 0 went away without a dispose: both end with 1
  });

  it('rank 0 names the ranks that never came; a rank names the address where no rank 0 listened', async () => {
    const port = await freePort();
    const accepted = acceptRanks(launchAt(port, 0), { timeoutMs: 600 });
    await joinRankZero(launchAt(port, 1), { onEnd: () => undefined });
    await expect(accepted).rejects.toThrow(/rendezvous at 127\.0\.0\.1:\d+ \(mpirun\): expected ranks 1 … 2 within 0\.6 s, got no rank 2 \(start every rank with the same command/);
    const lonely = await freePort();
    await expect(joinRankZero(launchAt(lonely, 2), { onEnd: () => undefined, timeoutMs: 600 })).rejects.toThrow(/rank 2: rendezvous at 127\.0\.0\.1:\d+ \(mpirun\): expected rank 0 listening within 0\.6 s, got ECONNREFUSED/);
  });

  it('a port in use is named, with the fix', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((ok) => busy.once('listening', ok));
    const { port } = busy.address() as AddressInfo;
    await expect(acceptRanks(launchAt(port, 0), { timeoutMs: 2_000 })).rejects.toThrow(/rendezvous at 127\.0\.0\.1:\d+ \(mpirun, rank 0\): expected a port to listen on, got EADDRINUSE .*set MASTER_PORT \(or TRTLLM_MASTER_PORT\) to a free one/);
    busy.close();
  });

  it("a rank whose connection drops fails rank 0's next step, naming it", async () => {
    const port = await freePort();
    const log: string[] = [];
    const served = serveLaunchedRank(launchAt(port, 1), { init: recordingRank(log), timeoutMs: 5_000 });
    const accepted = acceptRanks(launchAt(port, 0), { timeoutMs: 5_000 });
    const raw = await rawRank(port, { rank: 2, worldSize: 3, jobKey: 'job-1' });
    expect(raw.answer).toEqual({ welcome: true });
    const channels = await accepted;
    // rank 2 loads (by hand) then dies: its socket closes without an {exit}
    const group = TpGroup.start(INIT, () => Promise.resolve(channels));
    raw.socket.once('data', () => raw.socket.write(frame({ loaded: 2 })));
    const g = await group;
    raw.socket.destroy();
    await wait(100);
    await expect(g.step([chunk(0, 0, 1)])).rejects.toThrow(/tensor-parallel worker: expected running, got rank 2: its process ended or its connection was lost/);
    g.close();
    expect(await served).toBe(0);
  });

  it('a rank whose engine dir holds another engine refuses before loading anything, and rank 0 says which', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trtllm-rdv-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'config.json'), '{"builder_config":{"tensor_parallel":2}}\n');
    const port = await freePort();
    const lines: string[] = [];
    const served = serveLaunchedRank(launchAt(port, 1, 2), { init: cudaRank, timeoutMs: 5_000, log: (l) => lines.push(l) });
    const started = TpGroup.start({ ...INIT, worldSize: 2, dir, configDigest: 'f'.repeat(64) }, () => acceptRanks(launchAt(port, 0, 2), { timeoutMs: 5_000 }));
    await expect(started).rejects.toThrow(
      new RegExp(`tensor-parallel rank 1: expected loaded, got rank 1: \\S+: ${dir}/config\\.json: expected rank 0's engine \\(config\\.json sha256 ffffffffffff…\\), got another engine \\(sha256 ${engineConfigDigest(dir).slice(0, 12)}…\\) \\(each rank's engine dir must hold rank 0's engine`),
    );
    expect(await served).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^trtllm: rank 1: \S+: .*config\.json: expected rank 0's engine/)]); // the rank's own log says it too
  });

  it('frames split byte by byte and frames coalesced in one write arrive whole, in order; a stranger is cut off', async () => {
    const port = await freePort();
    const accepted = acceptRanks(launchAt(port, 0, 2), { timeoutMs: 5_000 });
    // a stranger's oversized first frame, and a hello that is not an object: neither joins
    const stranger = connect({ port, host: '127.0.0.1' });
    stranger.on('error', () => undefined);
    const cut = new Promise((ok) => stranger.once('close', ok));
    stranger.write(Buffer.from([0, 0, 16, 0])); // 1 MiB announced before any hello
    await cut;
    expect((await rawRank(port, { rank: 'one', worldSize: 2, jobKey: 'job-1' })).answer).toEqual({ refused: `a ${PROTOCOL} hello without its rank, worldSize, jobKey and host` });
    const raw = await rawRank(port, { rank: 1, worldSize: 2, jobKey: 'job-1' }, { byteByByte: true });
    expect(raw.answer).toEqual({ welcome: true });
    const [channel] = await accepted;
    const events: unknown[] = [];
    channel!.on('message', (m) => events.push(m));
    channel!.on('exit', (code) => events.push({ exitEvent: code }));
    raw.socket.write(Buffer.concat([frame({ loaded: 1 }), frame({ ready: 1 }), frame({ exit: 0 })]));
    await wait(100);
    expect(events).toEqual([{ loaded: 1 }, { ready: 1 }, { exitEvent: 0 }]);
    raw.socket.destroy();
  });
});
