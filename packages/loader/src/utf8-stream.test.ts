// Utf8Stream and the GPT-2 decoder built on it against TextDecoder's stream mode itself: the same text
// after every push and at the end, for byte runs drawn around UTF-8's edges (leads of every length,
// E0 / ED / F0 / F4 second-byte limits, C0 / C1 / F5–FF, stray continuations) and for random ids of
// the whole GPT-2 vocabulary.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Gpt2Tokenizer } from './tokenizer.js';
import { openTail, Utf8Stream } from './utf8-stream.js';

/** mulberry32: a seeded stream of uint32 for reproducible draws. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// bytes that decide UTF-8's cases: ASCII, continuations at both ends, every kind of lead and non-lead,
// and EF BB BF (a byte-order mark: text here, kept wherever it comes)
const EDGE = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbb, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];

describe('Utf8Stream', () => {
  it('gives TextDecoder stream mode’s text after every push and at the end (20,000 random runs of byte tokens)', () => {
    const next = rng(7);
    let pushes = 0;
    let held = 0;
    for (let run = 0; run < 20000; run++) {
      const ours = new Utf8Stream();
      const theirs = new TextDecoder('utf-8', { ignoreBOM: true });
      const tokens = 1 + (next() % 6);
      for (let t = 0; t < tokens; t++) {
        const b = Uint8Array.from({ length: 1 + (next() % 4) }, () => EDGE[next() % EDGE.length]!);
        expect(ours.push(b), `run ${run} token ${t} [${b.join(' ')}]`).toBe(theirs.decode(b, { stream: true }));
        pushes++;
        if (ours.open) held++;
      }
      expect(ours.flush(), `run ${run} end`).toBe(theirs.decode());
      expect(ours.open).toBe(false);
    }
    expect(pushes).toBeGreaterThan(60000);
    expect(held).toBeGreaterThan(5000); // the draws do leave characters open
  });
  it('openTail: where an unfinished character starts, or the end', () => {
    const at = (...b: number[]): number => openTail(Uint8Array.from(b));
    expect([at(), at(0x41), at(0xe2, 0x82, 0xac)]).toEqual([0, 1, 3]); // nothing open
    expect([at(0x41, 0xe2), at(0x41, 0xe2, 0x82), at(0xf0, 0x9f, 0x98)]).toEqual([1, 1, 0]); // open at the lead
    expect([at(0xe0, 0x80), at(0xed, 0xa0), at(0xf4, 0x90), at(0xf5), at(0xc1)]).toEqual([2, 2, 2, 1, 1]); // invalid already: nothing held
  });
});

describe('the GPT-2 decoder on Utf8Stream', () => {
  it('gives TextDecoder stream mode’s text for 2,000 runs of random ids of the whole vocabulary', () => {
    // the reference bytes of every id: the shipped tiktoken ranks hold each token's raw bytes (base64)
    const ranks = JSON.parse(gunzipSync(readFileSync(new URL('../data/gpt2-ranks.json.gz', import.meta.url))).toString('utf8')) as { bpe_ranks: string };
    const bytesOf: Uint8Array[] = [];
    for (const line of ranks.bpe_ranks.split('\n').filter(Boolean)) {
      const [, first, ...tokens] = line.split(' ');
      tokens.forEach((b64, i) => (bytesOf[Number(first) + i] = Uint8Array.from(Buffer.from(b64, 'base64'))));
    }
    expect(bytesOf.length).toBe(50256);
    const tok = Gpt2Tokenizer.gpt2();
    const next = rng(11);
    let open = 0;
    for (let run = 0; run < 2000; run++) {
      const d = tok.decoder();
      const ref = new TextDecoder('utf-8', { ignoreBOM: true });
      for (let t = 0; t < 12; t++) {
        const id = next() % 50256; // <|endoftext|> (50256) aside: a special token flushes
        const text = d.push(id);
        expect(text, `run ${run} id ${id}`).toBe(ref.decode(bytesOf[id]!, { stream: true }));
        if (text === '' && bytesOf[id]!.length > 0) open++;
      }
      expect(d.flush()).toBe(ref.decode());
    }
    expect(open).toBeGreaterThan(50); // ids that leave a character open were drawn (85 with these seeds)
  });
  it('keeps byte-order marks, as decode does: a BOM split over tokens, at the start and inside', () => {
    const tok = Gpt2Tokenizer.gpt2();
    for (const text of ['a\ufeffb \ufeff', '\ufeffstart', 'x\ufeff\ufeff']) {
      const ids = tok.encode(text);
      const d = tok.decoder();
      expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe(tok.decode(ids));
      expect(tok.decode(ids)).toBe(text);
    }
  });
});
