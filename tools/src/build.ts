/**
 * `trtllm build` — the seed's examples/gpt/build.py: an engine directory from an FT checkpoint
 * (`--model_dir`, the output of `trtllm convert`) or from seeded random weights of a given shape,
 * with the seed's flag names, implied settings and checks (ARCHITECTURE.md, Compatibility with the seed).
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { buildEngineAsync, type BuildFlags, type DTypeName } from '@trtllm/engine';
import { positiveInt, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { progressBar } from './progress.js';

export const BUILD_HELP = `Usage: trtllm build [--model_dir FT_DIR | shape flags] [flags]

Builds an engine directory: config.json + gpt_<dtype>_tp<W>_rank<r>.engine per rank.

Weights:
  --model_dir DIR                 FT checkpoint (trtllm convert's <out>/<tp>-gpu); the shape comes from its config.ini
  --vocab_size N (51200) --n_layer N (24) --n_positions N (1024) --n_embd N (1024) --n_head N (16)
  --hidden_act gelu|gelu_new|gelu_fast|swiglu (gelu) --inter_size N (4·n_embd) --rotary_pct F (0)
  --no_bias                       no biases (random weights; the seed inverted this flag: we do not)
  -mq, --multi_query_mode         one K/V head (random weights)
  --random_seed N (0)
  --threads N                     worker threads drawing random weights, each weight once, every rank's share
                                  written in place (default: every core; the same bytes for any N)
  --tokenizer_dir DIR             copy vocab.json + merges.txt / tokenizer.json into the engine dir
Precision and limits:
  --dtype float32|float16|bfloat16  (float16; with --model_dir: the checkpoint's, and an explicit
                                  --dtype converts the weights and says so, never silently)
  --logits_dtype float32|float16 (float32)
  --max_batch_size N (256) --max_input_len N (200) --max_output_len N (200) --max_beam_width N (1)
  --max_num_tokens N              tokens per step (max_batch_size · max_input_len)
  --world_size N (1)              tensor parallelism: one rank file each
Kernel paths (plugins select the matching kernels; a bare flag takes --dtype):
  --use_gpt_attention_plugin [T] --use_gemm_plugin [T] --use_layernorm_plugin [T] --use_lookup_plugin [T]
  --enable_context_fmha | --enable_context_fmha_fp32_acc
  --remove_input_padding --paged_kv_cache --tokens_per_block N (64)
  --use_inflight_batching         turns on the attention plugin, paged KV cache and packed input
  --max_prompt_embedding_table_size N --use_parallel_embedding --embedding_sharding_dim 0|1
  --use_embedding_sharing
  --parallel_build                accepted (the seed's): builds are parallel already, see --threads
  --output_dir DIR (gpt_outputs) --log_level L
Quantization:
  --use_smooth_quant              SmoothQuant INT8 GEMMs from a convert -sq checkpoint (--model_dir):
                                  its INT8 weights and scales; per-tensor static activation scales
  --per_token                     with --use_smooth_quant: activations quantized per token, on the fly
  --per_channel                   with --use_smooth_quant: weight scales per output channel
  --int8_kv_cache                 KV cache stored in INT8 (half of fp16's bytes): K and V scales per
                                  layer from a convert -kv checkpoint (a seed-made one: its one shared
                                  scale); combines with --use_smooth_quant, paging, TP
  --fp8_kv_cache                  KV cache stored in FP8 e4m3, scales from convert -kv; needs the
                                  attention plugin (as the seed)
  --enable_fp8                    FP8 e4m3 GEMMs (per-tensor scales) from a convert --qformat fp8 checkpoint;
                                  on the GPU on FP8 tensor cores (compute capability 8.9+)
Not yet (refused with a message): --use_weight_only.
`;

const OPTIONAL_VALUE = ['--use_gpt_attention_plugin', '--use_gemm_plugin', '--use_layernorm_plugin', '--use_lookup_plugin'];
const DTYPES = ['float32', 'float16', 'bfloat16'];
const INT_FLAGS = ['vocab_size', 'n_layer', 'n_positions', 'n_embd', 'n_head', 'inter_size', 'random_seed', 'world_size', 'max_batch_size', 'max_input_len', 'max_output_len', 'max_beam_width', 'max_num_tokens', 'tokens_per_block', 'max_prompt_embedding_table_size', 'embedding_sharding_dim', 'builder_opt', 'gpus_per_node'] as const;
const BOOL_FLAGS = ['no_bias', 'multi_query_mode', 'enable_context_fmha', 'enable_context_fmha_fp32_acc', 'remove_input_padding', 'paged_kv_cache', 'use_inflight_batching', 'use_parallel_embedding', 'use_embedding_sharing', 'parallel_build', 'use_smooth_quant', 'per_token', 'per_channel', 'int8_kv_cache', 'enable_fp8', 'fp8_kv_cache', 'use_weight_only'] as const;

/** The seed's flags: `-mq`, and plugin flags whose dtype value is optional. */
function normalize(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-mq') out.push('--multi_query_mode');
    else if (OPTIONAL_VALUE.includes(a)) out.push(DTYPES.includes(argv[i + 1] ?? '') ? `${a}=${argv[++i]}` : `${a}=`);
    else out.push(a);
  }
  return out;
}

