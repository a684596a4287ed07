// The CLI as one rank of a launched job (mpirun / srun set the variables; here the test does): a rank
// ≥ 1 does not run its command but joins rank 0 over TCP and serves it — rank 0 here is a bare socket
// speaking the documented wire format (parallel/rendezvous.ts) — and its failure reaches rank 0 named
// by rank; rank 0 refuses what cannot work (the ref backend across processes, a --world_size other
// than the launcher's); a batch script's shell, which has Slurm variables but is no rank, runs the
// command itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildEngine, engineConfigDigest } from '@trtllm/engine';
import { main } from './cli.js';

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (s) => (out += s), err: (s) => (err += s) }, out: () => out, err: () => err };
}

const frame = (v: unknown): Buffer => {
  const body = serialize(v);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length);
  return Buffer.concat([head, body]);
};

/** Rank 0 by hand: welcome the first hello, send it `init`, collect every frame until the rank closes. */
function bareRankZero(init: (hello: Record<string, unknown>) => unknown): Promise<{ port: number; frames: Promise<unknown[]> }> {
  return new Promise((ready) => {
    let done!: (f: unknown[]) => void;
    const frames = new Promise<unknown[]>((ok) => (done = ok));
    const server = createServer((socket: Socket) => {
      const got: unknown[] = [];
      let buf = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
          const v = deserialize(buf.subarray(4, 4 + buf.readUInt32LE(0)));
          buf = buf.subarray(4 + buf.readUInt32LE(0));
          got.push(v);
          if (got.length === 1) socket.write(Buffer.concat([frame({ welcome: true }), frame(init(v as Record<string, unknown>))]));
        }
      });
      socket.on('close', () => {
        server.close();
        done(got);
      });
    });
    server.listen(0, '127.0.0.1', () => ready({ port: (server.address() as AddressInfo).port, frames }));
  });
}

describe('trtllm under a launcher (mpirun / srun variables)', () => {
  const work = mkdtempSync(join(tmpdir(), 'trtllm-launch-'));
  const engine = join(work, 'tp2');
  const saved = { ...process.env };
  beforeAll(() => {
    buildEngine({ flags: { vocab_size: 50257, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32, dtype: 'float32', world_size: 2, max_batch_size: 2, max_input_len: 8, max_output_len: 4 }, outputDir: engine });
  });
  afterEach(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('rank 1 of `mpirun -np 2 trtllm run` serves rank 0 instead of running: hello, init → its failure named by rank, exit 1', async () => {
    // rank 0's path is not this host's: the rank loads its own --engine_dir, and checks it is rank 0's engine
    const r0 = await bareRankZero(() => ({ dir: '/rank-0-host/tp2', configDigest: '0'.repeat(64), rank: 1, worldSize: 2, layout: { kind: 'contiguous', maxSeqLen: 12 }, numSlots: 2, ncclId: [], kernels: 'production' }));
    Object.assign(process.env, { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_LOCAL_RANK: '1', OMPI_COMM_WORLD_LOCAL_SIZE: '2', MASTER_PORT: String(r0.port), TRTLLM_JOB_KEY: 'j', CUDA_VISIBLE_DEVICES: '' });
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--input_text', 'never run by this rank'], c.io)).toBe(1);
    expect(process.env.CUDA_VISIBLE_DEVICES).toBe('1'); // local rank 1 → GPU 1
    const frames = await r0.frames;
    expect(frames[0]).toMatchObject({ hello: 'trtllm-tp/1', rank: 1, worldSize: 2, jobKey: 'j' });
    expect(frames.slice(1)).toEqual([{ error: expect.stringMatching(new RegExp(`^rank 1: \\S+: ${engine}/config\\.json: expected rank 0's engine \\(config\\.json sha256 000000000000…\\), got another engine \\(sha256 ${engineConfigDigest(engine).slice(0, 12)}…\\)`)) }, { exit: 1 }]);
    expect(c.out()).toBe(''); // the command did not run here
  });

  it('rank 1 with no rank 0 to meet: the address and the wait, exit 1', async () => {
    const port = await new Promise<number>((ok) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => ok(p));
      });
    });
    Object.assign(process.env, { SLURM_JOB_ID: '7', SLURM_STEP_ID: '0', SLURM_PROCID: '1', SLURM_LOCALID: '0', SLURM_STEP_NUM_TASKS: '2', SLURM_STEP_NODELIST: 'localhost', MASTER_PORT: String(port), TRTLLM_RENDEZVOUS_TIMEOUT: '0.5' });
    const c = capture();
    expect(await main(['serve', '--engine_dir', engine], c.io)).toBe(1);
    expect(c.err()).toMatch(new RegExp(`^trtllm serve: rank 1: rendezvous at localhost:${port} \\(srun\\): expected rank 0 listening within 0\\.5 s, got ECONNREFUSED`));
  });

  it('rank 0 refuses the ref backend across processes, and a --world_size other than the launcher’s', async () => {
    Object.assign(process.env, { OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_LOCAL_RANK: '0', OMPI_COMM_WORLD_LOCAL_SIZE: '2' });
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_text', 'Hi'], c.io)).toBe(2);
    expect(c.err()).toMatch(/trtllm run: mpirun with 2 ranks: expected backend 'cuda' \(NCCL between GPUs\), got backend 'ref' \(run on GPU hosts, or run the ref backend as one process \(TRTLLM_LAUNCHER=none\)/);
    const w = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--world_size', '4'], w.io)).toBe(2);
    expect(w.err()).toMatch(/--world_size 4, but mpirun started 2 ranks/);
  });

  it("a batch script's shell (Slurm variables, no job step) and TRTLLM_LAUNCHER=none run the command as one process", async () => {
    Object.assign(process.env, { SLURM_JOB_ID: '7', SLURM_PROCID: '0', SLURM_LOCALID: '0', SLURM_NTASKS: '2', SLURM_NODELIST: 'localhost' });
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_text', 'Hi', '--max_output_len', '2'], c.io)).toBe(0);
    expect(c.out()).toMatch(/Output \[Text 0 Beam 0\]/); // both ranks of the TP-2 engine in this process
    Object.assign(process.env, { OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2', TRTLLM_LAUNCHER: 'none' });
    const n = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_text', 'Hi', '--max_output_len', '2'], n.io)).toBe(0);
    expect(n.out()).toBe(c.out());
  });
});
