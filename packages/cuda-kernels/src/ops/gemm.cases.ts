/**
 * Kernel cases of op `gemm` (the case table's rows, assembled by cases.ts): the reference-order
 * GEMM (tier 2, exact) on odd and model shapes, and the production GEMMs — cuBLASLt (gemmLt) and
 * the tensor-core decode GEMM (gemmDecode, with its fused LayerNorm) — each within its declared NMSE.
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType, type Tensor } from '@trtllm/ref-math';
import { DeviceTensor } from '../device.js';
import { bytesOf, caseOf, ints, nmse, rnd, type KernelCase, type Tolerance } from '../case-kit.js';
import * as gpu from './index.js';

export function gemmCase(name: string, dt: ActDType, m: number, k: number, n: number, o: { bias?: boolean; transA?: boolean; transB?: boolean; outDtype?: ActDType; a?: Tensor<ActDType>; b?: Tensor<ActDType>; biasT?: Tensor<ActDType> } = {}): KernelCase {
  const a = o.a ?? rnd(dt, o.transA ? [k, m] : [m, k], m * 31 + k);
  const b = o.b ?? rnd(dt, o.transB ? [n, k] : [k, n], n * 17 + k, 0.05);
  const bias = o.biasT ?? (o.bias ? rnd(dt, [n], n) : undefined);
  const attrs = { transA: o.transA ?? false, transB: o.transB ?? false, outDtype: o.outDtype ?? dt };
  return caseOf({
    name, op: 'gemm', dtype: `${dt}→${attrs.outDtype}`, shape: `[${m},${k}]·[${k},${n}]${o.transA ? ' Aᵀ' : ''}${o.transB ? ' Bᵀ' : ''}${bias ? ' +bias' : ''}`, tier: 2,
    host: { a, b, bias },
    ref: () => [ref.gemm(bias ? { a, b, bias } : { a, b }, attrs)],
    launch: (d) => [gpu.gemm({ a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never }, attrs)],
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[attrs.outDtype].bytes, flops: 2 * m * n * k,
  });
}

/** The reference-order GEMM cases; `gpt2Wte` is shared with the embedding and lm_head cases. */
export function gemmCases(gpt2Wte: Tensor<ActDType>): KernelCase[] {
  return [
    gemmCase('gemm f32 odd', 'f32', 5, 13, 7),
    gemmCase('gemm f16 odd +bias Bᵀ', 'f16', 7, 11, 13, { bias: true, transB: true }),
    gemmCase('gemm bf16 Aᵀ', 'bf16', 13, 5, 11, { transA: true }),
    gemmCase('gemm f16→f32', 'f16', 3, 64, 5, { outDtype: 'f32' }),
    gemmCase('gemm gpt2 qkv f16', 'f16', 16, 768, 2304, { bias: true }),
    gemmCase('gemm santacoder qkv bf16 (MQA width)', 'bf16', 8, 2048, 2304, { bias: true }),
    gemmCase('gemm gpt2 lm_head (tied wte) f16→f32 logits', 'f16', 2, 768, 50257, { transB: true, outDtype: 'f32', b: gpt2Wte }),
  ];
}

export interface EpilogueGemm {
  bias?: boolean;
  gelu?: boolean;
  residual?: boolean;
  transB?: boolean;
  outDtype?: ActDType;
  /** Decode GEMM only: compute these rows into a zeroed output (the others stay zero). */
  rows?: number[];
  /** Decode GEMM only: LayerNorm of `a` first (fused into the GEMM), with or without β, NeMo's 1p. */
  norm?: { beta: boolean; plusOne?: boolean };
  b?: Tensor<ActDType>;
  tol: Tolerance;
}

/**
 * A production GEMM with the fused epilogue — cuBLASLt (gemmLt) or the decode GEMM — against the
 * oracle's gemm → gelu → residualAdd. The two kernels' cases draw different random inputs (seeds).
 */
