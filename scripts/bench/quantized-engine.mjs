#!/usr/bin/env node
// A random-weight quantized engine of a benchmark shape, built once into a directory, so that several
// runs (trtllm benchmark --engine_dir, profile-step, A/B of kernel settings) time the same engine
// without paying its calibration and quantization each time. The recipe is trtllm benchmark
// --quantization's: the fp16 random weights of seed 0, calibrated on 16 prompts on the cuda backend
// (ref without a GPU), quantized in memory (SmoothQuant α 0.5 / FP8 / KV scales), then buildEngine.
//   node scripts/bench/quantized-engine.mjs --model gpt2-xl --quantization int8_sq_per_token_channel \
//     [--max_batch_size 64 --max_input_len 128 --max_output_len 128] [--n_layer N] --out DIR
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { buildEngine, gpuStatus, quantizeInMemory, randomWeights, resolveBuildConfig } from '@trtllm/engine';
import { inMemoryQuantization, QUANTIZATIONS, SHAPES } from '../../tools/dist/benchmark.js';

/**
 * Build the engine: `shape` one of SHAPES, `quantization` one of QUANTIZATIONS, limits as the benchmark's
 * (max_num_tokens batch × input). `calibration` prompts of the engine's input length (ids below the vocabulary).
 */
export async function buildQuantizedEngine({ shape, quantization, limits, outputDir, nLayer, backend, onProgress }) {
  const mode = QUANTIZATIONS[quantization];
  if (!mode) throw new Error(`quantized-engine: unknown --quantization '${quantization}' (${Object.keys(QUANTIZATIONS).join(', ')})`);
  if (!SHAPES[shape]) throw new Error(`quantized-engine: unknown --model '${shape}' (${Object.keys(SHAPES).join(', ')})`);
  const flags = {
    ...SHAPES[shape], ...(nLayer ? { n_layer: nLayer } : {}), dtype: 'float16',
    max_batch_size: limits.batch, max_input_len: limits.input, max_output_len: limits.output,
    max_num_tokens: Math.max(limits.batch * limits.input, limits.input), use_inflight_batching: true, enable_context_fmha: true, use_gemm_plugin: 'float16',
    ...(mode.kv === 'int8' ? { int8_kv_cache: true } : mode.kv === 'fp8' ? { fp8_kv_cache: true } : {}),
  };
  const config = resolveBuildConfig({ ...flags, int8_kv_cache: false, fp8_kv_cache: false }).model;
  const vocab = Math.min(config.vocabSize, 50000);
  const calibration = Array.from({ length: 16 }, (_, i) => Array.from({ length: limits.input }, (_, j) => (i * 104729 + j * 7919) % vocab));
  const weights = await randomWeights(config, 0, availableParallelism());
  const r = await quantizeInMemory({ config, weights }, calibration, inMemoryQuantization(mode), { backend: { backend, ...(backend === 'cuda' ? { kernels: 'production' } : {}) }, ...(onProgress ? { onCalibrate: onProgress } : {}) });
  buildEngine({ flags, outputDir, weights: r.weights, ...(r.smoothQuant ? { smoothQuant: r.smoothQuant } : {}), ...(r.fp8 ? { fp8: r.fp8 } : {}), ...(r.kvCacheScales ? { kvCacheScales: r.kvCacheScales } : {}) });
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
