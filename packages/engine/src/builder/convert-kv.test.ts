// convert -kv and --qformat fp8 end to end on CPU: a real HF GPT-2 checkpoint (the tiny fixture)
// calibrated on the ref engine; the float files are the plain convert's byte for byte, the KV files hold
// the seed's shared scale and our K and V ranges as the calibration measured them; `build
// --int8_kv_cache` / `--fp8_kv_cache` take per-layer K and V scales from them (a seed-made checkpoint:
// the shared scale, int8 only), and the engine runs on its quantized cache. --qformat fp8 writes each
// linear layer's input range; `build --enable_fp8` quantizes from them and stays near the float engine.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { castTo, convertHfToFt, fp8AmaxFile, FtCheckpoint, kvAmaxFile, loadHfGpt, readFtFp8Amax, readFtKvCache, seedKvScaleFile } from '@trtllm/loader';
import { mapGptWeights, type GptWeights, type Tensor } from '@trtllm/ref-math';
import { kvAmaxOfQkv, seedKvScale } from '@trtllm/quant';
import { readEngineFile } from '../engine-dir.js';
import { Engine } from '../runtime/engine.js';
import { buildEngine } from './build.js';
import { calibrateModel, convertCalibrated, quantizeInMemory, smoothQuantModel } from './convert-sq.js';

