#!/usr/bin/env node
// The main job on a fresh machine (`npm start`): the oracle's conformance table, then the whole
// workflow with the real CLI, on the ref backend (pure TypeScript) and on the cuda backend too when a
// GPU and the built addon are present. Each command is printed before it runs.
//
// With the shared trained model (../shared/models/sotu-gpt2-16m, or $TRTLLM_SHARED_DIR/models/…):
// convert its HF checkpoint → build an fp32 engine with its tokenizer → run a prompt (readable text),
// its greedy tokens checked against HF transformers' own (the model's reference_outputs.json) →
// validation perplexity beside HF's value (cuda: the ref backend takes ~50 s per 1,024-token window,
// so it prints the command instead) → summarize the bundled demo articles.
// Without it: a small random-weight GPT-2-architecture engine, built, run and summarizing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const cli = 'tools/bin/trtllm.js';
const shared = process.env.TRTLLM_SHARED_DIR ?? resolve('../shared');
const sotu = join(shared, 'models', 'sotu-gpt2-16m');
const val = join(shared, 'data', 'sotu', 'val.txt');
const step = (args) => {
  process.stdout.write(`\n$ trtllm ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`main job: 'trtllm ${args[0]}' exited with ${r.status}\n`);
    process.exit(r.status ?? 1);
  }
};

let backends = ['ref'];
try {
  const k = await import('@trtllm/cuda-kernels');
  if (k.isAvailable().ok) backends.push('cuda');
  else process.stdout.write(`(cuda backend skipped: ${k.isAvailable().reason})\n`);
} catch (e) {
  process.stdout.write(`(cuda backend skipped: ${e.message})\n`);
}

step(['selftest']);
if (existsSync(join(sotu, 'model.safetensors'))) {
  const ckpt = '.trtllm/sotu-ckpt';
  const engine = '.trtllm/sotu-engine';
  const reference = JSON.parse(readFileSync(join(sotu, 'reference_outputs.json'), 'utf8'));
  step(['convert', '-i', sotu, '-o', ckpt, '-t', 'float32']);
  step(['build', '--model_dir', `${ckpt}/1-gpu`, '--dtype', 'float32', '--max_batch_size', '8', '--max_input_len', '976', '--max_output_len', '48',
    '--use_inflight_batching', '--tokenizer_dir', sotu, '--output_dir', engine]);
  const { Engine } = await import('@trtllm/engine');
  for (const b of backends) {
    const g = reference.generations[0];
    step(['run', '--engine_dir', engine, '--backend', b, '--max_output_len', '48', '--input_text', g.prompt]);
    // the same prompt's greedy tokens against HF transformers' (fp32, on an H100, from the released files)
    const e = await Engine.load(engine, { backend: b });
    const [r] = await e.generate([{ tokens: g.input_ids, maxNewTokens: g.greedy_fp32.length - g.input_ids.length, endId: null }]);
    e.dispose();
    const want = g.greedy_fp32.slice(g.input_ids.length);
    const same = r.tokens.length === want.length && r.tokens.every((t, i) => t === want[i]);
    process.stdout.write(`greedy tokens on ${b} ${same ? 'equal' : 'DIFFER FROM'} HF transformers' (${want.length} tokens, reference_outputs.json)\n`);
    if (!same) process.exitCode = 1;
    if (b === 'cuda') {
      step(['perplexity', '--engine_dir', engine, '--backend', b, '--dataset_path', val, '--window', '1024']);
      process.stdout.write(`HF transformers on the same text and windows: perplexity ${reference.val_ppl_fp32.toFixed(4)} (fp32)\n`);
    } else {
      process.stdout.write(`\n(validation perplexity: the ref backend takes ~50 s per 1,024-token window on 2 cores; try\n  trtllm perplexity --engine_dir ${engine} --backend ref --dataset_path ${val} --max_windows 1\n HF transformers over all windows: ${reference.val_ppl_fp32.toFixed(4)})\n`);
    }
    step(['summarize', '--engine_dir', engine, '--backend', b, '--dataset_path', 'examples/summarize/articles.jsonl', '--batch_size', '2', '--max_ite', '1', '--output_len', '32']);
  }
} else {
  process.stdout.write(`\n(${sotu} is absent: a random-weight engine instead of the trained model)\n`);
  const engine = '.trtllm/demo-engine';
  step(['build', '--vocab_size', '50257', '--n_layer', '2', '--n_embd', '64', '--n_head', '4', '--n_positions', '512', '--dtype', 'float16', '--random_seed', '1',
    '--max_batch_size', '8', '--max_input_len', '384', '--max_output_len', '32', '--use_inflight_batching', '--tokens_per_block', '16', '--output_dir', engine]);
  for (const b of backends) {
    step(['run', '--engine_dir', engine, '--backend', b, '--max_output_len', '16', '--input_text', 'The town council voted on Tuesday to', '--input_text', 'Engineers at a small laboratory have built']);
    step(['summarize', '--engine_dir', engine, '--backend', b, '--dataset_path', 'examples/summarize/articles.jsonl', '--batch_size', '5', '--max_ite', '1', '--output_len', '32']);
  }
}
process.stdout.write(`\nmain job: ${process.exitCode ? 'FAILED (see above)' : 'done'}\n`);
