// The house lint fails where it should: package boundaries (rule 6) on small packages made here —
// a loader that imports the engine, tools that load the CUDA addon, an engine that loads it outside
// its one loading point, a run-time import not declared in package.json, the testing helpers in
// library code — and passes the same packages once they follow the rules.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const lint = join(dirname(fileURLToPath(import.meta.url)), 'lint-style.mjs');
const work = mkdtempSync(join(tmpdir(), 'lint-style-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A package dir with package.json and src files; returns the lint's exit code and output. */
function lintPackage(name, deps, files) {
  const dir = join(work, `${name.replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2, 8)}`);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'src', rel)), { recursive: true });
    writeFileSync(join(dir, 'src', rel), text);
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, dependencies: deps }));
  const r = spawnSync(process.execPath, [lint, dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}
const src = (body) => `// header\n${body}\n`;

describe('lint-style rule 6: package boundaries', () => {
  it('loader importing the engine fails, naming the file and the rule', () => {
    const r = lintPackage('@trtllm/loader', { '@trtllm/ref-math': '0.1.0', '@trtllm/engine': '0.1.0' }, { 'a.ts': src("import { Engine } from '@trtllm/engine';\nexport const e = Engine;") });
    expect(r.out).toMatch(/a\.ts: imports @trtllm\/engine: loader may import ref-math \(ARCHITECTURE\.md, Packages\)/);
    expect(r.status).toBe(1);
  });
  it('tools loading the CUDA addon fail; through the engine they pass', () => {
    const bad = lintPackage('@trtllm/cli', { '@trtllm/engine': '0.1.0' }, { 'run.ts': src("export const k = () => import('@trtllm/cuda-kernels');") });
    expect(bad.out).toMatch(/run\.ts: imports @trtllm\/cuda-kernels: cli may import ref-math, quant, loader, engine/);
    expect(bad.status).toBe(1);
    const good = lintPackage('@trtllm/cli', { '@trtllm/engine': '0.1.0' }, { 'run.ts': src("import { gpuStatus } from '@trtllm/engine';\nexport const k = gpuStatus;") });
    expect(good.status, good.out).toBe(0);
  });
  it('the engine loads the addon only in backends/kernels.ts; type imports are free', () => {
    const deps = { '@trtllm/ref-math': '0.1.0', '@trtllm/cuda-kernels': '0.1.0' };
    const bad = lintPackage('@trtllm/engine', deps, { 'runtime/x.ts': src("export const k = () => import('@trtllm/cuda-kernels');") });
    expect(bad.out).toMatch(/x\.ts: loads @trtllm\/cuda-kernels at run time: the engine loads the addon in one place/);
    const good = lintPackage('@trtllm/engine', deps, { 'backends/kernels.ts': src("export const k = () => import('@trtllm/cuda-kernels');"), 'runtime/y.ts': src("import type * as Cuda from '@trtllm/cuda-kernels';\nexport type K = typeof Cuda;") });
    expect(good.status, good.out).toBe(0);
  });
  it('an undeclared run-time import fails; the testing helpers are for tests only; ref-math imports nothing of ours', () => {
    const undeclared = lintPackage('@trtllm/cuda-kernels', {}, { 'a.ts': src("import { DTYPES } from '@trtllm/ref-math';\nexport const d = DTYPES;") });
    expect(undeclared.out).toMatch(/a\.ts: imports @trtllm\/ref-math at run time but package\.json does not declare @trtllm\/ref-math/);
    const testing = lintPackage('@trtllm/loader', { '@trtllm/ref-math': '0.1.0' }, { 'a.ts': src("import { sharedData } from '@trtllm/ref-math/testing';\nexport const s = sharedData;"), 'a.test.ts': "import { sharedData } from '@trtllm/ref-math/testing';\nvoid sharedData;\n" });
    expect(testing.out).toMatch(/src\/a\.ts: imports @trtllm\/ref-math\/testing outside a test/);
    expect(testing.out).not.toMatch(/a\.test\.ts/);
    const oracle = lintPackage('@trtllm/ref-math', {}, { 'a.ts': src("export { Engine } from '@trtllm/engine';") });
    expect(oracle.out).toMatch(/a\.ts: imports @trtllm\/engine: ref-math may import nothing of ours/);
    expect([undeclared.status, testing.status, oracle.status]).toEqual([1, 1, 1]);
  });
});
