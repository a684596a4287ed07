/**
 * Kernel cases of op `fp8` (tier 1, exact): e4m3 quantization (saturating), dequantization and the
 * fp8 GEMM with its scales and bias; and the production FP8 GEMMs on tensor cores (fp8GemmLt and the
 * decode layer fp8GemmDecode, tier 3).
 */
import * as ref from '@trtllm/ref-math';
import { bytesOf, caseOf, nmse, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function fp8Cases(): KernelCase[] {
  const x = rnd('f16', [13, 7], 31, 40);
  const q = ref.quantizeFp8({ x: rnd('f32', [5, 13], 32, 3) }, { scale: 16 });
  const w = ref.quantizeFp8({ x: rnd('f32', [7, 13], 33, 3) }, { scale: 16 });
  const bias = rnd('bf16', [7], 34);
  return [
    caseOf({ name: 'fp8 quantize f16 (saturating)', op: 'fp8', dtype: 'f16→fp8', shape: '[13,7]', tier: 1, host: { x },
      ref: () => [ref.quantizeFp8({ x }, { scale: 11.3 })], launch: (d) => [gpu.quantizeFp8({ x: d['x'] as never }, { scale: 11.3 })], bytes: bytesOf(x) * 1.5, flops: 0 }),
    caseOf({ name: 'fp8 dequantize → bf16', op: 'fp8', dtype: 'fp8→bf16', shape: '[5,13]', tier: 1, host: { q },
      ref: () => [ref.dequantizeFp8({ q }, { scale: 0.0625, outDtype: 'bf16' })], launch: (d) => [gpu.dequantizeFp8({ q: d['q'] as never }, { scale: 0.0625, outDtype: 'bf16' })], bytes: bytesOf(q) * 3, flops: 0 }),
    caseOf({ name: 'fp8 gemm Bᵀ +bias → bf16', op: 'fp8', dtype: 'fp8→bf16', shape: '[5,13]·[13,7] Bᵀ +bias', tier: 1, host: { a: q, b: w, bias },
      ref: () => [ref.fp8Gemm({ a: q, b: w, bias }, { transB: true, scaleA: 0.0625, scaleB: 0.0625, outDtype: 'bf16' })],
      launch: (d) => [gpu.fp8Gemm({ a: d['a'] as never, b: d['b'] as never, bias: d['bias'] as never }, { transB: true, scaleA: 0.0625, scaleB: 0.0625, outDtype: 'bf16' })], bytes: bytesOf(q, w), flops: 2 * 5 * 7 * 13 }),
  ];
}

/** fp8GemmLt (cuBLASLt, compute capability ≥ 8.9): a [M, K] · bᵀ, b [N, K], scales on the device. */
function fp8GemmLtCase(name: string, out: 'f16' | 'bf16', m: number, n: number, k: number, withBias: boolean): KernelCase {
  const a = ref.quantizeFp8({ x: rnd('f32', [m, k], 40 + m, 2) }, { scale: 32 });
  const b = ref.quantizeFp8({ x: rnd('f32', [n, k], 41 + n, 0.05) }, { scale: 2048 });
  const [scaleA, scaleB] = [ref.tensor('f32', [1], Float32Array.of(1 / 32)), ref.tensor('f32', [1], Float32Array.of(1 / 2048))];
  const bias = withBias ? rnd(out, [n], 42) : undefined;
  return caseOf({
    name, op: 'fp8', dtype: `fp8→${out}`, shape: `${m}×${k}·(${n}×${k})ᵀ${withBias ? ' +bias' : ''}`, tier: 3,
    tolerance: nmse(1e-5, 'exact e4m3 products summed in fp32 in cuBLASLt\'s order, scales and bias in its epilogue; output rounded to T'),
    host: { a, b, scaleA, scaleB, ...(bias ? { bias } : {}) },
    ref: () => [ref.fp8Gemm(bias ? { a, b, bias } : { a, b }, { transB: true, scaleA: 1 / 32, scaleB: 1 / 2048, outDtype: out })],
    launch: (d) => [gpu.fp8GemmLt({ a: d['a'] as never, b: d['b'] as never, scaleA: d['scaleA'] as never, scaleB: d['scaleB'] as never, ...(bias ? { bias: d['bias'] as never } : {}) }, { outDtype: out })],
    bytes: m * k + n * k + 2 * m * n, flops: 2 * m * n * k,
  });
}

/**
 * fp8GemmDecode: x [M, K] quantized inside (multiplier 32), b [N, K] e4m3, scales on the device, the
 * layer's epilogue; against the oracle's quantizeFp8 → fp8Gemm → gelu → residualAdd. A GPU below 8.9
 * runs the engine's other way (the same four ops as kernels) so the case still checks the layer.
 */
function fp8DecodeCase(name: string, out: 'f16' | 'bf16', m: number, n: number, k: number, o: { bias?: boolean; gelu?: boolean; residual?: boolean }): KernelCase {
  const x = rnd(out, [m, k], 50 + m, 2);
  const b = ref.quantizeFp8({ x: rnd('f32', [n, k], 51 + n, 0.05) }, { scale: 2048 });
  const [scaleA, scaleB] = [ref.tensor('f32', [1], Float32Array.of(1 / 32)), ref.tensor('f32', [1], Float32Array.of(1 / 2048))];
  const bias = o.bias ? rnd(out, [n], 52) : undefined;
  const residual = o.residual ? rnd(out, [m, n], 53) : undefined;
  return caseOf({
    name, op: 'fp8', dtype: `${out}·fp8→${out}`, shape: `${m}×${k}·(${n}×${k})ᵀ${o.bias ? ' +bias' : ''}${o.gelu ? ' gelu' : ''}${o.residual ? ' +residual' : ''}`, tier: 3,
    tolerance: nmse(1e-5, 'exact e4m3 products, each mma\'s 32 summed on the tensor core and added to an fp32 sum, then warps and K splits in a fixed order; epilogue as the oracle'),
    host: { x, b, scaleA, scaleB, ...(bias ? { bias } : {}), ...(residual ? { residual } : {}) },
    ref: () => {
      const q = ref.quantizeFp8({ x }, { scale: 32 });
      let y = ref.fp8Gemm(bias ? { a: q, b, bias } : { a: q, b }, { transB: true, scaleA: 1 / 32, scaleB: 1 / 2048, outDtype: out });
      if (o.gelu) y = ref.gelu({ x: y });
      if (residual) y = ref.residualAdd({ a: residual, b: y });
      return [y];
    },
    launch: (d) => {
      const inputs = { x: d['x'] as never, b: d['b'] as never, scaleA: d['scaleA'] as never, scaleB: d['scaleB'] as never, ...(bias ? { bias: d['bias'] as never } : {}), ...(residual ? { residual: d['residual'] as never } : {}) };
      if (gpu.fp8GemmDecodeUnsupported(n, k, m) === '') return [gpu.fp8GemmDecode(inputs, { quantScale: 32, gelu: o.gelu ?? false })];
      const q = gpu.quantizeFp8({ x: d['x'] as never }, { scale: 32 });
      let y = gpu.fp8GemmLt({ a: q, b: inputs.b, scaleA: inputs.scaleA, scaleB: inputs.scaleB, ...(bias ? { bias: inputs.bias } : {}) }, { outDtype: out });
      if (o.gelu) y = gpu.gelu({ x: y });
      if (residual) y = gpu.residualAdd({ a: d['residual'] as never, b: y });
      return [y];
    },
    bytes: 2 * m * k + n * k + 2 * m * n * (o.residual ? 2 : 1), flops: 2 * m * n * k,
  });
}

/** The production FP8 GEMM: gpt2 shapes at decode and prefill sizes (a GPU without FP8 tensor cores runs them in the reference order), and an N that is not a multiple of 16. */
export function fp8ProductionCases(): KernelCase[] {
  return [
    fp8GemmLtCase('fp8GemmLt f16 gpt2 QKV +bias, M 64', 'f16', 64, 2304, 768, true),
    fp8GemmLtCase('fp8GemmLt bf16 gpt2-xl FC, M 5', 'bf16', 5, 6400, 1600, false),
    fp8GemmLtCase('fp8GemmLt f16 gpt2 proj +bias, M 300', 'f16', 300, 768, 3072, true),
    fp8GemmLtCase('fp8GemmLt f16 N 40 +bias (the reference order, same device scales)', 'f16', 7, 40, 64, true),
    fp8DecodeCase('fp8GemmDecode f16 gpt2-xl QKV +bias, M 1', 'f16', 1, 4800, 1600, { bias: true }),
    fp8DecodeCase('fp8GemmDecode bf16 gpt2-xl FC +bias gelu, M 8', 'bf16', 8, 6400, 1600, { bias: true, gelu: true }),
    fp8DecodeCase('fp8GemmDecode f16 gpt2-xl proj +bias +residual (K split), M 16', 'f16', 16, 1600, 6400, { bias: true, residual: true }),
    fp8DecodeCase('fp8GemmDecode f16 K 784, N 40 tails, M 3 +residual', 'f16', 3, 40, 784, { residual: true }),
    fp8DecodeCase('fp8GemmDecode bf16 gpt2 fc gelu, M 11 (two token groups)', 'bf16', 11, 3072, 768, { gelu: true }),
  ];
}
