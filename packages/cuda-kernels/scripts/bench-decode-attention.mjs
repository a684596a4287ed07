#!/usr/bin/env node
// Production decode attention at long context over fp16, int8 and fp8 (e4m3) KV pages, same GPU, same
// run: gpt2-xl heads (25 × 64), batch 16 and 64, 2,048 and 4,096 tokens of context per sequence, a paged
// cache (64 tokens per block, each sequence's blocks strided through the pool as after churn). Reports
// each kernel's time, the K+V bytes it must read (the stored bytes: half for int8 / fp8), the bandwidth
// that makes and its fraction of the measured copy bandwidth, and fp16 time / quantized time.
// The page contents are a constant byte (memset): the kernel's work does not depend on the values.
//   node packages/cuda-kernels/scripts/bench-decode-attention.mjs --out DIR [--iters N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tensor } from '@trtllm/ref-math';
import { isAvailable, addonIfBuilt, DeviceTensor, runPerf, measureCeilings, createDeviceKvCache, attentionDecode, DECODE_SPLIT } from '../dist/index.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'gpu-report' }, iters: { type: 'string', default: '20' } } });
mkdirSync(values.out, { recursive: true });
const avail = isAvailable();
if (!avail.ok) {
  console.error(`bench-decode-attention: ${avail.reason}`);
  process.exit(2);
}
const addon = addonIfBuilt();
const header = `${avail.device.name}, node ${process.version}, ${new Date().toISOString()}`;
console.log(`bench-decode-attention: ${header}`);
const ceilings = measureCeilings();

const NH = 25, HS = 64, TPB = 64;
const FILL = { f16: 0x3c, i8: 0x11, fp8e4m3: 0x30 }; // f16 0x3c3c ≈ 1.06; int8 17; e4m3 0x30 = 0.5
const rows = [];
for (const batch of [16, 64]) {
  for (const ctx of [2048, 4096]) {
    const perSeq = ctx / TPB;
    const numBlocks = batch * perSeq;
    const table = tensor('i32', [batch, perSeq], Int32Array.from({ length: batch * perSeq }, (_, i) => (i % perSeq) * batch + Math.floor(i / perSeq)));
    const qkv = DeviceTensor.from(tensor('f16', [batch, (NH + 2 * NH) * HS], Uint16Array.from({ length: batch * 3 * NH * HS }, (_, i) => 0x3800 + (i % 97))));
    const ints = (f) => DeviceTensor.from(tensor('i32', [batch], Int32Array.from({ length: batch }, (_, i) => f(i))));
    const [rowIds, slots, positions] = [ints((i) => i), ints((i) => i), ints(() => ctx - 1)];
    const maxSplits = Math.ceil(ctx / DECODE_SPLIT);
    const partial = DeviceTensor.empty('f32', [batch * NH * maxSplits * (HS + 2)]);
    const error = DeviceTensor.zeros('i32', [1]);
    const cases = [];
    const caches = [];
    for (const dtype of ['f16', 'i8', 'fp8e4m3']) {
      const spec = { numLayers: 1, numSlots: batch, numKvHeads: NH, headSize: HS, dtype, layout: { kind: 'paged', tokensPerBlock: TPB, numBlocks, maxBlocksPerSeq: perSeq }, ...(dtype === 'f16' ? {} : { scales: [{ k: 0.02, v: 0.01 }] }) };
      const cache = createDeviceKvCache(spec, table);
      addon.memset(cache.pools[0].ptr, FILL[dtype], cache.pools[0].bytes);
      caches.push(cache);
      const bytes = batch * ctx * NH * HS * 2 * (dtype === 'f16' ? 2 : 1);
      cases.push({
        name: `${dtype} pages`, op: 'attention', dtype: `f16 decode, ${dtype} cache`, shape: `B ${batch} ctx ${ctx}`, tier: 3, tolerance: { kind: 'exact' }, ref: () => [], bytes, flops: 4 * batch * NH * HS * ctx,
        device: () => ({
          run: () => {
            const out = DeviceTensor.empty('f16', [batch, NH * HS]);
            attentionDecode(cache, 0, { qkv, rows: rowIds, slots, positions, out }, { numHeads: NH, numKvHeads: NH, headSize: HS, numRows: batch, maxSplits }, { partial, error });
            return [out];
          },
          dispose: () => {},
        }),
      });
    }
    const perf = runPerf(cases, ceilings, { iters: Number(values.iters) });
    if (error.toHost().data[0] !== 0) throw new Error(`attentionDecode flagged row ${error.toHost().data[0] - 1}`);
    const t = Object.fromEntries(perf.map((p) => [p.name, p]));
    const row = { batch, ctx, errors: perf.filter((p) => p.error).map((p) => `${p.name}: ${p.error}`) };
    for (const [key, name] of [['f16', 'f16 pages'], ['i8', 'i8 pages'], ['fp8', 'fp8e4m3 pages']]) {
      row[`${key}Ms`] = t[name].msPerRun;
      row[`${key}GBs`] = t[name].gbs;
      row[`${key}OfCopy`] = t[name].fractionOfCopy;
    }
    row.i8Speedup = row.f16Ms / row.i8Ms;
    row.fp8Speedup = row.f16Ms / row.fp8Ms;
    rows.push(row);
    console.log(`B ${batch} ctx ${ctx}: f16 ${row.f16Ms.toFixed(4)} ms (${row.f16GBs.toFixed(0)} GB/s, ${(100 * row.f16OfCopy).toFixed(0)}% of copy), int8 ${row.i8Ms.toFixed(4)} ms (×${row.i8Speedup.toFixed(2)}, ${(100 * row.i8OfCopy).toFixed(0)}%), fp8 ${row.fp8Ms.toFixed(4)} ms (×${row.fp8Speedup.toFixed(2)}, ${(100 * row.fp8OfCopy).toFixed(0)}%)${row.errors.length ? ` ERRORS ${row.errors.join('; ')}` : ''}`);
    for (const c of caches) {
      c.pools[0].free();
      c.blockTable.free();
    }
    for (const x of [qkv, rowIds, slots, positions, partial, error]) x.free();
  }
}

