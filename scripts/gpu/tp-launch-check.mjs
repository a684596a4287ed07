#!/usr/bin/env node
// Tensor parallelism the way users launch it, on a machine with ≥ 2 GPUs (README: Many GPUs): a
// gpt2-shape TP-2 engine run by the `trtllm` CLI as two processes started
//   1. by its own launcher (`--world_size 2`),
//   2. by launcher variables (RANK / WORLD_SIZE / LOCAL_RANK, what torchrun sets; rank 0 listens at
//      MASTER_ADDR:MASTER_PORT, rank 1 joins over TCP),
//   3. as two "hosts": each rank alone on its host (LOCAL_WORLD_SIZE 1, its own CUDA_VISIBLE_DEVICES) and
//      NCCL kept off shared memory and P2P (NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1, sockets on loopback),
//   4. by `mpirun -np 2` where Open MPI is installed,
// each giving the tokens of the same weights built at TP 1 and run in one process (greedy; the engines
// are batch-invariant). Then the faults: rank 1 with another engine under the same path (rank 0 must fail
// naming rank 1, before anything runs), and rank 1 killed mid-generation (rank 0 must end within the
// bound; a rank held inside an NCCL all-reduce is the known gap: reported, not hidden).
//
//   node scripts/gpu/tp-launch-check.mjs [--out DIR] [--timeout SECONDS (per run, default 120)]
// Needs the build (npm run build, the addon included). Writes DIR/tp-launch.md and .json; exits 1 if a
// run's tokens differ or a fault is not reported as it should be.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEngine, gpuStatus } from '@trtllm/engine';

const { values: v } = parseArgs({ options: { out: { type: 'string' }, timeout: { type: 'string' } } });
const out = resolve(v.out ?? 'tp-launch-report');
const limitMs = Number(v.timeout ?? 120) * 1000;
mkdirSync(out, { recursive: true });
const root = resolve(new URL('../..', import.meta.url).pathname);
const cli = join(root, 'tools/bin/trtllm.js');
const g = await gpuStatus();
if (!g.ok || g.count < 2) {
  console.error(`tp-launch-check: needs 2 GPUs, found ${g.ok ? g.count : `none (${g.reason})`}`);
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'tp-launch-'));
const flags = { vocab_size: 50257, n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, dtype: 'float16', random_seed: 11, max_batch_size: 8, max_input_len: 64, max_output_len: 32, use_inflight_batching: true, tokens_per_block: 16 };
const tp1 = join(work, 'tp1');
const tp2 = join(work, 'tp2');
buildEngine({ flags, outputDir: tp1 });
buildEngine({ flags: { ...flags, world_size: 2 }, outputDir: tp2 });
// the "other engine" of the fault run: another seed under its own path, swapped in for rank 1 only
const other = join(work, 'other');
buildEngine({ flags: { ...flags, world_size: 2, random_seed: 12 }, outputDir: other });
const input = join(work, 'in.csv');
writeFileSync(input, ['464,3290,373', '15496,995', '40,1101,257,1402,290', '818,262,3726,373,262,1573'].join('\n') + '\n');

const freePort = () => new Promise((ok) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); }); });
const runArgs = (engine, csv) => [cli, 'run', '--engine_dir', engine, '--backend', 'cuda', '--input_tokens', input, '--max_output_len', '24', '--output_csv', csv];

