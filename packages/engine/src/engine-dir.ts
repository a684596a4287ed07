/**
 * The engine directory (ARCHITECTURE.md, Files on disk): `config.json` and one `gpt_<dtype>_tp<W>_rank<r>.engine` per
 * rank, plus the tokenizer files when the build was given them.
 *
 * config.json: `builder_config` and `plugin_config` with the keys TensorRT-LLM's builder writes
 * (name, precision, tensor_parallel, num_layers, num_heads, hidden_size, vocab_size, hidden_act,
 * max_position_embeddings, max_batch_size, max_input_len, max_output_len, multi_query_mode,
 * paged_kv_cache, tokens_per_block, …; gpt_attention_plugin, gemm_plugin, remove_input_padding,
 * context_fmha_type, in_flight_batching, …) plus ours: `format_version` and `trtllm_ts` (the full
 * typed BuildConfig, which is what the runtime reads).
 *
 * Engine file, little-endian:
 *   0   8 bytes  magic "TRTLLMTS"
 *   8   u32      format version (ENGINE_FORMAT_VERSION)
 *   12  u32      byte length N of the JSON table
 *   16  N bytes  JSON {rank, worldSize, tensors: [{name, dtype, shape, offset, bytes}]}
 *   …   data, starting at the first multiple of 256 after the table; each tensor at a multiple of
 *       256 from there (offsets are relative to the data start), stored as the kernels read it.
 * Loading is one read of the file; tensors are views of that buffer (no copy).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openFile, readFully } from '@trtllm/loader';
import { quantConfigOf, quantModeOf, type QuantConfig } from '@trtllm/quant';
import { DTYPES, isDType, numel, storageOver, tensor, type DType, type Tensor } from '@trtllm/ref-math';
import { dtypeName, type BuildConfig } from './build-config.js';
import { EngineError } from './errors.js';

export const ENGINE_MAGIC = 'TRTLLMTS';
/**
 * 2: SmoothQuant INT8 weights are stored [N, K] (K contiguous, what INT8 tensor cores read); a
 * version-1 engine stored them [K, N], which a square matrix could not tell apart — so version 1 is
 * refused (rebuild), never misread.
 * 3: FP8 weights likewise [N, K] (what FP8 tensor cores read), q/k/v sharing the fused QKV's scale;
 * version 2 stored them [K, N]: refused, never misread.
 */
export const ENGINE_FORMAT_VERSION = 3;
const ALIGN = 256;

export function engineFileName(c: BuildConfig, rank: number): string {
  return `gpt_${dtypeName(c.model.dtype)}_tp${c.worldSize}_rank${rank}.engine`;
}

