import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SHARED_DIR, sharedData } from '@trtllm/ref-math/testing';
import { Gpt2Tokenizer } from './tokenizer.js';

const vocab = sharedData('models/sotu-gpt2-16m/vocab.json');
const dir = dirname(vocab.path);
const shared = SHARED_DIR;

describe.skipIf(vocab.skip)(vocab.title('GPT-2 BPE (real GPT-2 vocab.json + merges.txt)'), () => {
  const tok = vocab.skip ? undefined : Gpt2Tokenizer.fromDir(dir);
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

// Hard cases encoded and decoded by HF GPT2TokenizerFast (tokenizers 0.23) on the GPU machine:
// scripts/fixtures/hf_tiny_fixtures.py → fixtures/tiny/tokenizers/hard-cases.json.
interface HardCase {
  text: string;
  ids: number[];
  decoded: string;
}
const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/tiny/tokenizers');
const hard = JSON.parse(readFileSync(resolve(fixtures, 'hard-cases.json'), 'utf8')) as { gpt2_sotu: HardCase[]; starcoder_style: HardCase[] };

describe.skipIf(vocab.skip)(vocab.title('GPT-2 BPE equals HF GPT2TokenizerFast on the hard-case corpus'), () => {
  it(`${hard.gpt2_sotu.length} cases: unicode, emoji/ZWJ, whitespace runs, CRLF, numbers, contractions, <|endoftext|> in context, control chars`, () => {
    for (const dirTok of [Gpt2Tokenizer.fromDir(dir), Gpt2Tokenizer.fromTokenizerJson(resolve(dir, 'tokenizer.json'))]) {
      for (const c of hard.gpt2_sotu) {
        expect(dirTok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
        expect(dirTok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
      }
    }
  });
});

describe('StarCoder-style tokenizer.json (Sequence [Digits individual, ByteLevel]) equals HF', () => {
  const tok = Gpt2Tokenizer.fromTokenizerJson(resolve(fixtures, 'starcoder-style.tokenizer.json'));
  it(`${hard.starcoder_style.length} cases incl. FIM special tokens and digit runs`, () => {
    for (const c of hard.starcoder_style) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
    }
    // digits are single pieces even where the byte-level regex would group them
    const ids = tok.encode('x = 1234567890');
    expect(tok.decode(ids.slice(-10))).toBe('1234567890');
    expect(ids.slice(-10).every((i) => /^\d$/.test(tok.decode([i])))).toBe(true);
  });
  it('refuses what it does not implement: a normalizer, an unknown pre-tokenizer', () => {
    const base = JSON.parse(readFileSync(resolve(fixtures, 'starcoder-style.tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const work = mkdtempSync(join(tmpdir(), 'trtllm-tok-'));
    const write = (patch: Record<string, unknown>): string => {
      const f = join(work, `${Object.keys(patch)[0]}.json`);
      writeFileSync(f, JSON.stringify({ ...base, ...patch }));
      return f;
    };
    expect(() => Gpt2Tokenizer.fromTokenizerJson(write({ normalizer: { type: 'NFKC' } }))).toThrow(/normalizer: expected none .*got NFKC/);
    expect(() => Gpt2Tokenizer.fromTokenizerJson(write({ pre_tokenizer: { type: 'Metaspace' } }))).toThrow(/pre_tokenizer: expected ByteLevel .*Metaspace/);
    rmSync(work, { recursive: true, force: true });
  });
});

describe('Gpt2Tokenizer.gpt2(): GPT-2 ranks shipped with the package, no model files', () => {
  const tok = Gpt2Tokenizer.gpt2();
  it('ships js-tiktoken’s GPT-2 ranks unchanged (data/gpt2-ranks.json.gz; js-tiktoken is a dev dependency only)', () => {
    const shipped = JSON.parse(gunzipSync(readFileSync(new URL('../data/gpt2-ranks.json.gz', import.meta.url))).toString('utf8')) as { bpe_ranks: string; special_tokens: Record<string, number> };
    const theirs = createRequire(import.meta.url)('js-tiktoken/ranks/gpt2') as { bpe_ranks: string; special_tokens: Record<string, number> };
    expect(shipped.special_tokens).toEqual(theirs.special_tokens);
    expect(shipped.bpe_ranks === theirs.bpe_ranks).toBe(true);
  });
  it('equals HF GPT2TokenizerFast on the hard-case corpus (merge rank = rank of the merged token)', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.encode('Hello world<|endoftext|>')).toEqual([15496, 995, 50256]);
    for (const c of hard.gpt2_sotu) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
    }
  });
  it.skipIf(vocab.skip)(vocab.title('equals vocab.json + merges.txt on every sotu validation document (93,903 ids)'), () => {
    const docs = readFileSync(resolve(shared, 'data/sotu/val.txt'), 'utf8').split(/\n?<\|doc\|>\n?/).filter((d) => d.trim().length > 0);
    const files = Gpt2Tokenizer.fromDir(dir);
    let n = 0;
    for (const d of docs) {
      const ids = tok.encode(d);
      expect(ids).toEqual(files.encode(d));
      n += ids.length + 1;
    }
    expect(n).toBe(93903);
  }, 60_000);
});

describe('the Tokenizer interface on GPT-2 BPE', () => {
  const tok = Gpt2Tokenizer.gpt2();
  it('special ids without encoding strings: <|endoftext|> is eos and pad', () => {
    expect(tok.kind).toBe('gpt2-bpe');
    expect(tok.specialIds).toEqual({ eos: 50256, pad: 50256 });
    expect(new Gpt2Tokenizer({ a: 0, b: 1 }, []).specialIds).toEqual({});
  });
  it('incremental decoding gives the whole decode, holding split UTF-8 characters until they complete', () => {
    for (const text of ['Hello world<|endoftext|> next', 'café 😀 — 日本語 👩‍👩‍👧 end', '\u00e9\u00e9\u00e9', 'a\ud83d\ude00b']) {
      const ids = tok.encode(text);
      const d = tok.decoder();
      const pieces = ids.map((id) => d.push(id));
      expect(pieces.join('') + d.flush()).toBe(tok.decode(ids));
      expect(pieces.every((p) => !p.includes('\ufffd'))).toBe(true); // never half a character
    }
    // 😀 is 4 UTF-8 bytes spread over several GPT-2 tokens: nothing comes out until the last
    const ids = tok.encode('😀');
    expect(ids.length).toBeGreaterThan(1);
    const d = tok.decoder();
    expect(ids.map((id) => d.push(id))).toEqual([...new Array(ids.length - 1).fill(''), '😀']);
  });
  it('an unfinished character is flushed as U+FFFD, like decode', () => {
    const [first] = tok.encode('😀');
    const d = tok.decoder();
    expect(d.push(first!)).toBe('');
    expect(d.flush()).toBe(tok.decode([first!]));
    expect(() => d.push(60000)).toThrow(/id 60000/);
  });
});
