/**
 * Kernel cases of op `layernorm`: the reference-order LayerNorm (tier 2, exact; + 1p, no β, fused
 * per-token quantization) and the production warp LayerNorm (layerNormFast, tier 3).
 */
import * as ref from '@trtllm/ref-math';
import { type ActDType } from '@trtllm/ref-math';
import { bytesOf, caseOf, nmse, rnd, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function layerNormCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [name, dt, rows, cols, beta, plusOne, fused] of [
    ['layernorm f32 odd', 'f32', 5, 13, true, false, false],
    ['layernorm f16 gpt2', 'f16', 16, 768, true, false, false],
    ['layernorm1p bf16 no-bias (gpt-next)', 'bf16', 7, 2048, false, true, false],
    ['layernorm + per-token quant f16', 'f16', 11, 768, true, false, true],
  ] as const) {
    const x = rnd(dt, [rows, cols], rows + cols, 2, 0.3);
    const gamma = rnd(dt, [cols], 3, 0.1, plusOne ? 0 : 1);
    const b = beta ? rnd(dt, [cols], 4, 0.1) : undefined;
    const inputs = b ? { x, gamma, beta: b } : { x, gamma };
    cases.push(caseOf({ name, op: 'layernorm', dtype: fused ? `${dt}→i8` : dt, shape: `[${rows},${cols}]`, tier: 2, host: { x, gamma, beta: b },
      ref: () => fused ? (({ q, scale }) => [q, scale])(ref.layerNormQuantPerToken(inputs)) : [ref.layerNorm(inputs, { weightPlusOne: plusOne })],
      launch: (d) => {
        const di = { x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never };
        if (!fused) return [gpu.layerNorm(di, { weightPlusOne: plusOne })];
        const r = gpu.layerNormQuantPerToken(di);
        return [r.q, r.scale];
      },
      bytes: bytesOf(x) * 2, flops: 8 * rows * cols }));
  }
  return cases;
}

/** The production warp LayerNorm (tier 3). */
export function layerNormFastCases(): KernelCase[] {
  const lnTol = nmse(1e-6, 'tree sums and rsqrt in fp32 instead of the serial order and 1/sqrt; output rounded to T');
  const ln = (name: string, dt: ActDType, rows: number, cols: number) => {
    const x = rnd(dt, [rows, cols], rows + cols, 2, 0.5);
    const gamma = rnd(dt, [cols], cols + 1, 0.2, 1);
    const beta = rnd(dt, [cols], cols + 2, 0.1);
    return caseOf({ name, op: 'layernorm', dtype: `${dt} fast`, shape: `[${rows},${cols}]`, tier: 3, tolerance: lnTol, host: { x, gamma, beta },
      ref: () => [ref.layerNorm({ x, gamma, beta })], launch: (d) => [gpu.layerNormFast({ x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never })], bytes: 2 * bytesOf(x), flops: 8 * rows * cols });
  };
  // SmoothQuant: the same LayerNorm, its rounded output quantized in the kernel (oracle: layerNorm → quantize);
  // the int8 values follow y, which is within lnTol, so an element may sit one step away where y crossed a rounding boundary
  const qTol = nmse(1e-4, 'int8 of the production LayerNorm output (within 1e-6 NMSE of the oracle): a value may round to the neighbouring step');
  const lnq = (name: string, dt: ActDType, rows: number, cols: number, perToken: boolean) => {
    const x = rnd(dt, [rows, cols], rows + cols, 2, 0.5);
    const gamma = rnd(dt, [cols], cols + 1, 0.2, 1);
    const beta = rnd(dt, [cols], cols + 2, 0.1);
    const quant = perToken ? ({ perToken: true } as const) : ({ perToken: false, scale: 25.5 } as const);
    return caseOf({ name, op: 'layernorm', dtype: `${dt}→i8 fast`, shape: `[${rows},${cols}]`, tier: 3, tolerance: qTol, host: { x, gamma, beta }, production: true,
      ref: () => {
        const y = ref.layerNorm({ x, gamma, beta });
        if (!perToken) return [ref.quantizePerTensor({ x: y }, { scale: 25.5 }), y];
        const r = ref.quantizePerToken({ x: y });
        return [r.q, r.scale, y];
      },
      launch: (d) => {
        const r = gpu.layerNormFastQuant({ x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never }, { quant, keepOutput: true });
        return perToken ? [r.q, r.scale!, r.y!] : [r.q, r.y!];
      },
      bytes: bytesOf(x) * 2.5, flops: 8 * rows * cols });
  };
  // FP8: the same LayerNorm, its rounded output quantized to e4m3 in the kernel (oracle: layerNorm → quantizeFp8)
  const f8Tol = nmse(1e-3, 'e4m3 of the production LayerNorm output (within 1e-6 NMSE of the oracle): a value may round to the neighbouring e4m3 step');
  const lnf8 = (name: string, dt: ActDType, rows: number, cols: number) => {
    const x = rnd(dt, [rows, cols], rows + cols, 2, 0.5);
    const gamma = rnd(dt, [cols], cols + 1, 0.2, 1);
    const beta = rnd(dt, [cols], cols + 2, 0.1);
    return caseOf({ name, op: 'layernorm', dtype: `${dt}→e4m3 fast`, shape: `[${rows},${cols}]`, tier: 3, tolerance: f8Tol, host: { x, gamma, beta }, production: true,
      ref: () => {
        const y = ref.layerNorm({ x, gamma, beta });
        return [ref.quantizeFp8({ x: y }, { scale: 60 }), y];
      },
      launch: (d) => {
        const r = gpu.layerNormFastFp8({ x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never }, { scale: 60, keepOutput: true });
        return [r.q, r.y!];
      },
      bytes: bytesOf(x) * 2.5, flops: 8 * rows * cols });
  };
  return [
    lnf8('layerNormFast + e4m3 f16 gpt2', 'f16', 9, 768),
    lnf8('layerNormFast + e4m3 bf16, a block per row', 'bf16', 3, 4096),
    ln('layerNormFast f16 gpt2', 'f16', 7, 768),
    ln('layerNormFast bf16 santacoder', 'bf16', 3, 2048),
    ln('layerNormFast f32 odd', 'f32', 5, 1601),
    lnq('layerNormFast + per-token int8 f16 gpt2', 'f16', 9, 768, true),
    lnq('layerNormFast + per-token int8 bf16, a block per row', 'bf16', 3, 4096, true),
    lnq('layerNormFast + per-tensor int8 f16', 'f16', 5, 1600, false),
  ];
}
