// convert -sq against the seed's own arithmetic: scripts/fixtures/smoothquant_reference.py runs the
// seed's capture_activation_range and smooth_gpt_model (transcribed, torch, the HF model in fp32) and
// records the calibrated maxima, the smoothing scales and the ranges generate_int8 is given. Ours must
// match them within 1e-4 (torch and our engine sum in different orders: fp32 rounding apart), and our
// INT8 weights must equal the seed's — generate_int8 (bit-exact to numpy 1.x, int8-weights.test.ts) of the
// seed's smoothed weight and ranges — except where a product sits within rounding distance of a .5 tie.
//
// The tiny GPT-2 (fixtures/smoothquant-seed-tiny.json) runs in CI; the trained sotu-gpt2-16m runs where
// SQ_SEED_REFERENCE names a reference made on it (scripts/gpu/smoothquant-report.sh does, on a GPU).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { castTo, Gpt2Tokenizer, loadHfGpt, readCalibrationTexts } from '@trtllm/loader';
import { generateInt8, type ActRange } from '@trtllm/quant';
import { tensor, toF32, type GptModel, type Tensor } from '@trtllm/ref-math';
import { Engine, type EngineLoadOptions } from '../runtime/engine.js';
import { smoothQuantModel } from './convert-sq.js';
import { GPU } from '../testing/backends.js';

interface SeedReference {
  readonly made_by: string;
  readonly alpha: number;
  readonly calibration: Record<string, { x: number[]; y: number[] }>;
  readonly smoothing: Record<string, { s: number[] }>;
  readonly ranges: Record<string, { x: number; y: number; w: number[] }>;
}

const here = dirname(fileURLToPath(import.meta.url));
const TINY = resolve(here, '../../../loader/fixtures/tiny/gpt2/st-fp32');
const TINY_REF = resolve(here, '../../fixtures/smoothquant-seed-tiny.json');
const TINY_PROMPTS = Array.from({ length: 12 }, (_, i) => Array.from({ length: 5 + ((i * 7) % 36) }, (_, j) => (i * 131 + j * 37) % 1000));

/** Largest |got − want| over the vector, relative to its largest |want|. */
function relDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  return d / m;
}

/** The comparison, shared by the tiny fixture and the sotu reference; returns what it measured. */
async function compareWithSeed(model: GptModel, prompts: readonly (readonly number[])[], ref: SeedReference, storage: 'f32' | 'f16', o: Pick<EngineLoadOptions, 'backend' | 'kernels'> = {}) {
  const e = await Engine.fromModel(model, { ...o, maxInputLen: Math.max(...prompts.map((p) => p.length)) });
  const stats = e.calibrate(prompts);
  e.dispose();
  const { weights, actRanges, smoothing } = smoothQuantModel(model, stats, ref.alpha);
  const worst = { calibration: 0, smoothing: 0, ranges: 0 };
  let weightsCompared = 0;
  let tieFlips = 0;
  for (let n = 0; n < model.config.nLayer; n++) {
    for (const g of ['qkv', 'attnOut', 'fc', 'proj'] as const) {
      const c = ref.calibration[`${n}.${g}`]!;
      const s = stats.get(`layers.${n}.${g}`)!;
      worst.calibration = Math.max(worst.calibration, relDiff(s.x, c.x), relDiff(s.y, c.y));
      const r = ref.ranges[`${n}.${g}`]!;
      const ours = actRanges.get(`layers.${n}.${g}`)!;
      worst.ranges = Math.max(worst.ranges, relDiff([ours.x, ours.y], [r.x, r.y]), relDiff(ours.w, r.w));
      // the seed's weight as generate_int8 sees it: smoothed with its own s (fp32(W·s)), in the storage dtype
      const w0 = model.weights.layers[n]![g].weight;
      const sSeed = g === 'qkv' || g === 'fc' ? ref.smoothing[`${n}.${g}`]!.s : undefined;
      if (sSeed) worst.smoothing = Math.max(worst.smoothing, relDiff(smoothing.get(`layers.${n}.${g}`)!, sSeed));
      const [k, cols] = w0.shape as [number, number];
      const wv = toF32(w0);
      const seedW = sSeed ? Float32Array.from(wv, (v, i) => Math.fround(v * sSeed[Math.floor(i / cols)]!)) : wv;
      const shaped = (t: Tensor): Tensor<'f32' | 'f16'> => {
        const c16 = castTo(t, storage) as Tensor<'f32' | 'f16'>;
        return g === 'qkv' ? (tensor(c16.dtype, [k, 3, cols / 3], c16.data as never) as Tensor<'f32' | 'f16'>) : c16;
      };
      const seedRange: ActRange = { x: r.x, y: r.y, w: Float32Array.from(r.w) };
      const seedStored = shaped(tensor('f32', [k, cols], seedW));
      const wq = toF32(seedStored);
      const want = generateInt8(seedStored, seedRange, { qkv: g === 'qkv' });
      const got = generateInt8(shaped(weights.layers[n]![g].weight), ours, { qkv: g === 'qkv' });
      for (const [q, scale] of [['weight.int8', 'scale_w_quant_orig'], ['weight.int8.col', 'scale_w_quant_orig.col']] as const) {
        const a = got[q].data;
        const b = want[q].data;
        const sc = toF32(want[scale]);
        for (let i = 0; i < b.length; i++) {
          weightsCompared++;
          if (a[i] === b[i]) continue;
          // the seed's product x · (1 / scale_w_quant_orig): a flip is allowed only next to a .5 tie
          const j = i % cols;
          const p = Math.abs(wq[i]! / sc[scale === 'scale_w_quant_orig' && g !== 'qkv' ? 0 : j]!);
          const nearTie = Math.abs((p % 1) - 0.5) <= 2e-4 * Math.max(1, p);
          expect({ layer: n, gemm: g, array: q, index: i, ours: a[i], seed: b[i], product: p, nearTie }).toMatchObject({ nearTie: true });
          expect(Math.abs(a[i]! - b[i]!)).toBe(1);
          tieFlips++;
        }
      }
    }
  }
  return { worst, weightsCompared, tieFlips };
}

