import { describe, expect, it } from 'vitest';
import { fromValues } from '@trtllm/ref-math';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addonIfBuilt, explainUnavailable, isAvailable } from './binding.js';
import { DeviceTensor } from './device.js';
import { CudaUnavailableError } from './errors.js';

const avail = isAvailable();

describe('binding', () => {
  it('isAvailable never throws and gives a reason when kernels cannot run', () => {
    if (avail.ok) expect(avail.device.name).toMatch(/\S/);
    else expect(avail.reason).toMatch(/not built|no usable CUDA device|failed to load|no NVIDIA driver|driver .*older/);
  });
  it('a missing driver is named as such, an old one with its version; other runtime errors pass through', () => {
    const insufficient = 'cudaGetDeviceCount: cudaErrorInsufficientDriver (CUDA driver version is insufficient for CUDA runtime version)';
    expect(explainUnavailable(insufficient, '/nonexistent/nvidia/version')).toMatch(/^no NVIDIA driver on this machine \(\/nonexistent\/nvidia\/version is absent\), so no GPU: the ref backend runs/);
    const file = join(mkdtempSync(join(tmpdir(), 'driver-')), 'version');
    writeFileSync(file, 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.57.02  Tue Jul 13 16:14:05 UTC 2021\n');
    expect(explainUnavailable(insufficient, file)).toMatch(/^the NVIDIA driver 470\.57\.02 is older than the CUDA runtime the addon was built with: update the driver/);
    expect(explainUnavailable('cudaGetDeviceCount: cudaErrorNoDevice (no CUDA-capable device is detected)', file)).toMatch(/^no usable CUDA device: cudaGetDeviceCount: cudaErrorNoDevice/);
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
