// One vitest config for the workspace: a project per package, each importing the others' `src`
// through the `@trtllm/source` export condition. Skipped tests are named, with their reason, just
// above vitest's summary (scripts/testing/skip-report.mjs).
import { defineConfig } from 'vitest/config';
import SkipReport from './scripts/testing/skip-report.mjs';

export default defineConfig({
  resolve: { conditions: ['@trtllm/source'] },
  ssr: { resolve: { conditions: ['@trtllm/source'] } },
  test: {
    // VITEST_VERBOSE=1 (the GPU run's log): one line per test, so the committed log names every case
    reporters: [new SkipReport(), process.env['VITEST_VERBOSE'] === '1' ? 'verbose' : 'default'],
    projects: [
      { extends: true, test: { name: 'ref-math', root: 'packages/ref-math', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'quant', root: 'packages/quant', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'loader', root: 'packages/loader', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'engine', root: 'packages/engine', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'cuda-kernels', root: 'packages/cuda-kernels', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'cli', root: 'tools', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'scripts', root: 'scripts', include: ['**/*.test.mjs'] } },
    ],
  },
});
