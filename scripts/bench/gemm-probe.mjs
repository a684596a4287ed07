#!/usr/bin/env node
// Run the decode GEMM and cuBLASLt on one shape a few times, for a profiler (ncu -k regex:gemm):
//   node scripts/bench/gemm-probe.mjs [--m 1] [--k 768] [--n 2304] [--trans-b] [--iters 3]
import { parseArgs } from 'node:util';
import { fromValues } from '@trtllm/ref-math';
import { DeviceTensor, gemmDecode, gemmLt, synchronize } from '@trtllm/cuda-kernels';

const { values } = parseArgs({ options: { m: { type: 'string', default: '1' }, k: { type: 'string', default: '768' }, n: { type: 'string', default: '2304' }, 'trans-b': { type: 'boolean' }, iters: { type: 'string', default: '3' } } });
const [m, k, n, iters] = [values.m, values.k, values.n, values.iters].map(Number);
const transB = values['trans-b'] ?? false;
const wave = (len, f, s = 1) => Float32Array.from({ length: len }, (_, i) => Math.sin(i * f) * s);
const a = DeviceTensor.from(fromValues('f16', [m, k], wave(m * k, 0.37)));
const b = DeviceTensor.from(fromValues('f16', transB ? [n, k] : [k, n], wave(n * k, 0.011, 0.05)));
const bias = DeviceTensor.from(fromValues('f16', [n], wave(n, 0.3)));
const inputs = transB ? { a, b } : { a, b, bias };
for (let i = 0; i < iters; i++) {
  gemmDecode(inputs, { transB }).free();
  gemmLt(inputs, { transB }).free();
}
synchronize();
console.log(`gemm-probe: M=${m} K=${k} N=${n}${transB ? ' Bt' : ''}, ${iters} × (gemmDecode, gemmLt)`);
