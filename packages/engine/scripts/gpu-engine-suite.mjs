#!/usr/bin/env node
// The engine's GPU proofs, one stage per claim; each writes its numbers to <out>/engine-suite.json and
// a line to stdout, and a failing stage does not stop the others. Exit 0 iff every stage passed
// (1 when any failed or threw, 2 on an unknown stage name).
//
//   node packages/engine/scripts/gpu-engine-suite.mjs --out DIR --stages tiny,gpt2ref,sotu,ifb,hf,summarize
//        [--work DIR (hf_engine_parity.py's WORK_DIR)] [--sotu MODEL_DIR --val VAL_TXT] [--cnn JSONL]
//        [--gemm-algo auto | batch-invariant | decode-kernel | cublaslt | per-shape] (production kernels)
//
//   tiny      loader fixtures → convert → build (fp32, fp16): cuda logits ≡ ref logits (bitwise), cuda greedy ≡ ref greedy ≡ HF greedy
//   gpt2ref   random gpt2-shape fp16 engine: cuda greedy (20 prompts × 64) ≡ the ref backend's (fixtures/ref-greedy-gpt2-f16.json, computed on CPU)
//   sotu      the trained sotu-gpt2-16m → convert → build fp32 / fp16: validation perplexity and greedy continuations vs HF
//   ifb       200 requests of mixed lengths arriving over time: each request's tokens ≡ running it alone
//   hf        random GPT-2 124M / gpt2-medium shapes made by HF: logits (fp32 max |Δ|, fp16 NMSE) and greedy 20 × 100 vs HF
//   summarize gpt2-medium fp16 on the cnn_dailymail sample: ROUGE of ours vs HF generate's on the same prompts
//   beamtp    beam search (4 beams) and tensor parallelism (TP 2 and 4 in one process): cuda ≡ ref, tokens and scores
//   tpnccl    TP 2 with one process per GPU (NCCL) ≡ TP 2 in one process: greedy, sampled and beam tokens (needs 2 GPUs)
//   production  production kernels (#6) on a gpt2-shape fp16 engine: a request's tokens alone ≡ in batches of 8 and 64
//             (batch invariance), CUDA graphs on ≡ off, agreement with the reference kernels, graph statistics
//
// --kernels reference (default: the bit-exact claims of #5) | production (tier 3: the same stages within tolerance)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bootstrapAggregate, buildEngine, Engine, perplexityWindows, rougeScores } from '@trtllm/engine';
import { convertHfToFt, Gpt2Tokenizer, readNpy, SafetensorsFile } from '@trtllm/loader';
import { toF32 } from '@trtllm/ref-math';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'cuda' }, kernels: { type: 'string', default: 'reference' }, out: { type: 'string', default: 'engine-suite-out' }, stages: { type: 'string', default: 'tiny,gpt2ref,ifb' }, work: { type: 'string', default: '/tmp/hfwork' }, 'gemm-algo': { type: 'string' }, sotu: { type: 'string' }, val: { type: 'string' }, cnn: { type: 'string' }, articles: { type: 'string' } } });
const out = resolve(values.out);
mkdirSync(out, { recursive: true });
const scratch = mkdtempSync(join(tmpdir(), 'engine-suite-'));
const here = new URL('.', import.meta.url);
const repo = resolve(new URL('../../..', here).pathname);
let device = 'unknown GPU';
try {
  const k = await import('@trtllm/cuda-kernels');
  const a = k.isAvailable();
  device = a.ok ? a.device.name : `no GPU (${a.reason})`;
} catch (e) {
  device = `no addon (${e.message})`;
}
const log = (s) => process.stdout.write(`${s}\n`);
const secs = (t0) => +((performance.now() - t0) / 1000).toFixed(2);
const maxAbs = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const nmse = (got, want) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return num / den;
};
const sameBits = (a, b) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
/** Positions equal before the first difference, summed; and whole sequences equal. */
const agreement = (got, want) => {
  let pos = 0;
  let total = 0;
  let seqs = 0;
  got.forEach((g, i) => {
    const w = want[i];
    let k = 0;
    while (k < w.length && g[k] === w[k]) k++;
    pos += k;
    total += w.length;
    if (k === w.length && g.length === w.length) seqs++;
  });
  return { positionsBeforeFirstDifference: pos, positions: total, fraction: +(pos / total).toFixed(4), sequencesEqual: seqs, sequences: want.length };
};
const engineFrom = (hfDir, storage, dtype, flags, name) => {
  const ft = join(scratch, `${name}-ft-${storage}`);
  return convertHfToFt({ inDir: hfDir, outDir: ft, storage, processes: 4 }).then((r) => {
    const dir = join(scratch, `${name}-engine-${dtype}`);
    buildEngine({ flags: { ...flags, model_dir: r.dir, dtype }, outputDir: dir });
    rmSync(ft, { recursive: true, force: true });
    return dir;
  });
};
const IFB = { use_inflight_batching: true, tokens_per_block: 32, enable_context_fmha_fp32_acc: true };
// --gemm-algo: the production backend's GEMM policy (GEMM_ALGOS; default auto, resolved per engine)
const algo = values['gemm-algo'] ? { gemmAlgo: values['gemm-algo'] } : {};
const cudaOpts = (extra = {}) => ({ backend: values.backend, ...(values.backend === 'cuda' ? { kernels: values.kernels, ...(values.kernels === 'production' ? algo : {}) } : {}), ...extra });
const production = values.kernels === 'production';

