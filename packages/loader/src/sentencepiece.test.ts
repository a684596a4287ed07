// sentencepiece exact to Google's library: ids, pieces and decoded text of sentencepiece 0.1.97
// (scripts/fixtures/nemo_fixtures.py) for a hard-case corpus — unicode, byte fallback, whitespace runs,
// digits, control and user-defined symbols, the empty string, NFKC-folded forms — on a BPE model
// (identity normalization, whitespace kept) and a unigram model (nmt_nfkc charsmap, byte fallback).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LoaderError } from './errors.js';
import { parseSentencePieceModel, SentencePieceTokenizer } from './sentencepiece.js';
import { openTokenizer } from './tokenizer-files.js';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/sentencepiece');

interface ModelRef {
  vocab_size: number;
  bos: number;
  eos: number;
  unk: number;
  pad: number;
  ids: number[][];
  pieces: string[][];
  decoded: string[];
  random_ids: number[][];
  random_decoded: string[];
}
const REF = JSON.parse(readFileSync(resolve(DIR, 'cases.json'), 'utf8')) as { sentencepiece: string; cases: string[]; models: Record<string, ModelRef> };

describe.each(Object.keys(REF.models))('sentencepiece %s = sentencepiece 0.1.97', (name) => {
  const ref = REF.models[name]!;
  const sp = SentencePieceTokenizer.fromFile(resolve(DIR, `${name}.model`));

  it('has the vocabulary size and special ids of the library', () => {
    expect(sp.vocabSize).toBe(ref.vocab_size);
    expect(sp.specialIds).toEqual({ bos: ref.bos, eos: ref.eos, pad: ref.pad >= 0 ? ref.pad : ref.eos });
    expect(sp.kind).toBe(name.startsWith('bpe') ? 'sentencepiece-bpe' : 'sentencepiece-unigram');
  });

  it(`encodes all ${REF.cases.length} cases to the same ids and pieces`, () => {
    const wrong = REF.cases.flatMap((text, i) => {
      const ids = sp.encode(text);
      const pieces = ids.map((id) => sp.piece(id)); // both models fall back to bytes: no unknown pieces
      return JSON.stringify(ids) === JSON.stringify(ref.ids[i]) && JSON.stringify(pieces) === JSON.stringify(ref.pieces[i]) ? [] : [{ text, ids, want: ref.ids[i], pieces, wantPieces: ref.pieces[i] }];
    });
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it('decodes the ids of every case, and random id sequences (invalid UTF-8 among them), to the same text', () => {
    expect(REF.cases.map((_, i) => sp.decode(ref.ids[i]!))).toEqual(ref.decoded);
    expect(ref.random_ids.map((ids) => sp.decode(ids))).toEqual(ref.random_decoded);
  });

  it('decodes incrementally: the pushes and the flush join to decode(all), a character split over byte pieces arriving whole', () => {
    for (const ids of [...ref.ids, ...ref.random_ids]) {
      const d = sp.decoder();
      const parts = ids.map((id) => d.push(id));
      expect(parts.join('') + d.flush()).toBe(sp.decode(ids));
    }
  });
});

describe('sentencepiece edge cases', () => {
  const bpe = SentencePieceTokenizer.fromFile(resolve(DIR, 'bpe-identity-uds.model'));
  const uni = SentencePieceTokenizer.fromFile(resolve(DIR, 'unigram-nfkc-bf-uds.model'));

  it('falls back to byte pieces for characters outside the vocabulary, and reassembles them', () => {
    const ids = bpe.encode('😀');
    expect(ids.map((id) => bpe.piece(id))).toEqual(['<0xF0>', '<0x9F>', '<0x98>', '<0x80>']);
    expect(bpe.decode(ids)).toBe('😀');
    const d = bpe.decoder();
    expect(ids.map((id) => d.push(id))).toEqual(['', '', '', '😀']);
  });

  it('keeps user-defined symbols whole and control symbols out of the text', () => {
    expect(bpe.encodeAsPieces('x<sep>y').map(([, id]) => bpe.piece(id))).toContain('<sep>');
    const ctrl = uni.model.pieces.findIndex((p) => p.piece === '<ctrl>');
    expect(uni.decode([ctrl, ...uni.encode('hello')])).toBe('hello');
  });

  it('folds NFKC forms with the nmt_nfkc charsmap, and leaves them with identity normalization', () => {
    expect(uni.decode(uni.encode('ＡＢＣ ﬁ'))).toBe('ABC fi');
    expect(bpe.decode(bpe.encode('ＡＢＣ ﬁ'))).toBe('ＡＢＣ ﬁ');
  });

  it('refuses what is not a sentencepiece model, naming the file', () => {
    expect(() => SentencePieceTokenizer.fromBytes(new TextEncoder().encode('{"a": 1}'), 'vocab.json')).toThrow(LoaderError);
    expect(() => SentencePieceTokenizer.fromBytes(new Uint8Array([0x0a, 0x40, 0x01]), 'x.model')).toThrow(/x\.model.*truncated|x\.model.*past the end/);
    expect(() => SentencePieceTokenizer.fromBytes(new Uint8Array(), 'empty.model')).toThrow(/empty\.model: pieces: expected a vocabulary/);
    expect(() => SentencePieceTokenizer.fromFile('/nonexistent/tokenizer.model')).toThrow(/\/nonexistent\/tokenizer\.model/);
  });

  it('checks a model the way the library does: byte pieces need byte_fallback, exactly one unknown piece', () => {
    const m = parseSentencePieceModel(readFileSync(resolve(DIR, 'bpe-identity-uds.model')), 'bpe.model');
    expect(m.byteFallback).toBe(true);
    expect(m.pieces.filter((p) => p.type === 2)).toHaveLength(1);
    // flip byte_fallback off (trainer_spec field 35): the byte pieces are then refused
    const bytes = Uint8Array.from(readFileSync(resolve(DIR, 'bpe-identity-uds.model')));
    const at = findField35(bytes);
    bytes[at + 2] = 0;
    expect(() => SentencePieceTokenizer.fromBytes(bytes, 'bpe.model')).toThrow(/no byte pieces \(byte_fallback is off\)/);
  });

  it('an id past the vocabulary (NeMo pads the model vocabulary) reads as the unknown surface; a negative id is refused', () => {
    expect(bpe.decode([...bpe.encode('ok'), bpe.vocabSize + 3])).toBe('ok \u2047 ');
    expect(() => bpe.decode([-1])).toThrow(/id -1: expected a token id ≥ 0/);
  });

  it('names one token by its piece, ▁ as a space (OpenAI top_logprobs keys)', () => {
    const id = uni.model.pieces.findIndex((p) => p.piece.startsWith('\u2581') && p.piece.length > 2);
    expect(uni.tokenText(id)).toBe(` ${uni.piece(id).slice(1)}`);
    expect(uni.tokenText(uni.vocabSize + 1)).toBe(' \u2047 ');
  });

  it('opens a tokenizer directory or file by what it holds', () => {
    expect(openTokenizer(resolve(DIR, 'unigram-nfkc-bf-uds.model')).kind).toBe('sentencepiece-unigram');
  });
});

/** Offset of trainer_spec's `byte_fallback` varint key (field 35, wire 0: bytes 0x98 0x02) inside the model. */
function findField35(b: Uint8Array): number {
  for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0x98 && b[i + 1] === 0x02 && b[i + 2] === 1) return i;
  throw new Error('no byte_fallback field');
}
