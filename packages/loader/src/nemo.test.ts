// GPT-Next from .nemo (scripts/fixtures/nemo_fixtures.py: NeMo's archive layout, weights from torch,
// a sentencepiece tokenizer, reference logits from an independent torch forward of NeMo's GPT):
// nemo-convert → FT checkpoint → ref-math forward equals the reference; any TP from any TP, pipeline
// stages, bf16 in a gzip'd tar and an unpacked directory give the same files; bad archives are typed
// errors naming what was wrong, and nothing is half-written.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxAbsDiff } from '@trtllm/ref-math/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createGptKvCache, gptForward, greedyGenerate, toF32 } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { FtCheckpoint } from './ft.js';
import { NemoArchive } from './nemo.js';
import { convertNemoToFt } from './nemo-convert.js';
import { openTokenizer } from './tokenizer-files.js';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/nemo');
interface Prompt {
  text: string;
  ids: number[];
  logits: number[][];
  greedy: number[];
  greedy_bf16_weights: number[];
}
const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as { config: { vocab_padded: number; eos: number; bos: number }; prompts: Prompt[] };
const work = mkdtempSync(join(tmpdir(), 'nemo-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));


/** Every file of a converted checkpoint but config.ini (which names its input), as bytes. */
function files(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).filter((f) => f !== 'config.ini').sort().map((f) => [f, readFileSync(join(dir, f))]));
}

describe('nemo-convert (GPT-Next: RoPE on half of each head, fast-swiglu, layernorm1p, no linear bias, untied output)', () => {
  it('fp32: logits within 1e-4 of the torch reference at every position, greedy tokens identical', async () => {
    const r = await convertNemoToFt({ inFile: join(DIR, 'gpt-next-tp1.nemo'), outDir: join(work, 'tp1') });
    expect(r.config).toMatchObject({ vocabSize: REF.config.vocab_padded, rotaryPct: 0.5, activation: 'swiglu', bias: false, layernormBias: true, layernorm1p: false });
    expect([r.eos, r.bos]).toEqual([REF.config.eos, REF.config.bos]);
    const model = FtCheckpoint.open(r.dir).loadModel({ dtype: 'f32' });
    for (const p of REF.prompts) {
      const got = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: p.ids }], { logits: 'all' }));
      expect(maxAbsDiff(p.logits.flat(), got)).toBeLessThan(1e-4);
      expect(greedyGenerate(model, [p.ids], { maxNewTokens: p.greedy.length })[0]).toEqual(p.greedy);
    }
  });

  it('writes the tokenizer beside the weights; it encodes the prompts as sentencepiece did', () => {
    const tok = openTokenizer(join(work, 'tp1/1-gpu'));
    expect(tok.kind).toBe('sentencepiece-bpe');
    for (const p of REF.prompts) {
      expect(tok.encode(p.text)).toEqual(p.ids);
      expect(tok.decode(p.ids)).toBe(p.text);
    }
    const ini = readFileSync(join(work, 'tp1/1-gpu/config.ini'), 'utf8');
    expect(ini).toMatch(/activation_function = fast-swiglu\n/);
    expect(ini).toMatch(/rotary_pct = 0\.5\n/);
    expect(ini).toMatch(/eos_token_id = 2\n/);
  });

  it('TP 2 from a TP 1 .nemo equals TP 2 from a TP 2 .nemo, and TP 1 from either is the same, byte for byte', async () => {
    const a = await convertNemoToFt({ inFile: join(DIR, 'gpt-next-tp1.nemo'), outDir: join(work, 'tp1to2'), tp: 2 });
    const b = await convertNemoToFt({ inFile: join(DIR, 'gpt-next-tp2.nemo'), outDir: join(work, 'tp2to2'), tp: 2 });
    const c = await convertNemoToFt({ inFile: join(DIR, 'gpt-next-tp2.nemo'), outDir: join(work, 'tp2to1') });
    expect(files(a.dir)).toEqual(files(b.dir));
    expect(files(c.dir)).toEqual(files(join(work, 'tp1/1-gpu')));
    expect([...files(a.dir).keys()]).toContain('model.layers.1.mlp.dense_h_to_4h.gate.weight.1.bin');
    // and the TP-2 checkpoint reads back to the TP-1 model
    const m2 = FtCheckpoint.open(a.dir).loadModel({ dtype: 'f32' });
    const p = REF.prompts[0]!;
    expect(greedyGenerate(m2, [p.ids], { maxNewTokens: p.greedy.length })[0]).toEqual(p.greedy);
  });

  it('reads pipeline stages from an unpacked directory (tp_rank_00_pp_rank_00N) into the same checkpoint', async () => {
    const r = await convertNemoToFt({ inFile: join(DIR, 'gpt-next-pp2'), outDir: join(work, 'pp2') });
    expect(files(r.dir)).toEqual(files(join(work, 'tp1/1-gpu')));
  });

  it('bf16 from a gzip-compressed .nemo: greedy tokens of the bf16 weights ≥ 99 % of positions; γ + 1 rounded in bf16 even when stored as fp32', async () => {
    const r = await convertNemoToFt({ inFile: join(DIR, 'gpt-next-bf16.nemo'), outDir: join(work, 'bf16'), storage: 'bfloat16' });
    const model = FtCheckpoint.open(r.dir).loadModel({ dtype: 'f32' });
    let same = 0;
    let all = 0;
    for (const p of REF.prompts) {
      const got = greedyGenerate(model, [p.ids], { maxNewTokens: p.greedy_bf16_weights.length })[0]!;
      got.forEach((t, i) => ((same += t === p.greedy_bf16_weights[i] ? 1 : 0), all++));
    }
    expect(same / all).toBeGreaterThanOrEqual(0.99);
    // layernorm1p's +1 happens in bf16, before the storage cast (as the seed does it): bf16 weights stored as fp32 keep bf16 values
    const fp32 = FtCheckpoint.open(join(work, 'tp1/1-gpu'));
    const bf = FtCheckpoint.open((await convertNemoToFt({ inFile: join(DIR, 'gpt-next-bf16.nemo'), outDir: join(work, 'bf16as32') })).dir);
    const gamma = (ck: FtCheckpoint): Float32Array => toF32(ck.read(ck.layout.find((t) => t.spec.path === 'layers.0.ln1.gamma')!));
    const want = gamma(fp32).map((g) => bf16(bf16(g - 1) + 1));
    expect([...gamma(bf)]).toEqual([...want]);
  });
});

