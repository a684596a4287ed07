/**
 * The kernel case table (ggml test-backend-ops style): one row per {op, dtype, shape, attrs}, each
 * with its tier and declared tolerance, deterministic host inputs, the oracle's outputs, and the
 * same op on the device. Parity (harness.ts `runParity`) and perf (`runPerf`) read this one table.
 * Each op's rows live beside its kernel binding (ops/<op>.cases.ts, built from case-kit.ts); this
 * file puts them in one order. Shapes mix odd sizes (5, 7, 11, 13) with model shapes (GPT-2 124M:
 * H 768, NH 12, HS 64; SantaCoder: H 2048, NH 16, NKV 1, HS 128) and the real GPT-2 layer 0 when
 * ../shared is present.
 */
import * as ref from '@trtllm/ref-math';
import { fromValues, type DType, type OpName, type Tensor } from '@trtllm/ref-math';
import { bytesOf, caseOf, rnd, type CaseOptions, type KernelCase } from './case-kit.js';
import * as gpu from './ops/index.js';
import { geluCase, swigluCase } from './ops/activation.cases.js';
import { argmaxCases } from './ops/argmax.cases.js';
import { attentionCases, attentionProductionCases } from './ops/attention.cases.js';
import { embeddingCases } from './ops/embedding.cases.js';
import { fp8Cases, fp8ProductionCases } from './ops/fp8.cases.js';
import { gemmCase, gemmCases, gemmProductionCases } from './ops/gemm.cases.js';
import { int8GemmCases } from './ops/int8-gemm.cases.js';
import { kvCacheCases, qkvPrepareCases } from './ops/kv-cache.cases.js';
import { layerNormCases, layerNormFastCases } from './ops/layernorm.cases.js';
import { quantizeCases } from './ops/quantize.cases.js';
import { residualCase } from './ops/residual.cases.js';
import { ropeCases } from './ops/rope.cases.js';
import { samplingCases } from './ops/sampling.cases.js';
import { softmaxCases } from './ops/softmax.cases.js';

export type { CaseOptions, DeviceRun, KernelCase, Tolerance } from './case-kit.js';

export function kernelCases(o: CaseOptions = {}): KernelCase[] {
  // GPT-2's token embedding, shared by the lookup case and the tied lm_head cases.
  const gpt2Wte = rnd('f16', [50257, 768], 51, 0.02);
  const cases: KernelCase[] = [...gemmCases(gpt2Wte), ...int8GemmCases(), ...quantizeCases(), ...fp8Cases(), ...layerNormCases()];
  for (const dt of ['f32', 'f16', 'bf16'] as const) cases.push(geluCase(dt), residualCase(dt));
  cases.push(swigluCase(), ...softmaxCases(), ...ropeCases(), ...kvCacheCases(), ...attentionCases(), ...embeddingCases(gpt2Wte), ...samplingCases());
  const production = [...gemmProductionCases(gpt2Wte), ...layerNormFastCases(), ...qkvPrepareCases(), ...attentionProductionCases(), ...argmaxCases(), ...fp8ProductionCases()];
  cases.push(...production.map((c) => ({ ...c, production: true })));
  // the real GPT-2 124M layer 0: LN1 and the Q projection on real weights and activations
  if (o.gpt2Layer0) {
    const { x, gamma, beta, wq, bq } = o.gpt2Layer0;
    cases.push(caseOf({ name: 'real gpt2 layer0 LN1 f32', op: 'layernorm', dtype: 'f32', shape: `[${x.shape[0]},768] real`, tier: 2, host: { x, gamma, beta },
      ref: () => [ref.layerNorm({ x, gamma, beta })], launch: (d) => [gpu.layerNorm({ x: d['x'] as never, gamma: d['gamma'] as never, beta: d['beta'] as never })], bytes: bytesOf(x) * 2, flops: 8 * ref.numel(x.shape) }));
    const ln = ref.layerNorm({ x, gamma, beta });
    cases.push(gemmCase('real gpt2 layer0 Q projection f32', 'f32', x.shape[0]!, 768, 768, { a: ln, b: wq, biasT: bq }));
    const f16 = <D extends DType>(t: Tensor<D>): Tensor<'f16'> => fromValues('f16', t.shape, ref.toF32(t));
    cases.push(gemmCase('real gpt2 layer0 Q projection f16', 'f16', x.shape[0]!, 768, 768, { a: f16(ln), b: f16(wq), biasT: f16(bq) }));
  }
  return cases;
}

/** Ops of ref-math with no CUDA kernel in this table, and why (reported, never silently skipped). */
export const NOT_SUPPORTED: Readonly<Partial<Record<OpName, string>>> = {
  collectives: 'NCCL all-reduce needs one process per GPU: checked by scripts/nccl-check.mjs on a multi-GPU machine, not by this single-process table',
};
