#!/usr/bin/env node
// How far perplexity's fixed-point log-probabilities (ref-math tokenLogProbs: x − (max + ln S − 32 ln 2),
// S = Σ rni(expF32(x − max) · 2^32), what Engine.tokenLogProbs and `trtllm perplexity` compute) are from a
// float64 log-softmax (engine nll) over the same fp32 logits rows: every `--every`-th perplexity window of
// a validation text, the mean NLL both ways and the largest difference on one token.
//   node scripts/bench/logprob-arith.mjs --engine_dir DIR [--dataset_path ../shared/data/sotu/val.txt] [--every 31] [--backend ref|cuda]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Engine, nll, perplexityWindows } from '@trtllm/engine';
import { tokenLogProbs } from '@trtllm/ref-math';

const { values } = parseArgs({ options: { engine_dir: { type: 'string' }, dataset_path: { type: 'string', default: '../shared/data/sotu/val.txt' }, every: { type: 'string', default: '31' }, window: { type: 'string', default: '1024' }, backend: { type: 'string', default: 'ref' } } });
if (!values.engine_dir) throw new Error('--engine_dir is required (an engine with fp32 logits)');
const e = await Engine.load(values.engine_dir, { backend: values.backend, tokenizer: 'gpt2' });
const v = e.model.vocabSize;
const w = Number(values.window);
const eos = e.tokenizer.specialIds.eos;
const docs = readFileSync(values.dataset_path, 'utf8').split(/\n?<\|doc\|>\n?/).filter((d) => d.trim().length > 0);
const ids = docs.flatMap((d) => [...e.tokenizer.encode(d), ...(eos === undefined ? [] : [eos])]);
const starts = perplexityWindows(ids.length, w);
console.log(`${ids.length} tokens, ${starts.length} windows of ${w}; every ${values.every}th on the ${values.backend} backend`);
let float64 = 0;
let fixed = 0;
let n = 0;
let worst = 0;
for (const s of starts.filter((_, i) => i % Number(values.every) === 0)) {
  const logits = e.logits(ids.slice(s, s + w));
  const targets = ids.slice(s + 1, s + w + 1);
  targets.forEach((t, i) => {
    const row = logits.subarray(i * v, (i + 1) * v);
    const a = nll(row, v, [t]);
    const b = -tokenLogProbs(row, t).logProb;
    float64 += a;
    fixed += b;
    worst = Math.max(worst, Math.abs(a - b));
  });
  n += targets.length;
  console.log(`window at ${s}: mean NLL float64 ${(float64 / n).toFixed(9)}, fixed point ${(fixed / n).toFixed(9)}; perplexity ${Math.exp(float64 / n).toFixed(6)} vs ${Math.exp(fixed / n).toFixed(6)}; largest |Δ| on a token ${worst.toExponential(2)}`);
}
e.dispose();
