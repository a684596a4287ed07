#!/usr/bin/env node
// A short production run to profile one model's steps kernel by kernel (run it under ncu):
//   ncu --profile-from-start off --cache-control none --metrics gpu__time_duration.sum --csv \
//     node scripts/bench/profile-step.mjs [--model gpt2] [--batch 1] [--input 128] [--steps 4] [--graphs] [--gemm_algo decode-kernel] [--smooth_quant | --fp8] [--n_layer N]
// --smooth_quant: a SmoothQuant INT8 engine (per token, per channel, α 0.5) of the same random weights,
// calibrated on 16 prompts on the cuda backend, as trtllm benchmark --quantization int8_sq_per_token_channel builds it.
// A first, unprofiled generate warms up (cuBLASLt tuning, first-use setup); the second is the profiled
// region (cudaProfilerStart/Stop). Without --graphs the decode steps launch kernel by kernel.
// --engine_dir DIR: profile that engine (its shape still named by --model, for the prompt ids' vocabulary).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildEngineAsync, Engine } from '@trtllm/engine';
import { SHAPES } from '../../tools/dist/benchmark.js';
import { buildQuantizedEngine } from './quantized-engine.mjs';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'gpt2' }, batch: { type: 'string', default: '1' }, input: { type: 'string', default: '128' }, steps: { type: 'string', default: '4' }, graphs: { type: 'boolean' }, gemm_algo: { type: 'string' }, smooth_quant: { type: 'boolean' }, fp8: { type: 'boolean' }, n_layer: { type: 'string' }, engine_dir: { type: 'string' } } });
const [b, input, steps] = [Number(values.batch), Number(values.input), Number(values.steps)];
const dir = values.engine_dir ?? mkdtempSync(join(tmpdir(), 'profile-'));
const vocab = SHAPES[values.model].vocab_size; // ids inside every shape's vocabulary (santacoder: 49,280)
const layers = values.n_layer ? { n_layer: Number(values.n_layer) } : {}; // fewer layers: the same kernels per layer, a quicker build
const flags = { ...SHAPES[values.model], ...layers, dtype: 'float16', max_batch_size: b, max_input_len: input, max_output_len: steps + 1, use_inflight_batching: true, enable_context_fmha: true, use_gemm_plugin: 'float16' };
if (values.engine_dir) {
  // an engine built before (quantized-engine.mjs, trtllm build): profiled as it is
} else if (values.smooth_quant) {
  // random weights: the SmoothQuant tensors come in memory, not from a -sq checkpoint (quantized-engine.mjs, the benchmark's recipe)
  await buildQuantizedEngine({ shape: values.model, quantization: 'int8_sq_per_token_channel', outputDir: dir, backend: 'cuda', limits: { batch: b, input, output: steps + 1 }, ...(values.n_layer ? { nLayer: Number(values.n_layer) } : {}) });
} else if (values.fp8) {
  // FP8 GEMMs (e4m3 weights, per-tensor scales), as trtllm benchmark --quantization fp8 builds them
  await buildQuantizedEngine({ shape: values.model, quantization: 'fp8', outputDir: dir, backend: 'cuda', limits: { batch: b, input, output: steps + 1 }, ...(values.n_layer ? { nLayer: Number(values.n_layer) } : {}) });
} else {
  await buildEngineAsync({ flags, outputDir: dir, threads: 16 });
}
const e = await Engine.load(dir, { backend: 'cuda', kernels: 'production', cudaGraphs: values.graphs ?? false, ...(values.gemm_algo ? { gemmAlgo: values.gemm_algo } : {}) });
const reqs = Array.from({ length: b }, (_, i) => ({ tokens: Array.from({ length: input }, (_, j) => (i * 7919 + j * 104729) % vocab), maxNewTokens: steps + 1, endId: null }));
await e.generate(reqs);
const k = await import('@trtllm/cuda-kernels');
k.addonIfBuilt().profilerRange(true);
const t0 = performance.now();
await e.generate(reqs);
k.addonIfBuilt().profilerRange(false);
console.log(`profile-step: ${values.model}${values.smooth_quant ? ' SmoothQuant INT8' : values.fp8 ? ' FP8' : ''} batch ${b}, ${input} + ${steps + 1} tokens in ${(performance.now() - t0).toFixed(1)} ms; ${JSON.stringify(e.stepStats)}`);
e.dispose();
console.log(k.gemmLtAlgorithms());
if (!values.engine_dir) rmSync(dir, { recursive: true, force: true });
