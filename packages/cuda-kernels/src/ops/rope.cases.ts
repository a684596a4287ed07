/**
 * Kernel cases of op `rope` (tier 1, exact): full and partial rotary dimensions, odd head counts,
 * positions up to the table's end.
 */
import * as ref from '@trtllm/ref-math';
import { ropeTable } from '@trtllm/ref-math';
import { bytesOf, EXACT, ints, rnd, upload, type KernelCase } from '../case-kit.js';
import * as gpu from './index.js';

export function ropeCases(): KernelCase[] {
  const cases: KernelCase[] = [];
  for (const [name, dt, heads, hs, rot] of [['rope f16 full (HS 64)', 'f16', 12, 64, 64], ['rope bf16 partial 32 of 64 (gpt-next 0.5)', 'bf16', 4, 64, 32], ['rope f32 odd heads', 'f32', 3, 12, 8]] as const) {
    const table = ropeTable(1024, rot);
    const x = rnd(dt, [7, heads, hs], heads + hs);
    const positions = ints([0, 1, 2, 17, 511, 1000, 1023]);
    cases.push({ name, op: 'rope', dtype: dt, shape: `[7,${heads},${hs}] rot ${rot}`, tier: 1, tolerance: EXACT,
      ref: () => [ref.rope({ x, positions, table })],
      device: () => {
        const t = gpu.uploadRopeTable(table);
        const { d, free } = upload({ x, positions });
        return { run: () => [gpu.rope({ x: d.x, positions: d.positions, table: t })], dispose: () => { free(); t.cos.free(); t.sin.free(); } };
      },
      bytes: bytesOf(x) * 2, flops: 6 * 7 * heads * rot });
  }
  return cases;
}
