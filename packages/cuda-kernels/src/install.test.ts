// The install step of the packed package (scripts/install.mjs): keep a prebuilt addon that loads,
// build from source where it does not and a toolkit is present, else one line — never a failed
// install unless TRTLLM_REQUIRE_CUDA=1.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { installPlan, probeAddon } from '../scripts/install.mjs';

const scripts = fileURLToPath(new URL('../scripts/', import.meta.url));
const built = fileURLToPath(new URL('../build/Release/trtllm_cuda.node', import.meta.url));
const toolkit = { nvcc: '/usr/local/cuda/bin/nvcc', cmake: 'cmake version 3.25.1', cmakeJs: '/x/cmake-js' };
const work = mkdtempSync(join(tmpdir(), 'trtllm-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
// the end-to-end case needs cmake-js out of reach of the temporary package (else, with nvcc and cmake
// on this machine, the install step would really build the addon from source)
const cmakeJsReachable = ((): boolean => {
  try {
    createRequire(join(work, 'probe.js')).resolve('cmake-js/package.json');
    return true;
  } catch {
    return false;
  }
})();

describe('install step of the packed @trtllm/cuda-kernels', () => {
  it('plans: nothing in the workspace, keep what loads, build where it does not and a toolkit is there, else one line', () => {
    expect(installPlan({ workspace: true, prebuilt: 'absent', toolkit: {}, requireCuda: true }).action).toBe('none');
    expect(installPlan({ workspace: false, prebuilt: 'loads', toolkit: {}, requireCuda: false }).action).toBe('keep');
    const build = installPlan({ workspace: false, prebuilt: 'Error: invalid ELF header', toolkit, requireCuda: false });
    expect(build).toEqual({ action: 'build', message: 'the prebuilt CUDA addon does not load here (Error: invalid ELF header): building it from source with /usr/local/cuda/bin/nvcc' });
    const skip = installPlan({ workspace: false, prebuilt: 'absent', toolkit: { cmake: toolkit.cmake }, requireCuda: false });
    expect(skip.action).toBe('skip');
    expect(skip.message).toBe('the prebuilt CUDA addon is not in the package, and building it needs nvcc (the CUDA toolkit), cmake-js (an optional dependency: install without --omit=optional): the ref backend works without it; for the cuda backend install them, then run `npm rebuild @trtllm/cuda-kernels --foreground-scripts`');
    expect(installPlan({ workspace: false, prebuilt: 'absent', toolkit: { cmake: toolkit.cmake }, requireCuda: true }).action).toBe('fail');
  });

  it('probes in a child process: absent, a damaged file named by its error, the built addon loads', () => {
    expect(probeAddon(join(work, 'none.node'))).toBe('absent');
    const damaged = join(work, 'damaged.node');
    writeFileSync(damaged, 'not a shared object');
    expect(probeAddon(damaged)).toMatch(/Error.*(invalid ELF header|too short|file too short)/i);
    if (existsSync(built)) expect(probeAddon(built)).toBe('loads');
  });

  it.skipIf(cmakeJsReachable)(cmakeJsReachable ? 'installed without cmake-js (skipped: cmake-js resolves from the temporary directory, so the step would build)' : 'installed without cmake-js and with a damaged prebuilt addon: exit 0, one line, the file left as it was (or put back, after an interrupted build)', () => {
    const pkg = join(work, 'node_modules/@trtllm/cuda-kernels');
    mkdirSync(join(pkg, 'scripts'), { recursive: true });
    mkdirSync(join(pkg, 'build/Release'), { recursive: true });
    for (const f of ['install.mjs', 'toolkit.mjs', 'build-native.mjs']) copyFileSync(join(scripts, f), join(pkg, 'scripts', f));
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@trtllm/cuda-kernels', type: 'module' }));
    writeFileSync(join(pkg, 'build/Release/trtllm_cuda.node'), 'damaged');
    const r = spawnSync(process.execPath, [join(pkg, 'scripts/install.mjs')], { encoding: 'utf8', env: { ...process.env, TRTLLM_REQUIRE_CUDA: '' } });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^@trtllm\/cuda-kernels: the prebuilt CUDA addon does not load here \(.*\), and building it needs .*cmake-js.*npm rebuild @trtllm\/cuda-kernels --foreground-scripts`$/);
    expect(readFileSync(join(pkg, 'build/Release/trtllm_cuda.node'), 'utf8')).toBe('damaged');
    // a source build interrupted earlier left the prebuilt aside: it is put back first
    renameSync(join(pkg, 'build/Release/trtllm_cuda.node'), join(pkg, 'build/Release/trtllm_cuda.node.prebuilt'));
    const again = spawnSync(process.execPath, [join(pkg, 'scripts/install.mjs')], { encoding: 'utf8', env: { ...process.env, TRTLLM_REQUIRE_CUDA: '' } });
    expect([again.status, again.stdout]).toEqual([0, r.stdout]);
    expect(readFileSync(join(pkg, 'build/Release/trtllm_cuda.node'), 'utf8')).toBe('damaged');
    const strict = spawnSync(process.execPath, [join(pkg, 'scripts/install.mjs')], { encoding: 'utf8', env: { ...process.env, TRTLLM_REQUIRE_CUDA: '1' } });
    expect(strict.status).toBe(1);
  });
});

describe('the addon build in the nx cache', () => {
  // nx keeps its cache in the home directory, shared by every clone: a build cached where the toolkit
  // was missing (addon skipped) must not be replayed where it is present — the toolkit's fingerprint
  // is one of the build target's inputs
  const fingerprint = (env: Record<string, string>): string => spawnSync(process.execPath, [join(scripts, 'toolkit.mjs'), '--fingerprint'], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout.trim();
  it('the fingerprint names the nvcc found and changes with it', () => {
    const a = join(work, 'nvcc-a');
    const b = join(work, 'nvcc-b');
    writeFileSync(a, '#!/bin/sh\n');
    writeFileSync(b, '#!/bin/sh\n# another toolkit\n');
    const fa = fingerprint({ CUDACXX: a });
    expect(fa).toMatch(new RegExp(`^nvcc=${a}:10:\\d+ cmake=.+ cmake-js=(yes|none)$`));
    expect(fingerprint({ CUDACXX: b })).not.toBe(fa);
  });
  it('is an input of the cuda-kernels build target, with the variables the build reads', () => {
    // every variable build-native.mjs reads is a cache input too
    const reads = [...readFileSync(join(scripts, 'build-native.mjs'), 'utf8').matchAll(/process\.env\.(\w+)/g)].map((m) => m[1]);
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { nx: { targets: { build: { inputs: unknown[] } } } };
    const inputs = pkg.nx.targets.build.inputs;
    for (const v of new Set(reads)) expect(inputs, v).toContainEqual({ env: v });
    expect(inputs).toEqual(expect.arrayContaining(['production', '^production', { env: 'CUDACXX' }, { env: 'TRTLLM_REQUIRE_CUDA' }, { env: 'TRTLLM_CUDA_ARCHS' }, { runtime: 'node packages/cuda-kernels/scripts/toolkit.mjs --fingerprint' }]));
    // nx runs it from the workspace root
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const r = spawnSync('sh', ['-c', 'node packages/cuda-kernels/scripts/toolkit.mjs --fingerprint'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^nvcc=\S+ cmake=.+ cmake-js=(yes|none)\n$/);
  });
});
