#!/usr/bin/env node
// npm's install step for @trtllm/cuda-kernels as a user installs it (package.json "install"). The
// package ships a prebuilt addon (build/Release/trtllm_cuda.node: linux-x64, SASS for sm_80 and sm_90a
// plus PTX for newer GPUs). Kept when it loads here; when it does not (another C library, a damaged
// file) or is absent, and a CUDA toolkit is present (nvcc, cmake, and cmake-js — an optional
// dependency), it is built from the shipped csrc/; otherwise one line says what the cuda backend
// needs. The install never fails for it — the ref backend needs no CUDA — unless
// TRTLLM_REQUIRE_CUDA=1. In this repository's workspace (src/ present) it does nothing: `npm run
// build` builds the addon there.
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCmake, findCmakeJs, findNvcc } from './toolkit.mjs';

const REBUILD = 'then run `npm rebuild @trtllm/cuda-kernels --foreground-scripts`';

/**
 * What the install step does, from what it found:
 *   workspace   src/ beside the scripts (a development checkout)
 *   prebuilt    'absent', 'loads', or why loading it failed
 *   toolkit     the paths found ({ nvcc, cmake, cmakeJs }, each possibly undefined)
 *   requireCuda TRTLLM_REQUIRE_CUDA=1
 * → { action: 'none' | 'keep' | 'build' | 'skip' | 'fail', message }
 */
export function installPlan({ workspace, prebuilt, toolkit, requireCuda }) {
  if (workspace) return { action: 'none', message: '' };
  if (prebuilt === 'loads') return { action: 'keep', message: 'the prebuilt CUDA addon loads (linux-x64, sm_80 / sm_90a + PTX)' };
  const why = prebuilt === 'absent' ? 'is not in the package' : `does not load here (${prebuilt})`;
  const lacking = [!toolkit.nvcc && 'nvcc (the CUDA toolkit)', !toolkit.cmake && 'cmake', !toolkit.cmakeJs && 'cmake-js (an optional dependency: install without --omit=optional)'].filter(Boolean);
  if (lacking.length === 0) return { action: 'build', message: `the prebuilt CUDA addon ${why}: building it from source with ${toolkit.nvcc}` };
  const message = `the prebuilt CUDA addon ${why}, and building it needs ${lacking.join(', ')}: the ref backend works without it; for the cuda backend install ${lacking.length > 1 ? 'them' : 'it'}, ${REBUILD}`;
  return { action: requireCuda ? 'fail' : 'skip', message };
}

/** 'loads', or the first line of the error Node gives when it loads the addon at `path` in a child process. */
export function probeAddon(path) {
  if (!existsSync(path)) return 'absent';
  const r = spawnSync(process.execPath, ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(path)})`], { encoding: 'utf8' });
  if (r.status === 0) return 'loads';
  const line = r.stderr.split('\n').find((l) => /Error/.test(l)) ?? r.stderr.trim().split('\n')[0] ?? `exit ${r.status}`;
  return line.replace(/^\s*(Uncaught\s+)?/, '').slice(0, 300);
}

function main() {
  const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const addonPath = join(pkg, 'build/Release/trtllm_cuda.node');
  if (existsSync(join(pkg, 'src/index.ts'))) return; // the workspace: npm run build builds the addon
  const aside = `${addonPath}.prebuilt`; // where the prebuilt waits during a source build
  if (existsSync(aside) && !existsSync(addonPath)) renameSync(aside, addonPath); // an earlier build was interrupted
  const facts = {
    workspace: false,
    prebuilt: probeAddon(addonPath),
    toolkit: { nvcc: findNvcc(), cmake: findCmake(), cmakeJs: findCmakeJs(pkg) },
    requireCuda: process.env.TRTLLM_REQUIRE_CUDA === '1',
  };
  const plan = installPlan(facts);
  if (plan.message) console.log(`@trtllm/cuda-kernels: ${plan.message}`);
  if (plan.action === 'fail') process.exit(1);
  if (plan.action !== 'build') return;
  // the prebuilt file (if any) waits aside: it comes back if the source build fails
  if (existsSync(addonPath)) renameSync(addonPath, aside);
  const r = spawnSync(process.execPath, [join(pkg, 'scripts/build-native.mjs')], { stdio: 'inherit', env: { ...process.env, TRTLLM_REQUIRE_CUDA: '1' } });
  const built = r.status === 0 ? probeAddon(addonPath) : `the build failed (exit ${r.status})`;
  if (built === 'loads') {
    rmSync(aside, { force: true });
    console.log('@trtllm/cuda-kernels: built build/Release/trtllm_cuda.node from source; it loads');
    return;
  }
  rmSync(addonPath, { force: true });
  if (existsSync(aside)) renameSync(aside, addonPath);
  console.log(`@trtllm/cuda-kernels: the source build did not give a loadable addon (${built}): the ref backend works without it; fix the toolkit, ${REBUILD}`);
  if (facts.requireCuda) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