const stages = {
  async tiny() {
    const tiny = join(repo, 'packages/loader/fixtures/tiny');
    const rows = [];
    for (const [src, ref] of [['gpt2/st-fp32', 'gpt2'], ['bigcode-mqa/st-fp32', 'bigcode-mqa'], ['bigcode-mha/st-fp32', 'bigcode-mha'], ['santacoder/bin-fp32', 'bigcode-mqa']]) {
      const hf = JSON.parse(readFileSync(join(tiny, ref, 'reference.json'), 'utf8'));
      const logitsRef = SafetensorsFile.open(join(tiny, ref, 'reference.safetensors'));
      for (const dtype of ['float32', 'float16']) {
        const dir = await engineFrom(join(tiny, src), 'float32', dtype, { max_batch_size: 4, max_input_len: 32, max_output_len: 16, ...IFB, tokens_per_block: 8 }, src.replace('/', '-'));
        const [r, c] = [await Engine.load(dir, { backend: 'ref' }), await Engine.load(dir, cudaOpts())];
        const reqs = hf.prompts.map((tokens) => ({ tokens, maxNewTokens: 16, endId: null }));
        const [gr, gc] = [(await r.generate(reqs)).map((x) => x.tokens), (await c.generate(reqs)).map((x) => x.tokens)];
        const [lr, lc] = [r.logits(hf.prompts[2]), c.logits(hf.prompts[2])];
        const hfLogits = toF32(logitsRef.read('logits32.p2'));
        rows.push({ model: src, dtype, cudaLogitsBitEqualRef: sameBits(lr, lc), cudaLogitsNmseVsRef: nmse(lc, lr), cudaGreedyEqualRef: JSON.stringify(gr) === JSON.stringify(gc), greedyVsRef: agreement(gc, gr).fraction, greedyEqualHf: dtype === 'float32' ? JSON.stringify(gc) === JSON.stringify(hf.greedy32) : agreement(gc, hf.greedy32).fraction, maxAbsLogitVsHf: maxAbs(lc, hfLogits) });
        r.dispose();
        c.dispose();
      }
      logitsRef.close();
    }
    // production kernels: within tolerance of the oracle (fp32: cuBLASLt's fp32 sums; fp16: one rounding of T per fused op)
    const ok = rows.every((x) => (production ? x.cudaLogitsNmseVsRef <= (x.dtype === 'float32' ? 1e-9 : 1e-5) : x.cudaLogitsBitEqualRef && x.cudaGreedyEqualRef));
    return { ok, kernels: values.kernels, rows };
  },

  async beamtp() {
    const tiny = join(repo, 'packages/loader/fixtures/tiny');
    const hf = JSON.parse(readFileSync(join(tiny, 'gpt2', 'reference.json'), 'utf8'));
    const rows = [];
    for (const [dtype, tp] of [['float16', 1], ['float16', 2], ['float32', 4], ['bfloat16', 2]]) {
      const dir = await engineFrom(join(tiny, 'bigcode-mqa/st-fp32'), 'float32', dtype, { max_batch_size: 4, max_input_len: 32, max_output_len: 16, max_beam_width: 4, world_size: tp, ...IFB, tokens_per_block: 8 }, `beamtp-${tp}`);
      const out = {};
      for (const backend of ['ref', values.backend]) {
        const e = await Engine.load(dir, backend === 'ref' ? { backend } : cudaOpts());
        const beams = await e.generate(hf.prompts.map((tokens) => ({ tokens, maxNewTokens: 12, numBeams: 4, endId: null })));
        const greedy = await e.generate(hf.prompts.map((tokens) => ({ tokens, maxNewTokens: 12, endId: null })));
        out[backend] = { beams: beams.map((r) => r.beams.map((b) => [b.tokens, b.score])), greedy: greedy.map((r) => r.tokens), logits: e.logits(hf.prompts[2]) };
        e.dispose();
      }
      rows.push({ dtype, tp, beamsEqual: JSON.stringify(out.ref.beams) === JSON.stringify(out[values.backend].beams), greedyEqual: JSON.stringify(out.ref.greedy) === JSON.stringify(out[values.backend].greedy), logitsBitEqual: sameBits(out.ref.logits, out[values.backend].logits) });
    }
    return { ok: rows.every((r) => r.beamsEqual && r.greedyEqual && r.logitsBitEqual), rows };
  },

  async tpnccl() {
    const dir = join(scratch, 'tpnccl');
    buildEngine({ flags: { vocab_size: 50257, n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, dtype: 'float16', random_seed: 5, world_size: 2, max_batch_size: 8, max_input_len: 64, max_output_len: 48, max_beam_width: 3, use_inflight_batching: true, tokens_per_block: 16 }, outputDir: dir });
    let x = 12345;
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
    const reqs = [
      ...Array.from({ length: 12 }, (_, i) => ({ tokens: Array.from({ length: 4 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 50257)), maxNewTokens: 8 + Math.floor(rnd() * 40), endId: null, ...(i % 3 === 1 ? { topP: 0.9, seed: i } : {}) })),
      ...[0, 1].map((i) => ({ tokens: [464 + i, 3290, 373], maxNewTokens: 24, endId: null, numBeams: 3 })),
    ];
    const run = async (tensorParallel) => {
      const e = await Engine.load(dir, { backend: 'cuda', kernels: values.kernels, tensorParallel });
      const t0 = performance.now();
      const r = await e.generate(reqs);
      const seconds = secs(t0);
      e.dispose();
      return { seconds, out: r.map((q) => [q.tokens, q.beams?.map((b) => [b.tokens, b.score])]) };
    };
    const one = await run('in-process');
    const two = await run('processes');
    const same = one.out.map((o, i) => JSON.stringify(o) === JSON.stringify(two.out[i])).filter(Boolean).length;
    return { ok: same === reqs.length, requests: reqs.length, identical: same, inProcessSeconds: one.seconds, ncclSeconds: two.seconds };
  },

  async production() {
    const dir = join(scratch, 'production');
    const flags = { vocab_size: 50257, n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, dtype: 'float16', random_seed: 11, max_batch_size: 64, max_input_len: 128, max_output_len: 64, use_inflight_batching: true, enable_context_fmha: true, use_gemm_plugin: 'float16', tokens_per_block: 32 };
    let t0 = performance.now();
    buildEngine({ flags, outputDir: dir });
    const buildSeconds = secs(t0);
    let x = 4242;
    const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296);
    const reqs = Array.from({ length: 64 }, () => ({ tokens: Array.from({ length: 20 + Math.floor(rnd() * 108) }, () => Math.floor(rnd() * 50257)), maxNewTokens: 64, endId: null }));
    const gen = async (e, rs) => (await e.generate(rs)).map((r) => r.tokens);
    const e = await Engine.load(dir, { backend: 'cuda', kernels: 'production', ...algo });
    t0 = performance.now();
    const alone = [];
    for (const q of reqs.slice(0, 8)) alone.push((await gen(e, [q]))[0]);
    const aloneSeconds = secs(t0);
    t0 = performance.now();
    const by8 = [];
    for (let i = 0; i < 64; i += 8) by8.push(...(await gen(e, reqs.slice(i, i + 8))));
    const by8Seconds = secs(t0);
    t0 = performance.now();
    const by64 = await gen(e, reqs);
    const by64Seconds = secs(t0);
    const stats = { ...e.stepStats };
    e.dispose();
    const eager = await Engine.load(dir, { backend: 'cuda', kernels: 'production', cudaGraphs: false, ...algo });
    t0 = performance.now();
    const noGraphs = await gen(eager, reqs);
    const noGraphSeconds = secs(t0);
    eager.dispose();
    const reference = await Engine.load(dir, { backend: 'cuda', kernels: 'reference' });
    t0 = performance.now();
    const refTokens = await gen(reference, reqs.slice(0, 8).map((q) => ({ ...q, maxNewTokens: 32 })));
    const referenceSeconds = secs(t0);
    const refLogits = reference.logits(reqs[0].tokens);
    reference.dispose();
    const p2 = await Engine.load(dir, { backend: 'cuda', kernels: 'production', ...algo });
    const prodLogits = p2.logits(reqs[0].tokens);
    p2.dispose();
    const inv8 = agreement(by8.slice(0, 8), alone);
    const inv64 = agreement(by64.slice(0, 8), alone);
    const graphs = agreement(by64, noGraphs);
    const vsRef = agreement(alone.map((t) => t.slice(0, 32)), refTokens);
    return {
      ok: inv8.sequencesEqual === 8 && inv64.sequencesEqual === 8 && graphs.sequencesEqual === 64 && agreement(by8, by64).sequencesEqual === 64,
      buildSeconds, aloneSeconds, by8Seconds, by64Seconds, noGraphSeconds, referenceSeconds, stepStats: stats,
      batchInvariance: { alone_vs_batch8: inv8, alone_vs_batch64: inv64, batch8_vs_batch64: agreement(by8, by64) },
      cudaGraphsVsEager: graphs, productionVsReferenceKernels: { greedy: vsRef, logitsNmse: nmse(prodLogits, refLogits), logitsMaxAbs: maxAbs(prodLogits, refLogits) },
    };
  },

  async gpt2ref() {
    const fx = JSON.parse(readFileSync(join(repo, 'packages/engine/fixtures/ref-greedy-gpt2-f16.json'), 'utf8'));
    const dir = join(scratch, 'gpt2ref');
    let t0 = performance.now();
    buildEngine({ flags: fx.flags, outputDir: dir });
    const buildSeconds = secs(t0);
    const c = await Engine.load(dir, cudaOpts());
    t0 = performance.now();
    const got = (await c.generate(fx.prompts.map((tokens) => ({ tokens, maxNewTokens: fx.greedy[0].length, endId: null })))).map((x) => x.tokens);
    const a = agreement(got, fx.greedy);
    c.dispose();
    return { ok: a.sequencesEqual === a.sequences, refMadeBy: fx.made_by, buildSeconds, cudaSeconds: secs(t0), ...a };
  },

  async sotu() {
    if (!values.sotu || !values.val) throw new Error('--sotu and --val are required');
    const ref = JSON.parse(readFileSync(join(repo, 'packages/loader/fixtures/sotu-gpt2-16m.hf-reference.json'), 'utf8'));
    const tok = Gpt2Tokenizer.gpt2(); // the sotu model's vocabulary is GPT-2's (equal on all its validation ids: loader tests)
    const docs = readFileSync(values.val, 'utf8').split(/\n?<\|doc\|>\n?/).filter((d) => d.trim().length > 0);
    const ids = docs.flatMap((d) => [...tok.encode(d), 50256]);
    const res = { tokens: ids.length, reference: { ppl_fp32: ref.val.ppl_fp32, ppl_fp16: ref.val.ppl_fp16 } };
    for (const [storage, dtype, key] of [['float32', 'float32', 'fp32'], ['float16', 'float16', 'fp16']]) {
      const dir = await engineFrom(values.sotu, storage, dtype, { max_batch_size: 4, max_input_len: 976, max_output_len: 48, ...IFB }, 'sotu');
      const e = await Engine.load(dir, cudaOpts());
      const t0 = performance.now();
      let total = 0;
      let n = 0;
      for (const s of perplexityWindows(ids.length, 1024)) {
        for (const lp of e.tokenLogProbs(ids.slice(s, s + 1024), ids.slice(s + 1, s + 1025))) total -= lp; // scored on the device
        n += 1024;
      }
      const ppl = Math.exp(total / n);
      const gens = await e.generate(ref.generations.map((g) => ({ tokens: g.input_ids, maxNewTokens: 48, endId: null })));
      const want = ref.generations.map((g) => g[`greedy_${key}`]);
      res[key] = { ppl, relErrVsHf: Math.abs(ppl - ref.val[`ppl_${key}`]) / ref.val[`ppl_${key}`], pplSeconds: secs(t0), greedy: agreement(gens.map((g) => g.tokens), want) };
      e.dispose();
    }
    res.ok = res.fp32.relErrVsHf < 1e-3 && res.fp16.relErrVsHf < 1e-3 && res.fp32.greedy.sequencesEqual === 4;
    return res;
  },

  async ifb() {
    const dir = join(scratch, 'ifb');
    buildEngine({ flags: { vocab_size: 50257, n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, dtype: 'float16', random_seed: 3, max_batch_size: 16, max_input_len: 64, max_output_len: 32, use_inflight_batching: true, tokens_per_block: 16 }, outputDir: dir });
    let x = 88172645;
    const rnd = () => ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5), (x >>> 0) / 4294967296);
    const reqs = Array.from({ length: 200 }, (_, i) => ({
      tokens: Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 50257)),
      maxNewTokens: 1 + Math.floor(rnd() * 32),
      endId: null,
      ...(i % 4 === 1 ? { temperature: 0.9, topK: 40, seed: i } : i % 4 === 2 ? { topP: 0.8, seed: i } : {}),
    }));
    const e = await Engine.load(dir, { ...cudaOpts(), kvCacheBlocks: 60 });
    let t0 = performance.now();
    const solo = [];
    for (const q of reqs) solo.push((await e.generate([q]))[0].tokens);
    const soloSeconds = secs(t0);
    const stepsBefore = e.steps;
    t0 = performance.now();
    const pending = [];
    for (const [i, q] of reqs.entries()) {
      pending.push(e.stream(q).result.then((r) => r.tokens));
      if (i % 10 === 9) await new Promise((ok) => setTimeout(ok, 5));
    }
    const together = await Promise.all(pending);
    const a = agreement(together, solo);
    e.dispose();
    return { ok: a.sequencesEqual === 200, requests: 200, kvBlocks: 60, maxBatchSize: 16, soloSeconds, batchedSeconds: secs(t0), batchedSteps: e.steps - stepsBefore, tokens: solo.reduce((s, t) => s + t.length, 0), ...a };
  },

  async hf() {
    const res = {};
    for (const name of ['gpt2-124m', 'gpt2-medium']) {
      const hf = JSON.parse(readFileSync(join(values.work, name, 'hf.json'), 'utf8'));
      res[name] = {};
      for (const [storage, key] of [['float32', 'fp32'], ['float16', 'fp16']]) {
        let t0 = performance.now();
        const dir = await engineFrom(join(values.work, name, 'hf'), storage, storage, { max_batch_size: 20, max_input_len: 40, max_output_len: 100, ...IFB }, name);
        const convertBuildSeconds = secs(t0);
        const e = await Engine.load(dir, cudaOpts());
        const last = readNpy(join(values.work, name, `last_${key}.npy`)).data;
        const all0 = readNpy(join(values.work, name, `all0_${key}.npy`)).data;
        const v = 50257;
        const gotLast = new Float64Array(last.length);
        hf.prompts.forEach((p, i) => {
          const l = e.logits(p);
          gotLast.set(l.subarray((p.length - 1) * v, p.length * v), i * v);
        });
        const got0 = e.logits(hf.prompts[0]);
        t0 = performance.now();
        const greedy = (await e.generate(hf.prompts.map((tokens) => ({ tokens, maxNewTokens: 100, endId: null })))).map((r) => r.tokens);
        res[name][key] = { convertBuildSeconds, maxAbsLast: maxAbs(gotLast, last), maxAbsAllPositionsPrompt0: maxAbs(got0, all0), nmseLast: nmse(gotLast, last), nmseAll0: nmse(got0, all0), greedySeconds: secs(t0), greedy: agreement(greedy, hf[`greedy_${key}`]) };
        e.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const m = Object.values(res);
    return { ok: m.every((r) => r.fp32.maxAbsLast <= 1e-3 && r.fp16.nmseLast <= 1e-5), ...res };
  },

  async summarize() {
    if (!values.cnn) throw new Error('--cnn is required');
    const hf = JSON.parse(readFileSync(join(values.work, 'summaries-hf.json'), 'utf8'));
    const arts = readFileSync(values.cnn, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    const dir = await engineFrom(join(values.work, 'gpt2-medium', 'hf'), 'float16', 'float16', { max_batch_size: 16, max_input_len: 923, max_output_len: 100, ...IFB }, 'sum');
    const e = await Engine.load(dir, { ...cudaOpts(), tokenizer: 'gpt2' });
    const tok = e.tokenizer;
    const prompts = arts.map((a) => tok.encode(`${a.article} TL;DR: `.trim().replaceAll(" n't", "n't")).slice(-923));
    const n = Math.min(arts.length, Number(values.articles ?? arts.length));
    arts.length = n;
    hf.rows.length = n;
    const t0 = performance.now();
    const ours = [];
    for (let i = 0; i < n; i += 16) {
      const t1 = performance.now();
      const steps = e.steps;
      ours.push(...(await e.generate(prompts.slice(i, Math.min(n, i + 16)).map((tokens) => ({ tokens, maxNewTokens: 100, endId: 50256 })))));
      log(`  summarize: articles ${i}..${Math.min(n, i + 16) - 1}: ${secs(t1)} s, ${e.steps - steps} steps`);
    }
    const seconds = secs(t0);
    // HF's tokens decoded by the same tokenizer (skip_special_tokens: the trailing <|endoftext|>)
    const hfText = hf.rows.map((r) => tok.decode(r.tokens.filter((t) => t !== 50256)));
    const aggOurs = bootstrapAggregate(ours.map((r, i) => rougeScores(arts[i].highlights, r.text ?? '')));
    const aggHf = bootstrapAggregate(hfText.map((t, i) => rougeScores(arts[i].highlights, t)));
    const pick = (a) => Object.fromEntries(Object.entries(a).map(([k, s]) => [k, +(s.mid.fmeasure * 100).toFixed(4)]));
    const tokens = agreement(ours.map((r) => r.tokens), hf.rows.map((r) => r.tokens));
    e.dispose();
    const r1 = [pick(aggOurs).rouge1, pick(aggHf).rouge1];
    return { ok: Math.abs(r1[0] - r1[1]) <= 0.3, articles: arts.length, oursSeconds: seconds, hfSeconds: +hf.seconds.toFixed(2), rougeOurs: pick(aggOurs), rougeHf: pick(aggHf), rouge1Difference: +Math.abs(r1[0] - r1[1]).toFixed(4), tokens, sampleOurs: ours[0].text, sampleHf: hfText[0] };
  },
};

const wanted = values.stages.split(',').map((x) => x.trim()).filter(Boolean);
const unknown = wanted.filter((x) => !Object.hasOwn(stages, x));
if (unknown.length > 0 || wanted.length === 0) {
  console.error(`gpu-engine-suite: --stages: unknown stage ${unknown.map((x) => `'${x}'`).join(', ') || '(none given)'}; the stages are ${Object.keys(stages).join(', ')}`);
  process.exit(2);
}
const report = { device, date: new Date().toISOString(), node: process.version, stages: {} };
for (const name of wanted) {
  const t0 = performance.now();
  try {
    const r = await stages[name]();
    report.stages[name] = { seconds: secs(t0), ...r };
    log(`${name}: ${r.ok ? 'PASS' : 'FAIL'} ${JSON.stringify(r).slice(0, 600)}`);
  } catch (e) {
    report.stages[name] = { seconds: secs(t0), ok: false, error: `${e.name}: ${e.message}`, stack: e.stack };
    log(`${name}: ERROR ${e.stack}`);
  }
  writeFileSync(join(out, 'engine-suite.json'), JSON.stringify(report, null, 1));
}
rmSync(scratch, { recursive: true, force: true });
log(`engine suite on ${device}: ${Object.entries(report.stages).map(([k, v]) => `${k} ${v.ok ? 'pass' : 'FAIL'}`).join(', ')}`);
// exit 0 only when every stage asked for passed: a failed or crashed stage fails the command that ran it
process.exitCode = Object.values(report.stages).every((v) => v.ok === true) ? 0 : 1;
