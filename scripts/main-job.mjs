#!/usr/bin/env node
// The main job on a fresh machine (`npm start`): the oracle's conformance table, then the whole
// workflow with the real CLI on a small random-weight GPT-2-architecture engine — build, run, and
// summarize the bundled demo articles — on the ref backend (pure TypeScript), and on the cuda
// backend too when a GPU and the built addon are present. Each command is printed before it runs.
import { spawnSync } from 'node:child_process';

const cli = 'tools/bin/trtllm.js';
const engine = '.trtllm/demo-engine';
const step = (args) => {
  process.stdout.write(`\n$ trtllm ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`main job: 'trtllm ${args[0]}' exited with ${r.status}\n`);
    process.exit(r.status ?? 1);
  }
};

step(['selftest']);
step(['build', '--vocab_size', '50257', '--n_layer', '2', '--n_embd', '64', '--n_head', '4', '--n_positions', '512', '--dtype', 'float16', '--random_seed', '1',
  '--max_batch_size', '8', '--max_input_len', '384', '--max_output_len', '32', '--use_inflight_batching', '--tokens_per_block', '16', '--output_dir', engine]);
let backends = ['ref'];
try {
  const k = await import('@trtllm/cuda-kernels');
  if (k.isAvailable().ok) backends.push('cuda');
  else process.stdout.write(`\n(cuda backend skipped: ${k.isAvailable().reason})\n`);
} catch (e) {
  process.stdout.write(`\n(cuda backend skipped: ${e.message})\n`);
}
for (const b of backends) {
  step(['run', '--engine_dir', engine, '--backend', b, '--max_output_len', '16', '--input_text', 'The town council voted on Tuesday to', '--input_text', 'Engineers at a small laboratory have built']);
  step(['summarize', '--engine_dir', engine, '--backend', b, '--dataset_path', 'examples/summarize/articles.jsonl', '--batch_size', '5', '--max_ite', '1', '--output_len', '32']);
}
process.stdout.write('\nmain job: done\n');
