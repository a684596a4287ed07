/**
 * Kernel cases of op `sampling` (tier 2, exact: the same token as ref-math sampleRows): GPT-2
 * vocabulary rows with every setting mixed (greedy, temperature, top-k, top-p, both, repetition
 * penalty, a banned id, NaN and −∞ logits, an all −∞ row, top-k beyond the candidates), near-flat
 * logits (every one of 50,257 tokens a candidate: the deepest descents), logits with many ties, a
 * vocabulary past 2^16 ids, 64 and 96 rows of seeded draws, a small vocabulary, the same rows on teams
 * of 1, 2, 4 and 8 blocks per row; beam search's candidates of such rows; given tokens' log-probabilities
 * of such rows (tier 1), tokens out of range among them.
 */
import * as ref from '@trtllm/ref-math';
import { fromValues, mulberry32, type SamplingRow, type Tensor } from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

/**
 * A case over logits x [R, V] and one settings row each; `team` forces the blocks per row
 * (TRTLLM_SAMPLE_TEAM, read at launch; a device without clusters runs one block whatever is asked).
 */
function samplingCase(name: string, x: Tensor<'f32'>, rows: readonly SamplingRow[], team?: 1 | 2 | 4 | 8): KernelCase {
  const [r, v] = x.shape as [number, number];
  const t = gpu.samplingTensors(gpu.packSampling(rows));
  const workspace = fromValues('i32', [gpu.sampleWorkspaceSize(r, v)], new Int32Array(gpu.sampleWorkspaceSize(r, v)));
  return caseOf({
    name, op: 'sampling', dtype: 'f32→i32', shape: `[${r},${v}]`, tier: 2, host: { x, ...t, workspace },
    ref: () => [ref.sampleRows(x, rows)],
    launch: (d) => {
      const before = process.env['TRTLLM_SAMPLE_TEAM'];
      if (team !== undefined) process.env['TRTLLM_SAMPLE_TEAM'] = String(team);
      try {
        return [gpu.sampleRows({ x: d['x']!, settings: d['settings']!, seenOffsets: d['seenOffsets']!, seen: d['seen']!, workspace: d['workspace']! })];
      } finally {
        if (before === undefined) delete process.env['TRTLLM_SAMPLE_TEAM'];
        else process.env['TRTLLM_SAMPLE_TEAM'] = before;
      }
    },
    bytes: bytesOf(x), flops: 0,
  });
}

const base: SamplingRow = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, seen: [], banned: -1, draw: 0 };

/** n rows of mixed settings with seeded draws (the settings cycle; every draw differs). */
function mixedRows(n: number, seed: number, vocab: number): SamplingRow[] {
  const next = mulberry32(seed);
  const kinds: Partial<SamplingRow>[] = [
    { temperature: 0 },
    { temperature: 0.7 },
    { topK: 50 },
    { topP: 0.9 },
    { topK: 40, topP: 0.95, temperature: 0.8 },
    { repetitionPenalty: 1.3, seen: [5, 17, 5, 99, vocab - 1, vocab + 3, -1] },
    { banned: 50256 % vocab, temperature: 1.2 },
    { temperature: 1.5, topP: 0.5 },
    { topK: vocab + 10 },
    { temperature: 0, repetitionPenalty: 2, seen: [0, 1, 2, 3] },
    { topK: 1, temperature: 3 },
    { topP: 1e-6 },
    { topP: 1e-46 }, // 0 in fp32: the first candidate
  ];
  return Array.from({ length: n }, (_, i) => ({ ...base, ...kinds[i % kinds.length], draw: next() }));
}

/** Beam candidates of logits x [R, V], n per row. */
function beamCase(name: string, x: Tensor<'f32'>, n: number): KernelCase {
  const [r, v] = x.shape as [number, number];
  const workspace = fromValues('i32', [gpu.sampleWorkspaceSize(r, v)], new Int32Array(gpu.sampleWorkspaceSize(r, v)));
  return caseOf({
    name, op: 'sampling', dtype: 'f32→i32', shape: `[${r},${v}] n ${n}`, tier: 2, host: { x, workspace },
    ref: () => [ref.beamCandidateRows(x, n)],
    launch: (d) => [gpu.beamCandidateRows({ x: d['x']!, workspace: d['workspace']! }, n)],
    bytes: bytesOf(x), flops: 0,
  });
}

/** Given tokens' log-probabilities, reduced: logits x [R, V] and one token per row (tier 1). */
function tokenLogProbCase(name: string, x: Tensor<'f32'>, tokens: readonly number[]): KernelCase {
  const [r, v] = x.shape as [number, number];
  const t = fromValues('i32', [r], tokens);
  return caseOf({
    name, op: 'sampling', dtype: 'f32→i32', shape: `[${r},${v}]`, tier: 1, host: { x, tokens: t },
    ref: () => [ref.tokenLogProbRows(x, t)],
    launch: (d) => [gpu.tokenLogProbRows({ x: d['x']!, tokens: d['tokens']! })],
    bytes: bytesOf(x), flops: 0,
  });
}

