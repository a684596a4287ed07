#!/usr/bin/env node
// The GPU suite: every case of the kernel table on the oracle and on the device (parity), the typed
// error paths, then the same cases timed (perf) against ceilings measured in the same run. Writes
// parity.json, parity.md and perf.md to --out. Needs the built addon and dist (npm run build).
//   node packages/cuda-kernels/scripts/gpu-suite.mjs --out DIR [--gpt2-layer0 DIR]
//        [--matmul-tflops N --matmul-source TEXT] [--perf-iters N] [--cold-l2] [--no-perf]
// Exit 0 iff every case matches the oracle as its tolerance demands.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tensor, fromValues } from '@trtllm/ref-math';
import {
  addonIfBuilt, isAvailable, kernelCases, NOT_SUPPORTED, parityVerdict, runParity, runPerf, measureCeilings, parityMarkdown, perfMarkdown,
  DeviceTensor, gemm, embeddingLookup, FreedTensorError, CudaRuntimeError,
} from '../dist/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'gpu-report' },
    'gpt2-layer0': { type: 'string' },
    'matmul-tflops': { type: 'string' },
    'matmul-source': { type: 'string', default: 'torch.matmul fp16 8192³ (cuBLAS), same call' },
    'perf-iters': { type: 'string', default: '10' },
    'no-perf': { type: 'boolean' },
    'cold-l2': { type: 'boolean' },
    only: { type: 'string' }, // a regular expression on case names (e.g. the production kernels: 'Lt|Fast|qkvPrepare|attentionDecode|attentionContext|argmax')
  },
});
mkdirSync(values.out, { recursive: true });
const avail = isAvailable();
if (!avail.ok) {
  console.error(`gpu-suite: ${avail.reason}`);
  process.exit(2);
}
const dev = avail.device;
const header = `${dev.name} (sm_${dev.computeCapability.replace('.', '')}, ${dev.multiprocessors} SMs, ${(dev.totalMemory / 2 ** 30).toFixed(0)} GiB), driver ${dev.driverVersion}, CUDA runtime ${dev.runtimeVersion}, node ${process.version}, ${new Date().toISOString()}`;
console.log(`gpu-suite: ${header}`);
const libs = addonIfBuilt().libraryInfo();
const libLine = (name, l) => `${name}: ${l.available ? `${l.version} (${l.path})` : `unavailable — ${l.reason}`}`;
console.log(`gpu-suite: ${libLine('cuBLASLt', libs.cublasLt)}; ${libLine('NCCL', libs.nccl)}`);

/** The real GPT-2 124M layer 0 (big-endian float32 files), first 7 positions of wpe as inputs. */
function loadLayer0(dir) {
  const read = (rel, n) => {
    const buf = readFileSync(join(dir, rel));
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const count = n ?? buf.length / 4;
    return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, false));
  };
  return {
    x: tensor('f32', [7, 768], read('input/wpe.dat', 7 * 768)),
    gamma: tensor('f32', [768], read('decoder1/att.norm.w.dat')),
    beta: tensor('f32', [768], read('decoder1/att.norm.b.dat')),
    wq: tensor('f32', [768, 768], read('decoder1/att.query.w.dat')),
    bq: tensor('f32', [768], read('decoder1/att.query.b.dat')),
  };
}
const layerDir = values['gpt2-layer0'];
const cases = kernelCases(layerDir && existsSync(layerDir) ? { gpt2Layer0: loadLayer0(layerDir) } : {}).filter((c) => !values.only || new RegExp(values.only).test(c.name));

// what the title says the cases are: reference order (tier 1 / 2), production (tier 3) or both
const tierSet = new Set(cases.map((c) => (c.production ? 'production' : 'reference-order')));
const tiers = [...tierSet].sort().reverse().join(' and ') || 'no';

// ---- parity ----
const results = runParity(cases, (r) => {
  const d = r.diff && !r.diff.exact ? ` (${r.diff.mismatches} mismatches, max ulp ${r.diff.maxUlp})` : '';
  console.log(`${r.status.padEnd(16)} ${r.name}${d}${r.error ? ' ' + r.error : ''}`);
});
const failed = results.filter((r) => !parityVerdict(r).ok); // tier 1/2 exact, tier 3 within its bound