const md = [
  `# Decode attention over fp16 / int8 / fp8 KV pages, gpt2-xl heads (25 × 64)`,
  '',
  `${header}. Copy bandwidth ${ceilings.copyGBs.toFixed(0)} GB/s (device-to-device, measured in the same run). Bytes = the K and V pages read (stored bytes). Speed-up = fp16-page time / quantized-page time.`,
  '',
  '| batch | context | fp16 ms | fp16 GB/s (% copy) | int8 ms | int8 GB/s (% copy) | int8 speed-up | fp8 ms | fp8 GB/s (% copy) | fp8 speed-up |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.batch} | ${r.ctx} | ${r.f16Ms.toFixed(4)} | ${r.f16GBs.toFixed(0)} (${(100 * r.f16OfCopy).toFixed(0)}%) | ${r.i8Ms.toFixed(4)} | ${r.i8GBs.toFixed(0)} (${(100 * r.i8OfCopy).toFixed(0)}%) | ×${r.i8Speedup.toFixed(2)} | ${r.fp8Ms.toFixed(4)} | ${r.fp8GBs.toFixed(0)} (${(100 * r.fp8OfCopy).toFixed(0)}%) | ×${r.fp8Speedup.toFixed(2)} |`),
  '',
].join('\n');
writeFileSync(join(values.out, 'decode-attention-kv.md'), md);
writeFileSync(join(values.out, 'decode-attention-kv.json'), JSON.stringify({ device: avail.device.name, date: new Date().toISOString(), copyGBs: ceilings.copyGBs, rows }, null, 2));
console.log(md);