export function epilogueGemmCase(kernel: 'cuBLASLt' | 'decode', name: string, dt: ActDType, m: number, k: number, n: number, o: EpilogueGemm): KernelCase {
  const [sa, sb, sBias, sRes] = kernel === 'cuBLASLt' ? [37, 19, 1, 0] : [41, 23, 3, 1];
  const a = rnd(dt, [m, k], m * sa + k);
  const b = o.b ?? rnd(dt, o.transB ? [n, k] : [k, n], n * sb + k, 0.05);
  const bias = o.bias ? rnd(dt, [n], n + sBias) : undefined;
  const residual = o.residual ? rnd(dt, [m, n], m + n + sRes) : undefined;
  const outDtype = o.outDtype ?? dt;
  const rows = o.rows ? ints(o.rows) : undefined;
  const attrs = { transB: o.transB ?? false, outDtype, ...(o.gelu ? { activation: 'gelu' as const } : {}) };
  const gamma = o.norm ? rnd(dt, [k], k + 5, 0.2, o.norm.plusOne ? 0 : 1) : undefined;
  const beta = o.norm?.beta ? rnd(dt, [k], k + 6, 0.1) : undefined;
  const lnAttrs = { weightPlusOne: o.norm?.plusOne ?? false };
  const epi = `${bias ? ' +bias' : ''}${o.gelu ? ' gelu' : ''}${residual ? ' +residual' : ''}${rows ? ` rows [${o.rows!.join(',')}]` : ''}`;
  const pre = o.norm ? `LayerNorm${o.norm.plusOne ? '1p' : ''}${o.norm.beta ? '' : ' (no β)'} → ` : '';
  return caseOf({
    name, op: 'gemm', dtype: `${dt}→${outDtype} ${kernel === 'cuBLASLt' ? 'cuBLASLt' : 'decode (mma.sync)'}`, shape: `${pre}[${m},${k}]·[${k},${n}]${o.transB ? ' Bᵀ' : ''}${epi}`, tier: 3, tolerance: o.tol,
    host: { a, b, bias, residual, rows, gamma, beta },
    ref: () => {
      const x = gamma ? ref.layerNorm(beta ? { x: a, gamma, beta } : { x: a, gamma }, lnAttrs) : a;
      let y = ref.gemm(bias ? { a: x, b, bias } : { a: x, b }, { transB: attrs.transB, outDtype });
      if (o.gelu) y = ref.gelu({ x: y });
      if (residual) y = ref.residualAdd({ a: residual, b: y });
      if (o.rows) {
        const keep = new Set(o.rows);
        for (let r = 0; r < m; r++) if (!keep.has(r)) y.data.fill(0, r * n, (r + 1) * n);
      }
      return [y];
    },
    launch: (d) => {
      const inputs = { a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never, residual: d['residual'] as never };
      if (kernel === 'cuBLASLt') return [gpu.gemmLt(inputs, attrs)];
      const out = o.rows ? DeviceTensor.zeros(outDtype, [m, n]) : undefined;
      const norm = gamma ? { norm: { gamma: d['gamma'] as never, beta: d['beta'] as never } } : {};
      return [gpu.gemmDecode({ ...inputs, rows: d['rows'] as never, out, ...norm }, gamma ? { ...attrs, ...lnAttrs } : attrs)];
    },
    bytes: bytesOf(a, b) + m * n * ref.DTYPES[outDtype].bytes * (residual ? 2 : 1), flops: 2 * (o.rows?.length ?? m) * n * k,
  });
}
export const gemmLtCase = (name: string, dt: ActDType, m: number, k: number, n: number, o: EpilogueGemm): KernelCase => epilogueGemmCase('cuBLASLt', name, dt, m, k, n, o);
export const gemmDecodeCase = (name: string, dt: ActDType, m: number, k: number, n: number, o: EpilogueGemm): KernelCase => epilogueGemmCase('decode', name, dt, m, k, n, o);


