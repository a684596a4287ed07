/**
 * Kernel cases of op `int8-gemm` (tier 1, exact): int8 × int8 → int32 and the four SmoothQuant
 * epilogue modes (per-tensor / per-token activations × per-tensor / per-channel weights); the
 * production pair — cuBLASLt tensor-core INT8 (int8GemmLt, weight [N, K]) and the epilogue over its
 * int32 output with GELU and the residual — exact as well; and int8GemmDecode, the two in one kernel for
 * decode rows, exact against the oracle's composition smoothQuantEpilogue(int8Gemm(a, bᵀ)).
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType } from '@trtllm/ref-math';
import { bytesOf, caseOf, nmse, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function int8Case(name: string, m: number, k: number, n: number, mode: ref.SmoothQuantMode | undefined, outDtype: ActDType = 'f16', transB = false): KernelCase {
  const a = rnd('i8', [m, k], m + k);
  const b = rnd('i8', transB ? [n, k] : [k, n], n + 2 * k);
  if (!mode) {
    return caseOf({
      name, op: 'int8-gemm', dtype: 'i8→i32', shape: `[${m},${k}]·[${k},${n}]${transB ? ' Bᵀ' : ''}`, tier: 1, host: { a, b },
      ref: () => [ref.int8Gemm({ a, b }, { transB })],
      launch: (d) => [gpu.int8Gemm({ a: d['a'] as never, b: d['b'] as never }, { transB })],
      bytes: bytesOf(a, b) + 4 * m * n, flops: 2 * m * n * k,
    });
  }
  const alphaRow = rnd('f32', [mode.perToken ? m : 1], 5, 0.01, 0.02);
  const alphaCol = rnd('f32', [mode.perChannel ? n : 1], 6, 0.01, 0.03);
  const bias = rnd(outDtype, [n], 7);
  const attrs = { outDtype, mode, transB };
  return caseOf({
    name, op: 'int8-gemm', dtype: `i8→${outDtype}`, shape: `[${m},${k}]·[${k},${n}] ${mode.perToken ? 'per-token' : 'per-tensor'}/${mode.perChannel ? 'per-channel' : 'per-tensor'} +bias`, tier: 1,
    host: { a, b, alphaRow, alphaCol, bias },
    ref: () => [ref.smoothQuantGemm({ a, b, alphaRow, alphaCol, bias }, attrs)],
    launch: (d) => [gpu.smoothQuantGemm({ a: d['a'] as never, b: d['b'] as never, alphaRow: d['alphaRow'] as never, alphaCol: d['alphaCol'] as never, bias: d['bias'] as never }, attrs)],
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[outDtype].bytes, flops: 2 * m * n * k,
  });
}

/** int8GemmLt: a [M, K] · bᵀ, b [N, K], on tensor cores (or the reference kernel where IMMA cannot run the shape). */
export function int8LtCase(name: string, m: number, k: number, n: number): KernelCase {
  const a = rnd('i8', [m, k], 3 * m + k);
  const b = rnd('i8', [n, k], n + 5 * k);
  return caseOf({
    name, op: 'int8-gemm', dtype: 'i8→i32', shape: `[${m},${k}]·[${n},${k}]ᵀ`, tier: 1, production: true, host: { a, b },
    ref: () => [ref.int8Gemm({ a, b }, { transB: true })],
    launch: (d) => [gpu.int8GemmLt({ a: d['a'] as never, b: d['b'] as never })],
    bytes: bytesOf(a, b) + 4 * m * n, flops: 2 * m * n * k,
  });
}

/** smoothQuantEpilogue over an int32 accumulator: bias, optional GELU and residual. */
export function epilogueCase(name: string, m: number, n: number, mode: ref.SmoothQuantMode, outDtype: ActDType, o: { gelu?: boolean; residual?: boolean }): KernelCase {
  const acc = ref.int8Gemm({ a: rnd('i8', [m, 64], m), b: rnd('i8', [64, n], n) });
  const alphaRow = rnd('f32', [mode.perToken ? m : 1], 8, 1e-4, 2e-4);
  const alphaCol = rnd('f32', [mode.perChannel ? n : 1], 9, 1e-3, 3e-3);
  const bias = rnd(outDtype, [n], 10);
  const residual = o.residual ? rnd(outDtype, [m, n], 11) : undefined;
  const attrs = { outDtype, mode, gelu: o.gelu ?? false };
  return caseOf({
    name, op: 'int8-gemm', dtype: `i32→${outDtype}`, shape: `[${m},${n}]${o.gelu ? ' gelu' : ''}${o.residual ? ' +residual' : ''}`, tier: 1, production: true,
    host: { acc, alphaRow, alphaCol, bias, residual },
    ref: () => [ref.smoothQuantEpilogue(residual ? { acc, alphaRow, alphaCol, bias, residual } : { acc, alphaRow, alphaCol, bias }, attrs)],
    launch: (d) => [gpu.smoothQuantEpilogue({ acc: d['acc'] as never, alphaRow: d['alphaRow'] as never, alphaCol: d['alphaCol'] as never, bias: d['bias'] as never, ...(residual ? { residual: d['residual'] as never } : {}) }, attrs)],
    bytes: 4 * m * n + bytesOf(bias, ...(residual ? [residual] : [])) + m * n * ref.DTYPES[outDtype].bytes, flops: 0,
  });
}

