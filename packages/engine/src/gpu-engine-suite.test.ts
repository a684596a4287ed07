// The GPU proof script (scripts/gpu-engine-suite.mjs) run on the CPU: its exit code is what a GPU run
// is judged by, so a failing or crashing stage must make it non-zero, and a passing run zero. The
// `tiny` stage with `--backend ref` runs the whole convert → build → load path against itself (no GPU);
// `sotu` without its data folders throws. Needs the built packages (`npm start` or `npm run build`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const pkg = resolve(fileURLToPath(import.meta.url), '../..');
const script = join(pkg, 'scripts/gpu-engine-suite.mjs');
const out = mkdtempSync(join(tmpdir(), 'engine-suite-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function suite(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(join(pkg, 'dist/index.js'))) throw new Error(`${join(pkg, 'dist/index.js')} is missing: build the packages first (npm start, or npm run build)`);
  const r = spawnSync(process.execPath, [script, '--out', out, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gpu-engine-suite.mjs exit code', () => {
  it('exits 0 when every stage passes (tiny on the ref backend) and records the stage', () => {
    const r = suite('--backend', 'ref', '--stages', 'tiny');
    expect(r.stdout, r.stderr).toMatch(/^tiny: PASS/m);
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'engine-suite.json'), 'utf8'));
    expect(report.stages.tiny.ok).toBe(true);
    expect(report.stages.tiny.rows).toHaveLength(8); // 4 fixtures × fp32, fp16
  }, 120_000);
  it('exits 1 when a stage fails, even when another passed', () => {
    const r = suite('--backend', 'ref', '--stages', 'sotu,tiny');
    expect(r.stdout).toMatch(/^sotu: ERROR Error: --sotu and --val are required/m);
    expect(r.stdout).toMatch(/^tiny: PASS/m);
    expect(r.stdout).toMatch(/sotu FAIL, tiny pass$/m);
    expect(r.status).toBe(1);
  }, 120_000);
  it('exits 2 on an unknown stage name and lists the stages', () => {
    const r = suite('--stages', 'tiny,nope');
    expect(r.stderr).toMatch(/--stages: unknown stage 'nope'; the stages are tiny, beamtp, tpnccl, production/);
    expect(r.status).toBe(2);
  });
});
