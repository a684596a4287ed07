#!/usr/bin/env node
// Builds the CUDA addon (build/Release/trtllm_cuda.node) with cmake-js. Finds nvcc, cmake and cmake-js
// (toolkit.mjs), and when something is missing says exactly what and how to get it. No GPU is needed
// to build; without nvcc or cmake it skips the addon.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCmake, findCmakeJs, findNvcc } from './toolkit.mjs';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (msg) => {
  console.error(`build-native: ${msg}`);
  process.exit(1);
};

// Without a CUDA toolkit the addon is skipped, not failed: the ref backend (and `npm start`) need no
// CUDA. TRTLLM_REQUIRE_CUDA=1 turns a missing toolkit into an error (GPU machines, release builds).
const missing = (msg) => {
  if (process.env.TRTLLM_REQUIRE_CUDA === '1') fail(msg);
  console.warn(`build-native: the CUDA addon is not built — ${msg} The ref backend works without it; set TRTLLM_REQUIRE_CUDA=1 to make this an error.`);
  process.exit(0);
};
const nvcc = findNvcc();
if (!nvcc) {
  missing('nvcc (the CUDA compiler) was not found: set CUDACXX=/path/to/nvcc, or install the CUDA toolkit (e.g. `pip install nvidia-cuda-nvcc` or the cuda-nvcc apt package from NVIDIA\'s repository). No GPU is needed to build.');
}
const cmake = findCmake();
if (!cmake) missing('cmake was not found: install it (`apt-get install cmake`, ≥ 3.18).');
const bin = findCmakeJs(pkg);
if (!bin) missing('cmake-js (an optional dependency of @trtllm/cuda-kernels) is not installed: install without --omit=optional.');
const version = execFileSync(nvcc, ['--version'], { encoding: 'utf8' }).match(/release (\S+),/)?.[1] ?? '?';
console.log(`build-native: nvcc ${version} at ${nvcc}; ${cmake}`);

const args = ['compile', '--directory', pkg, '--out', join(pkg, 'build'), `--CDCMAKE_CUDA_COMPILER=${nvcc}`];
if (process.env.TRTLLM_CUDA_ARCHS) args.push(`--CDTRTLLM_CUDA_ARCHS=${process.env.TRTLLM_CUDA_ARCHS}`);
const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', cwd: pkg }); // cmake-js's bin is a Node script: no exec bit needed
if (r.status !== 0) fail(`cmake-js failed (exit ${r.status}); the compiler output above names the file and line.`);
if (!existsSync(join(pkg, 'build/Release/trtllm_cuda.node'))) fail('the build finished but build/Release/trtllm_cuda.node is missing');
console.log('build-native: build/Release/trtllm_cuda.node');
