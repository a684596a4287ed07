#!/usr/bin/env node
// CPU micro-benchmarks of the oracle's hot numerics against the peer measured in the same run
// (@petamoriken/float16 for fp16 conversion), with tinybench. Speed lives here, never in tests.
// Run: npm run bench   (builds first; prints a table and writes docs/bench-numerics.json)
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import { Bench } from 'tinybench';
import { expF32, fromF16Bits, gemm, seededRandom, tensor, toF16Bits, toBf16Bits, toFp8E4m3Bits } from '../packages/ref-math/dist/index.js';

const N = 4096;
const rand = seededRandom(1);
// binary32 inputs: every value inside the oracle is one. xd: binary64 inputs, for the generic path.
const xs = Float32Array.from({ length: N }, () => (rand() - 0.5) * 200);
const xd = Float64Array.from({ length: N }, () => (rand() - 0.5) * 200);
const bits = Uint16Array.from(xs, toF16Bits);
const view = new DataView(new ArrayBuffer(2));
let sink = 0;

const bench = new Bench({ time: 400, warmupTime: 100 });
bench
  .add('toF16Bits (ours)', () => { for (let i = 0; i < N; i++) sink ^= toF16Bits(xs[i]); })
  .add('setFloat16 (@petamoriken/float16)', () => { for (let i = 0; i < N; i++) { setFloat16(view, 0, xs[i]); sink ^= view.getUint16(0); } })
  .add('fromF16Bits (ours, table)', () => { for (let i = 0; i < N; i++) sink += fromF16Bits(bits[i]); })
  .add('getFloat16 (@petamoriken/float16)', () => { for (let i = 0; i < N; i++) { view.setUint16(0, bits[i]); sink += getFloat16(view, 0); } })
  .add('toF16Bits (ours, binary64 input: generic)', () => { for (let i = 0; i < N; i++) sink ^= toF16Bits(xd[i]); })
  .add('toBf16Bits (ours)', () => { for (let i = 0; i < N; i++) sink ^= toBf16Bits(xs[i]); })
  .add('toFp8E4m3Bits (ours)', () => { for (let i = 0; i < N; i++) sink ^= toFp8E4m3Bits(xs[i]); })
  .add('expF32 (ours)', () => { for (let i = 0; i < N; i++) sink += expF32(xs[i] / 4); })
  .add('Math.exp (V8, binary64)', () => { for (let i = 0; i < N; i++) sink += Math.exp(xs[i] / 4); });
const a = tensor('f32', [64, 256], Float32Array.from({ length: 64 * 256 }, () => rand()));
const b = tensor('f32', [256, 256], Float32Array.from({ length: 256 * 256 }, () => rand()));
bench.add('gemm f32 64×256×256 (oracle)', () => { sink += gemm({ a, b }).data[0]; });
await bench.run();

const perElem = (name) => bench.tasks.find((t) => t.name === name).result.latency.mean * 1e6 / N; // ns
const rows = bench.tasks.map((t) => {
  const ms = t.result.latency.mean;
  const isGemm = t.name.startsWith('gemm');
  return { name: t.name, ns_per_element: isGemm ? null : (ms * 1e6) / N, ms_per_call: ms, gflops: isGemm ? (2 * 64 * 256 * 256) / (ms * 1e6) : null };
});
console.log(`CPU: ${cpus()[0].model} (${cpus().length} cores), node ${process.version}`);
for (const r of rows) console.log(`${r.name.padEnd(36)} ${r.ns_per_element === null ? `${r.ms_per_call.toFixed(2)} ms/call, ${r.gflops.toFixed(3)} GFLOP/s` : `${r.ns_per_element.toFixed(1)} ns/element`}`);
const ratios = {
  toF16Bits_speedup_vs_petamoriken: perElem('setFloat16 (@petamoriken/float16)') / perElem('toF16Bits (ours)'),
  fromF16Bits_speedup_vs_petamoriken: perElem('getFloat16 (@petamoriken/float16)') / perElem('fromF16Bits (ours, table)'),
  expF32_cost_vs_Math_exp: perElem('expF32 (ours)') / perElem('Math.exp (V8, binary64)'),
};
for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}×`);
writeFileSync(new URL('../docs/bench-numerics.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0].model, cores: cpus().length, node: process.version, rows, ratios, sink: sink !== 0 }, null, 2) + '\n');
