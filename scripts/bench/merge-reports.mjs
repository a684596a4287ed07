#!/usr/bin/env node
// Render benchmark reports (trtllm benchmark --json, each with its HF peer from the same device call)
// as one markdown file (one table per call) and one SVG plot of every model:
//   node scripts/bench/merge-reports.mjs --md OUT.md --svg OUT.svg a.bench.json b.bench.json ...
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchmarkMarkdown, benchmarkSvg } from '../../tools/dist/benchmark.js';

const { values, positionals } = parseArgs({ options: { md: { type: 'string' }, svg: { type: 'string' } }, allowPositionals: true });
const reports = positionals.map((f) => ({ file: f, report: JSON.parse(readFileSync(f, 'utf8')) }));
const md = reports.map(({ file, report }) => `### ${report.models.map((m) => m.model).join(', ')} (${file.split('/').pop()})\n\n${benchmarkMarkdown(report)}`).join('\n');
if (values.md) writeFileSync(values.md, md);
const merged = {
  ...reports[0].report,
  models: reports.flatMap(({ report }) => report.models),
  peer: { ...reports[0].report.peer, models: Object.assign({}, ...reports.map(({ report }) => report.peer?.models ?? {})) },
};
if (values.svg) writeFileSync(values.svg, benchmarkSvg(merged));
process.stdout.write(md);
