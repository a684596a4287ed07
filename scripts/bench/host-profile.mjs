#!/usr/bin/env node
// The host side of decode steps, from V8's sampling profiler: a random-weight GPT-2-shape engine on the
// cuda backend (production kernels, CUDA graphs), `--runs` generate calls of `--batch` requests of
// 128 prompt tokens and `--steps` new tokens each, profiled after one unprofiled warm-up call. Writes
// DIR/host.cpuprofile (open it in Chrome's DevTools) and DIR/host.json: ms per decode step (as trtllm
// benchmark counts it) and to the first token, and the functions with the most self time (µs per decode
// step, the prompt step and setup spread over them). Uses only the public API
// (buildEngineAsync, Engine.load, generate, stream), so the same file profiles an earlier build when copied
// into its checkout — how an A/B of host cost is made in one device call.
//   node scripts/bench/host-profile.mjs --out DIR [--batch 1] [--steps 128] [--runs 8] [--max_batch 64] [--beams N] [--backend cuda|ref]
// --beams N: beam search of width N (the engine built with max_beam_width N; first-token time not measured).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEngineAsync, Engine } from '@trtllm/engine';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'host-profile' }, batch: { type: 'string', default: '1' }, steps: { type: 'string', default: '128' }, runs: { type: 'string', default: '8' }, max_batch: { type: 'string', default: '64' }, backend: { type: 'string', default: 'cuda' }, beams: { type: 'string', default: '1' } } });
const [batch, steps, runs, maxBatch, beams] = [values.batch, values.steps, values.runs, values.max_batch, values.beams].map(Number);
const refuse = (why) => {
  console.error(`host-profile: ${why}`);
  process.exit(2);
};
for (const [flag, v] of Object.entries({ batch, steps, runs, max_batch: maxBatch, beams })) if (!Number.isInteger(v) || v < 1) refuse(`--${flag} must be a positive integer, got ${values[flag]}`);
if (steps < 2) refuse(`--steps must be at least 2 (a decode step follows the first token), got ${steps}`);
if (batch > maxBatch) refuse(`--batch ${batch} is more than --max_batch ${maxBatch} (the rest would queue)`);
if (!['cuda', 'ref'].includes(values.backend)) refuse(`--backend must be cuda or ref, got ${values.backend}`);
mkdirSync(values.out, { recursive: true });
const input = 128;
const dir = mkdtempSync(join(tmpdir(), 'host-profile-'));
// gpt2's shape, random weights (the benchmark's --model gpt2 without a checkpoint)
const flags = { vocab_size: 50257, n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, dtype: 'float16', max_batch_size: maxBatch, max_input_len: input, max_output_len: steps, use_inflight_batching: true, enable_context_fmha: true, use_gemm_plugin: 'float16', ...(beams > 1 ? { max_beam_width: beams } : {}) };
await buildEngineAsync({ flags, outputDir: dir, threads: 16 });
const e = await Engine.load(dir, values.backend === 'cuda' ? { backend: 'cuda', kernels: 'production' } : { backend: values.backend });
const reqs = Array.from({ length: batch }, (_, i) => ({ tokens: Array.from({ length: input }, (_, j) => (i * 7919 + j * 104729) % 50257), maxNewTokens: steps, endId: null, ...(beams > 1 ? { numBeams: beams } : {}) }));
await e.generate(reqs); // warm-up: cuBLASLt choices, graph capture
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 50 }); // µs
await session.post('Profiler.start');
const walls = [], firsts = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  let first = 0;
  // one request streamed (its first token's time), the rest generated beside it
  const [streamed, ...rest] = reqs;
  const others = rest.length ? e.generate(rest) : Promise.resolve([]);
  if (beams > 1) await e.generate([streamed]); // a beam request's tokens come at its end
  else for await (const ev of e.stream(streamed)) if (!first && ev.token !== undefined) first = performance.now() - t0;
  await others;
  walls.push(performance.now() - t0);
  firsts.push(first);
}
const { profile } = await session.post('Profiler.stop');
session.disconnect();
e.dispose();
rmSync(dir, { recursive: true, force: true });
writeFileSync(join(values.out, 'host.cpuprofile'), JSON.stringify(profile));
// self time per function: samples × their interval, keyed by name and place
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const n = byId.get(profile.samples[i]);
  const f = n.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-3).join('/')}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const decodeSteps = runs * (steps - 1);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
// self time over all runs, the prompt step and setup included, per decode step
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([fn, us]) => ({ fn, usPerStep: +(us / decodeSteps).toFixed(2) }));
// ms per decode step as trtllm benchmark counts it: (wall − first token) / (steps − 1); beams (no first token): wall / steps
const perStep = walls.map((w, r) => (beams > 1 ? w / steps : (w - firsts[r]) / (steps - 1)));
const report = { batch, beams, steps, runs, maxBatch, msPerStep: +median(perStep).toFixed(4), firstTokenMs: beams > 1 ? null : +median(firsts).toFixed(3), wallMs: walls.map((w) => +w.toFixed(2)), top };
writeFileSync(join(values.out, 'host.json'), JSON.stringify(report, null, 1));
console.log(`host-profile: batch ${batch}${beams > 1 ? ` × ${beams} beams` : ''}, ${steps} steps × ${runs}: ${report.msPerStep} ms per decode step (wall, median run)${beams > 1 ? '' : `, first token ${report.firstTokenMs} ms`}; self time per decode step (prompt and setup included):`);
for (const t of top.slice(0, 15)) console.log(`  ${String(t.usPerStep).padStart(8)} µs/step  ${t.fn}`);