export function parseBuildFlags(argv: readonly string[]): { flags: BuildFlags; outputDir: string; tokenizerDir?: string; threads?: number; logLevel: string } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    model_dir: { type: 'string' }, dtype: { type: 'string' }, logits_dtype: { type: 'string' }, hidden_act: { type: 'string' }, rotary_pct: { type: 'string' },
    use_gpt_attention_plugin: { type: 'string' }, use_gemm_plugin: { type: 'string' }, use_layernorm_plugin: { type: 'string' }, use_lookup_plugin: { type: 'string' },
    output_dir: { type: 'string' }, tokenizer_dir: { type: 'string' }, threads: { type: 'string' }, log_level: { type: 'string' }, timing_cache: { type: 'string' }, weight_only_precision: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of INT_FLAGS) options[f] = { type: 'string' };
  for (const f of BOOL_FLAGS) options[f] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: normalize(argv), options, strict: true }) as { values: Record<string, string | boolean | undefined> });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${BUILD_HELP}`);
  }
  if (values['help']) return { flags: {}, outputDir: '', logLevel: 'help' };
  const flags: Record<string, unknown> = {};
  for (const f of INT_FLAGS) {
    const v = values[f];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`--${f} must be an integer, got '${String(v)}'`);
    flags[f] = n;
  }
  for (const f of BOOL_FLAGS) if (values[f]) flags[f] = true;
  for (const f of ['dtype', 'logits_dtype'] as const) {
    const v = values[f];
    if (v !== undefined && !DTYPES.includes(v as string)) throw new UsageError(`--${f} must be float32, float16 or bfloat16, got '${String(v)}'`);
    if (v !== undefined) flags[f] = v;
  }
  for (const f of ['use_gpt_attention_plugin', 'use_gemm_plugin', 'use_layernorm_plugin', 'use_lookup_plugin'] as const) {
    const v = values[f];
    if (v === undefined) continue;
    if (v !== '' && !DTYPES.includes(v as string)) throw new UsageError(`--${f} takes float32, float16 or bfloat16 (or nothing: --dtype), got '${String(v)}'`);
    flags[f] = v === '' ? true : (v as DTypeName);
  }
  if (values['model_dir'] !== undefined) flags['model_dir'] = values['model_dir'];
  if (values['hidden_act'] !== undefined) flags['hidden_act'] = values['hidden_act'];
  if (values['rotary_pct'] !== undefined) {
    const r = Number(values['rotary_pct']);
    if (!(r >= 0 && r <= 1)) throw new UsageError(`--rotary_pct must be in [0, 1], got '${String(values['rotary_pct'])}'`);
    flags['rotary_pct'] = r;
  }
  if (flags['embedding_sharding_dim'] !== undefined && ![0, 1].includes(flags['embedding_sharding_dim'] as number)) throw new UsageError('--embedding_sharding_dim must be 0 or 1');
  const tokenizerDir = values['tokenizer_dir'] as string | undefined;
  const threads = positiveInt('--threads', values['threads'] as string | undefined, availableParallelism());
  return { flags: flags as BuildFlags, outputDir: (values['output_dir'] as string | undefined) ?? 'gpt_outputs', ...(tokenizerDir ? { tokenizerDir } : {}), threads, logLevel: (values['log_level'] as string | undefined) ?? 'info' };
}

export async function build(argv: readonly string[], io: CliIO): Promise<number> {
  const p = parseBuildFlags(argv);
  if (p.logLevel === 'help') {
    io.out(BUILD_HELP);
    return 0;
  }
  const started = performance.now();
  return withLibraryErrors('build', io, async () => {
    const bar = progressBar(io, 'writing engines');
    const r = await buildEngineAsync({ flags: p.flags, outputDir: p.outputDir, threads: p.threads ?? 1, ...(p.tokenizerDir ? { tokenizerDir: p.tokenizerDir } : {}), onProgress: (d, t, unit) => bar.update(d, t, `${unit} ${d}/${t}`) });
    bar.end();
    for (const n of r.notes) io.out(`note: ${n}\n`);
    const m = r.config.model;
    io.out(`built ${r.dir}: ${m.nLayer} layers, n_embd ${m.nEmbd}, n_head ${m.nHead}${m.nKvHead === 1 ? ' (multi-query)' : ''}, vocab ${m.vocabSize}, ${r.config.model.dtype}, tp ${r.config.worldSize}, ${r.config.kvCache.kind} KV cache; ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
    return 0;
  });
}