describe("convert -sq against the seed's SmoothQuant arithmetic", () => {
  it.skipIf(!existsSync(TINY_REF))(`tiny GPT-2, α 0.5, fp16 storage (${existsSync(TINY_REF) ? (JSON.parse(readFileSync(TINY_REF, 'utf8')) as SeedReference).made_by : 'no fixture'})`, async () => {
    const ref = JSON.parse(readFileSync(TINY_REF, 'utf8')) as SeedReference;
    const r = await compareWithSeed(loadHfGpt(TINY, { dtype: 'f32' }), TINY_PROMPTS, ref, 'f16');
    expect(r.worst.calibration).toBeLessThan(1e-4);
    expect(r.worst.smoothing).toBeLessThan(1e-4);
    expect(r.worst.ranges).toBeLessThan(1e-4);
    expect(r.weightsCompared).toBe(2 * 2 * 64 * (192 + 64 + 256) + 2 * 2 * 256 * 64);
  });
  const sotu = process.env['SQ_SEED_REFERENCE'];
  const sotuModel = process.env['SQ_SEED_MODEL'];
  const calib = process.env['SQ_SEED_CALIB'];
  it.skipIf(!sotu || !sotuModel || !calib)(`sotu-gpt2-16m on the reference SQ_SEED_REFERENCE names${sotu ? '' : ' (skipped: SQ_SEED_REFERENCE, SQ_SEED_MODEL, SQ_SEED_CALIB not set; scripts/gpu/smoothquant-report.sh sets them)'}`, async () => {
    const ref = JSON.parse(readFileSync(sotu!, 'utf8')) as SeedReference & { prompts: string };
    const [, samples, seqLen] = /: (\d+) samples, at most (\d+) tokens/.exec(ref.prompts)!;
    const tok = Gpt2Tokenizer.fromDir(sotuModel!);
    const prompts = readCalibrationTexts(calib!, { samples: Number(samples) }).map((t) => tok.encode(t).slice(0, Number(seqLen)));
    const r = await compareWithSeed(loadHfGpt(sotuModel!, { dtype: 'f32' }), prompts, ref, 'f16', GPU.ok ? { backend: 'cuda', kernels: 'production' } : {});
    console.log(`sotu-gpt2-16m vs the seed (${ref.made_by}; ${ref.prompts}): worst relative difference — calibration ${r.worst.calibration.toExponential(2)}, smoothing ${r.worst.smoothing.toExponential(2)}, ranges ${r.worst.ranges.toExponential(2)}; INT8 weights ${r.weightsCompared - r.tieFlips} of ${r.weightsCompared} equal, ${r.tieFlips} ±1 at .5 ties`);
    expect(r.worst.calibration).toBeLessThan(1e-3);
    expect(r.worst.smoothing).toBeLessThan(1e-3);
    expect(r.worst.ranges).toBeLessThan(1e-3);
  }, 300_000);
});
