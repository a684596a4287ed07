// convert -sq end to end on CPU: a real HF GPT-2 checkpoint (the tiny fixture) calibrated on the ref
// engine, smoothed, written with the seed's INT8 files; `build --use_smooth_quant` from it in all four
// modes and TP 1 / 2 gives the same engine tensors as quantizing from the same ranges in memory, and
// its logits stay within the quantization error of the float model.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FtCheckpoint, loadHfGpt } from '@trtllm/loader';
import { readEngineFile } from '../engine-dir.js';
import { Engine } from '../runtime/engine.js';
import { buildEngine } from './build.js';
import { convertCalibrated, smoothQuantModel } from './convert-sq.js';

const HF = resolve(dirname(fileURLToPath(import.meta.url)), '../../../loader/fixtures/tiny/gpt2/st-fp32');
const work = mkdtempSync(join(tmpdir(), 'trtllm-convert-sq-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Deterministic calibration prompts over the vocabulary (1000 tokens), 5 … 40 tokens long. */
const PROMPTS = Array.from({ length: 12 }, (_, i) => Array.from({ length: 5 + ((i * 7) % 36) }, (_, j) => (i * 131 + j * 37) % 1000));
const PROMPT = [11, 250, 3, 999, 42, 42, 7, 600];

function nmse(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  want.forEach((v, i) => ((num += (got[i]! - v) ** 2), (den += v * v)));
  return num / den;
}

describe('convert -sq → build --use_smooth_quant (ref backend)', async () => {
  const out = join(work, 'ckpt');
  const r1 = await convertCalibrated({ inDir: HF, outDir: out, alpha: 0.5, prompts: PROMPTS, storage: 'float16' });
  const r2 = await convertCalibrated({ inDir: HF, outDir: out, alpha: 0.5, prompts: PROMPTS, storage: 'float16', tp: 2 });

  it('a -tp that does not divide the heads is refused before any calibration', async () => {
    let calibrated = 0;
    await expect(convertCalibrated({ inDir: HF, outDir: join(work, 'bad-tp'), alpha: 0.5, prompts: PROMPTS, tp: 3, onCalibrate: () => calibrated++ })).rejects.toThrow(/n_head: expected a multiple of the tensor parallelism \(-tp 3\)/);
    expect(calibrated).toBe(0);
    expect(existsSync(join(work, 'bad-tp'))).toBe(false);
  });
  it("writes the seed's files: config.ini smoothquant = 0.5, INT8 weights per rank, scales once or per rank", () => {
    expect(r1.calibration).toEqual({ backend: 'ref', prompts: 12, tokens: PROMPTS.reduce((s, p) => s + p.length, 0) });
    const ini = readFileSync(join(r2.dir, 'config.ini'), 'utf8');
    expect(ini).toMatch(/^smoothquant = 0\.5$/m);
    for (const f of ['model.layers.1.attention.query_key_value.weight.int8.1.bin', 'model.layers.1.attention.query_key_value.scale_w_quant_orig.col.1.bin', 'model.layers.0.mlp.dense_4h_to_h.scale_w_quant_orig.col.bin', 'model.layers.0.attention.dense.scale_x_orig_quant.bin', 'model.layers.0.mlp.dense_h_to_4h.weight.int8.col.0.bin']) {
      expect(existsSync(join(r2.dir, f)), f).toBe(true);
    }
    expect(FtCheckpoint.open(r2.dir).smoothQuantAlpha).toBe(0.5);
  });
  it('smoothing keeps the model: smoothed fp32 weights give the original logits up to fp32 rounding (NMSE < 1e-10)', async () => {
    const model = loadHfGpt(HF, { dtype: 'f32' });
    const e = await Engine.fromModel(model, { maxInputLen: 40 });
    const stats = e.calibrate(PROMPTS);
    const want = e.logits(PROMPT);
    e.dispose();
    const { weights } = smoothQuantModel(model, stats, 0.5);
    expect(weights.layers[0]!.ln1.gamma.data).not.toEqual(model.weights.layers[0]!.ln1.gamma.data); // it did smooth
    const s = await Engine.fromModel({ config: model.config, weights }, { maxInputLen: 40 });
    expect(nmse(s.logits(PROMPT), want)).toBeLessThan(1e-10);
    s.dispose();
  });
  for (const mode of [{ perToken: true, perChannel: true }, { perToken: true, perChannel: false }, { perToken: false, perChannel: true }, { perToken: false, perChannel: false }]) {
    for (const tp of [1, 2, 4]) {
      it(`per token ${mode.perToken}, per channel ${mode.perChannel}, TP ${tp}: the engine equals quantizing from the same ranges in memory; logits near the float model's`, async () => {
        const flags = { model_dir: r2.dir, dtype: 'float16' as const, world_size: tp, use_smooth_quant: true, per_token: mode.perToken, per_channel: mode.perChannel, max_input_len: 16, max_output_len: 4 };
        const dir = join(work, `sq-${mode.perToken}-${mode.perChannel}-${tp}`);
        const b = buildEngine({ flags, outputDir: dir });
        expect(b.config.quant.weights).toEqual({ kind: 'smoothquant', ...mode });
        const mem = buildEngine({ flags: { ...flags, use_smooth_quant: false, per_token: false, per_channel: false }, outputDir: join(work, `mem-${mode.perToken}-${mode.perChannel}-${tp}`), smoothQuant: { mode, actRanges: r2.actRanges! } });
        for (const f of b.files.filter((x) => x.endsWith('.engine'))) {
          const [got, want] = [readEngineFile(join(dir, f)).tensors, readEngineFile(join(mem.dir, f)).tensors];
          expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
          for (const [k, t] of want) expect(Buffer.from(got.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${f} ${k}`).toBe(true);
        }
        const float = buildEngine({ flags: { model_dir: r1.dir, dtype: 'float16', max_input_len: 16, max_output_len: 4 }, outputDir: join(work, 'float') });
        const [ef, eq] = [await Engine.load(float.dir), await Engine.load(dir)];
        const e = nmse(eq.logits(PROMPT), ef.logits(PROMPT));
        expect(e).toBeGreaterThan(0);
        // measured: 4.9e-4 … 5.4e-4 per token + per channel, 0.9e-3 … 1.6e-3 for the other modes (an untrained model: flat logits)
        expect(e).toBeLessThan(mode.perToken && mode.perChannel ? 1e-3 : 3e-3);
        ef.dispose();
        eq.dispose();
      });
    }
  }
});

describe('convert -sq of a multi-query GPTBigCode (beyond the seed, which refuses it)', async () => {
  const MQA = resolve(dirname(fileURLToPath(import.meta.url)), '../../../loader/fixtures/tiny/bigcode-mqa/st-fp32');
  const r = await convertCalibrated({ inDir: MQA, outDir: join(work, 'mqa-ckpt'), alpha: 0.5, prompts: PROMPTS, storage: 'float16', tp: 2 });
  for (const tp of [1, 2]) {
    it(`per token + per channel, TP ${tp}: Q, K, V scaled apart; the engine equals quantizing in memory; logits near the float model's`, async () => {
      const ft = FtCheckpoint.open(r.dir);
      expect(ft.config.nKvHead).toBe(1);
      const sw = ft.readInt8(0, 'qkv').scale_w_quant_orig.data as Float32Array;
      const hs = ft.config.nEmbd / ft.config.nHead;
      expect(sw.length).toBe(ft.config.nEmbd + 2 * hs);
      expect(new Set([sw[0], sw[ft.config.nEmbd], sw[ft.config.nEmbd + hs]]).size).toBe(3); // one scale per Q, K, V part
      const mode = { perToken: true, perChannel: true };
      const flags = { model_dir: r.dir, dtype: 'float16' as const, world_size: tp, use_smooth_quant: true, per_token: true, per_channel: true, max_input_len: 16, max_output_len: 4 };
      const dir = join(work, `mqa-sq-${tp}`);
      const b = buildEngine({ flags, outputDir: dir });
      const mem = buildEngine({ flags: { ...flags, use_smooth_quant: false, per_token: false, per_channel: false }, outputDir: join(work, `mqa-mem-${tp}`), smoothQuant: { mode, actRanges: r.actRanges! } });
      for (const f of b.files.filter((x) => x.endsWith('.engine'))) {
        const [got, want] = [readEngineFile(join(dir, f)).tensors, readEngineFile(join(mem.dir, f)).tensors];
        for (const [k, t] of want) expect(Buffer.from(got.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), `${f} ${k}`).toBe(true);
      }
      const float = buildEngine({ flags: { model_dir: r.dir, dtype: 'float16', max_input_len: 16, max_output_len: 4 }, outputDir: join(work, 'mqa-float') });
      const [ef, eq] = [await Engine.load(float.dir), await Engine.load(dir)];
      const e = nmse(eq.logits(PROMPT), ef.logits(PROMPT));
      expect(e).toBeGreaterThan(0);
      expect(e).toBeLessThan(1e-3);
      ef.dispose();
      eq.dispose();
    });
  }
});
