#!/usr/bin/env node
// SmoothQuant INT8 linear layers against fp16 on the same GPU, same run, gpt2-xl shapes (K×N =
// 1600×4800 QKV, 1600×1600 dense, 1600×6400 FC, 6400×1600 proj): for each M, the fastest fp16
// production GEMM (cuBLASLt with the bias in its epilogue; at M ≤ 64 also the fp16 decode GEMMs, [K,N] as the engine's linear
// layers and [N,K]), the INT8 GEMM alone (cuBLASLt IMMA, int32 out), the INT8 layer as cuBLASLt runs
// it (per-token quantize + IMMA + the epilogue with the bias), and at M ≤ 64 int8GemmDecode on int8
// activations (the GEMM and the epilogue in one kernel) and the INT8 layer without a LayerNorm before
// it both ways: per-token quantize + int8GemmDecode, and at M ≤ 16 int8GemmDecode quantizing inside
// (one kernel). Ratios are fp16 time / INT8 time (> 1: INT8 faster). Writes int8-gemm.md and .json to --out.
//   node packages/cuda-kernels/scripts/bench-int8-gemm.mjs --out DIR [--iters N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tensor } from '@trtllm/ref-math';
import { isAvailable, DeviceTensor, runPerf, measureCeilings, gemmLt, gemmDecode, gemmDecodeUnsupported, int8GemmLt, int8GemmLtAlgorithms, int8GemmDecode, INT8_DECODE_MAX_QUANTIZE_ROWS, quantizePerToken, smoothQuantEpilogue } from '../dist/index.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'gpu-report' }, iters: { type: 'string', default: '20' } } });
mkdirSync(values.out, { recursive: true });
const avail = isAvailable();
if (!avail.ok) {
  console.error(`bench-int8-gemm: ${avail.reason}`);
  process.exit(2);
}
const header = `${avail.device.name}, node ${process.version}, ${new Date().toISOString()}`;
console.log(`bench-int8-gemm: ${header}`);

/** Deterministic pseudo-random host data (an LCG): the values do not matter to the timing, only that they are not all equal. */
function hostData(dtype, shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  let x = seed >>> 0;
  const next = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  if (dtype === 'i8') return tensor('i8', shape, Int8Array.from({ length: n }, () => Math.floor(next() * 255) - 127));
  if (dtype === 'f32') return tensor('f32', shape, Float32Array.from({ length: n }, () => 0.001 + next() * 0.001));
  // f16 bits of values in ±[0.5, 1): sign, exponent 14, a random mantissa
  return tensor('f16', shape, Uint16Array.from({ length: n }, () => ((next() < 0.5 ? 0x8000 : 0) | (14 << 10) | Math.floor(next() * 1024))));
}

let measured;
const ceilings = () => (measured ??= measureCeilings());

