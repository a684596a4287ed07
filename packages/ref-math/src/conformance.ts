/**
 * The conformance table: for each op, its dtypes, its tier (ARCHITECTURE.md, Numerics), its accumulation order
 * in one line, and a golden check with a value known independently of the code under test (by
 * hand, or by an identity that must hold bit for bit). `trtllm selftest` runs and prints it.
 *
 * Tier 1: exact on every kernel, production ones included. Tier 2: exact for reference-order CUDA
 * kernels; production kernels are compared with a declared tolerance (tier 3).
 */
import { f32, f32ToBits, ulpDistanceF32 } from './numerics/f32.js';
import { quantizeInt8 } from './numerics/int8.js';
import { fromF16Bits, fromFp8E4m3Bits, toBf16Bits, toF16Bits, toFp8E4m3Bits } from './numerics/minifloat.js';
import { cosF32, expF32, geluF32, sinF32, tanhF32 } from './numerics/transcendental.js';
import { gelu, swiglu } from './ops/activation.js';
import { argmaxRows } from './ops/argmax.js';
import { BEAM_WEIGHT_ONE, beamCandidates, beamLogProbs, penalizedLogits, sampleToken, SAMPLING_WEIGHT_ONE, samplingWeight, tokenLogProbFromRow, tokenLogProbRows } from './ops/sampling.js';
import { attention } from './ops/attention.js';
import { allGather, allReduceSum, shardCols, shardRows } from './ops/collectives.js';
import { embeddingLookup, vocabShardedLookup } from './ops/embedding.js';
import { dequantizeFp8, fp8Gemm, quantizeFp8 } from './ops/fp8.js';
import { gemm } from './ops/gemm.js';
import { int8Gemm, smoothQuantGemm } from './ops/int8-gemm.js';
import { assignBlocks, createKvCache, kvCacheRead, kvCacheWrite } from './ops/kv-cache.js';
import { layerNorm, layerNormQuantPerToken } from './ops/layernorm.js';
import { quantizePerTensor, quantizePerToken } from './ops/quantize.js';
import { residualAdd } from './ops/residual.js';
import { maskedSoftmax } from './ops/softmax.js';
import { rope, ropeTable } from './ops/rope.js';
import { gptConfig } from './model/config.js';
import { createGptKvCache, gptForward } from './model/gpt.js';
import { randomGptWeights } from './model/weights.js';
import { bitEqual, fromValues, toValues } from './tensor.js';

export interface ConformanceEntry {
  /** Op basename (ops/<op>.ts). */
  readonly op: string;
  readonly functions: string;
  readonly dtypes: string;
  readonly tier: 1 | 2;
  /** Accumulation order and rounding, in one line (the file header has the full spec). */
  readonly order: string;
  /** Throws an Error describing the mismatch when the golden check fails. */
  readonly check: () => void;
}

function expect(what: string, got: unknown, want: unknown): void {
  if (!Object.is(got, want)) throw new Error(`${what}: got ${String(got)}, want ${String(want)}`);
}
function expectTrue(what: string, ok: boolean): void {
  if (!ok) throw new Error(what);
}
const vals = (t: Parameters<typeof toValues>[0]): number[] => Array.from(toValues(t));