/**
 * int8GemmDecode: a [M, K] · bᵀ, b [N, K], with the whole epilogue. The oracle is the composition of the
 * two ref-math ops it fuses: smoothQuantEpilogue({ acc: int8Gemm({ a, b }, { transB: true }), … }).
 */
export function int8DecodeCase(name: string, m: number, k: number, n: number, mode: ref.SmoothQuantMode, outDtype: ActDType, o: { gelu?: boolean; residual?: boolean; bias?: boolean } = {}): KernelCase {
  const a = rnd('i8', [m, k], 11 * m + k);
  const b = rnd('i8', [n, k], 7 * n + 3 * k);
  const alphaRow = rnd('f32', [mode.perToken ? m : 1], 12, 1e-4, 2e-4);
  const alphaCol = rnd('f32', [mode.perChannel ? n : 1], 13, 1e-3, 3e-3);
  const bias = o.bias === false ? undefined : rnd(outDtype, [n], 14);
  const residual = o.residual ? rnd(outDtype, [m, n], 15) : undefined;
  const attrs = { outDtype, mode, gelu: o.gelu ?? false };
  const extras = { ...(bias ? { bias } : {}), ...(residual ? { residual } : {}) };
  return caseOf({
    name, op: 'int8-gemm', dtype: `i8→${outDtype}`,
    shape: `[${m},${k}]·[${n},${k}]ᵀ ${mode.perToken ? 'per-token' : 'per-tensor'}/${mode.perChannel ? 'per-channel' : 'per-tensor'}${bias ? ' +bias' : ''}${o.gelu ? ' gelu' : ''}${residual ? ' +residual' : ''}`,
    tier: 1, production: true, host: { a, b, alphaRow, alphaCol, bias, residual },
    ref: () => [ref.smoothQuantEpilogue({ acc: ref.int8Gemm({ a, b }, { transB: true }), alphaRow, alphaCol, ...extras }, attrs)],
    launch: (d) => [gpu.int8GemmDecode({ a: d['a'] as never, b: d['b'] as never, alphaRow: d['alphaRow'] as never, alphaCol: d['alphaCol'] as never, ...(bias ? { bias: d['bias'] as never } : {}), ...(residual ? { residual: d['residual'] as never } : {}) }, attrs)],
    bytes: bytesOf(a, b, ...(bias ? [bias] : []), ...(residual ? [residual] : [])) + m * n * ref.DTYPES[outDtype].bytes, flops: 2 * m * n * k,
  });
}

/**
 * int8GemmDecode with float activations, quantized inside. The oracle: quantizePerToken (or
 * quantizePerTensor with the multiplier) → smoothQuantEpilogue(int8Gemm(q, bᵀ)) with those row scales;
 * tier 1. With `norm`, the activations are a LayerNorm's input, normalized inside too: the oracle runs
 * layerNorm first, and the case is tier 3 as that LayerNorm — where the production LayerNorm's y sits
 * one rounding away from the oracle's, its int8 may be the neighbouring step (that the kernel equals
 * layerNormFastQuant → int8GemmDecode bit for bit is parity.test.ts's check).
 */
