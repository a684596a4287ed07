import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Gpt2Tokenizer } from './tokenizer.js';

const shared = process.env['TRTLLM_SHARED_DIR'] ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared');
const dir = resolve(shared, 'models/sotu-gpt2-16m');
const present = existsSync(resolve(dir, 'vocab.json'));

describe.skipIf(!present)(present ? 'GPT-2 BPE (real GPT-2 vocab.json + merges.txt)' : `GPT-2 BPE (skipped: ${dir} not found)`, () => {
  const tok = present ? Gpt2Tokenizer.fromDir(dir) : undefined;
  it('encodes known GPT-2 ids and special tokens', () => {
    expect(tok!.encode('Hello world')).toEqual([15496, 995]);
    expect(tok!.encode('<|endoftext|>')).toEqual([50256]);
    expect(tok!.encode('a<|endoftext|>b')).toEqual([64, 50256, 65]);
    expect(tok!.vocabSize).toBe(50257);
  });
  it('round-trips hard text exactly: unicode, emoji, whitespace runs, numbers, contractions', () => {
    for (const s of ['naïve café — “quotes”', '🦄🏳️‍🌈 emoji', 'tabs\tand  \n\n  spaces   ', '3.14159 and 1,000,000', "don't can't we'll I'M", '日本語のテキスト', ' leading space', '']) {
      expect(tok!.decode(tok!.encode(s))).toBe(s);
    }
  });
  it('decodes invalid UTF-8 byte sequences with U+FFFD, as errors="replace"', () => {
    const [first] = tok!.encode('é'); // one token for the two UTF-8 bytes C3 A9
    const ids = tok!.encode('🦄'); // several byte tokens
    expect(tok!.decode([ids[0]!])).toContain('\ufffd');
    expect(tok!.decode([first!])).toBe('é');
  });
  it('rejects an unknown id with a typed error', () => {
    expect(() => tok!.decode([60000])).toThrow(/id 60000: expected an id in \[0, 50257\)/);
  });
});