const HF = resolve(dirname(fileURLToPath(import.meta.url)), '../../../loader/fixtures/tiny/gpt2/st-fp32');
const work = mkdtempSync(join(tmpdir(), 'trtllm-convert-kv-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PROMPTS = Array.from({ length: 8 }, (_, i) => Array.from({ length: 6 + ((i * 5) % 20) }, (_, j) => (i * 97 + j * 41) % 1000));
const BUILD = { dtype: 'float16' as const, max_input_len: 16, max_output_len: 8, max_batch_size: 2 };

describe('convert -kv → build --int8_kv_cache / --fp8_kv_cache (ref backend)', async () => {
  const kv = await convertCalibrated({ inDir: HF, outDir: join(work, 'kv'), kvCache: true, prompts: PROMPTS, storage: 'float16', tp: 2 });
  const plain = await convertHfToFt({ inDir: HF, outDir: join(work, 'plain'), storage: 'float16', tp: 2 });
  const model = loadHfGpt(HF, { dtype: 'f32' });
  const { stats } = await calibrateModel(model, PROMPTS);
  const nLayer = model.config.nLayer;

  it('writes the plain convert’s float files unchanged, and per layer the seed’s shared scale and our K/V ranges; config.ini says calibrate_kv_cache = True', () => {
    const files = readdirSync(kv.dir).filter((f) => f !== 'config.ini');
    const extra = files.filter((f) => !existsSync(join(plain.dir, f)));
    expect(extra.sort()).toEqual(Array.from({ length: nLayer }, (_, n) => [kvAmaxFile(n), seedKvScaleFile(n)]).flat().sort());
    for (const f of files.filter((x) => !extra.includes(x))) expect(readFileSync(join(kv.dir, f)).equals(readFileSync(join(plain.dir, f))), f).toBe(true);
    expect(readFileSync(join(kv.dir, 'config.ini'), 'utf8')).toMatch(/^calibrate_kv_cache = True$/m);
    expect(FtCheckpoint.open(kv.dir).kvCacheCalibrated).toBe(true);
    expect(FtCheckpoint.open(plain.dir).kvCacheCalibrated).toBe(false);
  });
  it('K and V ranges are the calibrated QKV output’s K and V columns; the shared scale is the whole output’s max / 127', () => {
    for (let n = 0; n < nLayer; n++) {
      const y = stats.get(`layers.${n}.qkv`)!.y;
      const want = kvAmaxOfQkv(model.config, y);
      const got = readFtKvCache(kv.dir, n);
      expect(got).toEqual({ amax: { k: Math.fround(want.k), v: Math.fround(want.v) }, seedScale: seedKvScale(y) });
      expect(kv.kvAmax![n]).toEqual(want);
      expect(got.amax!.k).not.toBe(got.amax!.v); // separate ranges, the point of keeping both
    }
  });
  it('-sq with -kv writes both: the INT8 files and the KV ranges, the seed scale once', async () => {
    const both = await convertCalibrated({ inDir: HF, outDir: join(work, 'both'), alpha: 0.5, kvCache: true, prompts: PROMPTS, storage: 'float16' });
    const ini = readFileSync(join(both.dir, 'config.ini'), 'utf8');
    expect([/^smoothquant = 0\.5$/m.test(ini), /^calibrate_kv_cache = True$/m.test(ini)]).toEqual([true, true]);
    expect(existsSync(join(both.dir, 'model.layers.0.mlp.dense_h_to_4h.weight.int8.0.bin'))).toBe(true);
    expect(readFtKvCache(both.dir, 1)).toEqual(readFtKvCache(kv.dir, 1)); // same calibration, same values
    const b = buildEngine({ flags: { ...BUILD, model_dir: both.dir, use_smooth_quant: true, per_token: true, per_channel: true, int8_kv_cache: true }, outputDir: join(work, 'sq-int8kv') });
    expect(b.config.quant).toEqual({ weights: { kind: 'smoothquant', perToken: true, perChannel: true }, kv: 'int8' });
    const e = await Engine.load(b.dir);
    const [g] = await e.generate([{ tokens: PROMPTS[0]!, maxNewTokens: 4, endId: null }]);
    expect(g!.tokens).toHaveLength(4);
    e.dispose();
  });
  it('build takes K/V scales = range / 127 (int8) or / 448 (fp8) per layer, and the engine generates the float engine’s greedy tokens', async () => {
    const float = buildEngine({ flags: { ...BUILD, model_dir: kv.dir }, outputDir: join(work, 'e-float') });
    const fe = await Engine.load(float.dir);
    const want = (await fe.generate(PROMPTS.slice(0, 2).map((tokens) => ({ tokens: tokens.slice(0, 16), maxNewTokens: 8, endId: null })))).map((g) => g.tokens);
    fe.dispose();
    for (const [flag, levels] of [['int8_kv_cache', 127], ['fp8_kv_cache', 448]] as const) {
      const b = buildEngine({ flags: { ...BUILD, model_dir: kv.dir, [flag]: true, use_gpt_attention_plugin: true }, outputDir: join(work, `e-${flag}`) });
      expect(b.config.kvCacheScales).toEqual(kv.kvAmax!.map((a) => ({ k: Math.fround(Math.fround(a.k) / levels), v: Math.fround(Math.fround(a.v) / levels) })));
      const e = await Engine.load(b.dir);
      const got = (await e.generate(PROMPTS.slice(0, 2).map((tokens) => ({ tokens: tokens.slice(0, 16), maxNewTokens: 8, endId: null })))).map((g) => g.tokens);
      e.dispose();
      expect(got).toEqual(want); // calibrated scales: the cache's rounding does not move this model's argmax
    }
  });
  it('a seed-made checkpoint (shared scale only) builds --int8_kv_cache with K = V = its scale and says so; --fp8_kv_cache and a checkpoint without calibration are refused', () => {
    const seedLike = join(work, 'seed-like', '2-gpu');
    cpSync(join(work, 'kv', '2-gpu'), seedLike, { recursive: true }); // a copy: the other tests keep theirs
    for (let n = 0; n < nLayer; n++) rmSync(join(seedLike, kvAmaxFile(n)));
    const b = buildEngine({ flags: { ...BUILD, model_dir: seedLike, int8_kv_cache: true }, outputDir: join(work, 'e-seed') });
    expect(b.config.kvCacheScales).toEqual(Array.from({ length: nLayer }, (_, n) => ({ k: readFtKvCache(seedLike, n).seedScale, v: readFtKvCache(seedLike, n).seedScale })));
    expect(b.notes.join('\n')).toMatch(/--int8_kv_cache: 2 of 2 layers have only the seed's shared K\/V scale/);
    expect(() => buildEngine({ flags: { ...BUILD, model_dir: seedLike, fp8_kv_cache: true, use_gpt_attention_plugin: true }, outputDir: join(work, 'e-x') })).toThrow(/--fp8_kv_cache with --model_dir .*expected layer 0's K\/V ranges \(model\.layers\.0\.attention\.query_key_value\.kv_cache_amax\.bin.*convert -kv/);
    expect(() => buildEngine({ flags: { ...BUILD, model_dir: plain.dir, int8_kv_cache: true }, outputDir: join(work, 'e-x') })).toThrow(/--int8_kv_cache with --model_dir .*expected layer 0's KV-cache scales .*got no such file.*convert -kv/);
    expect(existsSync(join(work, 'e-x'))).toBe(false);
  });
});

describe('convert --qformat fp8 → build --enable_fp8 [--fp8_kv_cache] (ref backend)', async () => {
  const fp8 = await convertCalibrated({ inDir: HF, outDir: join(work, 'fp8'), fp8: true, kvCache: true, prompts: PROMPTS, storage: 'float16' });
  const model = loadHfGpt(HF, { dtype: 'f32' });
  const { stats } = await calibrateModel(model, PROMPTS);
  const nLayer = model.config.nLayer;
  const nmse = (got: Float32Array, want: Float32Array): number => {
    let num = 0;
    let den = 0;
    want.forEach((v, i) => ((num += (got[i]! - v) ** 2), (den += v * v)));
    return num / den;
  };

  it('writes each linear layer’s input range (max over channels of the calibrated max |x|), config.ini qformat = fp8', () => {
    for (let n = 0; n < nLayer; n++) {
      for (const l of ['qkv', 'attnOut', 'fc', 'proj'] as const) {
        const want = Math.fround(stats.get(`layers.${n}.${l}`)!.x.reduce((a, b) => Math.max(a, b), 0));
        expect(readFtFp8Amax(fp8.dir, n, l), `${n} ${l}`).toBe(want);
        expect(fp8.fp8Amax!.get(`layers.${n}.${l}`)).toBe(want);
      }
    }
    expect(existsSync(join(fp8.dir, fp8AmaxFile(0, 'gate')))).toBe(false); // a GELU model has no gate
    expect(FtCheckpoint.open(fp8.dir).fp8Calibrated).toBe(true);
  });
  it('build --enable_fp8: e4m3 weights [N, K] with the ranges’ scales; logits within NMSE 2e-2 of the float engine (measured 9.1e-3: e4m3 keeps 3 mantissa bits), with an fp8 cache too', async () => {
    const float = buildEngine({ flags: { ...BUILD, model_dir: fp8.dir }, outputDir: join(work, 'f8-float') });
    const b = buildEngine({ flags: { ...BUILD, model_dir: fp8.dir, enable_fp8: true }, outputDir: join(work, 'f8') });
    expect(b.config.quant).toEqual({ weights: { kind: 'fp8' }, kv: 'float' });
    const t = readEngineFile(join(b.dir, b.files[0]!)).tensors;
    const h = model.config.nEmbd;
    expect([t.get('layers.0.fc.weight.fp8')?.dtype, t.get('layers.0.fc.weight.fp8')?.shape]).toEqual(['fp8e4m3', [4 * h, h]]);
    expect(t.get('layers.1.proj.scale_x_orig_quant')!.data[0]).toBe(Math.fround(448 / readFtFp8Amax(fp8.dir, 1, 'proj')));
    const bk = buildEngine({ flags: { ...BUILD, model_dir: fp8.dir, enable_fp8: true, fp8_kv_cache: true, use_gpt_attention_plugin: true }, outputDir: join(work, 'f8-kv') });
    expect(bk.config.quant).toEqual({ weights: { kind: 'fp8' }, kv: 'fp8' });
    const prompt = PROMPTS[3]!;
    const [ef, e8] = [await Engine.load(float.dir), await Engine.load(b.dir)];
    const [lf, l8] = [ef.logits(prompt), e8.logits(prompt)];
    expect(nmse(l8, lf)).toBeGreaterThan(0);
    expect(nmse(l8, lf)).toBeLessThan(2e-2);
    const ek = await Engine.load(bk.dir);
    const reqs = [{ tokens: prompt.slice(0, 16), maxNewTokens: 6, endId: null }];
    expect((await ek.generate(reqs))[0]!.tokens).toHaveLength(6);
    for (const e of [ef, e8, ek]) e.dispose();
  });
  it('quantizeInMemory (what benchmark --quantization builds from random weights) gives the files’ ranges and the build’s K/V scales exactly, and its engine runs', async () => {
    const mem = await quantizeInMemory(model, PROMPTS, { fp8: true, kv: 'fp8' });
    for (let n = 0; n < nLayer; n++) for (const l of ['qkv', 'attnOut', 'fc', 'proj'] as const) expect(mem.fp8!.actRanges.get(`layers.${n}.${l}`)!.x, `${n} ${l}`).toBe(readFtFp8Amax(fp8.dir, n, l));
    const fromFiles = buildEngine({ flags: { ...BUILD, model_dir: fp8.dir, enable_fp8: true, fp8_kv_cache: true, use_gpt_attention_plugin: true }, outputDir: join(work, 'f8-files') });
    expect(mem.kvCacheScales).toEqual(fromFiles.config.kvCacheScales);
    const c = model.config;
    const shape = { vocab_size: c.vocabSize, n_layer: c.nLayer, n_embd: c.nEmbd, n_head: c.nHead, n_positions: c.nPositions, dtype: 'float32' as const };
    const b = buildEngine({ flags: { ...BUILD, ...shape, fp8_kv_cache: true, use_gpt_attention_plugin: true }, outputDir: join(work, 'f8-mem'), weights: mem.weights, fp8: mem.fp8!, kvCacheScales: mem.kvCacheScales! });
    expect([b.config.quant, b.config.kvCacheScales]).toEqual([{ weights: { kind: 'fp8' }, kv: 'fp8' }, fromFiles.config.kvCacheScales]);
    const e = await Engine.load(b.dir);
    expect((await e.generate([{ tokens: PROMPTS[0]!.slice(0, 16), maxNewTokens: 4, endId: null }]))[0]!.tokens).toHaveLength(4);
    e.dispose();
    const sq = await quantizeInMemory(model, PROMPTS, { smoothQuant: { alpha: 0.5, mode: { perToken: true, perChannel: true } }, kv: 'int8' });
    const sqb = sq.smoothQuant!;
    expect('actRanges' in sqb ? sqb.actRanges.size : 0).toBe(4 * nLayer);
    expect(sq.weights.layers[0]!.ln1.gamma.data).not.toEqual(model.weights.layers[0]!.ln1.gamma.data); // smoothed
    await expect(quantizeInMemory(model, PROMPTS, { fp8: true, smoothQuant: { alpha: 0.5, mode: { perToken: true, perChannel: true } } })).rejects.toThrow(/expected SmoothQuant or FP8, got both/);
  });
  it('quantizeInMemory of an fp16 model: the smoothed tensors cast back exactly as a cast of the whole model would, the others the model’s own (no copy)', async () => {
    const c16 = { ...model.config, dtype: 'f16' as const };
    const model16 = { config: c16, weights: mapGptWeights(c16, model.weights, (t) => castTo(t, 'f16')) };
    const mode = { perToken: true, perChannel: true };
    const got = (await quantizeInMemory(model16, PROMPTS, { smoothQuant: { alpha: 0.5, mode } })).weights;
    const cal = await calibrateModel(model16, PROMPTS);
    const want = mapGptWeights(c16, smoothQuantModel(cal.model, cal.stats, 0.5).weights, (t) => castTo(t, 'f16'));
    const flat = (w: GptWeights): [string, Tensor][] => {
      const out: [string, Tensor][] = [];
      mapGptWeights(c16, w, (t, spec) => (out.push([spec.path, t]), t));
      return out;
    };
    const wantAll = new Map(flat(want));
    const gotAll = flat(got);
    expect(gotAll.map(([n]) => n)).toEqual([...wantAll.keys()]);
    for (const [name, t] of gotAll) expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(wantAll.get(name)!.data.buffer, wantAll.get(name)!.data.byteOffset, wantAll.get(name)!.data.byteLength)), name).toBe(true);
    expect(got.layers[0]!.attnOut.weight).toBe(model16.weights.layers[0]!.attnOut.weight);
    expect(got.wte).toBe(model16.weights.wte);
    expect(got.layers[0]!.fc.weight).not.toBe(model16.weights.layers[0]!.fc.weight);
  });
  it('--enable_fp8 from a checkpoint without the ranges names the missing file and the fix; -sq with fp8 is refused', async () => {
    const plain = join(work, 'plain', '2-gpu');
    expect(() => buildEngine({ flags: { ...BUILD, model_dir: plain, enable_fp8: true }, outputDir: join(work, 'f8-x') })).toThrow(/attention\.query_key_value\.activation_amax\.bin.*no such file.*convert with --qformat fp8/);
    await expect(convertCalibrated({ inDir: HF, outDir: join(work, 'x'), fp8: true, alpha: 0.5, prompts: PROMPTS })).rejects.toThrow(/-sq with --qformat fp8: expected one weight quantization/);
  });
});
