// The seed's GPT-Next and prompt-tuning commands, end to end on the ref backend, on the tiny .nemo
// fixtures (scripts/fixtures/nemo_fixtures.py): nemo-convert → build → run --vocab_file gives the torch
// reference's greedy tokens; nemo-prompt-convert → run --prompt_table --tasks gives the reference with
// the tasks' rows substituted, two tasks in one batch each with their own rows.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '@trtllm/loader';
import { main } from './cli.js';

function capture(): { io: { out: (s: string) => void; err: (s: string) => void }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (s) => (out += s), err: (s) => (err += s) }, out: () => out, err: () => err };
}

const NEMO = fileURLToPath(new URL('../../packages/loader/fixtures/nemo/', import.meta.url));
interface Reference {
  config: { vocab_padded: number; eos: number };
  prompts: { text: string; ids: number[]; greedy: number[] }[];
  prompt_tuning: { task: number; name: string; ids: number[]; greedy: number[] }[];
}
const REF = JSON.parse(readFileSync(join(NEMO, 'reference.json'), 'utf8')) as Reference;

describe('trtllm nemo-convert / nemo-prompt-convert (GPT-Next)', () => {
  const work = mkdtempSync(join(tmpdir(), 'trtllm-nemo-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const ckpt = join(work, 'c-model/gpt-next/1-gpu');
  const engine = join(work, 'engine');

  it('converts with the seed flags from a TP 2 .nemo, builds (the tokenizer comes along), and run --vocab_file gives the reference greedy tokens', async () => {
    const c = capture();
    const code = await main(['nemo-convert', '-i', join(NEMO, 'gpt-next-tp2.nemo'), '-o', join(work, 'c-model/gpt-next'), '--tensor-parallelism', '1', '--storage-type', 'float32', '--processes', '2'], c.io);
    expect(code).toBe(0);
    expect(c.out()).toMatch(/NeMo GPT, 2 layers, hidden 32, 4 heads, ffn 48 \(fast-swiglu\), vocab 384 \(padded\), rope 0\.5, layernorm1p, bias false, output separate, trained with tp 2/);
    expect(c.out()).toMatch(/tokenizer tokenizer\.model \(eos 2, bos 1\)/);
    const b = capture();
    const built = await main(['build', '--model_dir', ckpt, '--use_gpt_attention_plugin', '--max_batch_size', '2', '--max_input_len', '48', '--max_output_len', '12', '--max_prompt_embedding_table_size', '16', '--output_dir', engine], b.io);
    expect(built).toBe(0);
    expect(b.err() + b.out()).toMatch(/tokenizer: the one in --model_dir/);
    const r = capture();
    const csv = join(work, 'out.csv');
    const ran = await main(['run', '--engine_dir', engine, '--backend', 'ref', '--vocab_file', join(ckpt, 'tokenizer.model'), ...REF.prompts.flatMap((p) => ['--input_text', p.text]), '--max_output_len', '12', '--output_csv', csv], r.io);
    expect(ran).toBe(0);
    expect(r.out()).toContain(`Input [Text 0]: "${REF.prompts[0]!.text}"`);
    const rows = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    expect(rows).toEqual(REF.prompts.map((p) => p.greedy));
  });

  it('nemo-prompt-convert prints the tasks and writes [tasks, Pt, H] float32; run --prompt_table --tasks puts two tasks in one batch, each with its rows', async () => {
    const c = capture();
    expect(await main(['nemo-prompt-convert', '-i', join(NEMO, 'prompt-tasks.nemo'), '-o', join(work, 'tasks')], c.io)).toBe(0);
    expect(c.out()).toMatch(/^Task 0: email \(3 virtual tokens\)\nTask 1: summary \(5 virtual tokens\)\nwrote .*tasks\.npy: \[2, 5, 32\] float32/);
    const table = readNpy(join(work, 'tasks.npy'));
    expect(table.shape).toEqual([2, 5, 32]);
    expect(Array.from(table.data.subarray(3 * 32, 5 * 32)).every((x) => x === 0)).toBe(true); // task 0 padded with zero rows
    // the seed's way: token ids with the virtual tokens V … V+n−1 in front, one task per row
    const input = join(work, 'input.csv');
    writeFileSync(input, REF.prompt_tuning.map((t) => t.ids.join(',')).join('\n') + '\n');
    const r = capture();
    const csv = join(work, 'pt.csv');
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_tokens', input, '--prompt_table', join(work, 'tasks.npy'), '--tasks', '0,1', '--max_output_len', '8', '--output_csv', csv], r.io)).toBe(0);
    const rows = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    expect(rows).toEqual(REF.prompt_tuning.map((t) => t.greedy));
    // the same inputs with the tasks swapped read the other rows: different tokens
    const s = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_tokens', input, '--prompt_table', join(work, 'tasks.npy'), '--tasks', '1,0', '--max_output_len', '8', '--output_csv', csv], s.io)).toBe(0);
    expect(readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number))).not.toEqual(rows);
  });

  it('bad input: a missing .nemo, a base model given to nemo-prompt-convert, and a --vocab_file that is not a sentencepiece model', async () => {
    const a = capture();
    expect(await main(['nemo-convert', '-i', join(work, 'none.nemo'), '-o', join(work, 'x')], a.io)).toBe(1);
    expect(a.err()).toMatch(/none\.nemo: expected a \.nemo file or an unpacked \.nemo directory/);
    const b = capture();
    expect(await main(['nemo-prompt-convert', '-i', join(NEMO, 'gpt-next-tp1.nemo'), '-o', join(work, 'y.npy')], b.io)).toBe(1);
    expect(b.err()).toMatch(/task_templates: expected a list of tasks \(a prompt-learning \.nemo\)/);
    const c = capture();
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--vocab_file', join(NEMO, 'reference.json'), '--max_output_len', '1'], c.io)).toBe(1);
    expect(c.err()).toMatch(/reference\.json/);
    const w = capture();
    writeNpy(join(work, 'wide.npy'), '<f4', [1, 2, 48], new Array(96).fill(0.5));
    expect(await main(['run', '--engine_dir', engine, '--backend', 'ref', '--input_tokens', join(work, 'input.csv'), '--prompt_table', join(work, 'wide.npy'), '--tasks', '0', '--max_output_len', '1'], w.io)).toBe(1);
    expect(w.err()).toMatch(/prompt table: expected \[numTasks, Pt, 32\], got \[1, 2, 48\]/);
    const d = capture();
    expect(await main(['nemo-convert', '-i', join(NEMO, 'gpt-next-tp1.nemo')], d.io)).toBe(2);
    expect(d.err()).toMatch(/-o\/--out-dir are required/);
  });
});
