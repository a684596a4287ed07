// Peak memory and time of `trtllm convert` on a large checkpoint: writes a random-weight HF GPT-2
// checkpoint of the given shape (default gpt2-xl, 1.56 B parameters, fp32 safetensors = 6.2 GB),
// then converts it with the built CLI in child processes (float32 and float16 storage, 1 and 4
// worker threads, TP 1 and 2) and records each run's wall time and peak RSS (the process's
// maxRSS, worker threads included) against the checkpoint size.
//
//   npm run build && node scripts/bench-convert.mjs [--shape gpt2-xl] [--dir /tmp/trtllm-bench-convert]
//
// Writes docs/loader/bench-convert.json and .md. Needs ~2.2× the checkpoint size of free disk.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GPT_SHAPES } from '@trtllm/ref-math';

const { values } = parseArgs({ options: { shape: { type: 'string', default: 'gpt2-xl' }, dir: { type: 'string', default: '/tmp/trtllm-bench-convert' } } });
const shape = GPT_SHAPES[values.shape];
if (!shape) throw new Error(`--shape: one of ${Object.keys(GPT_SHAPES).join(', ')}`);
const dir = values.dir;
const src = join(dir, 'hf');
rmSync(dir, { recursive: true, force: true });
mkdirSync(src, { recursive: true });

// HF GPT2LMHeadModel names and Conv1D shapes, in save_pretrained's order.
const { vocabSize: v, nPositions: p, nEmbd: h, nLayer: l } = shape;
const tensors = [['transformer.wte.weight', [v, h]], ['transformer.wpe.weight', [p, h]]];
for (let n = 0; n < l; n++) {
  const q = `transformer.h.${n}.`;
  tensors.push([`${q}ln_1.weight`, [h]], [`${q}ln_1.bias`, [h]], [`${q}attn.c_attn.weight`, [h, 3 * h]], [`${q}attn.c_attn.bias`, [3 * h]], [`${q}attn.c_proj.weight`, [h, h]], [`${q}attn.c_proj.bias`, [h]]);
  tensors.push([`${q}ln_2.weight`, [h]], [`${q}ln_2.bias`, [h]], [`${q}mlp.c_fc.weight`, [h, 4 * h]], [`${q}mlp.c_fc.bias`, [4 * h]], [`${q}mlp.c_proj.weight`, [4 * h, h]], [`${q}mlp.c_proj.bias`, [h]]);
}
tensors.push(['transformer.ln_f.weight', [h]], ['transformer.ln_f.bias', [h]]);
const header = {};
let offset = 0;
for (const [name, s] of tensors) {
  const bytes = s.reduce((a, b) => a * b, 1) * 4;
  header[name] = { dtype: 'F32', shape: s, data_offsets: [offset, offset + bytes] };
  offset += bytes;
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (json.length % 8)) % 8);
const t0 = performance.now();
const fd = openSync(join(src, 'model.safetensors'), 'w');
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(json.length));
writeSync(fd, len);
writeSync(fd, json);
// 16 MiB of N(0, 0.02)-ish values reused: conversion cost does not depend on the values
const chunk = new Float32Array(4 * 2 ** 20);
let s = 12345;
for (let i = 0; i < chunk.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  chunk[i] = ((s / 2 ** 32) - 0.5) * 0.07;
}
const cb = Buffer.from(chunk.buffer);
for (let left = offset; left > 0; left -= Math.min(left, cb.length)) writeSync(fd, cb, 0, Math.min(left, cb.length));
closeSync(fd);
writeFileSync(join(src, 'config.json'), JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: v, n_positions: p, n_embd: h, n_layer: l, n_head: shape.nHead, n_inner: null, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true }, null, 2));
const writeSeconds = (performance.now() - t0) / 1000;
const params = offset / 4;
console.log(`${values.shape}: ${(params / 1e9).toFixed(3)} B parameters, ${(offset / 2 ** 30).toFixed(2)} GiB fp32 safetensors written in ${writeSeconds.toFixed(1)} s`);

const runs = [];
// the smallest TP > 1 that divides the heads and the MLP width (gpt2-xl has 25 heads: 5)
const tpSplit = [2, 3, 4, 5, 6, 7, 8].find((t) => shape.nHead % t === 0 && (4 * h) % t === 0);
for (const [storage, procs, tp] of [['float32', 1, 1], ['float16', 1, 1], ['float16', 4, 1], ['float16', 4, tpSplit]]) {
  const out = join(dir, `ft-${storage}-p${procs}-tp${tp}`);
  const start = performance.now();
  const r = spawnSync(process.execPath, ['tools/bin/trtllm.js', 'convert', '-i', src, '-o', out, '-t', storage, '-p', String(procs), '-tp', String(tp)], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`convert failed: ${r.stderr}`);
  const m = /peak RSS (\d+) MiB/.exec(r.stdout);
  const written = /([\d.]+) MiB (float32|float16)/.exec(r.stdout);
  const run = { storage, processes: procs, tp, seconds: +seconds.toFixed(2), peakRssMiB: Number(m[1]), outputMiB: Number(written[1]), inputMiB: +(offset / 2 ** 20).toFixed(1), rssOverInput: +(Number(m[1]) / (offset / 2 ** 20)).toFixed(3) };
  runs.push(run);
  console.log(JSON.stringify(run));
  rmSync(out, { recursive: true, force: true });
}
rmSync(dir, { recursive: true, force: true });

const machine = `${cpus().length} × ${cpus()[0].model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
const result = { shape: values.shape, parameters: params, inputBytes: offset, machine, date: new Date().toISOString().slice(0, 10), runs };
mkdirSync('docs/loader', { recursive: true });
writeFileSync('docs/loader/bench-convert.json', JSON.stringify(result, null, 1) + '\n');
const md = [
  `# trtllm convert on a ${values.shape}-shape checkpoint (${(params / 1e9).toFixed(2)} B parameters, ${(offset / 2 ** 30).toFixed(2)} GiB fp32 safetensors)`,
  '',
  `Machine: ${machine}. Date: ${result.date}. Made by \`node scripts/bench-convert.mjs --shape ${values.shape}\`.`,
  'Peak RSS is the converting process\'s maxRSS (worker threads included); the checkpoint is streamed one tensor at a time.',
  '',
  '| storage | -p | -tp | wall s | peak RSS MiB | output MiB | peak RSS ÷ checkpoint |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...runs.map((r) => `| ${r.storage} | ${r.processes} | ${r.tp} | ${r.seconds} | ${r.peakRssMiB} | ${r.outputMiB} | ${r.rssOverInput} |`),
  '',
].join('\n');
writeFileSync('docs/loader/bench-convert.md', md);
console.log(md);