export interface TableEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly bytes: number;
}

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Write one rank's tensors as an engine file. */
export function writeEngineFile(path: string, rank: number, worldSize: number, tensors: ReadonlyMap<string, Tensor>): number {
  const layout = engineFileLayout(rank, worldSize, [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, layout.header, 0, layout.header.length, 0);
    for (const e of layout.entries) {
      const t = tensors.get(e.name)!;
      if (t.data.byteLength !== e.bytes) throw new EngineError('format', { what: `${path}: ${e.name}`, expected: `${e.bytes} bytes`, got: `${t.data.byteLength}` });
      writeSync(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 0, e.bytes, layout.dataStart + e.offset);
    }
    ftruncateSync(fd, layout.end); // the file ends at the last tensor's padded end
    return layout.end;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where everything of an engine file goes, from the tensors' names, dtypes and shapes alone: the
 * header (magic, version, table) and each tensor's offset from the data start. A builder that streams
 * tensors in any order writes the header first and each tensor at `dataStart + offset`.
 */
export function engineFileLayout(rank: number, worldSize: number, tensors: readonly { readonly name: string; readonly dtype: DType; readonly shape: readonly number[] }[]): { header: Buffer; dataStart: number; entries: TableEntry[]; end: number } {
  const entries: TableEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    const bytes = numel(t.shape) * DTYPES[t.dtype].bytes;
    entries.push({ name: t.name, dtype: t.dtype, shape: t.shape, offset, bytes });
    offset = align(offset + bytes);
  }
  const json = Buffer.from(JSON.stringify({ rank, worldSize, tensors: entries }));
  const head = Buffer.alloc(16);
  head.write(ENGINE_MAGIC, 0, 'latin1');
  head.writeUInt32LE(ENGINE_FORMAT_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  const dataStart = align(16 + json.length);
  return { header: Buffer.concat([head, json]), dataStart, entries, end: dataStart + offset };
}

/**
 * Read an engine file: the header and table, then each tensor with one positioned read into its own
 * storage (files past 2 GiB, e.g. gpt2-xl fp16, are not one Node buffer); magic, version and table
 * validated against the file's size.
 */
export function readEngineFile(path: string): { rank: number; worldSize: number; tensors: Map<string, Tensor> } {
  if (!existsSync(path)) throw new EngineError('format', { what: path, expected: 'an engine file', got: 'no such file', hint: 'build the engine for every rank (trtllm build --world_size N)' });
  const fail = (expected: string, got: string, hint = 'rebuild the engine with trtllm build'): EngineError => new EngineError('format', { what: path, expected, got, hint });
  const fd = openFile(path, 'an engine file');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(16, size));
    readFully(fd, head, 0, path, 'header');
    if (size < 16 || head.toString('latin1', 0, 8) !== ENGINE_MAGIC) throw fail(`a trtllm-ts engine (magic "${ENGINE_MAGIC}")`, JSON.stringify(head.toString('latin1', 0, Math.min(8, size))), 'this is not an engine built by trtllm build (TensorRT engines are not read)');
    const version = head.readUInt32LE(8);
    if (version !== ENGINE_FORMAT_VERSION) throw fail(`format version ${ENGINE_FORMAT_VERSION}`, `version ${version}`, 'the engine was built by another trtllm-ts version: rebuild it');
    const len = head.readUInt32LE(12);
    if (16 + len > size) throw fail(`a ${len}-byte tensor table`, `a ${size}-byte file`, 'the file is truncated');
    let table: { rank: number; worldSize: number; tensors: TableEntry[] };
    try {
      table = JSON.parse(Buffer.from(readFully(fd, new Uint8Array(len), 16, path, 'tensor table')).toString('utf8')) as typeof table;
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw fail('a JSON tensor table', (e as Error).message);
    }
    const dataStart = align(16 + len);
    const tensors = new Map<string, Tensor>();
    for (const e of table.tensors) {
      if (!isDType(e.dtype) || e.bytes !== numel(e.shape) * DTYPES[e.dtype].bytes) throw fail(`a consistent entry for ${e.name}`, JSON.stringify(e));
      if (dataStart + e.offset + e.bytes > size) throw fail(`${e.name} inside the file`, `bytes up to ${dataStart + e.offset + e.bytes} of ${size}`, 'the file is truncated');
      const bytes = readFully(fd, new Uint8Array(e.bytes), dataStart + e.offset, path, e.name);
      tensors.set(e.name, tensor(e.dtype, e.shape, storageOver(e.dtype, bytes.buffer as ArrayBuffer, 0, numel(e.shape))));
    }
    return { rank: table.rank, worldSize: table.worldSize, tensors };
  } finally {
    closeSync(fd);
  }
}

/** config.json as TensorRT-LLM writes it, plus ours. */
export function engineConfigJson(c: BuildConfig, extra: Record<string, unknown>): string {
  const m = c.model;
  const plugin = (d: BuildConfig['plugins']['gemm']): string | false => (d ? dtypeName(d) : false);
  return JSON.stringify(
    {
      format_version: ENGINE_FORMAT_VERSION,
      builder_config: {
        name: 'gpt',
        precision: dtypeName(m.dtype),
        tensor_parallel: c.worldSize,
        pipeline_parallel: 1,
        num_layers: m.nLayer,
        num_heads: m.nHead,
        num_kv_heads: m.nKvHead,
        hidden_size: m.nEmbd,
        inter_size: m.intermediateSize,
        vocab_size: m.vocabSize,
        hidden_act: m.activation === 'swiglu' ? 'swiglu' : 'gelu',
        max_position_embeddings: m.nPositions,
        rotary_pct: m.rotaryPct,
        bias: m.bias,
        max_batch_size: c.maxBatchSize,
        max_input_len: c.maxInputLen,
        max_output_len: c.maxOutputLen,
        max_beam_width: c.maxBeamWidth,
        max_num_tokens: c.maxNumTokens,
        multi_query_mode: m.nKvHead === 1 && m.nHead > 1,
        paged_kv_cache: c.kvCache.kind === 'paged',
        tokens_per_block: c.kvCache.kind === 'paged' ? c.kvCache.tokensPerBlock : 64,
        use_prompt_tuning: c.maxPromptEmbeddingTableSize > 0,
        max_prompt_embedding_table_size: c.maxPromptEmbeddingTableSize,
        use_parallel_embedding: c.parallelEmbedding !== false,
        embedding_sharding_dim: c.parallelEmbedding ? c.parallelEmbedding.shardingDim : 0,
        share_embedding_table: c.embeddingSharing,
        // TensorRT-LLM's builder_config: quant_mode as its QuantMode integer; int8 / fp8 as its builder sets them
        quant_mode: quantModeOf(c.quant),
        int8: c.quant.weights.kind === 'smoothquant' || c.quant.kv === 'int8',
        fp8: c.quant.weights.kind === 'fp8' || c.quant.kv === 'fp8',
        logits_dtype: dtypeName(m.logitsDtype),
      },
      plugin_config: {
        gpt_attention_plugin: plugin(c.plugins.gptAttention),
        gemm_plugin: plugin(c.plugins.gemm),
        layernorm_plugin: plugin(c.plugins.layernorm),
        lookup_plugin: plugin(c.plugins.lookup),
        nccl_plugin: c.worldSize > 1 ? dtypeName(m.dtype) : false,
        remove_input_padding: c.removeInputPadding,
        context_fmha_type: c.contextFmha === 'disabled' ? 0 : c.contextFmha === 'enabled' ? 1 : 2,
        paged_kv_cache: c.kvCache.kind === 'paged',
        tokens_per_block: c.kvCache.kind === 'paged' ? c.kvCache.tokensPerBlock : 64,
        in_flight_batching: c.inflightBatching,
      },
      trtllm_ts: { build_config: c, ...extra },
    },
    null,
    2,
  );
}