/** The production GEMMs: cuBLASLt with fused epilogues, then the decode GEMM (tier 3). */
export function gemmProductionCases(gpt2Wte: Tensor<ActDType>): KernelCase[] {
  const f16 = nmse(1e-5, 'cuBLASLt tensor-core order of the fp32 sums; one rounding to T');
  const epi = nmse(2e-5, 'fused epilogue rounds once where the oracle rounds after the GEMM and again after GELU / the add; cuBLASLt\'s GELU');
  const mma = nmse(1e-5, 'tensor-core (mma.sync) order of the fp32 sums, warp (and split) partials added in a fixed order; one rounding to T');
  const mmaEpi = nmse(2e-5, 'tensor-core order of the fp32 sums; bias, GELU (the oracle\'s formula) and the add in fp32, one rounding where the oracle rounds after each');
  const lnMma = nmse(2e-5, 'the LayerNorm\'s tree sums and rsqrt (layerNormFast\'s bits), then the tensor-core order of the GEMM\'s sums; bias, GELU in fp32, one rounding');
  return [
    gemmLtCase('gemmLt f32 odd', 'f32', 5, 13, 7, { tol: nmse(1e-10, 'fp32 sums in cuBLASLt order') }),
    gemmLtCase('gemmLt f16 gpt2 qkv +bias (M 1)', 'f16', 1, 768, 2304, { bias: true, tol: f16 }),
    gemmLtCase('gemmLt f16 gpt2 qkv +bias (M 100)', 'f16', 100, 768, 2304, { bias: true, tol: f16 }),
    gemmLtCase('gemmLt f16 gpt2 fc +bias gelu', 'f16', 16, 768, 3072, { bias: true, gelu: true, tol: epi }),
    gemmLtCase('gemmLt bf16 gpt2 proj +bias +residual', 'bf16', 16, 3072, 768, { bias: true, residual: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmLtCase('gemmLt f16 santacoder qkv (MQA width) +bias', 'f16', 8, 2048, 2304, { bias: true, tol: f16 }),
    gemmLtCase('gemmLt f16 gpt2-xl fc proj +bias +residual (M 1)', 'f16', 1, 6400, 1600, { bias: true, residual: true, tol: epi }),
    caseOf({ name: 'gemmLt gpt2 lm_head (tied wte) f16→f32 logits', op: 'gemm', dtype: 'f16→f32 cuBLASLt', shape: '[2,768]·[50257,768]ᵀ', tier: 3, tolerance: f16,
      host: { a: rnd('f16', [2, 768], 360), b: gpt2Wte },
      ref: () => [ref.gemm({ a: rnd('f16', [2, 768], 360), b: gpt2Wte }, { transB: true, outDtype: 'f32' })],
      launch: (d) => [gpu.gemmLt({ a: d['a'] as never, b: d['b'] as never }, { transB: true, outDtype: 'f32' })], bytes: 50257 * 768 * 2, flops: 2 * 2 * 768 * 50257 }),
    gemmDecodeCase('gemmDecode f16 gpt2 qkv +bias (M 1)', 'f16', 1, 768, 2304, { bias: true, tol: mma }),
    gemmDecodeCase('gemmDecode f16 gpt2 qkv +bias (M 64)', 'f16', 64, 768, 2304, { bias: true, tol: mma }),
    gemmDecodeCase('gemmDecode f16 gpt2 fc +bias gelu (M 20)', 'f16', 20, 768, 3072, { bias: true, gelu: true, tol: mmaEpi }),
    gemmDecodeCase('gemmDecode bf16 gpt2 proj +bias +residual (M 100)', 'bf16', 100, 3072, 768, { bias: true, residual: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 K, N tails (K 776, N 2312) rows [5,0,3]', 'f16', 6, 776, 2312, { bias: true, rows: [5, 0, 3], tol: mma }),
    gemmDecodeCase('gemmDecode f16 gpt2-xl fc proj +bias +residual (M 1)', 'f16', 1, 6400, 1600, { bias: true, residual: true, tol: mmaEpi }),
    gemmDecodeCase('gemmDecode f16 gpt2 qkv +bias (M 8)', 'f16', 8, 768, 2304, { bias: true, tol: mma }),
    gemmDecodeCase('gemmDecode bf16 K 64 (fewer steps than warps) +bias gelu (M 5)', 'bf16', 5, 64, 512, { bias: true, gelu: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 gpt2 lm_head (tied wte) f16→f32 logits', 'f16', 3, 768, 50257, { transB: true, outDtype: 'f32', b: gpt2Wte, tol: mma }),
    gemmDecodeCase('gemmDecode bf16 Bᵀ K tail (K 776) +residual (M 40)', 'bf16', 40, 776, 1000, { transB: true, residual: true, tol: nmse(1e-4, 'bf16: one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 LayerNorm → gpt2 qkv +bias (M 1, fused)', 'f16', 1, 768, 2304, { norm: { beta: true }, bias: true, tol: lnMma }),
    gemmDecodeCase('gemmDecode f16 LayerNorm → gpt2-xl fc +bias gelu (M 3, fused)', 'f16', 3, 1600, 6400, { norm: { beta: true }, bias: true, gelu: true, tol: lnMma }),
    gemmDecodeCase('gemmDecode bf16 LayerNorm1p (no β) → santacoder qkv (M 8, fused)', 'bf16', 8, 2048, 2304, { norm: { beta: false, plusOne: true }, tol: nmse(1e-4, 'bf16: LayerNorm tree sums, tensor-core order, one rounding where the oracle rounds twice') }),
    gemmDecodeCase('gemmDecode f16 LayerNorm → gpt2 fc rows [39,2] (M 40: LayerNorm kernel first)', 'f16', 40, 768, 3072, { norm: { beta: true }, bias: true, gelu: true, rows: [39, 2], tol: lnMma }),
  ];
}
