/**
 * Which tokenizer a file or directory holds: a sentencepiece `tokenizer.model` (GPT-Next), or GPT-2
 * BPE (`vocab.json` + `merges.txt`, or `tokenizer.json`).
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LoaderError } from './errors.js';
import { SentencePieceTokenizer } from './sentencepiece.js';
import { Gpt2Tokenizer, type Tokenizer } from './tokenizer.js';

/** The file names a tokenizer directory may hold, in the order they are looked for. */
export const TOKENIZER_FILES = ['tokenizer.model', 'vocab.json', 'merges.txt', 'tokenizer.json'] as const;

/** A tokenizer from a directory (tokenizer.model, else GPT-2 BPE files) or a file (`--vocab_file`: a sentencepiece model or a tokenizer.json). */
export function openTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new LoaderError('io', { file: path, expected: 'a tokenizer directory or file', got: 'no such file or directory' });
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'tokenizer.model'))) return SentencePieceTokenizer.fromFile(join(path, 'tokenizer.model'));
    return Gpt2Tokenizer.fromDir(path);
  }
  const name = basename(path);
  if (name === 'vocab.json' || name === 'merges.txt') {
    throw new LoaderError('format', { file: path, expected: 'a tokenizer file on its own (tokenizer.model or tokenizer.json)', got: `${name}, one half of a GPT-2 vocabulary`, hint: `pass the directory holding vocab.json and merges.txt: ${dirname(path)}` });
  }
  if (name.endsWith('.json')) return Gpt2Tokenizer.fromTokenizerJson(path);
  return SentencePieceTokenizer.fromFile(path);
}
