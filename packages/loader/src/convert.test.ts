// `convert` against hf_gpt_convert.py: for every fixture layout, storage type and TP 1/2/4, the set
// of files and the SHA-256 of each equal what the seed's algorithm writes (hashes made by
// scripts/fixtures/hf_tiny_fixtures.py, which transcribes hf_gpt_convert.py + split_and_save_weight,
// with transformers on the GPU machine). The FT reader puts the ranks back together bit for bit, and
// bad inputs give typed errors with nothing left behind.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bitEqual, createGptKvCache, gptForward, toF32 } from '@trtllm/ref-math';
import { convertHfToFt } from './convert.js';
import { LoaderError } from './errors.js';
import { FtCheckpoint, type FtStorageType } from './ft.js';
import { loadHfGpt } from './hf-gpt.js';
import { parseIni } from './ini.js';
import { SafetensorsFile } from './safetensors.js';

interface ConvertRef {
  config_ini: string;
  sha256: Record<string, string>;
}
const TINY = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/tiny');
const refs = (name: string): Record<string, ConvertRef> => (JSON.parse(readFileSync(resolve(TINY, name, 'reference.json'), 'utf8')) as { convert: Record<string, ConvertRef> }).convert;
const work = mkdtempSync(join(tmpdir(), 'trtllm-convert-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function hashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) if (f !== 'config.ini') out[f] = createHash('sha256').update(readFileSync(join(dir, f))).digest('hex');
  return out;
}

// Sources whose every tensor equals the seed's input at that storage type: fp32 checkpoints for all,
// fp16 checkpoints for float16 (fp32 → fp16 once, either way).
const MATRIX: readonly { src: string; ref: string; kind: string; storages: readonly FtStorageType[] }[] = [
  { src: 'gpt2/st-fp32', ref: 'gpt2', kind: 'gpt2', storages: ['float32', 'float16', 'bfloat16'] },
  { src: 'gpt2/bin-fp32', ref: 'gpt2', kind: 'gpt2', storages: ['float32'] },
  { src: 'gpt2/sharded-fp32', ref: 'gpt2', kind: 'gpt2', storages: ['bfloat16'] },
  { src: 'gpt2/bin-fp16', ref: 'gpt2', kind: 'gpt2', storages: ['float16'] },
  { src: 'bigcode-mqa/st-fp32', ref: 'bigcode-mqa', kind: 'starcoder', storages: ['float32', 'float16', 'bfloat16'] },
  { src: 'bigcode-mqa/bin-fp16', ref: 'bigcode-mqa', kind: 'starcoder', storages: ['float16'] },
  { src: 'santacoder/bin-fp32', ref: 'santacoder', kind: 'santacoder', storages: ['float32', 'float16', 'bfloat16'] },
  { src: 'santacoder/st-fp16', ref: 'santacoder', kind: 'santacoder', storages: ['float16'] },
];

describe('trtllm convert writes what hf_gpt_convert.py writes, file by file (SHA-256)', () => {
  for (const m of MATRIX) {
    for (const storage of m.storages) {
      it(`${m.src} → ${storage}, TP 1 / 2 / 4`, async () => {
        for (const tp of [1, 2, 4]) {
          const out = join(work, `${m.src.replace('/', '-')}-${storage}`);
          const r = await convertHfToFt({ inDir: resolve(TINY, m.src), outDir: out, tp, storage });
          const ref = refs(m.ref)[`${m.kind}-${storage}-tp${tp}`]!;
          expect(hashes(r.dir), `${m.src} ${storage} tp${tp}`).toEqual(ref.sha256);
          // config.ini: the argument keys and the keys the builder reads equal the seed's text
          const ours = parseIni(readFileSync(join(r.dir, 'config.ini'), 'utf8'), 'ours').get('gpt')!;
          const seed = parseIni(ref.config_ini, 'seed').get('gpt')!;
          const keys = ['tensor_parallelism', 'calibrate_kv_cache', 'smoothquant', 'model', 'storage_type', 'dataset_cache_dir', 'storage_dtype', 'multi_query_mode'];
          if (m.kind !== 'santacoder') keys.push('vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function', 'layer_norm_epsilon', 'tie_word_embeddings', 'bos_token_id', 'attn_pdrop');
          for (const k of keys) expect(ours.get(k), k).toBe(seed.get(k));
        }
      });
    }
  }
});

describe('FT reader', () => {
  it('merges TP 1 / 2 / 4 shards back into the same tensors, and the fp32 FT model gives HF logits', async () => {
    const src = resolve(TINY, 'bigcode-mqa/st-fp32');
    const hf = loadHfGpt(src);
    for (const tp of [1, 2, 4]) {
      const r = await convertHfToFt({ inDir: src, outDir: join(work, `reader${tp}`), tp });
      const ft = FtCheckpoint.open(join(work, `reader${tp}`));
      expect([ft.tp, ft.config.nKvHead, ft.tied, r.multiQuery]).toEqual([tp, 1, false, true]);
      const model = ft.loadModel();
      expect(bitEqual(model.weights.layers[1]!.qkv.weight, hf.weights.layers[1]!.qkv.weight)).toBe(true);
      expect(bitEqual(model.weights.layers[0]!.fc.bias!, hf.weights.layers[0]!.fc.bias!)).toBe(true);
      expect(bitEqual(model.weights.lmHead!, hf.weights.lmHead!)).toBe(true);
      const want = toF32(SafetensorsFile.open(resolve(TINY, 'bigcode-mqa/reference.safetensors')).read('logits32.p2'));
      const got = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: [17, 54, 91, 128, 165, 202, 239, 276, 313, 350, 387, 424, 461, 498, 535, 572, 609, 646, 683, 720, 757, 794, 831, 868] }], { logits: 'all' }));
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(1e-4);
    }
  });

  it('GPTBigCode multi_query false is written as true multi-head QKV: TP 1 / 2 / 4 FT models give HF logits', async () => {
    // checked against HF's own logits (reference.safetensors, made by transformers), not against the loader's mapping
    const src = resolve(TINY, 'bigcode-mha/st-fp32');
    const prompt = [17, 54, 91, 128, 165, 202, 239, 276, 313, 350, 387, 424, 461, 498, 535, 572, 609, 646, 683, 720, 757, 794, 831, 868];
    const ref = JSON.parse(readFileSync(resolve(TINY, 'bigcode-mha/reference.json'), 'utf8')) as { prompts: number[][] };
    expect(ref.prompts[2]).toEqual(prompt);
    const want = toF32(SafetensorsFile.open(resolve(TINY, 'bigcode-mha/reference.safetensors')).read('logits32.p2'));
    for (const tp of [1, 2, 4]) {
      const r = await convertHfToFt({ inDir: src, outDir: join(work, `mha${tp}`), tp });
      expect(r.multiQuery).toBe(false);
      const model = FtCheckpoint.open(r.dir).loadModel({ dtype: 'f32' });
      expect(model.config.nKvHead, `TP ${tp}`).toBe(model.config.nHead);
      const got = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: prompt }], { logits: 'all' }));
      expect(got.length).toBe(want.length);
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!))), `TP ${tp}`).toBeLessThanOrEqual(1e-4);
    }
  });

  it('worker threads (-p 3) write the same bytes as one thread', async () => {
    const one = await convertHfToFt({ inDir: resolve(TINY, 'gpt2/st-fp32'), outDir: join(work, 'p1'), tp: 2, storage: 'float16' });
    const three = await convertHfToFt({ inDir: resolve(TINY, 'gpt2/st-fp32'), outDir: join(work, 'p3'), tp: 2, storage: 'float16', processes: 3 });
    expect(hashes(three.dir)).toEqual(hashes(one.dir));
  });

  it('checks every file against config.ini: a truncated or missing shard, a bad key, a missing key', async () => {
    const r = await convertHfToFt({ inDir: resolve(TINY, 'gpt2/st-fp32'), outDir: join(work, 'bad'), tp: 2 });
    const copy = (name: string): string => {
      const d = join(work, name, '2-gpu');
      cpSync(r.dir, d, { recursive: true });
      return d;
    };
    const t = copy('trunc');
    truncateSync(join(t, 'model.layers.1.mlp.dense_h_to_4h.weight.1.bin'), 100);
    expect(() => FtCheckpoint.open(t)).toThrow(/dense_h_to_4h\.weight\.1\.bin: layers\.1\.fc\.weight: expected 32768 bytes .*got 100 bytes \(the file is truncated\)/);
    const m = copy('missing');
    rmSync(join(m, 'model.layers.0.attention.query_key_value.weight.1.bin'));
    expect(() => FtCheckpoint.open(m)).toThrow(LoaderError);
    const k = copy('nokey');
    writeFileSync(join(k, 'config.ini'), readFileSync(join(k, 'config.ini'), 'utf8').replace(/^n_head = .*\n/m, ''));
    expect(() => FtCheckpoint.open(k)).toThrow(/config\.ini: n_head: expected a n_head key in \[gpt\], got none/);
    const b = copy('badval');
    writeFileSync(join(b, 'config.ini'), readFileSync(join(b, 'config.ini'), 'utf8').replace(/^storage_dtype = .*$/m, 'storage_dtype = float64'));
    expect(() => FtCheckpoint.open(b)).toThrow(/storage_dtype: expected float32 \| float16 \| bfloat16, got float64/);
  });
});

