// Engine files round-trip byte for byte; a wrong magic, version, truncation or missing rank is a
// typed error naming the file and the fix; the builder writes TensorRT-LLM's config.json keys.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bitEqual, fromValues, type Tensor } from '@trtllm/ref-math';
import { buildEngine, buildEngineAsync } from './builder/build.js';
import { readEngineConfig, readEngineFile, writeEngineFile } from './engine-dir.js';
import { Engine } from './runtime/engine.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-edir-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('engine files', () => {
  it('round-trip tensors of every dtype, each 256-byte aligned', () => {
    const t = new Map<string, Tensor>([
      ['a', fromValues('f16', [3, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])],
      ['b', fromValues('f32', [7], [0.1, -2, 3e-8, 4, 5, 6, 7])],
      ['c', fromValues('bf16', [1], [1.5])],
    ]);
    const size = writeEngineFile(join(work, 'x.engine'), 0, 1, t);
    expect(size % 256).toBe(0);
    const back = readEngineFile(join(work, 'x.engine'));
    for (const [k, v] of t) expect(bitEqual(back.tensors.get(k)!, v)).toBe(true);
  });
  it('wrong magic, newer version, truncation: typed errors that say to rebuild', () => {
    writeEngineFile(join(work, 'y.engine'), 0, 1, new Map([['a', fromValues('f32', [64], new Array(64).fill(1))]]));
    const good = readFileSync(join(work, 'y.engine'));
    const bad = Buffer.from(good);
    bad.write('TRTENGIN', 0, 'latin1');
    writeFileSync(join(work, 'magic.engine'), bad);
    expect(() => readEngineFile(join(work, 'magic.engine'))).toThrow(/magic.engine: expected a trtllm-ts engine \(magic "TRTLLMTS"\), got "TRTENGIN" \(this is not an engine built by trtllm build/);
    const v = Buffer.from(good);
    v.writeUInt32LE(9, 8);
    writeFileSync(join(work, 'ver.engine'), v);
    expect(() => readEngineFile(join(work, 'ver.engine'))).toThrow(/expected format version 3, got version 9 \(the engine was built by another trtllm-ts version: rebuild it\)/);
    writeFileSync(join(work, 'short.engine'), good);
    truncateSync(join(work, 'short.engine'), good.length - 100);
    expect(() => readEngineFile(join(work, 'short.engine'))).toThrow(/expected a inside the file, got bytes up to .* \(the file is truncated\)/);
  });
  it('the builder writes TensorRT-LLM config.json keys and one file per rank; a missing rank file fails at load naming it', async () => {
    const dir = join(work, 'tp2');
    const r = buildEngine({ flags: { vocab_size: 40, n_layer: 1, n_embd: 16, n_head: 4, n_positions: 32, max_input_len: 8, max_output_len: 8, world_size: 2, dtype: 'float32', use_inflight_batching: true, tokens_per_block: 4 }, outputDir: dir });
    expect(r.files).toEqual(['gpt_float32_tp2_rank0.engine', 'gpt_float32_tp2_rank1.engine', 'config.json']);
    const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { builder_config: Record<string, unknown>; plugin_config: Record<string, unknown> };
    expect(raw.builder_config).toMatchObject({ name: 'gpt', precision: 'float32', tensor_parallel: 2, num_layers: 1, num_heads: 4, hidden_size: 16, vocab_size: 40, max_batch_size: 256, paged_kv_cache: true, tokens_per_block: 4, multi_query_mode: false });
    expect(raw.plugin_config).toMatchObject({ gpt_attention_plugin: 'float32', remove_input_padding: true, paged_kv_cache: true, in_flight_batching: true, nccl_plugin: 'float32' });
    expect(readEngineConfig(dir).build.worldSize).toBe(2);
    // rank 1 holds the second half of the query heads
    const [r0, r1] = [0, 1].map((k) => readEngineFile(join(dir, `gpt_float32_tp2_rank${k}.engine`)).tensors);
    expect(r0!.get('layers.0.q.weight')!.shape).toEqual([16, 8]);
    expect(bitEqual(r0!.get('wte')!, r1!.get('wte')!)).toBe(true);
    rmSync(join(dir, 'gpt_float32_tp2_rank1.engine'));
    await expect(Engine.load(dir)).rejects.toThrow(/gpt_float32_tp2_rank1\.engine: expected an engine file, got no such file \(build the engine for every rank/);
    const one = join(work, 'tp1');
    buildEngine({ flags: { vocab_size: 40, n_layer: 1, n_embd: 16, n_head: 4, n_positions: 32, max_input_len: 8, max_output_len: 8, dtype: 'float32' }, outputDir: one });
    rmSync(join(one, 'gpt_float32_tp1_rank0.engine'));
    await expect(Engine.load(one)).rejects.toThrow(/gpt_float32_tp1_rank0\.engine: expected an engine file, got no such file/);
    await expect(Engine.load(join(work, 'nothing'))).rejects.toThrow(/config\.json: expected an engine directory \(config\.json \+ \*\.engine\), got no config\.json/);
  });
});

