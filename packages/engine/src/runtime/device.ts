/**
 * What the GPU this process runs on can do, measured now (for benchmarks that report ratios to the
 * device's own ceilings): its name, device-to-device copy bandwidth, the cuBLASLt f16 matmul peak,
 * and the memory in use. Undefined where no GPU is usable.
 */
import { kernelsIfInstalled } from '../backends/kernels.js';

export interface DeviceReport {
  readonly name: string;
  /** GB/s, bytes read + written, of a device-to-device copy (cuda-kernels measureCeilings). */
  readonly copyGBs: number;
  /** TFLOP/s of an 8192³ f16 cuBLASLt matmul (fp32 compute); undefined without cuBLASLt. */
  readonly matmulTflops?: number;
  readonly totalMemory: number;
}

export async function measureDevice(): Promise<DeviceReport | undefined> {
  const k = await kernelsIfInstalled();
  const a = k?.isAvailable();
  if (!k || !a?.ok) return undefined;
  const { copyGBs, matmulTflops } = k.measureCeilings(); // the kernel perf mode's ceilings, measured the same way
  return { name: a.device.name ?? 'GPU', copyGBs, ...(matmulTflops !== undefined ? { matmulTflops } : {}), totalMemory: a.device.totalMemory ?? 0 };
}

/** Bytes of device memory in use by everything on the GPU (total − free), or undefined without a GPU. */
export async function deviceMemoryInUse(): Promise<number | undefined> {
  const k = await kernelsIfInstalled();
  try {
    const m = k?.addonIfBuilt()?.memoryStats(); // throws where the addon loads but no driver/GPU is usable
    return m && m.deviceTotal - m.deviceFree;
  } catch {
    return undefined;
  }
}