export function samplingCases(): KernelCase[] {
  const v = 50257;
  const mixed = rnd('f32', [13, v], 710, 3);
  const md = mixed.data as Float32Array;
  md[3 * v + 11] = NaN; md[3 * v + 12] = -Infinity; md[3 * v + 13] = Infinity; // row 3: NaN, −∞, +∞ (weighs 1, all others 0)
  md.fill(NaN, 4 * v, 4 * v + 100);                                               // row 4: leading NaNs
  md.fill(-Infinity, 7 * v, 8 * v);                                               // row 7: all −∞ → argmax (0)
  md.fill(-5, 9 * v, 10 * v); md[9 * v + 40] = -0; md[9 * v + 41] = 0; md[9 * v + 42] = -0; // row 9 (greedy): ±0 maxima tie → the lowest id
  md.fill(-3, 10 * v, 11 * v); md[10 * v + 7] = -0; md[10 * v + 8] = 0;           // row 10 (top-k 1): −0 before +0, a tie → the lower id
  // near-flat: σ 0.01, every token a candidate of weight ≈ 2^24
  const flat = rnd('f32', [4, v], 711, 0.01);
  // ties: values on a 0.25 grid, so thousands of logits are equal and the id decides the order
  const ties = rnd('f32', [6, v], 712, 1);
  (ties.data as Float32Array).forEach((x, i, a) => (a[i] = Math.round(x * 4) / 4));
  // a vocabulary past 2^16 ids (Qwen-sized), peaked logits
  const big = rnd('f32', [3, 152064], 713, 6);
  return [
    samplingCase('sampling gpt2 logits, mixed settings (greedy, T, top-k, top-p, penalty, ban, NaN/±∞, ±0 ties, top-p 0 in fp32)', mixed, mixedRows(13, 714, v)),
    samplingCase('sampling near-flat logits (all 50,257 candidates)', flat, mixedRows(4, 715, v).map((r, i) => ({ ...r, temperature: [1, 0.5, 2, 1][i]!, topK: [0, 0, 1000, 0][i]!, topP: [1, 0.9, 0.99, 0.3][i]! }))),
    samplingCase('sampling tied logits (0.25 grid)', ties, mixedRows(6, 716, v).map((r) => ({ ...r, temperature: r.temperature || 1 }))),
    samplingCase('sampling vocab 152064 (ids past 2^16)', big, mixedRows(3, 717, 152064).map((r) => ({ ...r, temperature: 1, banned: -1 }))),
    samplingCase('sampling 64 rows of seeded draws, gpt2 vocab', rnd('f32', [64, v], 718, 2), mixedRows(64, 719, v)),
    // rows are split over a team of 1–8 blocks by row count and vocabulary (csrc/sampling.cu sampleTeam): on a
    // 132-SM Hopper 1–13 rows of 50,257 take 8, 64 rows 4, 96 rows 2, and a vocabulary under 4,096 one block;
    // the same rows with every team size forced must give the same tokens
    samplingCase('sampling 96 rows of mixed settings, gpt2 vocab', rnd('f32', [96, v], 721, 2), mixedRows(96, 722, v)),
    samplingCase('sampling vocab 3000 (one block per row)', rnd('f32', [5, 3000], 723, 2), mixedRows(5, 724, 3000)),
    ...([1, 2, 4, 8] as const).map((team) => samplingCase(`sampling gpt2 logits, mixed settings, a team of ${team} forced`, mixed, mixedRows(13, 714, v), team)),
    beamCase('beam candidates gpt2 logits (NaN, ±∞, an all −∞ row, ±0 maxima), 8 per row', mixed, 8),
    beamCase('beam candidates tied logits, 16 per row', ties, 16),
    beamCase('beam candidates near-flat logits, 8 per row', flat, 8),
    beamCase('beam candidates 64 rows of 4 beams (8 each)', rnd('f32', [64, v], 720, 2), 8),
    // row 3's target is its NaN, row 7's an all −∞ row's, row 9's a −0 maximum; tokens −1 and V have no logit
    tokenLogProbCase('token log-probs gpt2 logits (NaN, ±∞, an all −∞ row, ±0 maxima), tokens out of range', mixed, [0, 50256, -1, 11, 40, 50257, 3, 7, 9, 40, 8, 12, 31337]),
    tokenLogProbCase('token log-probs near-flat and tied logits (S past 2^47)', fromValues('f32', [10, v], [...(flat.data as Float32Array), ...(ties.data as Float32Array)]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    tokenLogProbCase('token log-probs 256 rows of a window, gpt2 vocab', rnd('f32', [256, v], 725, 3), Array.from({ length: 256 }, (_, i) => (i * 7919) % v)),
    tokenLogProbCase('token log-probs vocab 152064 (ids past 2^16)', big, [0, 152063, 70000]),
    // a prompt's rows scored beside its last row, whose target is −1 (its pick is scored from its own row)
    tokenLogProbCase('token log-probs of a prompt, the last row −1', rnd('f32', [6, v], 726, 2), [5, 31, 17, 40000, 12, -1]),
    // V 5: most threads and warps hold no logit; a row of NaN, one of −∞, ±0 maxima (−0 first), a signalling NaN target
    tokenLogProbCase('token log-probs V 5 (NaN, all NaN, all −∞, ±0 maxima, a signalling NaN target)', fromValues('f32', [5, 5], [1, NaN, 3, 3, -Infinity, NaN, NaN, NaN, NaN, NaN, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -5, -0, 0, -5, -7, 0.5, new Float32Array(new Uint32Array([0x7fa00000]).buffer)[0]!, 1, 1, 1]), [2, 0, 4, 1, 1]),
    beamCase('beam candidates: more asked than values (V 5)', fromValues('f32', [2, 5], [1, NaN, 3, 3, -Infinity, NaN, NaN, NaN, NaN, NaN]), 7),
  ];
}
