import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE, runConformance } from './conformance.js';
import { OP_NAMES } from './op-specs.js';

const opsDir = join(dirname(fileURLToPath(import.meta.url)), 'ops');

describe('conformance table', () => {
  it('every golden check passes', () => {
    const failed = runConformance().filter((r) => !r.ok).map((r) => `${r.entry.op}: ${r.error}`);
    expect(failed).toEqual([]);
  });
  it('covers every op in OP_NAMES, and OP_NAMES is exactly the files in ops/', () => {
    const files = readdirSync(opsDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.replace(/\.ts$/, '')).sort();
    expect([...OP_NAMES].sort()).toEqual(files);
    for (const op of OP_NAMES) expect(CONFORMANCE.some((e) => e.op === op)).toBe(true);
  });
  it('a failing check is reported with its message, not thrown', () => {
    const [r] = runConformance([{ ...CONFORMANCE[0]!, check: () => { throw new Error('boom'); } }]);
    expect(r).toMatchObject({ ok: false, error: 'boom' });
  });
});