/** One process (node, unless o.command says otherwise); resolves with its exit code (null: killed at the limit), output and seconds. */
function proc(args, env, o = {}) {
  return new Promise((ok) => {
    const t0 = performance.now();
    const p = spawn(o.command ?? process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    p.stdout.on('data', (d) => (log += d));
    p.stderr.on('data', (d) => (log += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), o.limitMs ?? limitMs);
    o.onStart?.(p);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, log, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

const tokens = (csv) => { try { return readFileSync(csv, 'utf8').trim(); } catch { return undefined; } };
const results = [];
const record = (name, ok, detail) => {
  results.push({ name, ok, ...detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail.summary}`);
};

const want = join(work, 'tp1.csv');
const base = await proc(runArgs(tp1, want), {});
if (base.code !== 0) record('TP 1, one process (the reference)', false, { summary: `exit ${base.code}`, log: base.log });
const reference = tokens(want);

async function launched(name, envOf, o = {}) {
  const port = String(await freePort());
  const csv = join(work, `${name.replace(/\W+/g, '-')}.csv`);
  const runs = await Promise.all([0, 1].map((r) => proc(runArgs(o.engineOf?.(r) ?? tp2, csv), { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, TRTLLM_RENDEZVOUS_TIMEOUT: '60', ...envOf(r) })));
  return { runs, got: tokens(csv) };
}
const torchrunEnv = (r) => ({ RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '2', CUDA_VISIBLE_DEVICES: '0,1' });

// 1. the built-in launcher
{
  const csv = join(work, 'world-size.csv');
  const r = await proc([...runArgs(tp2, csv), '--world_size', '2'], {});
  const got = tokens(csv);
  record('--world_size 2 (forked ranks)', r.code === 0 && got === reference, { summary: `exit ${r.code}, ${r.seconds.toFixed(1)} s, tokens ${got === reference ? 'equal to TP 1' : 'DIFFER'}`, log: r.log });
}
// 2. launcher variables (torchrun-style)
{
  const { runs, got } = await launched('launcher variables', torchrunEnv);
  record('RANK / WORLD_SIZE / LOCAL_RANK, rank 1 over TCP', runs.every((r) => r.code === 0) && got === reference, { summary: `exits ${runs.map((r) => r.code).join(', ')}, ${Math.max(...runs.map((r) => r.seconds)).toFixed(1)} s, tokens ${got === reference ? 'equal to TP 1' : 'DIFFER'}`, logs: runs.map((r) => r.log) });
}
// 3. two "hosts": NCCL over sockets on loopback
{
  const { runs, got } = await launched('two hosts', (r) => ({ RANK: String(r), WORLD_SIZE: '2', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '1', CUDA_VISIBLE_DEVICES: String(r), NCCL_P2P_DISABLE: '1', NCCL_SHM_DISABLE: '1', NCCL_SOCKET_IFNAME: 'lo', NCCL_DEBUG: 'INFO' }));
  const socket = runs.some((r) => /NET\/Socket/.test(r.log));
  record('two "hosts" (NCCL_P2P_DISABLE, NCCL_SHM_DISABLE, sockets on lo)', runs.every((r) => r.code === 0) && got === reference && socket, { summary: `exits ${runs.map((r) => r.code).join(', ')}, NCCL ${socket ? 'on its socket transport' : 'NOT on sockets'}, tokens ${got === reference ? 'equal to TP 1' : 'DIFFER'}`, logs: runs.map((r) => r.log.split('\n').filter((l) => !/NCCL INFO/.test(l) || /NET\//.test(l)).join('\n')) });
}
// 4. mpirun, where Open MPI is installed
if (spawnSync('sh', ['-c', 'command -v mpirun']).status === 0) {
  const csv = join(work, 'mpirun.csv');
  const m = await proc(['--allow-run-as-root', '-np', '2', process.execPath, ...runArgs(tp2, csv)], {}, { command: 'mpirun' });
  const got = tokens(csv);
  record('mpirun -np 2', m.code === 0 && got === reference, { summary: `exit ${m.code}, tokens ${got === reference ? 'equal to TP 1' : 'DIFFER'}`, log: m.log });
} else results.push({ name: 'mpirun -np 2', ok: true, skipped: 'no mpirun on this machine' });
// 5. a rank with another engine under the same path: refused by rank 0, naming rank 1
{
  const swapped = join(work, 'swapped');
  cpSync(other, swapped, { recursive: true });
  const { runs } = await launched('other engine', torchrunEnv, { engineOf: (r) => (r === 0 ? tp2 : swapped) });
  const named = /tensor-parallel rank 1: expected loaded, got rank 1: .*expected rank 0's engine/.test(runs[0].log);
  record('rank 1 with another engine', runs[0].code !== 0 && runs[1].code !== 0 && named, { summary: `exits ${runs.map((r) => r.code).join(', ')}; rank 0 ${named ? 'named rank 1 and the engine' : 'did NOT name it'}`, logs: runs.map((r) => r.log) });
}
// 6. rank 1 killed mid-generation (1,000 new tokens; killed 200 ms after its NCCL communicator is up):
// rank 0 must end within the collective limit (TRTLLM_NCCL_TIMEOUT 20 s here) with the typed error of
// parallel/collective-watch.ts — or sooner, on NCCL's asynchronous error or the lost TCP connection
{
  const long = join(work, 'tp2-long');
  buildEngine({ flags: { ...flags, world_size: 2, max_input_len: 16, max_output_len: 1000 }, outputDir: long });
  const port = String(await freePort());
  const args = [cli, 'run', '--engine_dir', long, '--backend', 'cuda', '--input_tokens', input, '--max_output_len', '1000'];
  let killedAt;
  const runs = await Promise.all(
    [0, 1].map((r) =>
      proc(args, { MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, TRTLLM_NCCL_TIMEOUT: '20', ...torchrunEnv(r), ...(r === 1 ? { NCCL_DEBUG: 'INFO' } : {}) }, {
        limitMs: 90_000,
        onStart: (p) => {
          if (r !== 1) return;
          // NCCL's INFO lines go to stdout or stderr depending on its version: watch both
          const watch = (d) => {
            if (killedAt !== undefined || !/Init COMPLETE/.test(String(d))) return;
            killedAt = performance.now() + 200;
            setTimeout(() => p.kill('SIGKILL'), 200);
          };
          p.stdout.on('data', watch);
          p.stderr.on('data', watch);
        },
      }),
    ),
  );
  const after = killedAt === undefined ? undefined : (performance.now() - killedAt) / 1000;
  const ended = runs[0].code !== null;
  const bounded = /step on rank 0 of 2: expected every rank's collectives \(NCCL\) within 20 s/.test(runs[0].log);
  record('rank 1 killed mid-generation', killedAt !== undefined && ended && after < 30, {
    summary: killedAt === undefined ? 'rank 1 never reported its communicator (not killed)' : ended ? `rank 0 ended ${after.toFixed(1)} s after the kill, exit ${runs[0].code}${/rank 1/.test(runs[0].log) ? ', naming rank 1' : ''}${bounded ? ' (the collective limit)' : ''}` : 'rank 0 did not end within 90 s: held inside NCCL despite the collective limit',
    logs: runs.map((r) => r.log.slice(-2000)),
  });
}

const device = `${g.name} × ${g.count}`;
const md = [`# TP launch check — ${device}, ${new Date().toISOString()}`, '', '| run | result |', '| --- | --- |', ...results.map((r) => `| ${r.name} | ${r.skipped ? `skipped: ${r.skipped}` : `${r.ok ? 'ok' : '**FAILED**'}: ${r.summary}`} |`), ''].join('\n');
writeFileSync(join(out, 'tp-launch.md'), md);
writeFileSync(join(out, 'tp-launch.json'), JSON.stringify({ device, reference, results }, null, 2));
console.log(md);
rmSync(work, { recursive: true, force: true });
process.exit(results.every((r) => r.ok) ? 0 : 1);
