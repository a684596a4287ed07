#!/usr/bin/env node
// A random-weight quantized engine of a benchmark shape, built once into a directory, so that several
// runs (trtllm benchmark --engine_dir, profile-step, A/B of kernel settings) time the same engine
// without paying its calibration and quantization each time. The recipe is trtllm benchmark
// --quantization's (its exported engineFlags, calibrationPrompts, quantizeRandomWeights, buildQuantized):
// the fp16 random weights of seed 0, calibrated on 16 prompts on the cuda backend (ref without a GPU),
// quantized in memory (SmoothQuant α 0.5 / FP8 / KV scales), then built.
//   node scripts/bench/quantized-engine.mjs --model gpt2-xl --quantization int8_sq_per_token_channel \
//     [--max_batch_size 64 --max_input_len 128 --max_output_len 128] [--n_layer N] --out DIR
import { parseArgs } from 'node:util';
import { gpuStatus, resolveBuildConfig } from '@trtllm/engine';
import { buildQuantized, calibrationPrompts, engineFlags, QUANTIZATIONS, quantizeRandomWeights, SHAPES } from '../../tools/dist/benchmark.js';

/**
 * Build the engine: `shape` one of SHAPES, `quantization` one of QUANTIZATIONS, `limits` { batch, input,
 * output } — the benchmark's flags, calibration prompts and quantization (tools/src/benchmark.ts).
 */
export async function buildQuantizedEngine({ shape, quantization, limits, outputDir, nLayer, backend, onProgress }) {
  const mode = QUANTIZATIONS[quantization];
  if (!mode) throw new Error(`quantized-engine: unknown --quantization '${quantization}' (${Object.keys(QUANTIZATIONS).join(', ')})`);
  if (!SHAPES[shape]) throw new Error(`quantized-engine: unknown --model '${shape}' (${Object.keys(SHAPES).join(', ')})`);
  const flags = engineFlags({ ...SHAPES[shape], ...(nLayer ? { n_layer: nLayer } : {}), dtype: 'float16' }, limits, mode);
  const vocab = resolveBuildConfig({ ...flags, int8_kv_cache: false, fp8_kv_cache: false }).model.vocabSize;
  const r = await quantizeRandomWeights(flags, calibrationPrompts(limits.input, vocab), mode, { backend: { backend, ...(backend === 'cuda' ? { kernels: 'production' } : {}) }, ...(onProgress ? { onCalibrate: onProgress } : {}) });
  buildQuantized(flags, outputDir, r);
  return { flags, backend: r.backend };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'gpt2' }, quantization: { type: 'string', default: 'int8_sq_per_token_channel' }, max_batch_size: { type: 'string', default: '64' }, max_input_len: { type: 'string', default: '128' }, max_output_len: { type: 'string', default: '128' }, n_layer: { type: 'string' }, out: { type: 'string' } } });
  if (!values.out) throw new Error('quantized-engine: --out DIR is needed');
  const t0 = performance.now();
  const backend = (await gpuStatus()).ok ? 'cuda' : 'ref';
  const r = await buildQuantizedEngine({
    shape: values.model, quantization: values.quantization, outputDir: values.out, backend,
    limits: { batch: Number(values.max_batch_size), input: Number(values.max_input_len), output: Number(values.max_output_len) },
    ...(values.n_layer ? { nLayer: Number(values.n_layer) } : {}),
  });
  console.log(`quantized-engine: ${values.model}${values.n_layer ? ` (${values.n_layer} layers)` : ''} ${values.quantization}, calibrated on ${r.backend}, built into ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
