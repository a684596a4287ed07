#!/usr/bin/env node
// NCCL all-reduce on a multi-GPU machine against the oracle (ref-math allReduceSum): one process per
// GPU (CUDA_VISIBLE_DEVICES = its rank), the unique id handed over through a file. Every rank draws
// every rank's partial from the same seeds, so each can compute the oracle's sum itself.
//   node packages/cuda-kernels/scripts/nccl-check.mjs --world 2 --out DIR
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({ options: { world: { type: 'string', default: '2' }, out: { type: 'string', default: 'nccl-report' }, rank: { type: 'string' }, rendezvous: { type: 'string' } } });
const world = Number(values.world);

if (values.rank === undefined) {
  mkdirSync(values.out, { recursive: true });
  const rv = mkdtempSync(join(tmpdir(), 'nccl-id-'));
  const kids = Array.from({ length: world }, (_, r) =>
    spawn(process.execPath, [fileURLToPath(import.meta.url), '--world', String(world), '--out', values.out, '--rank', String(r), '--rendezvous', rv], { stdio: 'inherit', env: { ...process.env, CUDA_VISIBLE_DEVICES: String(r) } }),
  );
  const codes = await Promise.all(kids.map((k) => new Promise((ok) => k.on('exit', ok))));
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}

const rank = Number(values.rank);
const k = await import('@trtllm/cuda-kernels');
const { allReduceSum, fromValues, toF32 } = await import('@trtllm/ref-math');
const a = k.isAvailable();
if (!a.ok) throw new Error(a.reason);
const idFile = join(values.rendezvous, 'id');
let id;
if (rank === 0) {
  id = k.NcclCommunicator.uniqueId();
  writeFileSync(`${idFile}.tmp`, Buffer.from(id));
  renameSync(`${idFile}.tmp`, idFile);
} else {
  while (!existsSync(idFile)) await new Promise((ok) => setTimeout(ok, 20));
  id = new Uint8Array(readFileSync(idFile));
}
const comm = k.NcclCommunicator.init({ worldSize: world, rank, id });
const part = (seed, n) => {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 8);
};
const cases = [];
for (const [dtype, shape] of [['f32', [7, 13]], ['f16', [64, 768]], ['bf16', [64, 768]], ['f16', [3, 50257]], ['f32', [1024, 1024]]]) {
  const n = shape.reduce((x, y) => x * y, 1);
  const parts = Array.from({ length: world }, (_, r) => fromValues(dtype, shape, part(1000 * cases.length + r, n)));
  const want = toF32(allReduceSum(parts));
  const t0 = performance.now();
  const x = k.DeviceTensor.from(parts[rank]);
  const y = comm.allReduceSum(x);
  const got = toF32(y.toHost());
  const ms = performance.now() - t0;
  let diff = 0;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) if (got[i] !== want[i]) (diff++, (maxAbs = Math.max(maxAbs, Math.abs(got[i] - want[i]))));
  cases.push({ dtype, shape, elementsDiffering: diff, maxAbsDiff: maxAbs, bitExact: diff === 0, ms: +ms.toFixed(2) });
  x.free();
  y.free();
}
comm.destroy();
const report = { rank, world, device: a.device.name, nccl: k.addonIfBuilt().libraryInfo().nccl, cases };
writeFileSync(join(values.out, `nccl-rank${rank}.json`), JSON.stringify(report, null, 1));
console.log(`rank ${rank}/${world} on ${a.device.name}: ${cases.filter((c) => c.bitExact).length}/${cases.length} all-reduce cases bit-identical to ref-math allReduceSum`);
// a rank whose sums differ from the oracle fails, and so the launcher (which exits 0 only if every rank did)
process.exitCode = cases.every((c) => c.bitExact) ? 0 : 1;
