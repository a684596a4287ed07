import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FtCheckpoint } from '@trtllm/loader';
import { main } from './cli.js';

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (s) => (out += s), err: (s) => (err += s) }, out: () => out, err: () => err };
}

describe('trtllm CLI', () => {
  it('selftest prints every conformance row as passing, a greedy demo, and a summary line; exit 0', async () => {
    const c = capture();
    expect(await main(['selftest'], c.io)).toBe(0);
    const text = c.out();
    for (const op of ['gemm', 'int8-gemm', 'quantize', 'fp8', 'layernorm', 'activation', 'softmax', 'residual', 'rope', 'kv-cache', 'attention', 'embedding', 'collectives', 'gpt']) {
      expect(text).toMatch(new RegExp(`^${op} .* pass$`, 'm'));
    }
    expect(text).toMatch(/ref backend: random-weight GPT .* greedy \[(\d+, ){11}\d+\]/);
    expect(text).toMatch(/^conformance: 16 passed, 0 failed$/m);
  });
  it('selftest --markdown prints a Markdown table', async () => {
    const c = capture();
    await main(['selftest', '--markdown'], c.io);
    expect(c.out().split('\n')[1]).toBe('| --- | --- | --- | --- | --- | --- |');
  });
  it('selftest --json is machine-readable', async () => {
    const c = capture();
    await main(['selftest', '--json'], c.io);
    const rows = JSON.parse(c.out()) as { op: string; ok: boolean; tier: number }[];
    expect(rows.length).toBe(16);
    expect(rows.every((r) => r.ok)).toBe(true);
  });
  it('an unknown command or flag is a usage error (exit 2) that says what is valid', async () => {
    const c = capture();
    expect(await main(['frobnicate'], c.io)).toBe(2);
    expect(c.err()).toMatch(/unknown command 'frobnicate'[\s\S]*selftest/);
    const d = capture();
    expect(await main(['selftest', '--bogus'], d.io)).toBe(2);
    expect(d.err()).toMatch(/trtllm selftest: Unknown option '--bogus'[\s\S]*--markdown/);
  });
});

describe('trtllm convert', () => {
  const tiny = fileURLToPath(new URL('../../packages/loader/fixtures/tiny/', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'trtllm-cli-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('converts with the seed flags (-i -o -tp -t -p --model), prints a summary, and the result reads back', async () => {
    const c = capture();
    const code = await main(['convert', '-i', join(tiny, 'santacoder/bin-fp32'), '-o', join(work, 'sc'), '-tp', '2', '-t', 'float16', '-p', '2', '--model', 'santacoder'], c.io);
    expect(c.err()).toMatch(/saving weights \[#{30}\] 100% 29\/29 tensors/);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/santacoder \(pytorch\), 2 layers, n_embd 64, n_head 4 \(multi-query\), vocab 1000, lm_head separate/);
    expect(c.out()).toMatch(/wrote .*sc\/2-gpu: 42 files, .* MiB float16, tp 2, multi_query_mode True/);
    const ft = FtCheckpoint.open(join(work, 'sc'));
    expect([ft.tp, ft.storage, ft.config.nKvHead]).toEqual([2, 'float16', 1]);
  });

  it('bad usage exits 2 naming the flag; a bad checkpoint exits 1 naming the file', async () => {
    const c = capture();
    expect(await main(['convert', '-i', join(tiny, 'gpt2/st-fp32')], c.io)).toBe(2);
    expect(c.err()).toMatch(/-i\/--in-file and -o\/--out-dir are required/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '-t', 'float8'], c.io)).toBe(2);
    expect(c.err()).toMatch(/-t\/--storage-type must be one of float32, float16, bfloat16, got 'float8'/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '-sq', '0.5'], c.io)).toBe(2);
    expect(c.err()).toMatch(/need a calibration run/);
    expect(await main(['convert', '-i', join(work, 'nowhere'), '-o', join(work, 'o')], c.io)).toBe(1);
    expect(c.err()).toMatch(/trtllm convert: .*nowhere\/config\.json: expected a readable JSON config/);
  });
});
