#!/usr/bin/env node
// Run the decode GEMM and cuBLASLt on one shape a few times, for a profiler (ncu -k regex:gemm):
//   node scripts/bench/gemm-probe.mjs [--m 1] [--k 768] [--n 2304] [--trans-b] [--iters 3] [--norm] [--kv]
// --norm: the decode GEMM with its fused LayerNorm (a is then the LayerNorm's input), after
// layerNormFast + the plain decode GEMM; --kv: also the QKV GEMM's KV-cache write (heads of 64, MHA:
// N = 3 · heads · 64) into a paged f16 cache.
import { parseArgs } from 'node:util';
import { assignBlocks, createKvCache, fromValues } from '@trtllm/ref-math';
import { DeviceTensor, gemmDecode, gemmLt, layerNormFast, synchronize, uploadKvCache } from '@trtllm/cuda-kernels';

const { values } = parseArgs({ options: { m: { type: 'string', default: '1' }, k: { type: 'string', default: '768' }, n: { type: 'string', default: '2304' }, 'trans-b': { type: 'boolean' }, iters: { type: 'string', default: '3' }, norm: { type: 'boolean' }, kv: { type: 'boolean' } } });
const [m, k, n, iters] = [values.m, values.k, values.n, values.iters].map(Number);
const transB = values['trans-b'] ?? false;
const wave = (len, f, s = 1) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * f) * s);
const a = DeviceTensor.from(fromValues('f16', [m, k], wave(m * k, 0.37)));
const b = DeviceTensor.from(fromValues('f16', transB ? [n, k] : [k, n], wave(n * k, 0.011, 0.05)));
const bias = DeviceTensor.from(fromValues('f16', [n], wave(n, 0.3)));
const inputs = transB ? { a, b } : { a, b, bias };
if (values.norm || values.kv) {
  const gamma = DeviceTensor.from(fromValues('f16', [k], wave(k, 0.07, 0.2).map((v) => v + 1)));
  const norm = values.norm ? { norm: { gamma, beta: bias.view(0, [k]) } } : {};
  let kvWrite = {};
  if (values.kv) {
    const heads = n / 192;
    const host = createKvCache({ numLayers: 1, numSlots: m, numKvHeads: heads, headSize: 64, dtype: 'f16', layout: { kind: 'paged', tokensPerBlock: 16, numBlocks: m, maxBlocksPerSeq: 1 } });
    for (let s = 0; s < m; s++) assignBlocks(host, s, [s]);
    const ids = (f) => DeviceTensor.from(fromValues('i32', [m], Array.from({ length: m }, (_, i) => f(i))));
    kvWrite = { kvWrite: { cache: uploadKvCache(host), layer: 0, slots: ids((i) => i), positions: ids((i) => i % 16), numHeads: heads, error: DeviceTensor.zeros('i32', [1]) } };
  }
  for (let i = 0; i < iters; i++) {
    const h = values.norm ? layerNormFast({ x: a, gamma, beta: bias.view(0, [k]) }) : a;
    gemmDecode({ a: h, b, bias }).free();
    if (h !== a) h.free();
    gemmDecode({ a, b, bias, ...norm, ...kvWrite }).free();
  }
  synchronize();
  console.log(`gemm-probe: M=${m} K=${k} N=${n}, ${iters} × (${values.norm ? 'layerNormFast, ' : ''}gemmDecode, gemmDecode with${values.norm ? ' the LayerNorm' : ''}${values.kv ? ' the KV write' : ''})`);
} else {
  for (let i = 0; i < iters; i++) {
    gemmDecode(inputs, { transB }).free();
    gemmLt(inputs, { transB }).free();
  }
  synchronize();
  console.log(`gemm-probe: M=${m} K=${k} N=${n}${transB ? ' Bt' : ''}, ${iters} × (gemmDecode, gemmLt)`);
}
