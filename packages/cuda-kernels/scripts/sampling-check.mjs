#!/usr/bin/env node
// Device sampling against the oracle, and its cost beside the argmax kernel, same GPU, same run.
//  1. Parity: N seeded requests (default 1,000) of mixed settings — temperature 0 … 1.5, top-k 0/1/20/50/200,
//     top-p 1/0.95/0.9/0.5, repetition penalty 1 or 1.2 over ~200 seen ids, the end id banned or not —
//     each over its own GPT-2-vocabulary logits row (σ 0.5 … 5: peaked to near-flat); the device's token
//     (sampleRows) in batches of 1, 8 and 64 against ref-math sampleToken. Any difference is a failure.
//  2. Cost: sampleRows and argmaxRows on the same logits [B, 50257], B = 1, 8, 64, for two settings
//     (temperature 0.8 + top-k 50 + top-p 0.9; temperature 1 alone, the whole vocabulary) and two logit
//     kinds (σ 2; σ 0.01 near-flat: every token a candidate, the deepest descents); mean µs per call over
//     back-to-back launches (CUDA events).
//   node packages/cuda-kernels/scripts/sampling-check.mjs --out DIR [--requests N] [--iters N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fromValues, mulberry32, normalSampler, sampleToken, seededRandom } from '@trtllm/ref-math';
import { addonIfBuilt, argmaxRows, CudaEvent, DeviceTensor, isAvailable, packSampling, sampleRows, samplingTensors, sampleWorkspaceSize } from '../dist/index.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'gpu-report' }, requests: { type: 'string', default: '1000' }, iters: { type: 'string', default: '50' } } });
mkdirSync(values.out, { recursive: true });
const avail = isAvailable();
if (!avail.ok) {
  console.error(`sampling-check: ${avail.reason}`);
  process.exit(2);
}
const V = 50257;
const N = Number(values.requests);
const header = `${avail.device.name}, node ${process.version}, ${new Date().toISOString()}`;
console.log(`sampling-check: ${header}`);

/** n logits rows of V values, row r with σ sigma(r), seeded. */
function logitsRows(n, seed, sigma) {
  const normal = normalSampler(seededRandom(seed));
  const x = new Float32Array(n * V);
  for (let r = 0; r < n; r++) {
    const s = sigma(r);
    for (let i = 0; i < V; i++) x[r * V + i] = normal(0, s);
  }
  return x;
}

// 1. parity
const next = mulberry32(2026);
const pick = (xs) => xs[next() % xs.length];
const rows = Array.from({ length: N }, () => {
  const rep = pick([1, 1, 1.2]);
  return {
    temperature: pick([0, 0.5, 0.8, 1, 1.5]), topK: pick([0, 0, 1, 20, 50, 200]), topP: pick([1, 1, 0.95, 0.9, 0.5]), repetitionPenalty: rep,
    seen: rep === 1 ? [] : Array.from({ length: 200 }, () => next() % (V + 20)), banned: pick([-1, -1, 50256]), draw: next(),
  };
});
const sigmas = [0.5, 1, 2, 3, 5];
const logits = logitsRows(N, 7, (r) => sigmas[r % sigmas.length]);
const t0 = performance.now();
const want = rows.map((row, r) => sampleToken(logits.subarray(r * V, (r + 1) * V), row));
const oracleSec = (performance.now() - t0) / 1000;
console.log(`oracle: ${N} rows in ${oracleSec.toFixed(1)} s`);

