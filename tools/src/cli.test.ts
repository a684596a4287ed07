import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEngine, Engine, nll } from '@trtllm/engine';
import { FtCheckpoint, readNpy, writeNpy } from '@trtllm/loader';
import { sharedData } from '@trtllm/ref-math/testing';
import { buildQuantized, calibrationPrompts, engineFlags, QUANTIZATIONS, quantizeRandomWeights, type BenchmarkReport } from './benchmark.js';
import { main } from './cli.js';

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (s) => (out += s), err: (s) => (err += s) }, out: () => out, err: () => err };
}

describe('trtllm CLI', () => {
  it('selftest prints every conformance row as passing, a greedy demo, and a summary line; exit 0', async () => {
    const c = capture();
    expect(await main(['selftest'], c.io)).toBe(0);
    const text = c.out();
    for (const op of ['gemm', 'int8-gemm', 'quantize', 'fp8', 'layernorm', 'activation', 'softmax', 'residual', 'rope', 'kv-cache', 'attention', 'embedding', 'collectives', 'gpt']) {
      expect(text).toMatch(new RegExp(`^${op} .* pass$`, 'm'));
    }
    expect(text).toMatch(/ref backend: random-weight GPT .* greedy \[(\d+, ){11}\d+\]/);
    expect(text).toMatch(/^conformance: 18 passed, 0 failed$/m);
  });
  it('selftest --markdown prints a Markdown table', async () => {
    const c = capture();
    await main(['selftest', '--markdown'], c.io);
    expect(c.out().split('\n')[1]).toBe('| --- | --- | --- | --- | --- | --- |');
  });
  it('selftest --json is machine-readable', async () => {
    const c = capture();
    await main(['selftest', '--json'], c.io);
    const rows = JSON.parse(c.out()) as { op: string; ok: boolean; tier: number }[];
    expect(rows.length).toBe(18);
    expect(rows.every((r) => r.ok)).toBe(true);
  });
  it('an unknown command or flag is a usage error (exit 2) that says what is valid', async () => {
    const c = capture();
    expect(await main(['frobnicate'], c.io)).toBe(2);
    expect(c.err()).toMatch(/unknown command 'frobnicate'[\s\S]*selftest/);
    const d = capture();
    expect(await main(['selftest', '--bogus'], d.io)).toBe(2);
    expect(d.err()).toMatch(/trtllm selftest: Unknown option '--bogus'[\s\S]*--markdown/);
  });
});

describe('trtllm convert', () => {
  const tiny = fileURLToPath(new URL('../../packages/loader/fixtures/tiny/', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'trtllm-cli-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('converts with the seed flags (-i -o -tp -t -p --model), prints a summary, and the result reads back', async () => {
    const c = capture();
    const code = await main(['convert', '-i', join(tiny, 'santacoder/bin-fp32'), '-o', join(work, 'sc'), '-tp', '2', '-t', 'float16', '-p', '2', '--model', 'santacoder'], c.io);
    expect(c.err()).toMatch(/saving weights \[#{30}\] 100% 29\/29 tensors/);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/santacoder \(pytorch\), 2 layers, n_embd 64, n_head 4 \(multi-query\), vocab 1000, lm_head separate/);
    expect(c.out()).toMatch(/wrote .*sc\/2-gpu: 42 files, .* MiB float16, tp 2, multi_query_mode True/);
    const ft = FtCheckpoint.open(join(work, 'sc'));
    expect([ft.tp, ft.storage, ft.config.nKvHead]).toEqual([2, 'float16', 1]);
  });

  it('bad usage exits 2 naming the flag; a bad checkpoint exits 1 naming the file', async () => {
    const c = capture();
    expect(await main(['convert', '-i', join(tiny, 'gpt2/st-fp32')], c.io)).toBe(2);
    expect(c.err()).toMatch(/-i\/--in-file and -o\/--out-dir are required/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '-t', 'float8'], c.io)).toBe(2);
    expect(c.err()).toMatch(/-t\/--storage-type must be one of float32, float16, bfloat16, got 'float8'/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '-sq', '0.5'], c.io)).toBe(2);
    expect(c.err()).toMatch(/-sq needs --calib-dataset FILE/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '-sq', '1.5', '--calib-dataset', 'f'], c.io)).toBe(2);
    expect(c.err()).toMatch(/-sq\/--smoothquant must be a number in \[0, 1\], got '1\.5'/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '--calib-samples', '4'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--calib-samples is for calibration: give it with -sq, -kv or --qformat fp8/);
    expect(await main(['convert', '-i', join(tiny, 'gpt2/st-fp32'), '-o', join(work, 'sqx'), '-sq', '0.5', '--calib-dataset', join(work, 'none.jsonl')], c.io)).toBe(1);
    expect(c.err()).toMatch(/none\.jsonl: expected a calibration file/);
    expect(await main(['convert', '-i', 'x', '-o', 'y', '-kv'], c.io)).toBe(2);
    expect(c.err()).toMatch(/-kv needs --calib-dataset FILE/);
    expect(await main(['convert', '-i', join(work, 'nowhere'), '-o', join(work, 'o')], c.io)).toBe(1);
    expect(c.err()).toMatch(/trtllm convert: .*nowhere\/config\.json: expected a readable JSON config/);
  });
});