// ---- typed errors ----
const errorChecks = [];
const expectThrow = (name, fn, test) => {
  try {
    fn();
    errorChecks.push({ name, ok: false, got: 'no error' });
  } catch (e) {
    errorChecks.push({ name, ok: test(e), got: `${e.name}: ${e.message}` });
  }
};
{
  const a = DeviceTensor.from(fromValues('f32', [2, 3], [1, 2, 3, 4, 5, 6]));
  const b = DeviceTensor.from(fromValues('f32', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
  expectThrow('gemm with mismatched K', () => gemm({ a, b }), (e) => e.name === 'AttrError' && /inner dimension K/.test(e.message));
  expectThrow('gemm with a bf16 b', () => gemm({ a, b: DeviceTensor.from(fromValues('bf16', [3, 2], [1, 2, 3, 4, 5, 6])) }), (e) => e.name === 'DTypeError');
  b.free();
  const bt = DeviceTensor.from(fromValues('f32', [3, 2], [1, 2, 3, 4, 5, 6]));
  bt.free(); // right shape, freed: only the freed storage is wrong
  expectThrow('gemm on a freed tensor', () => gemm({ a, b: bt }), (e) => e instanceof FreedTensorError);
  const table = DeviceTensor.from(fromValues('f16', [5, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const ids = DeviceTensor.from(fromValues('i32', [3], [1, 5, 2]));
  expectThrow('embedding with an id past the vocab (checked on the device)', () => embeddingLookup({ ids, table }), (e) => e.name === 'IndexRangeError' && /ids\[1\]/.test(e.message));
  expectThrow('allocating 1 TiB', () => DeviceTensor.empty('f32', [2 ** 38]), (e) => e instanceof CudaRuntimeError && /cudaErrorMemoryAllocation.*MiB free/.test(e.message));
  const after = DeviceTensor.from(fromValues('f32', [2], [3, 4])).toHost();
  errorChecks.push({ name: 'the device still works after every error', ok: after.data[0] === 3 && after.data[1] === 4, got: Array.from(after.data).join(',') });
  [a, table, ids].forEach((t) => t.free());
}
for (const c of errorChecks) console.log(`${c.ok ? 'ok   ' : 'FAIL '} error path: ${c.name} → ${c.got}`);

const notSupported = Object.entries(NOT_SUPPORTED).map(([op, why]) => `- \`${op}\`: not supported on the device yet — ${why}`).join('\n');
const exact = results.filter((r) => r.status === 'exact').length;
const summary = `${results.length} cases: ${exact} exact, ${results.length - exact - failed.length} within tolerance, ${failed.length} failed; typed-error checks ${errorChecks.filter((c) => c.ok).length}/${errorChecks.length}`;
writeFileSync(join(values.out, 'parity.json'), JSON.stringify({ device: dev, header, libraries: libs, summary, results, errorChecks, notSupported: NOT_SUPPORTED }, null, 1));
writeFileSync(join(values.out, 'parity.md'), `# Kernel parity: ${tiers} CUDA kernels vs the ref-math oracle\n\n${header}\n\n${summary}.\n\n${parityMarkdown(results)}\n## Typed errors\n\n${errorChecks.map((c) => `- ${c.ok ? 'ok' : '**FAIL**'}: ${c.name} → \`${c.got.replace(/\n/g, ' ')}\``).join('\n')}\n\n## Not supported\n\n${notSupported}\n\n## Libraries (dlopen)\n\n- ${libLine('cuBLASLt', libs.cublasLt)}\n- ${libLine('NCCL', libs.nccl)}\n`);
console.log(`gpu-suite: parity — ${summary}`);

// ---- perf ----
if (!values['no-perf']) {
  const tf = values['matmul-tflops'] ? Number(values['matmul-tflops']) : undefined;
  const ceilings = measureCeilings(tf ? { tflops: tf, source: values['matmul-source'] } : undefined);
  if (tf) console.log(`gpu-suite: matmul peak ${ceilings.matmulTflops?.toFixed(0)} TFLOP/s (${ceilings.matmulSource}); torch in the same call: ${tf} TFLOP/s`);
  const perf = runPerf(cases, ceilings, { iters: Number(values['perf-iters']), coldL2: values['cold-l2'] ?? false });
  const cross = tf ? `Cross-check in the same call: ${values['matmul-source']}: ${tf} TFLOP/s.\n\n` : '';
  writeFileSync(join(values.out, 'perf.md'), `# Kernel perf: ${tiers} kernels (warm L2; launches queued behind a spin kernel, so device time back to back)\n\n${header}\n\n${cross}${perfMarkdown(perf, ceilings)}`);
  writeFileSync(join(values.out, 'perf.json'), JSON.stringify({ header, ceilings, perf }, null, 1));
  console.log(`gpu-suite: perf — copy ${ceilings.copyGBs.toFixed(0)} GB/s; ${perf.length} cases timed`);
}
process.exit(failed.length === 0 && errorChecks.every((c) => c.ok) ? 0 : 1);