/** Upload rows [from, from + n) with their settings and run sampleRows; returns the ids. */
function deviceTokens(x, settings, from, n) {
  const host = { x: fromValues('f32', [n, V], x.subarray(from * V, (from + n) * V)), ...samplingTensors(packSampling(settings.slice(from, from + n))) };
  const d = Object.fromEntries(Object.entries(host).map(([k, t]) => [k, DeviceTensor.from(t)]));
  const workspace = DeviceTensor.empty('i32', [sampleWorkspaceSize(n, V)]);
  const ids = sampleRows({ ...d, workspace });
  const out = Array.from(ids.toHost().data);
  for (const t of [...Object.values(d), workspace, ids]) t.free();
  return out;
}
const parity = [];
for (const batch of [1, 8, 64]) {
  const got = [];
  for (let from = 0; from < N; from += batch) got.push(...deviceTokens(logits, rows, from, Math.min(batch, N - from)));
  const bad = got.flatMap((g, r) => (g === want[r] ? [] : [{ request: r, device: g, oracle: want[r], settings: { ...rows[r], seen: `${rows[r].seen.length} ids` } }]));
  parity.push({ batch, requests: N, equal: N - bad.length, mismatches: bad.slice(0, 10) });
  console.log(`parity batch ${batch}: ${N - bad.length} / ${N} tokens equal to the oracle`);
}

// 2. cost
const iters = Number(values.iters);
const [start, end] = [new CudaEvent(), new CudaEvent()];
const addon = addonIfBuilt();
function time(run) {
  run();
  addon.spin(200 + 60 * iters); // the host enqueues every launch while the GPU spins: device time back to back
  start.record();
  for (let i = 0; i < iters; i++) run();
  end.record();
  return (end.elapsedSince(start) / iters) * 1000;
}
const cost = [];
for (const [kind, sigma] of [['σ 2', 2], ['σ 0.01 (near-flat)', 0.01]]) {
  for (const batch of [1, 8, 64]) {
    const x = DeviceTensor.from(fromValues('f32', [batch, V], logitsRows(batch, 11, () => sigma)));
    const workspace = DeviceTensor.empty('i32', [sampleWorkspaceSize(batch, V)]);
    const argmaxUs = time(() => argmaxRows(x).free());
    for (const [name, s] of [['T 0.8, top-k 50, top-p 0.9', { temperature: 0.8, topK: 50, topP: 0.9 }], ['T 1', { temperature: 1, topK: 0, topP: 1 }]]) {
      const settings = Array.from({ length: batch }, (_, i) => ({ ...s, repetitionPenalty: 1, seen: [], banned: -1, draw: (i * 2654435761) >>> 0 }));
      const d = Object.fromEntries(Object.entries(samplingTensors(packSampling(settings))).map(([k, t]) => [k, DeviceTensor.from(t)]));
      const us = time(() => sampleRows({ x, ...d, workspace }).free());
      cost.push({ logits: kind, batch, settings: name, sampleUs: us, argmaxUs, ratio: us / argmaxUs });
      console.log(`cost ${kind} batch ${batch} ${name}: sampleRows ${us.toFixed(1)} µs, argmax ${argmaxUs.toFixed(1)} µs`);
      Object.values(d).forEach((t) => t.free());
    }
    x.free();
    workspace.free();
  }
}

const failed = parity.some((p) => p.equal !== p.requests);
const md = [
  `# Device sampling against the oracle — ${header}`,
  '',
  `Parity: ${N} seeded requests of mixed settings, each over its own GPT-2-vocabulary logits (oracle ${oracleSec.toFixed(1)} s on the host).`,
  '',
  '| batch | tokens equal to ref-math sampleToken |',
  '| ---: | ---: |',
  ...parity.map((p) => `| ${p.batch} | ${p.equal} / ${p.requests} |`),
  '',
  `Cost: mean µs per call over ${iters} back-to-back launches, logits [B, 50257] on the device.`,
  '',
  '| logits | batch | settings | sampleRows µs | argmax µs |',
  '| --- | ---: | --- | ---: | ---: |',
  ...cost.map((c) => `| ${c.logits} | ${c.batch} | ${c.settings} | ${c.sampleUs.toFixed(1)} | ${c.argmaxUs.toFixed(1)} |`),
  '',
].join('\n');
writeFileSync(join(values.out, 'sampling-check.md'), md);
writeFileSync(join(values.out, 'sampling-check.json'), JSON.stringify({ header, parity, cost }, null, 2) + '\n');
console.log(md);
process.exit(failed ? 1 : 0);