const VARIANTS = JSON.parse(readFileSync(join(DIR, 'variants.json'), 'utf8')) as Record<string, { prompts: Prompt[] }>;

describe.each(Object.keys(VARIANTS))('nemo-convert %s (every mapping path: QKV and MLP biases, swiglu’s dense_h_to_4h_2, learned positions, tied embeddings)', (name) => {
  it.each([1, 2])('to TP %i: logits within 1e-4 of the torch reference at every position, greedy tokens identical', async (tp) => {
    const r = await convertNemoToFt({ inFile: join(DIR, name), outDir: join(work, `${name}-${tp}`), tp });
    const model = FtCheckpoint.open(r.dir).loadModel({ dtype: 'f32' });
    for (const p of VARIANTS[name]!.prompts) {
      const got = toF32(gptForward(model, createGptKvCache(model.config, { numSlots: 1 }), [{ slot: 0, start: 0, tokens: p.ids }], { logits: 'all' }));
      expect(maxAbsDiff(p.logits.flat(), got)).toBeLessThan(1e-4);
      expect(greedyGenerate(model, [p.ids], { maxNewTokens: p.greedy.length })[0]).toEqual(p.greedy);
    }
  });
});

describe('nemo-convert refuses bad input with a typed error, writing nothing', () => {
  const out = (name: string): string => join(work, 'bad', name);
  const expectNothing = (name: string): void => expect(existsSync(out(name))).toBe(false);

  it('a truncated archive names the member it cut', async () => {
    const t = join(work, 'truncated.nemo');
    const whole = readFileSync(join(DIR, 'gpt-next-tp1.nemo'));
    writeFileSync(t, whole.subarray(0, whole.length - 20000));
    await expect(convertNemoToFt({ inFile: t, outDir: out('t') })).rejects.toThrow(/truncated\.nemo: .*(model_weights\.ckpt|tar header).*truncated/);
    expectNothing('t');
  });

  it('a file that is not a tar, and a truncated gzip', async () => {
    const n = join(work, 'not.nemo');
    writeFileSync(n, 'model_config.yaml: not a tar at all'.repeat(40));
    await expect(convertNemoToFt({ inFile: n, outDir: out('n') })).rejects.toThrow(/not\.nemo: tar header at byte 0: expected a tar archive \(\.nemo\), got a file that is not a tar/);
    const g = join(work, 'cut.nemo');
    const gz = readFileSync(join(DIR, 'gpt-next-bf16.nemo'));
    writeFileSync(g, gz.subarray(0, gz.length >> 1));
    await expect(convertNemoToFt({ inFile: g, outDir: out('g') })).rejects.toThrow(/cut\.nemo: expected a gzip-compressed tar/);
    expectNothing('n');
    expectNothing('g');
  });

  const edited = async (name: string, edit: (yaml: string) => string): Promise<string> => {
    const d = join(work, name);
    cpSync(join(DIR, 'gpt-next-pp2'), d, { recursive: true });
    writeFileSync(join(d, 'model_config.yaml'), edit(readFileSync(join(d, 'model_config.yaml'), 'utf8')));
    return d;
  };

  it('a config without its tokenizer, or with an architecture the engine cannot run, names the key', async () => {
    const noTok = await edited('notok', (y) => y.replace(/model: nemo:\S+/, 'model: null'));
    await expect(convertNemoToFt({ inFile: noTok, outDir: out('a') })).rejects.toThrow(/model_config\.yaml: tokenizer: expected model: nemo:<name>\.model/);
    const geglu = await edited('geglu', (y) => y.replace('activation: fast-swiglu', 'activation: geglu'));
    await expect(convertNemoToFt({ inFile: geglu, outDir: out('b') })).rejects.toThrow(/activation: expected gelu \| fast-swiglu \| swiglu, got "geglu"/);
    const rms = await edited('rms', (y) => y.replace('normalization: layernorm1p', 'normalization: rmsnorm'));
    await expect(convertNemoToFt({ inFile: rms, outDir: out('c') })).rejects.toThrow(LoaderError);
    const gone = await edited('gone', (y) => y.replace(/model: nemo:9f1c\S+/, 'model: nemo:missing_tokenizer.model'));
    await expect(convertNemoToFt({ inFile: gone, outDir: out('d') })).rejects.toThrow(/tokenizer\.model: expected one archive member named \*missing_tokenizer\.model/);
    const erf = await edited('erf', (y) => y.replace('activation: fast-swiglu', 'activation: gelu'));
    await expect(convertNemoToFt({ inFile: erf, outDir: out('e') })).rejects.toThrow(/activation: expected the tanh GELU .* got "gelu in its erf form"/);
    const postLn = await edited('postln', (y) => y.replace('transformer_block_type: pre_ln', 'transformer_block_type: post_ln'));
    await expect(convertNemoToFt({ inFile: postLn, outDir: out('f') })).rejects.toThrow(/transformer_block_type: expected "pre_ln"/);
    for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) expectNothing(n);
  });

  it('a state dict whose shapes contradict the config names the tensor and both shapes', async () => {
    const wide = await edited('wide', (y) => y.replace('ffn_hidden_size: 48', 'ffn_hidden_size: 64'));
    await expect(convertNemoToFt({ inFile: wide, outDir: out('w') })).rejects.toThrow(/model_weights\.ckpt: model\.language_model\.encoder\.layers\.0\.mlp\.dense_h_to_4h\.weight: expected \[128, 32\] \(from model_config\.yaml\), got \[96, 32\]/);
    const pp1 = await edited('pp1', (y) => y.replace('pipeline_model_parallel_size: 2', 'pipeline_model_parallel_size: 1'));
    await expect(convertNemoToFt({ inFile: pp1, outDir: out('p') })).rejects.toThrow(/model_weights\.ckpt: expected the weights of rank 0/);
    expectNothing('w');
    expectNothing('p');
  });

  it('a -tp that does not divide the heads', async () => {
    await expect(convertNemoToFt({ inFile: join(DIR, 'gpt-next-tp1.nemo'), outDir: out('tp3'), tp: 3 })).rejects.toThrow(/n_head: expected a multiple of the tensor parallelism \(-tp 3\)/);
    expectNothing('tp3');
  });

  it('indexes a tar without extracting it: members and their byte ranges', async () => {
    const a = await NemoArchive.open(join(DIR, 'gpt-next-tp2.nemo'));
    try {
      expect([...a.members.keys()].sort()).toEqual(['9f1c2b7e4d0a4c55b0e1c3a2d4f6e8b0_tokenizer.model', 'model_config.yaml', 'mp_rank_00/model_weights.ckpt', 'mp_rank_01/model_weights.ckpt']);
      expect(a.config['tensor_model_parallel_size']).toBe(2);
      expect(a.weightsMember(1, 0, 2, 1)).toBe('mp_rank_01/model_weights.ckpt');
    } finally {
      a.close();
    }
  });
});

function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (u[0]! + 0x7fff + ((u[0]! >>> 16) & 1)) & 0xffff0000;
  return f[0]!;
}