export const CONFORMANCE: readonly ConformanceEntry[] = [
  {
    op: 'numerics',
    functions: 'toF16Bits fromF16Bits toBf16Bits toFp8E4m3Bits quantizeInt8',
    dtypes: 'f16 bf16 fp8e4m3 i8',
    tier: 1,
    order: 'one rounding of the exact input, nearest-even; fp8 saturating; int8 sat(rni(fp32(x·s)))',
    check: () => {
      expect('f16(1 + 2^-11) tie → even', toF16Bits(1 + 2 ** -11), 0x3c00);
      expect('f16(1 + 3·2^-11) tie → even', toF16Bits(1 + 3 * 2 ** -11), 0x3c02);
      expect('f16(65520) overflows', toF16Bits(65520), 0x7c00);
      expect('f16 min subnormal', fromF16Bits(0x0001), 2 ** -24);
      expect('bf16(1 + 2^-8) tie → even', toBf16Bits(1 + 2 ** -8), 0x3f80);
      expect('fp8(464) tie → 448', toFp8E4m3Bits(464), 0x7e);
      expect('fp8(1e6) saturates', toFp8E4m3Bits(-1e6), 0xfe);
      expect('fp8 min subnormal', fromFp8E4m3Bits(0x01), 2 ** -9);
      expect('int8(2.5) → 2', quantizeInt8(2.5, 1), 2);
      expect('int8(-3.5) → -4', quantizeInt8(-3.5, 1), -4);
      expect('int8(300) saturates', quantizeInt8(3, 100), 127);
    },
  },
  {
    op: 'numerics',
    functions: 'expF32 tanhF32 sinF32 cosF32 geluF32',
    dtypes: 'f32',
    tier: 1,
    order: 'fixed fp32 range reduction + Horner polynomial, no FMA (numerics/transcendental.ts)',
    check: () => {
      expect('exp(0)', expF32(0), 1);
      expect('exp(1) bits', f32ToBits(expF32(1)), f32ToBits(f32(Math.E)));
      expect('exp(-104)', expF32(-104), 0);
      expect('tanh(-0)', Object.is(tanhF32(-0), -0), true);
      expect('tanh(20)', tanhF32(20), 1);
      for (const x of [0.1, 0.5, 0.7, 2, 5]) expectTrue(`tanh(${x}) within 1 ulp`, ulpDistanceF32(tanhF32(x), Math.tanh(x)) <= 1);
      expect('sin(0)', sinF32(0), 0);
      expect('cos(0)', cosF32(0), 1);
      expect('gelu(0)', geluF32(0), 0);
    },
  },
  {
    op: 'gemm',
    functions: 'gemm',
    dtypes: 'f32 f16 bf16 → f32 f16 bf16',
    tier: 2,
    order: 'per output: fp32 acc, k ascending, acc = fp32(acc + fp32(a·b)); + bias in fp32; one cast',
    check: () => {
      // 2^24 + 1 + 1 in k order rounds to 2^24 twice (ties to even); any other order gives 2^24 + 2.
      const a = fromValues('f32', [1, 3], [2 ** 24, 1, 1]);
      const b = fromValues('f32', [3, 1], [1, 1, 1]);
      expect('k ascending, rounded per step', vals(gemm({ a, b }))[0], 2 ** 24);
      const y = gemm({ a: fromValues('f16', [1, 2], [1, 2]), b: fromValues('f16', [2, 2], [1, 2, 3, 4]), bias: fromValues('f16', [2], [0.5, -0.5]) });
      expect('f16 [1,2]·[[1,2],[3,4]] + bias', vals(y).join(), '7.5,9.5');
    },
  },
  {
    op: 'int8-gemm',
    functions: 'int8Gemm smoothQuantGemm smoothQuantEpilogue',
    dtypes: 'i8×i8 → i32 → f32 f16 bf16',
    tier: 1,
    order: 'exact int32 sum; y = T(fp32(acc)·fp32(αcol·αrow)); bias added after, in T; then gelu and + residual, each in T',
    check: () => {
      const a = fromValues('i8', [1, 2], [-128, 127]);
      const b = fromValues('i8', [2, 1], [-128, 127]);
      expect('(-128)² + 127²', vals(int8Gemm({ a, b }))[0], 16384 + 16129);
      const y = smoothQuantGemm(
        { a, b, alphaRow: fromValues('f32', [1], [0.5]), alphaCol: fromValues('f32', [1], [0.25]), bias: fromValues('f32', [1], [1]) },
        { outDtype: 'f32', mode: { perToken: true, perChannel: true } },
      );
      expect('32513 · 0.125 + 1', vals(y)[0], 32513 * 0.125 + 1);
    },
  },
  {
    op: 'quantize',
    functions: 'quantizePerTensor quantizePerToken dequantize absMaxColumns',
    dtypes: 'f32 f16 bf16 → i8',
    tier: 1,
    order: 'per token: rowMax = max(1e-6, max|x|), q = sat(rni(fp32(x·fp32(127/rowMax)))), s = rowMax/127',
    check: () => {
      const x = fromValues('f32', [2, 2], [1, -0.5, 0, 0]);
      const { q, scale } = quantizePerToken({ x });
      expect('row 0', vals(q).join(), '127,-64,0,0');
      expect('row 0 scale', scale.data[0], f32(1 / 127));
      expect('per tensor', vals(quantizePerTensor({ x }, { scale: 10 })).join(), '10,-5,0,0');
    },
  },
  {
    op: 'fp8',
    functions: 'quantizeFp8 dequantizeFp8 fp8Gemm',
    dtypes: 'f32 f16 bf16 ↔ fp8e4m3',
    tier: 1,
    order: 'q = e4m3(fp32(x·s)); gemm: fp32 acc k ascending (exact products), ·fp32(sa·sb), + bias',
    check: () => {
      const q = quantizeFp8({ x: fromValues('f32', [1, 3], [1, 500, 0.3]) }, { scale: 1 });
      expect('values', vals(dequantizeFp8({ q }, { scale: 1, outDtype: 'f32' })).join(), '1,448,0.3125');
      const y = fp8Gemm({ a: q, b: quantizeFp8({ x: fromValues('f32', [3, 1], [2, 0, 4]) }, { scale: 1 }) }, { scaleA: 0.5, scaleB: 1, outDtype: 'f32' });
      expect('(2 + 1.25) · 0.5', vals(y)[0], 1.625);
    },
  },
  {
    op: 'layernorm',
    functions: 'layerNorm layerNormQuantPerToken',
    dtypes: 'f32 f16 bf16 (+ → i8)',
    tier: 2,
    order: 'two-pass, h ascending: mean, var = Σ(x−mean)²/H, rstd = 1/sqrt(var+eps); (x−mean)·rstd·γ + β',
    check: () => {
      const x = fromValues('f32', [1, 4], [1, 2, 3, 4]);
      const y = vals(layerNorm({ x, gamma: fromValues('f32', [4], [1, 1, 1, 1]) }));
      expect('symmetric row', y[0], -y[3]!);
      expect('rstd', f32ToBits(y[3]!), f32ToBits(f32(1.5 * f32(1 / f32(Math.sqrt(f32(1.25 + f32(1e-5))))))));
      const fused = layerNormQuantPerToken({ x, gamma: fromValues('f32', [4], [1, 1, 1, 1]) });
      expect('fused quant max', vals(fused.q)[3], 127);
    },
  },
  {
    op: 'activation',
    functions: 'gelu swiglu',
    dtypes: 'f32 f16 bf16',
    tier: 1,
    order: 'elementwise: geluF32 / fp32(siluF32(x)·gate), one cast',
    check: () => {
      expect('gelu(0)', vals(gelu({ x: fromValues('f32', [1], [0]) }))[0], 0);
      expect('swiglu(x, 0)', vals(swiglu({ x: fromValues('f32', [1], [3]), gate: fromValues('f32', [1], [0]) }))[0], 0);
    },
  },
  {
    op: 'softmax',
    functions: 'maskedSoftmax',
    dtypes: 'f32 f16 bf16',
    tier: 2,
    order: 's = fp32(x·scale); max; e = expF32(s − max); Σ ascending; e/Σ; masked → 0',
    check: () => {
      const y = vals(maskedSoftmax({ x: fromValues('f32', [1, 4], [3, 3, 3, 3]) }, { scale: 0.5 }));
      expect('uniform row', y.join(), '0.25,0.25,0.25,0.25');
      const m = vals(maskedSoftmax({ x: fromValues('f32', [1, 2], [5, 1]), mask: fromValues('i8', [1, 2], [0, 1]) }, { scale: 1 }));
      expect('masked', m.join(), '0,1');
    },
  },
  {
    op: 'residual',
    functions: 'residualAdd',
    dtypes: 'f32 f16 bf16',
    tier: 1,
    order: 'elementwise fp32(a + b), one cast',
    check: () => expect('f16 1 + 2^-11 → tie', vals(residualAdd({ a: fromValues('f16', [1], [1]), b: fromValues('f16', [1], [2 ** -11]) }))[0], 1),
  },
  {
    op: 'rope',
    functions: 'ropeTable rope',
    dtypes: 'f32 f16 bf16',
    tier: 1,
    order: 'table: θ = fp32(t·invFreq), cosF32/sinF32; y = fp32(x1·c − x2·s), fp32(x2·c + x1·s)',
    check: () => {
      const table = ropeTable(4, 4);
      const x = fromValues('f32', [1, 1, 6], [1, 2, 3, 4, 5, 6]);
      expectTrue('position 0 is the identity', bitEqual(rope({ x, positions: fromValues('i32', [1], [0]), table }), x));
      const y = vals(rope({ x, positions: fromValues('i32', [1], [1]), table }));
      expect('pass-through dims', y.slice(4).join(), '5,6');
      expect('y0 = x0·cos1 − x2·sin1', y[0], f32(f32(cosF32(1)) - f32(3 * sinF32(1))));
    },
  },
  {
    op: 'kv-cache',
    functions: 'createKvCache kvCacheWrite kvCacheRead',
    dtypes: 'f32 f16 bf16 i8 fp8e4m3',
    tier: 1,
    order: 'float: cast; i8/fp8: q = cvt(fp32(x·fp32(1/s))); read fp32(q·s); paged via block table',
    check: () => {
      const spec = { numLayers: 1, numSlots: 1, numKvHeads: 1, headSize: 2, dtype: 'i8' as const, scales: [{ k: 0.5, v: 0.25 }] };
      const paged = createKvCache({ ...spec, layout: { kind: 'paged', tokensPerBlock: 2, numBlocks: 4, maxBlocksPerSeq: 2 } });
      assignBlocks(paged, 0, [3, 1]);
      const k = fromValues('f32', [1, 1, 2], [1, -64]);
      kvCacheWrite(paged, 0, { k, v: k, slots: fromValues('i32', [1], [0]), positions: fromValues('i32', [1], [2]) });
      expect('K read', Array.from(kvCacheRead(paged, 0, 0, 0, 0, 2)).join(), '1,-64');
      expect('V read (saturated)', Array.from(kvCacheRead(paged, 0, 0, 1, 0, 2)).join(), '1,-32');
    },
  },
  {
    op: 'attention',
    functions: 'attention contextAttention decodeAttention',
    dtypes: 'f32 f16 bf16; cache any kv-cache dtype',
    tier: 2,
    order: 'score = Σ_d q·k (d asc); softmax row; out = Σ_j p·v (j asc); fp32, one cast',
    check: () => {
      const q = fromValues('f32', [1, 2, 2], [1, 2, 3, 4]);
      const kv = fromValues('f32', [1, 1, 2], [5, -6]);
      const o = attention({ q, k: kv, v: kv }, { sequences: [{ slot: 0, start: 0, length: 1 }] });
      expect('one key: out = v (MQA, 2 heads)', vals(o).join(), '5,-6,5,-6');
    },
  },
  {
    op: 'embedding',
    functions: 'embeddingLookup promptEmbeddingLookup vocabShardedLookup hiddenShardedLookup addPositionEmbedding',
    dtypes: 'f32 f16 bf16',
    tier: 1,
    order: 'row copy; sharded: out-of-range id → zero row; position add fp32(x + wpe), one cast',
    check: () => {
      const table = fromValues('f16', [5, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const ids = fromValues('i32', [3], [4, 0, 2]);
      const parts = shardRows(table, 2).map((shard, rank) => vocabShardedLookup({ ids, shard }, { rank, tpSize: 2, vocabSize: 5 }));
      expectTrue('Σ_ranks vocab-sharded == lookup', bitEqual(allReduceSum(parts), embeddingLookup({ ids, table })));
    },
  },
  {
    op: 'argmax',
    functions: 'argmax argmaxRows',
    dtypes: 'f32 → i32',
    tier: 1,
    order: 'sequential scan, strict > (first of equal maxima), NaN never chosen over a number',
    check: () => {
      const ids = vals(argmaxRows(fromValues('f32', [2, 3], [2, 5, 5, NaN, -1, -1])));
      expect('first of equal maxima', ids[0], 1);
      expect('NaN skipped, then first of equal maxima', ids[1], 1);
    },
  },
  {
    op: 'sampling',
    functions: 'sampleToken sampleRows penalizedLogits samplingCandidates samplingWeight drawTarget beamCandidates beamLogProbs beamCandidateRows tokenLogProbs tokenLogProbsOf tokenLogProbRows tokenLogProbFromRow',
    dtypes: 'f32 → i32',
    tier: 2,
    order: 'fp32 penalty and weights elementwise (w = rni(expF32(fp32(x − m) / t) · 2^24)); exact integer sums; target ⌊r · S / 2^32⌋',
    check: () => {
      // candidates in order 0, 1, 3 (x = 5, ties by id) and 2 (x = −100: weight 0); NaN and −∞ never
      const x = [5, 5, -100, 5, NaN, -Infinity];
      const row = { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, seen: [], banned: -1 };
      expect('x = m weighs 2^24', samplingWeight(5, 5, 1), SAMPLING_WEIGHT_ONE);
      expect('e^−105 weighs 0', samplingWeight(-100, 5, 1), 0);
      // S = 3 · 2^24: r = 2^31 → target 3 · 2^23, past the first weight → the second candidate
      expect('draw 2^31 of three equal weights', sampleToken(x, { ...row, draw: 2 ** 31 }), 1);
      expect('draw 2^32 − 1 → the last weighted candidate', sampleToken(x, { ...row, draw: 2 ** 32 - 1 }), 3);
      // top-p 0.5: ⌈0.5 · 3 · 2^24⌉ needs two candidates, S = 2^25; r = 2^31 − 1 → target 2^24 − 1
      expect('top-p keeps the shortest prefix', sampleToken(x, { ...row, topP: 0.5, draw: 2 ** 31 - 1 }), 0);
      expect('top-p 0.5, draw 2^31', sampleToken(x, { ...row, topP: 0.5, draw: 2 ** 31 }), 1);
      expect('top-k 1', sampleToken(x, { ...row, topK: 1, draw: 2 ** 32 - 1 }), 0);
      expect('greedy: temperature 0', sampleToken(x, { ...row, temperature: 0, banned: 0, draw: 0 }), 1);
      const y = penalizedLogits([4, -3, 1], { repetitionPenalty: 2, seen: [0, 1, 0, 7], banned: 2 });
      expect('penalty divides a positive logit', y[0], 2);
      expect('penalty multiplies a negative logit', y[1], -6);
      expect('the banned id is −∞', y[2], -Infinity);
      // beams: two equal maxima weigh 2^32 each, −∞ nothing: log p = −ln 2 for both
      const c = beamCandidates([0, 0, -Infinity, NaN], 3);
      expect('beam candidates in order, NaN left out', c.ids.join(), '0,1,2');
      expect('beam weight sum', c.weightSum, 2 * BEAM_WEIGHT_ONE);
      expectTrue('beam log p of an even pair is −ln 2', Math.abs(beamLogProbs(c)[0]! + Math.LN2) < 1e-12);
      // a given token's log-probability from four words a row (tier 1 on the device): −ln 2 again
      const words = tokenLogProbRows(fromValues('f32', [1, 4], [0, 0, -Infinity, NaN]), fromValues('i32', [1], [1])).data;
      expectTrue('token log p from the reduced row is −ln 2', Math.abs(tokenLogProbFromRow(words, 0) + Math.LN2) < 1e-12);
    },
  },
  {
    op: 'collectives',
    functions: 'allReduceSum allGather shardRows shardCols',
    dtypes: 'f32 f16 bf16',
    tier: 2,
    order: 'all-reduce: ranks ascending, one cast per step; all-gather: concat in rank order',
    check: () => {
      const table = fromValues('bf16', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
      expectTrue('allGather(shardCols) == table', bitEqual(allGather(shardCols(table, 4)), table));
      const s = allReduceSum([fromValues('f16', [1], [2048]), fromValues('f16', [1], [1]), fromValues('f16', [1], [1])]);
      expect('per-step rounding (2048+1 → 2048)', vals(s)[0], 2048);
    },
  },
  {
    op: 'gpt',
    functions: 'gptForward greedyGenerate',
    dtypes: 'f32 f16 bf16',
    tier: 2,
    order: 'composition of the ops above; prefill + decode ≡ one longer prefill, bit for bit',
    check: () => {
      const config = gptConfig({ vocabSize: 37, nPositions: 16, nEmbd: 16, nHead: 2, nLayer: 2, dtype: 'f16' });
      const model = { config, weights: randomGptWeights(config, 7) };
      const tokens = [3, 1, 4, 1, 5];
      const full = gptForward(model, createGptKvCache(config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens }], { logits: 'last' });
      const cache = createGptKvCache(config, { numSlots: 1 });
      gptForward(model, cache, [{ slot: 0, start: 0, tokens: tokens.slice(0, 4) }], { logits: 'last' });
      const step = gptForward(model, cache, [{ slot: 0, start: 4, tokens: [5] }], { logits: 'last' });
      expectTrue('decode step == prefill logits, bit for bit', bitEqual(full, step));
      expectTrue('finite logits', vals(full).every(Number.isFinite));
      expect('logits shape', full.shape.join(), `1,${config.vocabSize}`);
    },
  },
];

export interface ConformanceResult {
  readonly entry: ConformanceEntry;
  readonly ok: boolean;
  readonly error?: string;
  readonly ms: number;
}

/** Run the golden checks (all by default); never throws: a failure is a result with its message. */
export function runConformance(entries: readonly ConformanceEntry[] = CONFORMANCE): ConformanceResult[] {
  return entries.map((entry) => {
    const t0 = performance.now();
    try {
      entry.check();
      return { entry, ok: true, ms: performance.now() - t0 };
    } catch (e) {
      return { entry, ok: false, error: e instanceof Error ? e.message : String(e), ms: performance.now() - t0 };
    }
  });
}