export function int8DecodeQuantizingCase(
  name: string, m: number, k: number, n: number, mode: ref.SmoothQuantMode, outDtype: ActDType,
  o: { gelu?: boolean; residual?: boolean; norm?: { beta?: boolean; plusOne?: boolean } } = {},
): KernelCase {
  const norm = o.norm;
  // each variant's own inputs (the cases that ran on the GPU keep theirs)
  const v = norm ? { x: [23 * m + k, 2, 0.5], b: 3 * n + 5 * k, quantScale: 25.5, seeds: [29, 31, 37] } : { x: [17 * m + k, 1.5, 0], b: 5 * n + 3 * k, quantScale: 40.5, seeds: [19, 20, 21] };
  const x = rnd(outDtype, [m, k], v.x[0]!, v.x[1]!, v.x[2]!);
  const gamma = norm ? rnd(outDtype, [k], k + 1, 0.2, norm.plusOne ? 0 : 1) : undefined;
  const beta = norm && norm.beta !== false ? rnd(outDtype, [k], k + 2, 0.1) : undefined;
  const b = rnd('i8', [n, k], v.b);
  const quantScale = v.quantScale;
  const staticAlpha = ref.fromValues('f32', [1], [Math.fround(1 / quantScale)]);
  const alphaCol = rnd('f32', [mode.perChannel ? n : 1], v.seeds[0]!, 1e-3, 3e-3);
  const bias = rnd(outDtype, [n], v.seeds[1]!);
  const residual = o.residual ? rnd(outDtype, [m, n], v.seeds[2]!) : undefined;
  const ln = { eps: 1e-5, weightPlusOne: norm?.plusOne ?? false };
  const attrs = { outDtype, mode, gelu: o.gelu ?? false, ...(norm ? ln : {}), ...(mode.perToken ? {} : { quantScale }) };
  const modes = `${mode.perToken ? 'per-token' : 'per-tensor'}/${mode.perChannel ? 'per-channel' : 'per-tensor'} +bias${o.gelu ? ' gelu' : ''}${residual ? ' +residual' : ''}`;
  return caseOf({
    name, op: 'int8-gemm', dtype: norm ? `${outDtype}→LN→i8→${outDtype}` : `${outDtype}→i8→${outDtype}`,
    shape: `[${m},${k}]·[${n},${k}]ᵀ ${norm ? `LayerNorm${beta ? '' : ' (no β)'}${norm.plusOne ? ' 1p' : ''}` : 'quantized inside'} ${modes}`,
    ...(norm ? { tier: 3 as const, tolerance: nmse(1e-4, 'int8 of the production LayerNorm output (within 1e-6 NMSE of the oracle): an activation may round to the neighbouring step') } : { tier: 1 as const }),
    production: true, host: { x, gamma, beta, b, alphaCol, bias, residual, ...(mode.perToken ? {} : { staticAlpha }) },
    ref: () => {
      const y = gamma ? ref.layerNorm(beta ? { x, gamma, beta } : { x, gamma }, ln) : x;
      const q = mode.perToken ? ref.quantizePerToken({ x: y }) : { q: ref.quantizePerTensor({ x: y }, { scale: quantScale }), scale: staticAlpha };
      return [ref.smoothQuantEpilogue({ acc: ref.int8Gemm({ a: q.q, b }, { transB: true }), alphaRow: q.scale, alphaCol, bias, ...(residual ? { residual } : {}) }, attrs)];
    },
    launch: (d) => [gpu.int8GemmDecode({
      a: d['x'] as never, b: d['b'] as never, alphaCol: d['alphaCol'] as never, bias: d['bias'] as never,
      ...(gamma ? { norm: beta ? { gamma: d['gamma'] as never, beta: d['beta'] as never } : { gamma: d['gamma'] as never } } : {}),
      ...(mode.perToken ? {} : { alphaRow: d['staticAlpha'] as never }), ...(residual ? { residual: d['residual'] as never } : {}),
    }, attrs)],
    bytes: bytesOf(x, b, bias, ...(residual ? [residual] : [])) + m * n * ref.DTYPES[outDtype].bytes, flops: 2 * m * n * k,
  });
}