export interface EngineDirConfig {
  readonly build: BuildConfig;
  /** Tokenizer files copied into the engine dir, if any. */
  readonly tokenizer?: string;
  readonly raw: Record<string, unknown>;
}

/**
 * sha256 (hex) of an engine dir's `config.json`: tensor-parallel ranks on other hosts compare it with
 * rank 0's before loading, so a different engine under the same path is refused, not run.
 */
export function engineConfigDigest(dir: string): string {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new EngineError('format', { what: file, expected: 'an engine directory (config.json + *.engine)', got: 'no config.json', hint: 'point --engine_dir at the output of trtllm build' });
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function readEngineConfig(dir: string): EngineDirConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new EngineError('format', { what: file, expected: 'an engine directory (config.json + *.engine)', got: 'no config.json', hint: 'point --engine_dir at the output of trtllm build' });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new EngineError('format', { what: file, expected: 'JSON', got: (e as Error).message });
  }
  if (raw['format_version'] !== ENGINE_FORMAT_VERSION) {
    throw new EngineError('format', { what: `${file}: format_version`, expected: String(ENGINE_FORMAT_VERSION), got: JSON.stringify(raw['format_version']), hint: 'a TensorRT-LLM engine dir, or one from another trtllm-ts version: rebuild it with trtllm build' });
  }
  const ours = raw['trtllm_ts'] as { build_config?: BuildConfig; tokenizer?: string } | undefined;
  if (!ours?.build_config?.model) throw new EngineError('format', { what: `${file}: trtllm_ts.build_config`, expected: 'the build config', got: 'none' });
  // the quantization is read from TensorRT-LLM's quant_mode (absent: none) and must agree with ours
  const mode = (raw['builder_config'] as { quant_mode?: unknown } | undefined)?.quant_mode ?? 0;
  let quant: QuantConfig;
  try {
    quant = quantConfigOf(mode as number, `${file}: builder_config.quant_mode`);
  } catch (e) {
    throw new EngineError('format', { what: `${file}: builder_config.quant_mode`, expected: 'a quant_mode this engine builds', got: (e as Error).message });
  }
  if (ours.build_config.quant !== undefined && quantModeOf(ours.build_config.quant) !== quantModeOf(quant)) {
    throw new EngineError('format', { what: `${file}: builder_config.quant_mode`, expected: `${quantModeOf(ours.build_config.quant)} (trtllm_ts.build_config.quant)`, got: String(mode), hint: 'the two disagree: rebuild the engine with trtllm build' });
  }
  // an int8 / fp8 cache needs each layer's K and V scales (trtllm_ts.build_config.kvCacheScales)
  if (quant.kv !== 'float') {
    const scales = ours.build_config.kvCacheScales as unknown;
    const layers = ours.build_config.model.nLayer;
    const ok = Array.isArray(scales) && scales.length === layers
      && scales.every((x: unknown) => typeof x === 'object' && x !== null && [(x as { k: unknown }).k, (x as { v: unknown }).v].every((v) => typeof v === 'number' && v > 0 && Number.isFinite(v)));
    if (!ok) throw new EngineError('format', { what: `${file}: trtllm_ts.build_config.kvCacheScales`, expected: `finite K and V scales > 0 for each of the ${layers} layers (an ${quant.kv} KV cache)`, got: JSON.stringify(scales)?.slice(0, 120) ?? 'none', hint: 'rebuild the engine with trtllm build' });
  }
  return { build: { ...ours.build_config, quant }, ...(ours.tokenizer ? { tokenizer: ours.tokenizer } : {}), raw };
}

export function writeEngineConfig(dir: string, c: BuildConfig, extra: Record<string, unknown>): void {
  writeFileSync(join(dir, 'config.json'), engineConfigJson(c, extra));
}
