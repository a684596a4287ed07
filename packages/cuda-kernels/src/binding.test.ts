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
    expect(a.abiVersion).toBe(1);
  });
});

describe.skipIf(avail.ok)('without a usable GPU', () => {
  it('device allocation throws CudaUnavailableError with the reason, never a crash', () => {
    expect(() => DeviceTensor.from(fromValues('f32', [2], [1, 2]))).toThrow(CudaUnavailableError);
    expect(() => DeviceTensor.empty('f16', [4])).toThrow(/CUDA backend unavailable: /);
  });
});
