// One vitest config for the workspace: a project per package, each importing the others' `src`
// through the `@trtllm/source` export condition (no build needed to test).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@trtllm/source'] },
  ssr: { resolve: { conditions: ['@trtllm/source'] } },
  test: {
    projects: [
      { extends: true, test: { name: 'ref-math', root: 'packages/ref-math', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'loader', root: 'packages/loader', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'engine', root: 'packages/engine', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'cuda-kernels', root: 'packages/cuda-kernels', include: ['src/**/*.test.ts'] } },
      { extends: true, test: { name: 'cli', root: 'tools', include: ['src/**/*.test.ts'] } },
    ],
  },
});