describe('convert: typed errors, and nothing partial left behind', () => {
  const leftovers = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

  it('a tensor truncated in the middle of the checkpoint: LoaderError naming file and tensor; no output dir', async () => {
    const src = join(work, 'src-trunc');
    cpSync(resolve(TINY, 'gpt2/bin-fp32'), src, { recursive: true });
    const bin = readFileSync(join(src, 'pytorch_model.bin'));
    writeFileSync(join(src, 'pytorch_model.bin'), bin.subarray(0, bin.length - 30_000)); // cuts the central directory
    const out = join(work, 'out-trunc');
    await expect(convertHfToFt({ inDir: src, outDir: out })).rejects.toThrow(/pytorch_model\.bin: end of central directory: expected a zip archive/);
    expect(existsSync(out)).toBe(false);
  });

  it('a safetensors header lying about an offset fails mid-conversion; the existing output dir keeps only what was there', async () => {
    const src = join(work, 'src-lie');
    cpSync(resolve(TINY, 'gpt2/sharded-fp32'), src, { recursive: true });
    // shard 3's file is cut short: the header's offsets point past its end
    const shard = join(src, 'model-00003-of-00004.safetensors');
    truncateSync(shard, readFileSync(shard).length - 64);
    const out = join(work, 'out-lie');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'a file of the user');
    const err = await convertHfToFt({ inDir: src, outDir: out, processes: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LoaderError);
    expect(String(err)).toMatch(/model-00003-of-00004\.safetensors: .*the header lies about offsets, or the file is truncated/);
    expect(leftovers(out)).toEqual(['keep.txt']);
  });

  it('-tp that does not divide the heads, and a --model that contradicts config.json', async () => {
    const out = join(work, 'out-tp');
    await expect(convertHfToFt({ inDir: resolve(TINY, 'gpt2/st-fp32'), outDir: out, tp: 3 })).rejects.toThrow(/st-fp32\/config\.json: n_head: expected a multiple of the tensor parallelism \(-tp 3\), got 4/);
    await expect(convertHfToFt({ inDir: resolve(TINY, 'bigcode-mqa/st-fp32'), outDir: out, kind: 'gpt2' })).rejects.toThrow(/expected a gpt2 checkpoint \(--model gpt2\), got a starcoder checkpoint .*pass --model starcoder/);
    expect(existsSync(out)).toBe(false);
  });

  it('missing config keys and an unsupported dtype name the file and key', async () => {
    const src = join(work, 'src-cfg');
    cpSync(resolve(TINY, 'gpt2/st-fp32'), src, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete cfg['n_head'];
    writeFileSync(join(src, 'config.json'), JSON.stringify(cfg));
    await expect(convertHfToFt({ inDir: src, outDir: join(work, 'o') })).rejects.toThrow(/config\.json: n_head: expected a positive integer, got undefined/);
    expect(existsSync(join(work, 'o'))).toBe(false);
  });
});