export function int8GemmCases(): KernelCase[] {
  return [
    int8LtCase('int8 gemm tensor cores', 7, 16, 12),
    int8LtCase('int8 gemm tensor cores, decode row', 1, 768, 2304),
    int8LtCase('int8 gemm tensor cores, gpt2 prompt', 64, 768, 3072),
    int8LtCase('int8 gemm tensor cores, gpt2 proj', 33, 3072, 768),
    int8LtCase('int8 gemm IMMA-less shape (reference kernel)', 5, 13, 11),
    epilogueCase('smoothquant epilogue +bias', 9, 20, { perToken: true, perChannel: true }, 'f16', {}),
    epilogueCase('smoothquant epilogue gelu', 9, 20, { perToken: true, perChannel: false }, 'bf16', { gelu: true }),
    epilogueCase('smoothquant epilogue +residual', 9, 20, { perToken: false, perChannel: true }, 'f16', { residual: true }),
    epilogueCase('smoothquant epilogue, N not a multiple of 4', 3, 7, { perToken: true, perChannel: true }, 'f16', { gelu: true, residual: true }),
    epilogueCase('smoothquant epilogue gelu +residual f32', 5, 12, { perToken: false, perChannel: false }, 'f32', { gelu: true, residual: true }),
    // int8GemmDecode: token groups of 1 / 2 / 4 / 8 and two passes, K in and not in whole 64-k steps,
    // N past a 16-output tile, split K (the gpt2-xl projection, 6400 → 1600), every epilogue option
    int8DecodeCase('int8 decode gemm, one row', 1, 768, 2304, { perToken: true, perChannel: true }, 'f16'),
    int8DecodeCase('int8 decode gemm, gpt2-xl proj split K', 3, 6400, 1600, { perToken: true, perChannel: true }, 'f16', { residual: true }),
    int8DecodeCase('int8 decode gemm, K not a whole step, N not a whole tile', 9, 784, 40, { perToken: false, perChannel: true }, 'bf16', { gelu: true }),
    int8DecodeCase('int8 decode gemm, 17 rows per-tensor', 17, 256, 100, { perToken: false, perChannel: false }, 'f16', { bias: false, residual: true }),
    int8DecodeCase('int8 decode gemm, 33 rows f32 gelu +residual', 33, 128, 48, { perToken: true, perChannel: false }, 'f32', { gelu: true, residual: true }),
    int8DecodeCase('int8 decode gemm, 64 rows gpt2 fc', 64, 768, 3072, { perToken: true, perChannel: true }, 'f16', { gelu: true }),
    int8DecodeCase('int8 decode gemm, 70 rows (two passes), K 16', 70, 16, 24, { perToken: true, perChannel: true }, 'bf16', { residual: true }),
    // … and with float activations quantized inside (decode steps' dense and proj inputs)
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, one row', 1, 768, 2304, { perToken: true, perChannel: true }, 'f16', { gelu: true }),
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, 11 rows split K', 11, 3072, 768, { perToken: true, perChannel: true }, 'bf16', { residual: true }),
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per tensor, 16 rows f32', 16, 256, 40, { perToken: false, perChannel: false }, 'f32', { gelu: true }),
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per tensor f16, split K', 4, 3072, 768, { perToken: false, perChannel: true }, 'f16', { residual: true }),
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, 5 rows in one group', 5, 1600, 1600, { perToken: true, perChannel: true }, 'f16'),
    // one row of gpt2-xl's proj input (K 6400): the block's warps split the row for its maximum
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, gpt2-xl proj one row', 1, 6400, 1600, { perToken: true, perChannel: true }, 'f16', { residual: true }),
    // (132 SMs) fewer rows than warps: 2 rows over 5 warps (2 parts each, one warp idle), 3 over 8 (2 parts, two idle);
    // more rows than warps: 4 rows over 2 warps (a warp per row, two rows each)
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, 2 rows split over warps bf16', 2, 1600, 1600, { perToken: true, perChannel: true }, 'bf16'),
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, 3 rows split over warps +residual', 3, 6400, 1600, { perToken: true, perChannel: false }, 'f16', { residual: true }),
    int8DecodeQuantizingCase('int8 decode gemm, quantized inside per token, 4 rows over 2 warps f32', 4, 784, 40, { perToken: true, perChannel: true }, 'f32', { gelu: true }),
    // … and with a LayerNorm's input (decode steps' QKV and FC, at most 8 rows): gpt2-xl's QKV and FC rows,
    // santacoder's K 2048 (the fused way's limit) without β and with layernorm1p, per tensor
    int8DecodeQuantizingCase('int8 decode gemm, LayerNorm fused per token, gpt2-xl qkv one row', 1, 1600, 4800, { perToken: true, perChannel: true }, 'f16', { norm: {} }),
    int8DecodeQuantizingCase('int8 decode gemm, LayerNorm fused per token, gpt2-xl fc 8 rows gelu', 8, 1600, 6400, { perToken: true, perChannel: true }, 'f16', { gelu: true, norm: {} }),
    int8DecodeQuantizingCase('int8 decode gemm, LayerNorm fused per token, 7 rows bf16 +residual', 7, 768, 768, { perToken: true, perChannel: false }, 'bf16', { residual: true, norm: {} }),
    int8DecodeQuantizingCase('int8 decode gemm, LayerNorm fused, K 2048 no β 1p per tensor', 3, 2048, 2304, { perToken: false, perChannel: true }, 'bf16', { norm: { beta: false, plusOne: true } }),
    int8DecodeQuantizingCase('int8 decode gemm, LayerNorm fused per token f32, K 784', 5, 784, 40, { perToken: true, perChannel: true }, 'f32', { gelu: true, norm: {} }),
    int8Case('int8 gemm odd', 7, 13, 11, undefined),
    int8Case('int8 gemm Bᵀ', 5, 64, 3, undefined, 'f16', true),
    int8Case('smoothquant per-tensor', 7, 13, 11, { perToken: false, perChannel: false }),
    int8Case('smoothquant per-token', 7, 13, 11, { perToken: true, perChannel: false }, 'bf16'),
    int8Case('smoothquant per-channel', 7, 13, 11, { perToken: false, perChannel: true }, 'f32'),
    int8Case('smoothquant both, gpt2 dense', 16, 768, 768, { perToken: true, perChannel: true }),
  ];
}
