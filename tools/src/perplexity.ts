/**
 * `trtllm perplexity` — validation perplexity of an engine on a text file, windowed as the sotu
 * reference (../shared/models/sotu-gpt2-16m/train_recipe.py): documents split on `<|doc|>` lines,
 * each tokenized alone and followed by <|endoftext|>; non-overlapping windows of `--window` tokens
 * (for s = 0, W, 2W, … while s < N − W − 1: inputs ids[s, s+W), targets ids[s+1, s+W]); ppl =
 * exp(Σ NLL / count). Each position's NLL is −Engine.tokenLogProbs: the engine's fp32 logits row reduced
 * on the backend (its max and an exact fixed-point sum of exp, ref-math tokenLogProbRows) and finished
 * in float64 on the host, so no logits cross to the host and every backend gives the same numbers
 * for the same logits (against a float64 log-softmax: mean NLL 3.3e-8 lower on sotu, at most ~1.6e-6 on
 * one token; docs/performance.md). An engine with fp16 logits scores the rows it brings to the host. `--decode` scores
 * positions after a window's first through decode steps that read the KV cache (Engine.logits decodeFrom).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Engine, perplexityWindows, type BackendName } from '@trtllm/engine';
import { parseFlags, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { progressBar } from './progress.js';
import { defaultBackend, kernelOptions, tensorParallel } from './run.js';

export const PERPLEXITY_HELP = `Usage: trtllm perplexity --engine_dir DIR --dataset_path TEXT [--window N] [--backend ref|cuda] [--kernels production|reference] [--gemm_algo POLICY] [--tokenizer DIR|gpt2]

  --window N       tokens per window (default 1024, at most the engine's max_input_len + max_output_len)
  --max_windows N  stop after N windows (default all)
  --decode         each window's first token as a context step, every later position as a one-token
                   decode step that reads the KV cache, as generation does (slower). Without it each
                   window is one context pass, which never reads the cache: an int8 / fp8 KV cache
                   cannot change that number
`;

export async function perplexity(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv, { engine_dir: { type: 'string' }, dataset_path: { type: 'string' }, window: { type: 'string' }, max_windows: { type: 'string' }, backend: { type: 'string' }, kernels: { type: 'string' }, gemm_algo: { type: 'string' }, tokenizer: { type: 'string' }, decode: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, PERPLEXITY_HELP);
  if (values.help) {
    io.out(PERPLEXITY_HELP);
    return 0;
  }
  const datasetPath = values.dataset_path;
  if (!datasetPath) throw new UsageError(`--dataset_path is required\n\n${PERPLEXITY_HELP}`);
  const kernelFlags = kernelOptions(values);
  if (!existsSync(datasetPath) || statSync(datasetPath).isDirectory()) throw new UsageError(`--dataset_path ${datasetPath}: no such file (a text file; documents separated by <|doc|> lines)`);
  const backend = (values.backend ?? (await defaultBackend())) as BackendName;
  return withLibraryErrors('perplexity', io, async () => {
    const engine = await Engine.load(values.engine_dir ?? 'gpt_outputs', { backend, ...kernelFlags, tokenizer: values.tokenizer ?? 'gpt2', ...tensorParallel(undefined) });
    const tok = engine.tokenizer!;
    const w = Number(values.window ?? 1024);
    const limit = engine.config.maxInputLen + engine.config.maxOutputLen;
    if (!Number.isInteger(w) || w < 2 || w > limit) throw new UsageError(`--window must be an integer in [2, ${limit}] (max_input_len + max_output_len), got '${String(values.window)}'`);
    const eos = tok.specialIds.eos === undefined ? [] : [tok.specialIds.eos]; // documents are separated by the end id
    const docs = readFileSync(datasetPath, 'utf8').split(/\n?<\|doc\|>\n?/).filter((d) => d.trim().length > 0);
    const ids = docs.flatMap((d) => [...tok.encode(d), ...eos]);
    const starts = perplexityWindows(ids.length, w);
    const maxWindows = values.max_windows === undefined ? starts.length : Math.min(starts.length, Number(values.max_windows));
    const bar = progressBar(io, 'perplexity');
    let total = 0;
    let count = 0;
    const started = performance.now();
    for (const s of starts.slice(0, maxWindows)) {
      for (const lp of engine.tokenLogProbs(ids.slice(s, s + w), ids.slice(s + 1, s + w + 1), values.decode ? { decodeFrom: 1 } : {})) total -= lp;
      count += w;
      bar.update(count / w, maxWindows, `${count} tokens`);
    }
    bar.end();
    io.out(`${datasetPath}: ${docs.length} documents, ${ids.length} tokens, ${maxWindows} windows of ${w}: perplexity ${Math.exp(total / count).toFixed(4)} (mean NLL ${(total / count).toFixed(6)}) on the ${backend} backend${values.decode ? ', decode steps through the KV cache' : ''}, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    engine.dispose();
    return 0;
  });
}
