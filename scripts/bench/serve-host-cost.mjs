#!/usr/bin/env node
// The server's host cost per token, on any machine: `scripts/serve-load.mjs --fixed` on the `ref`
// backend under V8's sampling profiler, the server thread's samples sorted by what they were doing.
// On a GPU the step runs on the device and the server's thread does the rest — the scheduler, the
// launch, each token's delivery, text, JSON and socket write; one step ahead hides that work behind
// the device's only while it is shorter than the step (gpt2 at 64 clients on an H100: about 1 ms for
// 64 tokens, so ~15 µs of host work per token is the whole budget). Here the step is computed by
// the oracle on the same thread; its samples (ref-math, the ref backend, the model graph — whose own
// host part, a few µs a step, goes with them) are set apart, and what is left is what a GPU server
// would pay. Prints µs per served token by category and
// the host functions with the most inclusive time.
//
//   node scripts/bench/serve-host-cost.mjs [--engine_dir DIR] [--concurrency 64] [--per_client 4]
//        [--tokens 32] [--runs 3] [--root DIR] [--json FILE]
// --engine_dir: an engine with a tokenizer (default: serve-load's tiny random engine, built in a
//   temporary directory each run); --tokens: prompt and output length (ignore_eos), at most the
//   engine's limits; --root: the checkout whose serve-load.mjs and build to run (an A/B of two builds
//   in one run: call once per root, alternating); --runs: median of this many runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: {
    engine_dir: { type: 'string' }, concurrency: { type: 'string', default: '64' }, per_client: { type: 'string', default: '4' },
    tokens: { type: 'string', default: '32' }, runs: { type: 'string', default: '3' }, root: { type: 'string' }, json: { type: 'string' },
  },
});
const root = resolve(v.root ?? new URL('../..', import.meta.url).pathname);
const runs = Number(v.runs);

/** Where a sample's time goes, from its stack (leaf first): the oracle's step, V8's own, or host work. */
function category(stack) {
  const leaf = stack[0].functionName;
  if (leaf === '(garbage collector)') return 'gc';
  if (leaf === '(idle)' || leaf === '(program)') return 'idle';
  const urls = stack.map((f) => f.url);
  if (urls.some((u) => /ref-math|backends\/ref\.|models\/gpt\./.test(u))) return 'step on the oracle';
  if (urls.some((u) => /node:internal\/modules|node:internal\/bootstrap/.test(u))) return 'module loading';
  if (urls.some((u) => /serve-load/.test(u))) return 'load harness';
  return 'host';
}

/** One run: the server thread's profile, per category and per host function (inclusive), in µs. */
function runOnce() {
  const dir = mkdtempSync(join(tmpdir(), 'serve-host-'));
  try {
    const report = join(dir, 'load.json');
    const args = ['--cpu-prof', '--cpu-prof-interval', '250', `--cpu-prof-dir=${dir}`, join(root, 'scripts/serve-load.mjs'), '--backend', 'ref', '--fixed', '--no_solo_check',
      '--max_prompt', v.tokens, '--max_tokens', v.tokens, '--per_client', v.per_client, '--concurrency', v.concurrency, '--json', report,
      ...(v.engine_dir ? ['--engine_dir', v.engine_dir] : [])];
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`serve-load failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    const tokens = JSON.parse(readFileSync(report, 'utf8')).reports.reduce((a, x) => a + x.completionTokens, 0);
    // the main thread's profile is the first one written (the clients' worker thread writes its own)
    const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()[0];
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const time = new Map();
    p.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + p.timeDeltas[i]));
    const cats = {};
    const fns = {};
    for (const [id, us] of time) {
      const stack = [];
      for (let n = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n).callFrame);
      const c = category(stack);
      cats[c] = (cats[c] ?? 0) + us;
      if (c !== 'host') continue;
      const names = new Set(stack.map((f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(packages|tools)\//, '$1/').replace(/^file:\/\/.*\//, '')}`));
      for (const name of names) fns[name] = (fns[name] ?? 0) + us;
    }
    return { tokens, cats, fns };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = Array.from({ length: runs }, runOnce);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perToken = (pick) => median(results.map((r) => pick(r) / r.tokens));
const cats = ['host', 'gc', 'step on the oracle', 'module loading', 'load harness', 'idle'];
console.log(`serve-host-cost: ${root}, concurrency ${v.concurrency}, ${v.tokens} + ${v.tokens} tokens, ${results[0].tokens} tokens a run, median of ${runs}`);
console.log('µs per served token, by what the server thread was doing:');
// the median and the least of the runs: on a shared machine the host work itself varies from run to
// run (other threads, the oracle's garbage), and the least is the closest to what the code costs
const least = (pick) => Math.min(...results.map((r) => pick(r) / r.tokens));
console.log(`  ${'category'.padEnd(20)} ${'median'.padStart(8)} ${'least'.padStart(8)}`);
for (const c of cats) console.log(`  ${c.padEnd(20)} ${perToken((r) => r.cats[c] ?? 0).toFixed(2).padStart(8)} ${least((r) => r.cats[c] ?? 0).toFixed(2).padStart(8)}  (runs: ${results.map((r) => ((r.cats[c] ?? 0) / r.tokens).toFixed(2)).join(', ')})`);
const top = Object.entries(results[0].fns).sort((a, b) => b[1] - a[1]).slice(0, 20);
console.log('host functions, inclusive µs per token (first run):');
for (const [name, us] of top) console.log(`  ${(us / results[0].tokens).toFixed(2).padStart(8)}  ${name}`);
if (v.json) writeFileSync(v.json, JSON.stringify({ root, concurrency: Number(v.concurrency), tokens: Number(v.tokens), runs: results.map((r) => ({ tokens: r.tokens, usPerToken: Object.fromEntries(Object.entries(r.cats).map(([k, x]) => [k, x / r.tokens])) })) }, null, 2));