const SHAPES = [['qkv', 1600, 4800], ['dense', 1600, 1600], ['fc', 1600, 6400], ['proj', 6400, 1600]];
const MS = [1, 8, 16, 32, 64, 512, 1024, 2048];
const DECODE_ROWS = 64; // int8GemmDecode is timed up to here (the engine uses it up to 16 rows: where it wins below)
const rows = [];
for (const [name, k, n] of SHAPES) {
  const w16 = DeviceTensor.from(hostData('f16', [k, n], 1));
  const wT16 = DeviceTensor.from(hostData('f16', [n, k], 5));
  const w8 = DeviceTensor.from(hostData('i8', [n, k], 2));
  const bias = DeviceTensor.from(hostData('f16', [n], 3));
  const scaleW = DeviceTensor.from(hostData('f32', [n], 4));
  for (const m of MS) {
    const x = DeviceTensor.from(hostData('f16', [m, k], 10 + m));
    const q = DeviceTensor.from(hostData('i8', [m, k], 20 + m));
    const alphaRow = DeviceTensor.from(hostData('f32', [m], 30 + m));
    const mk = (label, run, bytes) => ({ name: label, op: 'int8-gemm', dtype: '', shape: `${m}×${k}×${n}`, tier: 1, tolerance: { kind: 'exact' }, ref: () => [], bytes, flops: 2 * m * n * k, device: () => ({ run, dispose: () => {} }) });
    const cases = [
      mk('fp16 cuBLASLt +bias', () => [gemmLt({ a: x, b: w16, bias }, {})], 2 * (m * k + k * n + m * n)),
      mk('int8 IMMA (int32 out)', () => [int8GemmLt({ a: q, b: w8 })], m * k + k * n + 4 * m * n),
      mk('int8 layer (quantize + IMMA + epilogue)', () => {
        const p = quantizePerToken({ x });
        const acc = int8GemmLt({ a: p.q, b: w8 });
        const y = smoothQuantEpilogue({ acc, alphaRow: p.scale, alphaCol: scaleW, bias }, { outDtype: 'f16', mode: { perToken: true, perChannel: true } });
        return [p.q, p.scale, acc, y];
      }, 3 * m * k + k * n + 10 * m * n),
    ];
    if (m <= DECODE_ROWS) {
      if (gemmDecodeUnsupported(n, k, false, 'f16') === '') cases.push(mk('fp16 decode GEMM [K,N] +bias', () => [gemmDecode({ a: x, b: w16, bias })], 2 * (m * k + k * n + m * n)));
      if (gemmDecodeUnsupported(n, k, true, 'f16') === '') cases.push(mk('fp16 decode GEMM [N,K] +bias', () => [gemmDecode({ a: x, b: wT16, bias }, { transB: true })], 2 * (m * k + k * n + m * n)));
      const sq = { outDtype: 'f16', mode: { perToken: true, perChannel: true } };
      cases.push(
        mk('int8 decode GEMM + epilogue (one kernel)', () => [int8GemmDecode({ a: q, b: w8, alphaRow, alphaCol: scaleW, bias }, sq)], m * k + k * n + 2 * m * n),
        // a layer without a LayerNorm before it (dense, proj): quantizePerToken first, then the decode GEMM
        mk('int8 decode layer', () => {
          const p = quantizePerToken({ x });
          return [p.q, p.scale, int8GemmDecode({ a: p.q, b: w8, alphaRow: p.scale, alphaCol: scaleW, bias }, sq)];
        }, 3 * m * k + k * n + 2 * m * n),
      );
    }
    // … or the decode GEMM quantizing them itself (one kernel; each block re-reads the rows)
    if (m <= INT8_DECODE_MAX_QUANTIZE_ROWS) cases.push(mk('int8 decode layer, quantized inside', () => [int8GemmDecode({ a: x, b: w8, alphaCol: scaleW, bias }, { outDtype: 'f16', mode: { perToken: true, perChannel: true } })], 2 * m * k + k * n + 2 * m * n));
    const perf = runPerf(cases, ceilings(), { iters: Number(values.iters) });
    const t = Object.fromEntries(perf.map((p) => [p.name, p]));
    const fp16Kinds = [['fp16 cuBLASLt +bias', 'cuBLASLt'], ['fp16 decode GEMM [K,N] +bias', 'decode GEMM [K,N]'], ['fp16 decode GEMM [N,K] +bias', 'decode GEMM [N,K]']].filter(([c]) => t[c]);
    const [fp16Case, fp16Kernel] = fp16Kinds.reduce((best, kind) => (t[kind[0]].msPerRun < t[best[0]].msPerRun ? kind : best));
    const row = {
      shape: name, m, k, n,
      fp16Ms: t[fp16Case].msPerRun, fp16Kernel,
      int8GemmMs: t['int8 IMMA (int32 out)'].msPerRun, int8LayerMs: t['int8 layer (quantize + IMMA + epilogue)'].msPerRun,
      ...(m <= DECODE_ROWS ? { int8DecodeGemmMs: t['int8 decode GEMM + epilogue (one kernel)'].msPerRun, int8DecodeLayerMs: t['int8 decode layer'].msPerRun } : {}),
      ...(t['int8 decode layer, quantized inside'] ? { int8InsideLayerMs: t['int8 decode layer, quantized inside'].msPerRun } : {}),
      errors: perf.filter((p) => p.error).map((p) => `${p.name}: ${p.error}`),
    };
    row.gemmRatio = row.fp16Ms / row.int8GemmMs;
    row.layerRatio = row.fp16Ms / row.int8LayerMs;
    if (row.int8DecodeGemmMs !== undefined) {
      row.decodeGemmRatio = row.fp16Ms / row.int8DecodeGemmMs;
      row.decodeLayerRatio = row.fp16Ms / row.int8DecodeLayerMs;
    }
    rows.push(row);
    const inside = row.int8InsideLayerMs === undefined ? '' : `, quantized inside ${row.int8InsideLayerMs.toFixed(4)} ms (×${(row.fp16Ms / row.int8InsideLayerMs).toFixed(2)})`;
    const decode = row.int8DecodeGemmMs === undefined ? '' : `, int8 decode GEMM ${row.int8DecodeGemmMs.toFixed(4)} ms (×${row.decodeGemmRatio.toFixed(2)}), decode layer ${row.int8DecodeLayerMs.toFixed(4)} ms (×${row.decodeLayerRatio.toFixed(2)})${inside}`;
    console.log(`${name} M=${m}: fp16 ${row.fp16Ms.toFixed(4)} ms (${row.fp16Kernel}), int8 GEMM ${row.int8GemmMs.toFixed(4)} ms (×${row.gemmRatio.toFixed(2)}), int8 layer ${row.int8LayerMs.toFixed(4)} ms (×${row.layerRatio.toFixed(2)})${decode}${row.errors.length ? ` ERRORS ${row.errors.join('; ')}` : ''}`);
    for (const t of [x, q, alphaRow]) t.free();
  }
  for (const t of [w16, wT16, w8, bias, scaleW]) t.free();
}


