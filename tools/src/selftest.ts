/**
 * `trtllm selftest` — the oracle's conformance table: op × dtypes × tier × accumulation order, each
 * row with its golden check run now; then a greedy decode of a small random-weight GPT on the `ref`
 * backend (pure TypeScript, no GPU). Exit 0 iff every check passed.
 */
import { parseArgs } from 'node:util';
import {
  createGptKvCache,
  gptConfig,
  gptForward,
  greedyGenerate,
  randomGptWeights,
  runConformance,
  type ConformanceResult,
} from '@trtllm/ref-math';
import { UsageError, type CliIO } from './io.js';

export const SELFTEST_HELP = `Usage: trtllm selftest [--markdown] [--json]

Runs every golden check of the ref-math oracle and prints the conformance table
(op, functions, dtypes, tier, accumulation order, result), then greedy-decodes a
small random-weight GPT-2-architecture model on the ref backend.

  --markdown   print the table as Markdown (the README's table is made this way)
  --json       print the results as JSON
`;

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function markdown(rows: readonly (readonly string[])[]): string {
  const [head, ...body] = rows;
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(head!), line(head!.map(() => '---')), ...body.map(line)].join('\n') + '\n';
}

function demo(): string {
  const config = gptConfig({ vocabSize: 512, nPositions: 64, nEmbd: 64, nHead: 4, nKvHead: 4, nLayer: 2, dtype: 'f16' });
  const model = { config, weights: randomGptWeights(config, 2024) };
  const prompt = [17, 401, 33, 250, 9];
  const t0 = performance.now();
  const [tokens] = greedyGenerate(model, [prompt], { maxNewTokens: 12 });
  const ms = performance.now() - t0;
  const logits = gptForward(model, createGptKvCache(config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: prompt }], { logits: 'last' });
  return (
    `ref backend: random-weight GPT (L=${config.nLayer}, H=${config.nEmbd}, NH=${config.nHead}, V=${config.vocabSize}, ${config.dtype}), ` +
    `prompt [${prompt.join(', ')}] → greedy [${tokens!.join(', ')}] in ${ms.toFixed(0)} ms; ` +
    `logits[0..3] = ${Array.from(logits.data.subarray(0, 3), (v) => v.toFixed(5)).join(', ')}\n`
  );
}

export function selftest(argv: readonly string[], io: CliIO): number {
  let values: { markdown?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { markdown: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${SELFTEST_HELP}`);
  }
  if (values.help) {
    io.out(SELFTEST_HELP);
    return 0;
  }
  const results: ConformanceResult[] = runConformance();
  const failed = results.filter((r) => !r.ok);
  if (values.json) {
    io.out(JSON.stringify(results.map((r) => ({ ...r.entry, check: undefined, ok: r.ok, error: r.error, ms: r.ms })), null, 2) + '\n');
    return failed.length === 0 ? 0 : 1;
  }
  const check = (r: ConformanceResult): string => (r.ok ? 'pass' : `FAIL: ${r.error}`);
  if (values.markdown) {
    io.out(markdown([
      ['op', 'functions', 'dtypes', 'tier', 'accumulation order / rounding', 'check'],
      ...results.map((r) => [r.entry.op, r.entry.functions.split(' ').map((f) => `\`${f}\``).join(' '), r.entry.dtypes, String(r.entry.tier), r.entry.order, check(r)]),
    ]));
    return failed.length === 0 ? 0 : 1;
  }
  io.out(table([
    ['op', 'dtypes', 'tier', 'accumulation order / rounding', 'check'],
    ...results.map((r) => [r.entry.op, r.entry.dtypes, String(r.entry.tier), r.entry.order, check(r)]),
  ]));
  io.out('\n' + demo());
  io.out(`\nconformance: ${results.length - failed.length} passed, ${failed.length} failed\n`);
  return failed.length === 0 ? 0 : 1;
}