describe('random weights on worker threads', () => {
  it('buildEngineAsync with 3 threads writes the same engine files as buildEngine, byte for byte', async () => {
    const flags = { vocab_size: 61, n_layer: 3, n_embd: 24, n_head: 4, n_positions: 32, max_input_len: 8, max_output_len: 8, dtype: 'float16' as const, random_seed: 11, hidden_act: 'swiglu', no_bias: true };
    buildEngine({ flags, outputDir: join(work, 'seq') });
    await buildEngineAsync({ flags, outputDir: join(work, 'par'), threads: 3 });
    const f = 'gpt_float16_tp1_rank0.engine';
    expect(readFileSync(join(work, 'par', f)).equals(readFileSync(join(work, 'seq', f)))).toBe(true);
  });
});

describe('quantization in config.json (TensorRT-LLM quant_mode)', () => {
  const dir = join(work, 'quant');
  buildEngine({ flags: { vocab_size: 64, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32, dtype: 'float16', random_seed: 3, max_batch_size: 2, max_input_len: 8, max_output_len: 4 }, outputDir: dir });
  const file = join(dir, 'config.json');
  const original = readFileSync(file, 'utf8');
  const edit = (f: (c: { builder_config: Record<string, unknown>; trtllm_ts: { build_config: Record<string, unknown> } }) => void): void => {
    const c = JSON.parse(original);
    f(c);
    writeFileSync(file, JSON.stringify(c));
  };
  afterAll(() => writeFileSync(file, original));
  it('an unquantized build writes quant_mode 0, int8 false, fp8 false, and reads back no quantization', () => {
    const raw = JSON.parse(original);
    expect([raw.builder_config.quant_mode, raw.builder_config.int8, raw.builder_config.fp8]).toEqual([0, false, false]);
    expect(readEngineConfig(dir).build.quant).toEqual({ weights: { kind: 'none' }, kv: 'float' });
  });
  it('quant_mode is read back as a typed config; one that disagrees with ours or that we do not build is a format error', () => {
    edit((c) => {
      c.builder_config.quant_mode = 30 + 64; // SmoothQuant per token + per channel, INT8 KV cache
      c.trtllm_ts.build_config['quant'] = { weights: { kind: 'smoothquant', perToken: true, perChannel: true }, kv: 'int8' };
      c.trtllm_ts.build_config['kvCacheScales'] = [{ k: 0.5, v: 0.25 }];
    });
    expect(readEngineConfig(dir).build.quant).toEqual({ weights: { kind: 'smoothquant', perToken: true, perChannel: true }, kv: 'int8' });
    edit((c) => (c.builder_config.quant_mode = 6));
    expect(() => readEngineConfig(dir)).toThrow(/builder_config\.quant_mode: expected 0 \(trtllm_ts\.build_config\.quant\), got 6/);
    edit((c) => {
      c.builder_config.quant_mode = 2; // INT8 weight-only
      delete c.trtllm_ts.build_config['quant'];
    });
    expect(() => readEngineConfig(dir)).toThrow(/quant_mode: expected a quant_mode this engine builds, got .*weight-only INT8 is not built/);
  });
  it('an INT8 / FP8 KV-cache engine without its per-layer K and V scales is a format error at load', async () => {
    for (const [mode, kv] of [[64, 'int8'], [128, 'fp8']] as const) {
      edit((c) => {
        c.builder_config.quant_mode = mode;
        c.trtllm_ts.build_config['quant'] = { weights: { kind: 'none' }, kv };
      });
      await expect(Engine.load(dir)).rejects.toThrow(new RegExp(`kvCacheScales: expected finite K and V scales > 0 for each of the 1 layers \\(an ${kv} KV cache\\), got none`));
    }
    edit((c) => {
      c.builder_config.quant_mode = 64;
      c.trtllm_ts.build_config['quant'] = { weights: { kind: 'none' }, kv: 'int8' };
      c.trtllm_ts.build_config['kvCacheScales'] = [{ k: 0.5, v: -1 }];
    });
    await expect(Engine.load(dir)).rejects.toThrow(/kvCacheScales: .*got \[\{"k":0.5,"v":-1\}\]/);
  });
});

describe('the tokenizer in the engine dir', () => {
  it('records its files, kind and end / pad ids, and the engine stops at that end id by default', async () => {
    const tokDir = join(work, 'tok');
    mkdirSync(tokDir, { recursive: true });
    copyFileSync(new URL('../../loader/fixtures/tiny/tokenizers/starcoder-style.tokenizer.json', import.meta.url), join(tokDir, 'tokenizer.json')); // <|endoftext|> is id 0 there
    const dir = join(work, 'with-tokenizer');
    buildEngine({ flags: { vocab_size: 1200, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32, dtype: 'float32', random_seed: 3, max_batch_size: 2, max_input_len: 8, max_output_len: 4 }, outputDir: dir, tokenizerDir: tokDir });
    const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect([raw.trtllm_ts.tokenizer, raw.trtllm_ts.tokenizer_kind, raw.trtllm_ts.end_id, raw.trtllm_ts.pad_id]).toEqual(['.', 'gpt2-bpe', 0, 0]);
    const e = await Engine.load(dir);
    expect(e.tokenizer?.specialIds).toEqual({ eos: 0, pad: 0 });
    const [r] = await e.generate([{ prompt: 'def f():', maxNewTokens: 4 }]);
    expect(r!.tokens.slice(0, -1).includes(0)).toBe(false); // nothing after an end id
    e.dispose();
  });
});
