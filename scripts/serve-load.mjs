#!/usr/bin/env node
// The load test of `trtllm serve` (tools/src/serve-load.ts): an engine behind the server on loopback,
// N requests of mixed prompt / output lengths from C concurrent clients (half streamed, a share of the
// streaming clients leaving mid-stream), every completion checked against its solo run, nothing left
// running and every KV block free at the end. Prints one line per concurrency and writes JSON.
//
//   node scripts/serve-load.mjs --engine_dir DIR [--backend ref|cuda] [--kernels production|reference]
//        [--requests 1000] [--concurrency 200[,16,64…]] [--disconnect 0.1] [--max_prompt N] [--max_tokens N]
//        [--no_solo_check] [--json FILE] [--tokenizer gpt2|DIR]   (an engine built without --tokenizer_dir needs --tokenizer)
//        [--fixed --per_client K --offline BENCHMARK.json] [--warmup]
// --fixed: every request exactly --max_prompt prompt tokens and --max_tokens new ones (ignore_eos), K
// requests per client (--per_client, instead of --requests); with --offline (`trtllm benchmark --json` of
// the same engine, input / output lengths the same) each concurrency's tokens/s is set beside the
// offline batch of that size: the serving overhead. --warmup runs each load once unmeasured first.
// Without --engine_dir: a small random-weight engine with a byte-level BPE (the CI test's), built in a
// temporary directory. Needs the build (npm run build). Exits 1 if a request was lost, hung or differs.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEngine, Engine, gpuStatus } from '@trtllm/engine';
import { runServeLoad } from '../tools/dist/serve-load.js';
import { parseFlags, positiveInt } from '../tools/dist/command.js';
import { UsageError } from '../tools/dist/io.js';