const md = [
  `# SmoothQuant INT8 vs fp16 GEMMs, gpt2-xl shapes\n\n${header}\n`,
  'fp16: the fastest of cuBLASLt (+bias epilogue) and, at M ≤ 64, the decode GEMMs. INT8 GEMM: cuBLASLt IMMA, int32 out. INT8 layer (cuBLASLt): per-token quantize + IMMA + epilogue (scales, bias). At M ≤ 64: int8GemmDecode (the GEMM and the epilogue in one kernel) on int8 activations, and the INT8 layer without a LayerNorm before it: per-token quantize + int8GemmDecode, and at M ≤ 16 int8GemmDecode quantizing inside (one kernel). Ratio = fp16 ms / INT8 ms.\n',
  '| GEMM | M | K×N | fp16 ms | INT8 GEMM ms | ×fp16 | INT8 layer (cuBLASLt) ms | ×fp16 | int8GemmDecode ms | ×fp16 | INT8 layer (quantize + decode) ms | ×fp16 | INT8 layer (quantized inside) ms | ×fp16 |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => {
    const inside = r.int8InsideLayerMs === undefined ? '— | —' : `${r.int8InsideLayerMs.toFixed(4)} | ${(r.fp16Ms / r.int8InsideLayerMs).toFixed(2)}`;
    const decode = r.int8DecodeGemmMs === undefined ? '— | — | — | — | — | —' : `${r.int8DecodeGemmMs.toFixed(4)} | ${r.decodeGemmRatio.toFixed(2)} | ${r.int8DecodeLayerMs.toFixed(4)} | ${r.decodeLayerRatio.toFixed(2)} | ${inside}`;
    return `| ${r.shape} | ${r.m} | ${r.k}×${r.n} | ${r.fp16Ms.toFixed(4)} (${r.fp16Kernel}) | ${r.int8GemmMs.toFixed(4)} | ${r.gemmRatio.toFixed(2)} | ${r.int8LayerMs.toFixed(4)} | ${r.layerRatio.toFixed(2)} | ${decode} |`;
  }),
  '',
  '## cuBLASLt INT8 algorithms\n',
  '```',
  int8GemmLtAlgorithms().trim(),
  '```',
];
writeFileSync(join(values.out, 'int8-gemm.md'), md.join('\n') + '\n');
writeFileSync(join(values.out, 'int8-gemm.json'), JSON.stringify({ header, rows }, null, 1));
process.exit(rows.some((r) => r.errors.length) ? 1 : 0);
