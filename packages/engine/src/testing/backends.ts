/**
 * Test-only: `describeBackends` runs one test body on every backend an engine can load on — `ref`
 * always; the cuda backend with its bit-exact reference kernels and with its production kernels where
 * a GPU is usable. Without a GPU the cuda variants are skipped with the reason in their title (the
 * vitest skip report lists them), never silently. Bodies compare against the ref backend or the oracle
 * with the tolerance the variant declares: `exact` variants must give the ref backend's bits.
 */
import { describe } from 'vitest';
import { gpuStatus, type GpuStatus } from '../backends/kernels.js';
import type { EngineLoadOptions } from '../runtime/engine.js';

export interface BackendVariant {
  /** 'ref', 'cuda reference kernels', 'cuda production kernels'. */
  readonly name: string;
  /** What Engine.load takes for this variant. */
  readonly options: EngineLoadOptions;
  /** True where results must equal the ref backend bit for bit (ref, cuda reference kernels). */
  readonly exact: boolean;
  /** Why the variant cannot run here, or undefined when it can. */
  readonly unavailable: string | undefined;
}

/** Whether a GPU is usable in this process, its name, and how many there are. */
export const GPU: GpuStatus = await (async () => {
  const g = await gpuStatus();
  return g.ok ? g : { ok: false, reason: g.reason.split(' (')[0]! };
})();

export const BACKEND_VARIANTS: readonly BackendVariant[] = [
  { name: 'ref', options: { backend: 'ref' }, exact: true, unavailable: undefined },
  { name: 'cuda reference kernels', options: { backend: 'cuda', kernels: 'reference' }, exact: true, unavailable: GPU.ok ? undefined : GPU.reason },
  { name: 'cuda production kernels', options: { backend: 'cuda', kernels: 'production' }, exact: false, unavailable: GPU.ok ? undefined : GPU.reason },
];

/**
 * The ref backend with the engine one step ahead (EngineLoadOptions.stepAhead: step k + 1 launched
 * before step k's listeners run, as on cuda production kernels): the runtime's logic in that order on
 * any machine, with the ref backend's bits.
 */
export const STEP_AHEAD: BackendVariant = { name: 'ref, one step ahead', options: { backend: 'ref', stepAhead: true }, exact: true, unavailable: undefined };

/** `describe(title)` once per backend variant; a variant that cannot run is skipped, its title saying why. */
export function describeBackends(title: string, body: (v: BackendVariant) => void, variants: readonly BackendVariant[] = BACKEND_VARIANTS): void {
  for (const v of variants) {
    const where = v.unavailable === undefined ? (v.name === 'ref' ? v.name : `${v.name} on ${(GPU as { name: string }).name}`) : `${v.name} (skipped: ${v.unavailable})`;
    describe.skipIf(v.unavailable !== undefined)(`${title} [${where}]`, () => body(v));
  }
}
