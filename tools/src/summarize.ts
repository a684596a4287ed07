/**
 * `trtllm summarize` — the seed's examples/gpt/summarize.py on cnn_dailymail (ARCHITECTURE.md, Compatibility with the seed): for each
 * article, prompt = (article + ' TL;DR: ').strip() with " n't" → "n't", keep its last 923 tokens (or
 * the engine's max_input_len if smaller), greedy decode `--output_len` tokens (stop at <|endoftext|>),
 * and score the output against the highlights with ROUGE-1/2/L/Lsum as rouge_score computes it,
 * reported as the bootstrap mid F-measure × 100 with numpy's generator seeded 0 — the numbers
 * summarize.py prints. Reads the dataset as JSON lines ({article, highlights}, a file or a directory
 * holding *.jsonl).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapAggregate, Engine, ROUGE_TYPES, rougeScores, type BackendName, type RougeScores } from '@trtllm/engine';
import { parseFlags, positiveInt, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { progressBar } from './progress.js';
import { defaultBackend, kernelOptions, tensorParallel } from './run.js';

export const SUMMARIZE_HELP = `Usage: trtllm summarize --engine_dir DIR --dataset_path PATH [flags]

  --engine_dir DIR                      output of trtllm build
  --dataset_path PATH                   JSON lines with "article" and "highlights" (a file, or a directory of *.jsonl)
  --batch_size N (1) --max_ite N (20)   articles per iteration, iterations
  --output_len N (100)                  new tokens per summary
  --num_beams N (1)                     beam search; each beam scored on its own, as the seed does
  --check_accuracy                      exit 1 unless ROUGE-1 > --tensorrt_llm_rouge1_threshold (15)
  --tokenizer DIR|gpt2                  a tokenizer directory or file instead of the engine dir's; gpt2
                                        (default): the stock GPT-2 vocabulary when the engine dir has none
  --output_json FILE                    write every prompt length, output, and score
  --backend ref|cuda                    default cuda when a GPU is usable, else ref
  --kernels production|reference        cuda kernels (default production; reference = bit-exact to ref)
  --gemm_algo POLICY                    production GEMM policy (auto, batch-invariant, decode-kernel, cublaslt, per-shape;
                                        default auto: the decode GEMM for engines of ≤ 8 generation rows per step)
  --world_size N                        a TP-N engine as N processes, one GPU each (NCCL)
`;

export interface Article {
  readonly article: string;
  readonly highlights: string;
}

export function readArticles(path: string): Article[] {
  if (!existsSync(path)) throw new UsageError(`--dataset_path ${path}: no such file or directory`);
  const files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith('.jsonl')).sort().map((f) => join(path, f)) : [path];
  if (files.length === 0) throw new UsageError(`--dataset_path ${path}: no *.jsonl file (the hub's parquet/arrow layout is not read: export it as JSON lines)`);
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim().length > 0)
      .map((l, n) => {
        let j: Partial<Article>;
        try {
          j = JSON.parse(l) as Partial<Article>;
        } catch (e) {
          throw new UsageError(`${f}: line ${n + 1}: not JSON (${(e as Error).message}): expected one {"article", "highlights"} object per line`);
        }
        if (typeof j.article !== 'string' || typeof j.highlights !== 'string') throw new UsageError(`${f}: line ${n + 1}: expected "article" and "highlights" strings`);
        return { article: j.article, highlights: j.highlights };
      }),
  );
}

/** The seed's prompt text. */
export function summarizePrompt(article: string): string {
  return `${article} TL;DR: `.trim().replaceAll(" n't", "n't");
}

