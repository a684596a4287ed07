#!/usr/bin/env node
// The summarize prompts of a cnn_dailymail-style jsonl as token ids (ARCHITECTURE.md, Compatibility with the seed: (article + ' TL;DR: ')
// .strip(), " n't" → "n't", the last 923 GPT-2 tokens), for HF's side of the summarize proof
// (scripts/fixtures/hf_engine_parity.py), so both sides generate from the very same ids.
//   node packages/engine/scripts/summarize-prompts.mjs ARTICLES.jsonl OUT.json
import { readFileSync, writeFileSync } from 'node:fs';
import { Gpt2Tokenizer } from '@trtllm/loader';

const [src, dst] = process.argv.slice(2);
const tok = Gpt2Tokenizer.gpt2();
const prompts = readFileSync(src, 'utf8').split('\n').filter((l) => l.trim()).map((l) => {
  const a = JSON.parse(l);
  return { id: a.id, ids: tok.encode(`${a.article} TL;DR: `.trim().replaceAll(" n't", "n't")).slice(-923) };
});
writeFileSync(dst, JSON.stringify({ source: src, prompts }));
console.log(`${prompts.length} prompts, ${prompts.reduce((s, p) => s + p.ids.length, 0)} tokens`);