const USAGE = 'usage: node scripts/serve-load.mjs [--engine_dir DIR] [--backend ref|cuda] [--kernels production|reference] [--requests N] [--concurrency C[,C…]] [--disconnect F] [--max_prompt N] [--max_tokens N] [--no_solo_check] [--json FILE] [--seed N] [--tokenizer gpt2|DIR] [--fixed --per_client K --offline BENCHMARK.json] [--warmup]';
// the CLI's flag parsing and checks (tools/src/command.ts): a bad flag or number is one named line with
// the usage and exit 2, not a stack trace
let v;
try {
  v = parseFlags(process.argv.slice(2), {
    engine_dir: { type: 'string' }, backend: { type: 'string' }, kernels: { type: 'string' }, requests: { type: 'string' }, concurrency: { type: 'string' },
    disconnect: { type: 'string' }, max_prompt: { type: 'string' }, max_tokens: { type: 'string' }, no_solo_check: { type: 'boolean' }, json: { type: 'string' }, seed: { type: 'string' }, tokenizer: { type: 'string' },
    fixed: { type: 'boolean' }, per_client: { type: 'string' }, offline: { type: 'string' }, warmup: { type: 'boolean' }, help: { type: 'boolean' },
  }, USAGE);
  if (v.help) {
    console.log(USAGE);
    process.exit(0);
  }
  for (const flag of ['requests', 'max_prompt', 'max_tokens', 'per_client']) positiveInt(`--${flag}`, v[flag], 1);
  for (const c of v.concurrency?.split(',') ?? []) positiveInt('--concurrency', c, 1);
  const share = Number(v.disconnect ?? 0);
  if (!(share >= 0 && share <= 1)) throw new UsageError(`--disconnect must be a share in [0, 1], got '${v.disconnect}'`);
  if (v.seed !== undefined && !Number.isInteger(Number(v.seed))) throw new UsageError(`--seed must be an integer, got '${v.seed}'`);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`serve-load: ${e.message.split('\n\n')[0]}\n${USAGE}`);
  process.exit(2);
}
let dir = v.engine_dir;
const temp = dir ? undefined : mkdtempSync(join(tmpdir(), 'serve-load-'));
let engine;
const reports = [];
let failed = false;
try {
  if (temp) {
    mkdirSync(join(temp, 'tok'));
    copyFileSync(new URL('../packages/loader/fixtures/tiny/tokenizers/starcoder-style.tokenizer.json', import.meta.url), join(temp, 'tok', 'tokenizer.json'));
    dir = join(temp, 'engine');
    buildEngine({ flags: { vocab_size: 1200, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 128, dtype: 'float32', random_seed: 9, max_batch_size: 64, max_input_len: 32, max_output_len: 32, use_inflight_batching: true, tokens_per_block: 8 }, outputDir: dir, tokenizerDir: join(temp, 'tok') });
  }
  engine = await Engine.load(dir, { backend: v.backend ?? 'ref', ...(v.kernels ? { kernels: v.kernels } : {}), ...(v.tokenizer ? { tokenizer: v.tokenizer } : {}) });
  const cfg = engine.config;
  // the offline benchmark's tokens/s by batch size (its first model: this engine)
  const offline = v.offline ? new Map(JSON.parse(readFileSync(v.offline, 'utf8')).models[0].points.map((p) => [p.batch, p.tokensPerSec])) : undefined;
  for (const c of (v.concurrency ?? '200').split(',').map(Number)) {
    const options = {
      requests: v.per_client ? Number(v.per_client) * c : Number(v.requests ?? 1000),
      fixed: Boolean(v.fixed),
      concurrency: c,
      disconnect: Number(v.disconnect ?? (v.fixed ? 0 : 0.1)),
      maxPrompt: Number(v.max_prompt ?? Math.min(cfg.maxInputLen, 512)),
      maxTokens: Number(v.max_tokens ?? Math.min(cfg.maxOutputLen, 128)),
      seed: Number(v.seed ?? 1),
      checkSolo: !v.no_solo_check,
      maxQueue: Math.max(256, c),
    };
    // --warmup: the same load once unmeasured first (CUDA graphs captured, pools grown), as the offline benchmark warms up
    if (v.warmup) await runServeLoad(engine, { ...options, checkSolo: false });
    const r = await runServeLoad(engine, options);
    const off = offline?.get(c);
    reports.push(off ? { ...r, offlineTokensPerSecond: off, overhead: 1 - r.tokensPerSecond / off } : r);
    const bad = r.lost || r.mismatched || r.runningAfter || r.blocksUsedAfter;
    failed ||= Boolean(bad);
    console.log(`concurrency ${c} (clients on ${r.clients}): ${r.requests} requests, ${r.completed} completed, ${r.disconnected} disconnected, ${r.lost} lost, ${r.mismatched} differ from solo, ${r.retried} 429s retried; after: ${r.runningAfter} running, ${r.blocksUsedAfter} blocks used; ${r.seconds.toFixed(1)} s, ${r.completionTokens} tokens, ${r.tokensPerSecond.toFixed(0)} tokens/s; TTFT p50 ${r.ttftMs.p50.toFixed(1)} p99 ${r.ttftMs.p99.toFixed(1)} ms; inter-token p50 ${r.itlMs.p50.toFixed(2)} p99 ${r.itlMs.p99.toFixed(2)} ms${off ? `; offline batch ${c}: ${off.toFixed(0)} tokens/s, serving overhead ${(100 * (1 - r.tokensPerSecond / off)).toFixed(1)} %` : ''}${bad ? '  FAILED' : ''}`);
    for (const e of r.errors) console.log(`  ${e}`);
  }
} finally {
  engine?.dispose();
  if (temp) rmSync(temp, { recursive: true, force: true });
}
const gpu = (v.backend ?? 'ref') === 'cuda' ? await gpuStatus() : undefined;
const device = gpu?.ok ? gpu.name : 'CPU';
if (v.json) writeFileSync(v.json, JSON.stringify({ engine: v.engine_dir ?? 'tiny random (vocab 1200, 2 layers, n_embd 32)', backend: v.backend ?? 'ref', device, date: new Date().toISOString(), reports }, null, 2));
process.exit(failed ? 1 : 0);