const sotu = sharedData('models/sotu-gpt2-16m/model.safetensors');
const calib = sharedData('data/sotu/calib.jsonl');
describe.skipIf(sotu.skip || calib.skip)(sotu.title('trtllm convert -sq / --qformat fp8 / -kv → build --use_smooth_quant / --enable_fp8 / --int8_kv_cache / --fp8_kv_cache → run, on the trained sotu-gpt2-16m (ref backend)'), () => {
  const work = mkdtempSync(join(tmpdir(), 'trtllm-cli-sq-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const model = dirname(sotu.path);
  it('calibrates on the shared calibration text, builds per-token/per-channel INT8, INT8 / FP8 KV caches and FP8 GEMMs, and generates what the fp16 engine generates', async () => {
    const c = capture();
    expect(await main(['convert', '-i', model, '-o', join(work, 'ckpt'), '-sq', '0.5', '-kv', '--calib-dataset', calib.path, '--calib-samples', '4', '--calib-seq-len', '24', '--calib-backend', 'ref', '-t', 'float16'], c.io)).toBe(0);
    expect(c.out()).toMatch(/calibrating on ref \(CPU\): 4 samples of .*calib\.jsonl, 96 tokens \(≤ 24 each\), α = 0\.5, KV-cache scales/);
    expect(c.out()).toMatch(/wrote .*ckpt\/1-gpu: \d+ files \(float float16 \+ SmoothQuant INT8 \+ KV-cache scales\), tp 1, smoothquant 0\.5, calibrate_kv_cache True/);
    expect(c.out()).toMatch(/KV ranges \(max \|K\|, max \|V\|\) per layer: (\S+\/\S+ ){3}\S+\/\S+\n/); // 4 layers
    const flags = ['--model_dir', join(work, 'ckpt'), '--max_input_len', '32', '--max_output_len', '8', '--max_batch_size', '2', '--tokenizer_dir', model];
    expect(await main(['build', ...flags, '--use_smooth_quant', '--per_token', '--per_channel', '--output_dir', join(work, 'sq')], c.io)).toBe(0);
    expect(await main(['build', ...flags, '--use_smooth_quant', '--per_token', '--per_channel', '--int8_kv_cache', '--output_dir', join(work, 'sq-kv')], c.io)).toBe(0);
    expect(await main(['build', ...flags, '--fp8_kv_cache', '--use_gpt_attention_plugin', '--paged_kv_cache', '--output_dir', join(work, 'fp8kv')], c.io)).toBe(0);
    expect(await main(['build', ...flags, '--output_dir', join(work, 'fp16')], c.io)).toBe(0);
    const text = 'Fellow-Citizens of the Senate and House of Representatives:';
    const out = async (dir: string): Promise<string> => {
      const r = capture();
      expect(await main(['run', '--engine_dir', dir, '--backend', 'ref', '--input_text', text, '--max_output_len', '8'], r.io)).toBe(0);
      return /Output \[Text 0 Beam 0\]: "(.*)"/.exec(r.out())![1]!;
    };
    const [sq, fp16] = [await out(join(work, 'sq')), await out(join(work, 'fp16'))];
    expect(sq.length).toBeGreaterThan(0);
    expect(sq).toBe(fp16); // 8 greedy tokens of a trained model: INT8 does not change them here
    expect([await out(join(work, 'sq-kv')), await out(join(work, 'fp8kv'))]).toEqual([fp16, fp16]);
    // FP8 GEMMs and an FP8 cache, from a --qformat fp8 -kv checkpoint
    expect(await main(['convert', '-i', model, '-o', join(work, 'ckpt-fp8'), '--qformat', 'fp8', '-kv', '--calib-dataset', calib.path, '--calib-samples', '4', '--calib-seq-len', '24', '--calib-backend', 'ref', '-t', 'float16'], c.io)).toBe(0);
    expect(c.out()).toMatch(/wrote .*ckpt-fp8\/1-gpu: \d+ files \(float float16 \+ FP8 ranges \+ KV-cache scales\), tp 1, qformat fp8, calibrate_kv_cache True/);
    expect(await main(['build', '--model_dir', join(work, 'ckpt-fp8'), ...flags.slice(2), '--enable_fp8', '--fp8_kv_cache', '--use_gpt_attention_plugin', '--output_dir', join(work, 'fp8')], c.io)).toBe(0);
    expect(await out(join(work, 'fp8'))).toBe(fp16);
    const bad = capture();
    expect(await main(['build', '--model_dir', join(work, 'ckpt'), '--per_token', '--output_dir', join(work, 'x')], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/--per_token: expected with --use_smooth_quant/);
  }, 120_000);
});

describe('trtllm build / run / summarize / perplexity (ref backend)', () => {
  const work = mkdtempSync(join(tmpdir(), 'trtllm-cli-e2e-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const engine = join(work, 'engine');
  const repo = fileURLToPath(new URL('../../', import.meta.url));

  it('build: random GPT-2-vocab engine with the seed flags; refusals exit 2 naming the flag', async () => {
    const c = capture();
    const code = await main(['build', '--vocab_size', '50257', '--n_layer', '1', '--n_embd', '32', '--n_head', '2', '--n_positions', '128', '--dtype', 'float32', '--max_batch_size', '4', '--max_input_len', '96', '--max_output_len', '24', '--max_beam_width', '2', '--use_gpt_attention_plugin', '--paged_kv_cache', '--remove_input_padding', '--tokens_per_block', '8', '--output_dir', engine], c.io);
    expect(c.err()).toMatch(/writing engines \[#{30}\] 100% block 16\/16/); // 1 layer with biases: 12 weights + wte, wpe, lnF γ β, each one block
    expect(code).toBe(0);
    expect(c.out()).toMatch(/built .*engine: 1 layers, n_embd 32, n_head 2, vocab 50257, f32, tp 1, paged KV cache/);
    const bad = capture();
    expect(await main(['build', '--paged_kv_cache', '--output_dir', join(work, 'x')], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/trtllm build: --paged_kv_cache: expected the GPT attention plugin/);
  });

  it('run: text and token inputs; --output_csv / --output_npy hold the ids; the same tokens as the library', async () => {
    const c = capture();
    writeFileSync(join(work, 'in.csv'), '15496,995\n464,3290,373\n');
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_tokens', join(work, 'in.csv'), '--max_output_len', '5', '--output_csv', join(work, 'out.csv'), '--output_npy', join(work, 'out.npy')], c.io)).toBe(0);
    expect(c.out()).toMatch(/^Input \[Text 0\]: "Hello world"\nOutput \[Text 0 Beam 0\]: ".*"\nInput \[Text 1\]: "The dog was"/);
    const rows = readFileSync(join(work, 'out.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    const lib = await (await Engine.load(engine, { tokenizer: 'gpt2' })).generate([{ tokens: [15496, 995], maxNewTokens: 5 }]);
    expect(rows[0]).toEqual([...lib[0]!.tokens]);
    const npy = readNpy(join(work, 'out.npy'));
    expect(npy.shape).toEqual([2, 1, 8]);
    expect(Array.from(npy.data.subarray(0, 2 + rows[0]!.length))).toEqual([15496, 995, ...rows[0]!]);
  });

  it('run --prompt_table: text inputs get the virtual tokens; the task picks the rows', async () => {
    const dir = join(work, 'prompt-engine');
    const b = capture();
    expect(await main(['build', '--vocab_size', '50257', '--n_layer', '1', '--n_embd', '32', '--n_head', '2', '--n_positions', '64', '--dtype', 'float32', '--max_batch_size', '2', '--max_input_len', '32', '--max_output_len', '8', '--max_prompt_embedding_table_size', '8', '--output_dir', dir], b.io)).toBe(0);
    writeNpy(join(work, 'table.npy'), '<f4', [2, 4, 32], Array.from({ length: 256 }, (_, i) => Math.cos(i) * 0.1));
    const c = capture();
    expect(await main(['run', '--engine_dir', dir, '--backend', 'ref', '--input_text', 'Hello', '--input_text', 'Hello', '--prompt_table', join(work, 'table.npy'), '--prompt_tasks', '0,1', '--max_output_len', '3', '--output_csv', join(work, 'p.csv')], c.io)).toBe(0);
    expect(c.out()).toMatch(/^Input \[Text 0\]: "<4 prompt tokens>Hello"/);
    const bad = capture();
    expect(await main(['run', '--engine_dir', dir, '--backend', 'ref', '--prompt_table', join(work, 'table.npy'), '--prompt_tasks', '2'], bad.io)).toBe(1);
    expect(bad.err()).toMatch(/promptTask: expected a task in \[0, 2\), got 2/);
  });

  it('run --input_tokens that does not exist: a usage error naming it (exit 2)', async () => {
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_tokens', join(work, 'missing.csv')], c.io)).toBe(2);
    expect(c.err()).toMatch(/trtllm run: --input_tokens \S+missing\.csv: no such file \(a CSV of token ids/);
  });

  it('missing or malformed input files are one-line usage errors (exit 2), never a stack', async () => {
    writeFileSync(join(work, 'bad.jsonl'), '{"article": "a", "highlights": "b"}\n{not json\n');
    writeFileSync(join(work, 'peer.json'), '{"device": "x"}');
    const cases: [string[], RegExp][] = [
      [['perplexity', '--engine_dir', engine, '--backend', 'ref', '--dataset_path', join(work, 'nope.txt')], /trtllm perplexity: --dataset_path \S+nope\.txt: no such file/],
      [['summarize', '--engine_dir', engine, '--backend', 'ref', '--dataset_path', join(work, 'bad.jsonl')], /bad\.jsonl: line 2: not JSON \(.*\): expected one \{"article", "highlights"\} object per line/],
      [['benchmark', '--engine_dir', engine, '--backend', 'ref', '--peer', join(work, 'nope.json')], /trtllm benchmark: --peer \S+nope\.json: no such file/],
      [['benchmark', '--engine_dir', engine, '--backend', 'ref', '--peer', join(work, 'peer.json')], /--peer \S+peer\.json: not hf_peer\.py's JSON \(no "models" object\)/],
    ];
    for (const [argv, want] of cases) {
      const c = capture();
      expect(await main(argv, c.io), argv.join(' ')).toBe(2);
      expect(c.err()).toMatch(want);
      expect(c.err().trim().split('\n')).toHaveLength(1);
    }
  });

  it('run --world_size must match the engine', async () => {
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--world_size', '2'], c.io)).toBe(2);
    expect(c.err()).toMatch(/trtllm run: --world_size: expected the engine's tensor_parallel \(1\), got 2/);
  });

  it('run --num_beams 2 prints both beams, best first; the npy holds [B, beams, T]', async () => {
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_text', 'Hello world', '--max_output_len', '4', '--num_beams', '2', '--output_npy', join(work, 'beams.npy')], c.io)).toBe(0);
    expect(c.out()).toMatch(/^Input \[Text 0\]: "Hello world"\nOutput \[Text 0 Beam 0\]: ".*"\nOutput \[Text 0 Beam 1\]: ".*"\n$/);
    expect(readNpy(join(work, 'beams.npy')).shape).toEqual([1, 2, 6]);
  });

  it('summarize: the bundled articles, ROUGE lines as summarize.py prints them, --output_json, --check_accuracy', async () => {
    const c = capture();
    const code = await main(['summarize', '--engine_dir', engine, '--backend', 'ref', '--dataset_path', join(repo, 'examples/summarize'), '--batch_size', '2', '--max_ite', '2', '--output_len', '8', '--output_json', join(work, 's.json'), '--check_accuracy', '--tensorrt_llm_rouge1_threshold', '99'], c.io);
    expect(c.out()).toMatch(/TensorRT-LLM beam 0 result\n  rouge1 : \d+\.\d{4}\n  rouge2 : \d+\.\d{4}\n  rougeL : \d+\.\d{4}\n  rougeLsum : \d+\.\d{4}\n/);
    expect(code).toBe(1);
    expect(c.err()).toMatch(/ROUGE-1 .* is not above --tensorrt_llm_rouge1_threshold 99/);
    const j = JSON.parse(readFileSync(join(work, 's.json'), 'utf8')) as { rows: { promptTokens: number; tokens: number[][] }[] };
    expect(j.rows.length).toBe(4);
    expect(j.rows.every((r) => r.promptTokens === 96 && r.tokens[0]!.length <= 8)).toBe(true); // the last 96 (max_input_len) prompt tokens
  });

  it('perplexity: windowed NLL equals a direct computation from the engine logits', async () => {
    const text = join(work, 'val.txt');
    writeFileSync(text, 'The council voted to build a park.\n<|doc|>\nA storm swept the coast, and the ferry was cancelled for the whole day. Crews worked all night.\n');
    const c = capture();
    expect(await main(['perplexity', '--engine_dir', engine, '--backend', 'ref', '--dataset_path', text, '--window', '16'], c.io)).toBe(0);
    const m = /(\d+) tokens, (\d+) windows of 16: perplexity ([\d.]+)/.exec(c.out())!;
    const e = await Engine.load(engine, { tokenizer: 'gpt2' });
    const tok = e.tokenizer!;
    const ids = ['The council voted to build a park.', 'A storm swept the coast, and the ferry was cancelled for the whole day. Crews worked all night.\n'].flatMap((d) => [...tok.encode(d), 50256]);
    expect(Number(m[1])).toBe(ids.length);
    let total = 0;
    const windows = Number(m[2]);
    let scored = 0;
    for (let w = 0; w < windows; w++) {
      total += nll(e.logits(ids.slice(w * 16, w * 16 + 16)), 50257, ids.slice(w * 16 + 1, w * 16 + 17)); // a float64 log-softmax
      for (const lp of e.tokenLogProbs(ids.slice(w * 16, w * 16 + 16), ids.slice(w * 16 + 1, w * 16 + 17))) scored -= lp;
    }
    expect(m[3]).toBe(Math.exp(scored / (16 * windows)).toFixed(4));
    expect(Math.abs(scored - total) / total).toBeLessThan(1e-7); // the fixed-point sum against float64
    // --decode: the same windows through decode steps; a float cache gives the same perplexity
    const d = capture();
    expect(await main(['perplexity', '--engine_dir', engine, '--backend', 'ref', '--dataset_path', text, '--window', '16', '--decode'], d.io)).toBe(0);
    expect(d.out()).toMatch(new RegExp(`perplexity ${m[3]} .*on the ref backend, decode steps through the KV cache`));
    e.dispose();
  });

  it('--version names the version, Node and the backend a command would pick (here: ref, and why)', async () => {
    const c = capture();
    expect(await main(['--version'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^trtllm 0\.1\.0 \(node v\d+\.\d+\.\d+; (cuda backend: .+|ref backend: .+)\)\n$/);
  });

  it('benchmark: per-batch table, prefill, batch invariance, JSON / markdown / SVG; peer ratios from a peer file', async () => {
    const peer = join(work, 'peer.json');
    writeFileSync(peer, JSON.stringify({ device: 'cpu', models: { [engine]: { compiled: { 1: { tokensPerSec: 100 } }, eager: { 2: { tokensPerSec: 50 } } } } }));
    const c = capture();
    const files = ['b.json', 'b.md', 'b.svg'].map((f) => join(work, f));
    const code = await main(['benchmark', '--engine_dir', engine, '--backend', 'ref', '--batch_sizes', '1,2', '--input_len', '5', '--output_len', '3', '--prefill_len', '9',
      '--runs', '1', '--warmup', '0', '--peer', peer, '--json', files[0]!, '--markdown', files[1]!, '--plot', files[2]!], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(files[0]!, 'utf8')) as BenchmarkReport;
    expect(r.models[0]!.points.map((p) => p.batch)).toEqual([1, 2]);
    expect(r.models[0]!.points.every((p) => p.tokensPerSec > 0 && p.msPerStep > 0 && (p.ttftMs ?? 0) > 0)).toBe(true);
    expect(r.models[0]!.prefill!.tokens).toBe(9);
    expect(r.models[0]!.batchInvariant).toBe(true); // ref: every row's numbers are its own
    const md = readFileSync(files[1]!, 'utf8');
    const row1 = md.split('\n').find((l) => l.startsWith(`| ${engine} | 1 |`))!;
    const tps = r.models[0]!.points[0]!.tokensPerSec;
    expect(row1.split('|')[6]!.trim()).toBe((tps / 100).toFixed(2)); // × HF compiled
    expect(readFileSync(files[2]!, 'utf8')).toMatch(/^<svg[\s\S]*HF compiled[\s\S]*<\/svg>\n$/);
  });

  it('benchmark --quantization: a SmoothQuant engine of the same HF weights beside the fp16 one, compared with the fp16 peer', async () => {
    const hf = fileURLToPath(new URL('../../packages/loader/fixtures/tiny/gpt2/st-fp32', import.meta.url));
    const peer = join(work, 'peer-q.json');
    writeFileSync(peer, JSON.stringify({ device: 'cpu', models: { gpt2: { compiled: { 1: { tokensPerSec: 100 } } } } }));
    const c = capture();
    const json = join(work, 'q.json');
    const code = await main(['benchmark', '--model', `gpt2=${hf}`, '--quantization', 'int8_sq_per_token_channel,fp8,int8_kv_cache', '--backend', 'ref', '--batch_sizes', '1', '--input_len', '6', '--output_len', '3',
      '--prefill_len', '0', '--runs', '1', '--warmup', '0', '--peer', peer, '--json', json], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as BenchmarkReport;
    expect(r.models.map((m) => [m.model, m.base, m.quantization])).toEqual([['gpt2', undefined, undefined], ...['int8_sq_per_token_channel', 'fp8', 'int8_kv_cache'].map((q) => [`gpt2 ${q}`, 'gpt2', q])]);
    const [fp16, sq, fp8, kv8] = r.models as [BenchmarkReport['models'][0], BenchmarkReport['models'][0], BenchmarkReport['models'][0], BenchmarkReport['models'][0]];
    expect(sq.weightBytes).toBeLessThan(fp16.weightBytes); // one byte per INT8 linear weight
    expect([fp8.weightBytes, fp8.kvBytesPerToken]).toEqual([sq.weightBytes, fp16.kvBytesPerToken / 2]); // FP8 GEMMs and an FP8 cache
    expect([kv8.weightBytes, kv8.kvBytesPerToken]).toEqual([fp16.weightBytes, fp16.kvBytesPerToken / 2]);
    const row = c.out().split('\n').find((l) => l.startsWith('| gpt2 int8_sq_per_token_channel | 1 |'))!;
    expect(row.split('|')[6]!.trim()).toBe((sq.points[0]!.tokensPerSec / 100).toFixed(2)); // × the fp16 HF peer
    // an engine directory counts its own quantization in the roofline's bytes, as --quantization's engines do
    const tiny = { vocab_size: 64, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32, dtype: 'float16' } as const;
    const mode = { ...QUANTIZATIONS.int8_sq_per_token_channel, ...QUANTIZATIONS.int8_kv_cache };
    const flags = engineFlags(tiny, { batch: 1, input: 6, output: 3 }, mode);
    const dirs = { float: join(work, 'bench-float'), sqkv: join(work, 'bench-sqkv') };
    buildEngine({ flags: engineFlags(tiny, { batch: 1, input: 6, output: 3 }), outputDir: dirs.float });
    buildQuantized(flags, dirs.sqkv, await quantizeRandomWeights(flags, calibrationPrompts(6, 64), mode, { backend: { backend: 'ref' } }));
    const dj = join(work, 'dirs.json');
    expect(await main(['benchmark', '--engine_dir', dirs.float, '--engine_dir', dirs.sqkv, '--backend', 'ref', '--batch_sizes', '1', '--input_len', '6', '--output_len', '3', '--prefill_len', '0', '--runs', '1', '--warmup', '0', '--json', dj], capture().io)).toBe(0);
    const [f, q] = (JSON.parse(readFileSync(dj, 'utf8')) as BenchmarkReport).models as [BenchmarkReport['models'][0], BenchmarkReport['models'][0]];
    const linear = 1 * (32 * 3 * 32 + 32 * 32 + 2 * 32 * 128); // per layer: qkv, dense, fc and proj weights
    expect([f.weightBytes - q.weightBytes, q.kvBytesPerToken]).toEqual([linear, f.kvBytesPerToken / 2]); // one byte per INT8 weight and KV element
    const bad = capture();
    expect(await main(['benchmark', '--quantization', 'int4'], bad.io)).toBe(2);
    expect(bad.err()).toMatch(/--quantization: unknown 'int4' \(int8_sq_per_tensor, /);
  });

  it('benchmark --sampling / --num_beams: sampled and 4-beam series beside greedy, each against its peer mode, and the decoding-cost table', async () => {
    const hf = fileURLToPath(new URL('../../packages/loader/fixtures/tiny/gpt2/st-fp32', import.meta.url));
    const peer = join(work, 'peer-s.json');
    writeFileSync(peer, JSON.stringify({ device: 'cpu', models: { gpt2: { compiled: { 2: { tokensPerSec: 100 } }, 'compiled-sampled': { 2: { tokensPerSec: 40 } }, 'compiled-beams': { 2: { tokensPerSec: 10 } } } } }));
    const c = capture();
    const json = join(work, 's.json');
    const code = await main(['benchmark', '--model', `gpt2=${hf}`, '--sampling', 'temperature=0.8,top_k=50,top_p=0.9', '--num_beams', '4', '--backend', 'ref', '--batch_sizes', '2', '--input_len', '6', '--output_len', '3',
      '--prefill_len', '0', '--runs', '1', '--warmup', '0', '--peer', peer, '--json', json], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as BenchmarkReport;
    expect(r.models.map((m) => [m.model, m.decoding, m.decodingSettings, m.greedyModel])).toEqual([
      ['gpt2', undefined, undefined, undefined],
      ['gpt2 sampled', 'sampled', 'temperature=0.8,top_k=50,top_p=0.9', 'gpt2'],
      ['gpt2 4 beams', 'beams', '4 beams', 'gpt2'],
    ]);
    expect(r.models.every((m) => m.batchInvariant)).toBe(true); // seeded per request: the same draws in every run
    expect(r.models.map((m) => m.points[0]!.ttftMs !== undefined)).toEqual([true, true, false]); // beams: the tokens arrive together
    const [, sampled, beams] = r.models as [BenchmarkReport['models'][0], BenchmarkReport['models'][0], BenchmarkReport['models'][0]];
    const row = (label: string): string[] => c.out().split('\n').find((l) => l.startsWith(`| ${label} | 2 |`))!.split('|');
    expect(row('gpt2 sampled')[6]!.trim()).toBe((sampled.points[0]!.tokensPerSec / 40).toFixed(2)); // × HF compiled-sampled
    expect(row('gpt2 4 beams')[6]!.trim()).toBe((beams.points[0]!.tokensPerSec / 10).toFixed(2));
    const greedyStep = r.models[0]!.points[0]!.msPerStep;
    const cost = c.out().split('\n').find((l) => l.startsWith('| gpt2 | sampled (temperature=0.8,top_k=50,top_p=0.9) | 2 |'))!.split('|');
    expect(cost[6]!.trim()).toBe((sampled.points[0]!.msPerStep / greedyStep).toFixed(2));
    for (const [flag, message] of [['temperature', /--sampling: 'temperature' is not name=number/], ['top_q=1', /--sampling: unknown setting 'top_q'/]] as const) {
      const bad = capture();
      expect(await main(['benchmark', '--sampling', flag], bad.io)).toBe(2);
      expect(bad.err()).toMatch(message);
    }
    const one = capture();
    expect(await main(['benchmark', '--num_beams', '1'], one.io)).toBe(2);
    expect(one.err()).toMatch(/--num_beams must be an integer ≥ 2, got '1'/);
  });

  it('benchmark, run, summarize, perplexity: --gemm_algo takes the engine GEMM policies and names them when it gets another', async () => {
    for (const cmd of [['benchmark'], ['run', '--input_text', 'hi'], ['summarize', '--dataset_path', 'x.jsonl'], ['perplexity', '--dataset_path', 'x.txt']]) {
      const c = capture();
      expect(await main([...cmd, '--engine_dir', engine, '--backend', 'ref', '--gemm_algo', 'fastest'], c.io), cmd[0]).toBe(2);
      expect(c.err()).toContain("--gemm_algo must be auto, batch-invariant, decode-kernel, cublaslt, per-shape, got 'fastest'");
    }
    const ok = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--gemm_algo', 'auto', '--input_text', 'hi', '--max_output_len', '2'], ok.io)).toBe(0);
  });
});
