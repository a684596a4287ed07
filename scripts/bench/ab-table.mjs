#!/usr/bin/env node
// The table of an A/B run (scripts/bench/ab.sh): for each model and batch, the median over rounds of
// ms / step and TTFT of build A (earlier) and build B (this checkout), and B ÷ A; then the 924-token
// prefill. The noise beside the ms / step ratio: the widest spread of one build's rounds, (max − min)
// / median of A's or B's ms / step (TTFT for the prefill row; '–' with one round) — a ratio within it
// is no difference this run can show. Reads DIR/{a,b}-<round>.json (trtllm benchmark --json).
//   node scripts/bench/ab-table.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: ab-table.mjs DIR (holding a-1.json, b-1.json, …)');
  process.exit(2);
}
const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** side → "model|batch" → { step: number[], ttft: number[] }, and "model|prefill" → { ttft } */
const runs = { a: new Map(), b: new Map() };
let device = '';
for (const f of readdirSync(dir).filter((n) => /^[ab]-\d+\.json$/.test(n)).sort()) {
  const side = f[0];
  const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  device = r.device?.name ?? device;
  for (const m of r.models) {
    const name = m.model; // a quantized engine's label names its quantization
    const at = (key) => runs[side].get(key) ?? runs[side].set(key, { step: [], ttft: [] }).get(key);
    for (const p of m.points) {
      const e = at(`${name}|${p.batch}`);
      e.step.push(p.msPerStep);
      e.ttft.push(p.ttftMs);
    }
    if (m.prefill) at(`${name}|prefill ${m.prefill.tokens}`).ttft.push(m.prefill.ttftMs);
  }
}
const n = (x, d = 3) => (x === undefined ? '–' : x.toFixed(d));
/** (max − min) / median of a build's rounds; undefined below two rounds (no spread to see). */
const spread = (xs) => (xs.length >= 2 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : undefined);
const pct = (x) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)} %`);
const lines = [
  `A/B on ${device || 'an unnamed device'}: median over rounds; B = this checkout, A = the earlier build; ratio B ÷ A (< 1: B faster).`,
  '',
  '| model | batch | A ms / step | B ms / step | B ÷ A | spread of rounds | A TTFT ms | B TTFT ms | B ÷ A |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const [key, b] of runs.b) {
  const a = runs.a.get(key);
  if (!a) continue;
  const [model, batch] = key.split('|');
  const sa = a.step.length ? median(a.step) : undefined;
  const sb = b.step.length ? median(b.step) : undefined;
  const ta = median(a.ttft);
  const tb = median(b.ttft);
  // the noise of what the row compares: ms / step, or TTFT where there is none (the prefill row)
  const [na, nb] = sa && sb ? [spread(a.step), spread(b.step)] : [spread(a.ttft), spread(b.ttft)];
  const noise = na === undefined || nb === undefined ? undefined : Math.max(na, nb);
  lines.push(`| ${model} | ${batch} | ${n(sa)} | ${n(sb)} | ${sa && sb ? n(sb / sa) : '–'} | ${pct(noise)} | ${n(ta, 2)} | ${n(tb, 2)} | ${n(tb / ta)} |`);
}
console.log(lines.join('\n'));
