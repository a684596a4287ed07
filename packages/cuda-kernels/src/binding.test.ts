import { describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import { addonIfBuilt, isAvailable } from './binding.js';
import { DeviceTensor } from './device.js';
import { CudaUnavailableError } from './errors.js';

const avail = isAvailable();

describe('binding', () => {
  it('isAvailable never throws and gives a reason when kernels cannot run', () => {
    if (avail.ok) expect(avail.device.name).toMatch(/\S/);
    else expect(avail.reason).toMatch(/not built|no usable CUDA device|failed to load/);
  });
  it('the addon built here loads without a GPU and reports the device state', () => {
    const a = addonIfBuilt();
    if (!a) return expect(avail.ok).toBe(false); // not built: isAvailable said so above
    const info = a.deviceInfo();
    expect(info.runtimeVersion).toBeGreaterThanOrEqual(12000);
    expect(info.available).toBe(avail.ok);
    expect(a.abiVersion).toBe(2);
  });
  it('reports cuBLASLt and NCCL as loaded (path, version) or not (the loader\'s reason and the env var to set)', () => {
    const a = addonIfBuilt();
    if (!a) return;
    const libs = a.libraryInfo();
    for (const [name, l] of Object.entries(libs)) {
      if (l.available) expect(l.version, name).toBeGreaterThan(0);
      else expect(l.reason, name).toMatch(/TRTLLM_(CUBLASLT|NCCL)_PATH/);
    }
    if (!libs.cublasLt.available && avail.ok) expect(() => a.measureMatmulPeak(256, 1)).toThrow(/cuBLASLt unavailable/);
  });
});

describe.skipIf(avail.ok)(avail.ok ? 'without a usable GPU (skipped: a GPU is usable here)' : 'without a usable GPU', () => {
  it('device allocation throws CudaUnavailableError with the reason, never a crash', () => {
    expect(() => DeviceTensor.from(fromValues('f32', [2], [1, 2]))).toThrow(CudaUnavailableError);
    expect(() => DeviceTensor.empty('f16', [4])).toThrow(/CUDA backend unavailable: /);
  });
});
