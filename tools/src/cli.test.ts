import { describe, expect, it } from 'vitest';
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