export async function summarize(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv, {
    engine_dir: { type: 'string' }, dataset_path: { type: 'string' }, batch_size: { type: 'string' }, max_ite: { type: 'string' }, output_len: { type: 'string' },
    num_beams: { type: 'string' }, check_accuracy: { type: 'boolean' }, tensorrt_llm_rouge1_threshold: { type: 'string' }, tokenizer: { type: 'string' },
    output_json: { type: 'string' }, backend: { type: 'string' }, kernels: { type: 'string' }, gemm_algo: { type: 'string' }, world_size: { type: 'string' }, test_trt_llm: { type: 'boolean' }, log_level: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, SUMMARIZE_HELP);
  if (values.help) {
    io.out(SUMMARIZE_HELP);
    return 0;
  }
  const numBeams = positiveInt('--num_beams', values.num_beams, 1);
  if (!values.dataset_path) throw new UsageError(`--dataset_path is required\n\n${SUMMARIZE_HELP}`);
  const batchSize = positiveInt('--batch_size', values.batch_size, 1);
  const maxIte = positiveInt('--max_ite', values.max_ite, 20);
  const outputLen = positiveInt('--output_len', values.output_len, 100);
  const threshold = Number(values.tensorrt_llm_rouge1_threshold ?? 15);
  const kernelFlags = kernelOptions(values);
  const backend = (values.backend ?? (await defaultBackend())) as BackendName;
  const articles = readArticles(values.dataset_path).slice(0, batchSize * maxIte);
  return withLibraryErrors('summarize', io, async () => {
    const engine = await Engine.load(values.engine_dir ?? 'gpt_outputs', { backend, ...kernelFlags, tokenizer: values.tokenizer ?? 'gpt2', ...tensorParallel(values.world_size) });
    const tok = engine.tokenizer!;
    const keep = Math.min(923, engine.config.maxInputLen);
    if (keep < 923) io.err(`note: keeping the last ${keep} prompt tokens (the engine's max_input_len), not 923\n`);
    const outLen = Math.min(outputLen, engine.config.maxOutputLen);
    if (outLen < outputLen) io.err(`note: --output_len ${outputLen} > the engine's max_output_len: generating ${outLen}\n`);
    const started = performance.now();
    const bar = progressBar(io, 'summarizing');
    const rows: { promptTokens: number; outputs: string[]; tokens: (readonly number[])[]; scores: RougeScores[] }[] = [];
    for (let i = 0; i < articles.length; i += batchSize) {
      const batch = articles.slice(i, i + batchSize);
      const results = await engine.generate(batch.map((a) => ({ tokens: tok.encode(summarizePrompt(a.article)).slice(-keep), maxNewTokens: outLen, ...(numBeams > 1 ? { numBeams } : {}) })));
      results.forEach((r, k) => {
        const beams = r.beams ?? [r];
        rows.push({ promptTokens: r.promptTokens.length, outputs: beams.map((b) => b.text ?? ''), tokens: beams.map((b) => b.tokens), scores: beams.map((b) => rougeScores(batch[k]!.highlights, b.text ?? '')) });
      });
      bar.update(rows.length, articles.length, `${rows.length}/${articles.length} articles`);
    }
    bar.end();
    const seconds = (performance.now() - started) / 1000;
    io.out(`TensorRT-LLM (total latency: ${seconds.toFixed(3)} sec) — ${rows.length} articles on the ${backend} backend\n`);
    const perBeam = Array.from({ length: numBeams }, (_, b) => bootstrapAggregate(rows.map((r) => r.scores[b] ?? r.scores[0]!)));
    perBeam.forEach((agg, b) => {
      io.out(`TensorRT-LLM beam ${b} result\n`);
      for (const k of ROUGE_TYPES) io.out(`  ${k} : ${(agg[k].mid.fmeasure * 100).toFixed(4)}\n`);
    });
    const agg = perBeam[0]!;
    if (values.output_json) writeFileSync(values.output_json, JSON.stringify({ backend, seconds, rouge: perBeam, rows }, null, 1));
    engine.dispose();
    if (values.check_accuracy && !(agg.rouge1.mid.fmeasure * 100 > threshold)) {
      io.err(`trtllm summarize: ROUGE-1 ${(agg.rouge1.mid.fmeasure * 100).toFixed(4)} is not above --tensorrt_llm_rouge1_threshold ${threshold}\n`);
      return 1;
    }
    return 0;
  });
}
