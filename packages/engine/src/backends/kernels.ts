/**
 * The one place the engine loads @trtllm/cuda-kernels (an optional dependency: the `ref` backend and
 * every CPU path work without it). Everything else in the engine imports its types only
 * (`import type`), and tools ask the engine (`gpuStatus`), never the addon; the house lint
 * (scripts/lint-style.mjs) enforces both.
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import { EngineError } from '../errors.js';

let loaded: Promise<typeof Cuda | Error> | undefined;

/** The kernels package, or the reason it cannot be imported (not installed, addon not built, …). */
function importKernels(): Promise<typeof Cuda | Error> {
  loaded ??= import('@trtllm/cuda-kernels').then(
    (k) => k,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  return loaded;
}

/** The kernels package where it imports, whether or not a GPU is usable (host-only helpers such as plans). */
export async function kernelsIfInstalled(): Promise<typeof Cuda | undefined> {
  const k = await importKernels();
  return k instanceof Error ? undefined : k;
}

/** The kernels on a usable GPU, or a typed error saying what is missing and what to do. */
export async function loadKernels(): Promise<typeof Cuda> {
  const k = await importKernels();
  if (k instanceof Error) throw new EngineError('backend', { what: 'backend cuda', expected: 'the @trtllm/cuda-kernels package', got: k.message, hint: 'npm install, then build the addon (npm run build -w @trtllm/cuda-kernels)' });
  const a = k.isAvailable();
  if (!a.ok) throw new EngineError('backend', { what: 'backend cuda', expected: 'a usable GPU and the built addon', got: a.reason, hint: "use backend 'ref' on machines without a GPU" });
  return k;
}

export type GpuStatus = { readonly ok: true; readonly name: string; readonly count: number } | { readonly ok: false; readonly reason: string };

/** Whether the cuda backend can run in this process: the GPU's name and count, or why not. Never throws. */
export async function gpuStatus(): Promise<GpuStatus> {
  const k = await importKernels();
  if (k instanceof Error) return { ok: false, reason: `the CUDA addon does not load (${k.message.split('\n')[0]})` };
  const a = k.isAvailable();
  return a.ok ? { ok: true, name: a.device.name ?? 'GPU', count: a.device.count ?? 1 } : { ok: false, reason: a.reason };
}
