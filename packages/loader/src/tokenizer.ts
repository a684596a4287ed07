/**
 * GPT-2 byte-level BPE (OpenAI's encoder.json + vocab.bpe = HF vocab.json + merges.txt, or
 * tokenizer.json), encode and decode as HF GPT2TokenizerFast does with add_prefix_space false:
 *   1. split off special tokens (`<|endoftext|>` and tokenizer.json's added tokens);
 *   2. pre-tokenize each piece with GPT-2's regex (contractions, letter runs, number runs, other
 *      symbol runs, each with an optional leading space, then whitespace);
 *   3. map each UTF-8 byte to its printable stand-in character (bytes_to_unicode);
 *   4. merge adjacent symbols by merge rank, lowest first, until no pair has a rank;
 *   5. look up each symbol's id.
 * Decoding inverts 5 → 3 and decodes UTF-8 with U+FFFD for invalid sequences (errors='replace').
 *
 * Without tokenizer files, `Gpt2Tokenizer.gpt2()` uses OpenAI's GPT-2 ranks (token bytes → rank), as
 * the js-tiktoken npm package ships them, kept in this package's data/gpt2-ranks.json.gz. A ranks table has no merge list: the rank of a pair is
 * the rank of the token its concatenation makes (tiktoken's rule). For GPT-2 this equals merges.txt
 * (token 256 + i is made by merge i, and a merged token's rank exceeds both parts'), checked on the
 * whole sotu validation set and the hard-case corpus.
 *
 * From tokenizer.json the pre-tokenizer pipeline is read, not assumed: `ByteLevel` (use_regex, with or
 * without add_prefix_space) alone, or a `Sequence` of `Digits` (individual_digits: every digit its own
 * piece, as StarCoder's tokenizer does) then `ByteLevel`. Normalizers and other pre-tokenizers are
 * refused by name rather than silently encoded differently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { LoaderError } from './errors.js';
import { openTail, Utf8Stream } from './utf8-stream.js';

const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible byte → printable character map (bytes_to_unicode). */
function byteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  return out;
}

/** The pre-tokenization steps this tokenizer applies (GPT-2's: the byte-level regex only). */
export interface PreTokenizer {
  /** Split every Unicode digit into its own piece first (HF `Digits { individual_digits: true }`). */
  readonly individualDigits: boolean;
  /** Prepend a space to each piece that does not start with one (ByteLevel `add_prefix_space`). */
  readonly addPrefixSpace: boolean;
}
const GPT2_PRE: PreTokenizer = { individualDigits: false, addPrefixSpace: false };

interface PreTokenizerJson {
  type?: string;
  pretokenizers?: PreTokenizerJson[];
  individual_digits?: boolean;
  add_prefix_space?: boolean;
  use_regex?: boolean;
}

function preTokenizerOf(file: string, j: PreTokenizerJson | null | undefined): PreTokenizer {
  const refuse = (got: string): LoaderError =>
    new LoaderError('format', { file, item: 'pre_tokenizer', expected: 'ByteLevel (use_regex), or Sequence [Digits (individual_digits), ByteLevel]', got, hint: 'this tokenizer is not GPT-2 style byte-level BPE' });
  const byteLevel = (b: PreTokenizerJson | undefined): boolean => {
    if (b?.type !== 'ByteLevel' || b.use_regex === false) throw refuse(JSON.stringify(b));
    return b.add_prefix_space === true;
  };
  if (!j) return GPT2_PRE;
  if (j.type === 'ByteLevel') return { individualDigits: false, addPrefixSpace: byteLevel(j) };
  if (j.type === 'Sequence' && j.pretokenizers?.length === 2 && j.pretokenizers[0]?.type === 'Digits') {
    if (j.pretokenizers[0].individual_digits !== true) throw refuse('Digits without individual_digits');
    return { individualDigits: true, addPrefixSpace: byteLevel(j.pretokenizers[1]) };
  }
  throw refuse(JSON.stringify(j).slice(0, 120));
}

/** The ids a runtime needs without encoding strings: end of text, padding, beginning of text. */
export interface SpecialIds {
  /** End of sequence (GPT-2: <|endoftext|>); generation stops here by default. */
  readonly eos?: number;
  /** Padding (GPT-2 has none of its own: its eos, as HF and the seed's run.py use). */
  readonly pad?: number;
  /** Beginning of sequence, where the model has one. */
  readonly bos?: number;
}

/** Decodes a stream of ids piece by piece: text comes out only once its UTF-8 bytes are complete. */
export interface IncrementalDecoder {
  /** The text that `id` completes ('' while a multi-byte character is still open). */
  push(id: number): string;
  /** Whatever is still buffered, decoded with U+FFFD for an incomplete sequence. */
  flush(): string;
}

/**
 * What the engine and tools need from a tokenizer, whatever its model (GPT-2 byte-level BPE here;
 * sentencepiece for GPT-Next next): text ↔ ids, incremental decoding for streaming, the special
 * ids, the vocabulary size, and a name to record in the engine dir.
 */
export interface Tokenizer {
  /** 'gpt2-bpe', 'sentencepiece-bpe', 'sentencepiece-unigram' — what an engine dir records. */
  readonly kind: string;
  readonly vocabSize: number;
  readonly specialIds: SpecialIds;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  decoder(): IncrementalDecoder;
  /** One token as text on its own, for naming it (e.g. OpenAI's top_logprobs keys): GPT-2 its bytes decoded, sentencepiece its piece with ▁ as a space. */
  tokenText(id: number): string;
}

let gpt2Tokenizer: Gpt2Tokenizer | undefined;

export class Gpt2Tokenizer implements Tokenizer {
  readonly kind = 'gpt2-bpe';
  readonly #encoder: ReadonlyMap<string, number>;
  readonly #decoder: readonly string[];
  /** Merge rank of `a b`; undefined = never merged. */
  readonly #pairRank: (a: string, b: string) => number | undefined;
  readonly #special: ReadonlyMap<string, number>;
  readonly #specialSplit: RegExp | undefined;
  readonly #byteChar = byteToChar();
  readonly #charByte: ReadonlyMap<string, number>;
  readonly #cache = new Map<string, number[]>();
  /** Per id, filled as ids are decoded: a token's bytes, and its text (null: it leaves a character open). */
  readonly #tokenBytes: Uint8Array[] = [];
  readonly #tokenText: (string | null)[] = [];

  readonly #pre: PreTokenizer;

  /**
   * @param merges the merge list in rank order, or 'by-rank': a pair's rank is its concatenation's id (a tiktoken ranks table).
   */
  constructor(vocab: Readonly<Record<string, number>>, merges: readonly (readonly [string, string])[] | 'by-rank', special: Readonly<Record<string, number>> = {}, pre: PreTokenizer = GPT2_PRE) {
    this.#pre = pre;
    this.#encoder = new Map(Object.entries(vocab));
    const dec: string[] = [];
    for (const [tok, id] of this.#encoder) dec[id] = tok;
    this.#decoder = dec;
    if (merges === 'by-rank') {
      const enc = this.#encoder;
      this.#pairRank = (a, b) => enc.get(a + b);
    } else {
      const ranks = new Map(merges.map(([a, b], r) => [`${a} ${b}`, r]));
      this.#pairRank = (a, b) => ranks.get(`${a} ${b}`);
    }
    const sp = { ...special };
    if (vocab['<|endoftext|>'] !== undefined && sp['<|endoftext|>'] === undefined) sp['<|endoftext|>'] = vocab['<|endoftext|>'];
    this.#special = new Map(Object.entries(sp));
    for (const [tok, id] of this.#special) dec[id] = tok;
    const esc = [...this.#special.keys()].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#specialSplit = esc.length ? new RegExp(`(${esc.join('|')})`) : undefined;
    this.#charByte = new Map(this.#byteChar.map((c, b) => [c, b]));
  }

  /** From HF vocab.json + merges.txt. */
  static fromFiles(vocabFile: string, mergesFile: string): Gpt2Tokenizer {
    const read = (f: string): string => {
      try {
        return readFileSync(f, 'utf8');
      } catch (e) {
        throw new LoaderError('io', { file: f, expected: 'a readable tokenizer file', got: (e as Error).message });
      }
    };
    let vocab: Record<string, number>;
    try {
      vocab = JSON.parse(read(vocabFile)) as Record<string, number>;
    } catch (e) {
      if (e instanceof LoaderError) throw e;
      throw new LoaderError('format', { file: vocabFile, expected: 'a JSON token → id map', got: (e as Error).message });
    }
    const merges = read(mergesFile)
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#version'))
      .map((l, n) => {
        const parts = l.split(' ');
        if (parts.length !== 2) throw new LoaderError('format', { file: mergesFile, item: `line ${n + 2}`, expected: 'two symbols separated by one space', got: JSON.stringify(l) });
        return parts as [string, string];
      });
    return new Gpt2Tokenizer(vocab, merges);
  }

  /** From an HF tokenizer.json with a BPE model (vocab, merges, added tokens). */
  static fromTokenizerJson(file: string): Gpt2Tokenizer {
    let j: {
      model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
      added_tokens?: { id: number; content: string }[];
      normalizer?: { type?: string } | null;
      pre_tokenizer?: PreTokenizerJson | null;
    };
    try {
      j = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new LoaderError('format', { file, expected: 'tokenizer.json', got: (e as Error).message });
    }
    if (j.model?.type !== 'BPE' || !j.model.vocab || !j.model.merges) throw new LoaderError('format', { file, item: 'model', expected: 'a BPE model with vocab and merges', got: String(j.model?.type) });
    const merges = j.model.merges.map((m) => (typeof m === 'string' ? (m.split(' ') as [string, string]) : m));
    if (j.normalizer) throw new LoaderError('format', { file, item: 'normalizer', expected: 'none (byte-level BPE normalizes nothing)', got: String(j.normalizer.type) });
    const special = Object.fromEntries((j.added_tokens ?? []).map((t) => [t.content, t.id]));
    return new Gpt2Tokenizer(j.model.vocab, merges, special, preTokenizerOf(file, j.pre_tokenizer));
  }

  /** From a model directory: vocab.json + merges.txt, else tokenizer.json. */
  static fromDir(dir: string): Gpt2Tokenizer {
    if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) return Gpt2Tokenizer.fromFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
    if (existsSync(join(dir, 'tokenizer.json'))) return Gpt2Tokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'));
    throw new LoaderError('missing', { file: dir, expected: 'vocab.json + merges.txt, or tokenizer.json', got: 'neither', hint: 'for the stock GPT-2 vocabulary use Gpt2Tokenizer.gpt2()' });
  }

  /** From a tiktoken ranks table (`bpe_ranks`: lines `<tag> <first rank> <base64 token>…`, consecutive ranks). */
  static fromTiktokenRanks(ranks: { readonly bpe_ranks: string; readonly special_tokens: Readonly<Record<string, number>> }, source = 'tiktoken ranks'): Gpt2Tokenizer {
    const byteChar = byteToChar();
    const vocab: Record<string, number> = {};
    for (const line of ranks.bpe_ranks.split('\n')) {
      if (!line) continue;
      const [, first, ...tokens] = line.split(' ');
      const offset = Number(first);
      if (!Number.isInteger(offset)) throw new LoaderError('format', { file: source, item: 'bpe_ranks', expected: '`<tag> <rank> <base64 tokens>` lines', got: JSON.stringify(line.slice(0, 40)) });
      tokens.forEach((b64, i) => {
        vocab[Array.from(Buffer.from(b64, 'base64'), (b) => byteChar[b]!).join('')] = offset + i;
      });
    }
    return new Gpt2Tokenizer(vocab, 'by-rank', ranks.special_tokens);
  }

  /** OpenAI's GPT-2 vocabulary (50,257 tokens), shipped with this package (data/gpt2-ranks.json.gz): no model files needed. */
  static gpt2(): Gpt2Tokenizer {
    // read, inflate and parse the shipped ranks once per process (every Engine.load with 'gpt2' asks)
    gpt2Tokenizer ??= Gpt2Tokenizer.#readGpt2();
    return gpt2Tokenizer;
  }

  static #readGpt2(): Gpt2Tokenizer {
    const file = fileURLToPath(new URL('../data/gpt2-ranks.json.gz', import.meta.url));
    let ranks: { bpe_ranks: string; special_tokens: Record<string, number> };
    try {
      ranks = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as typeof ranks;
    } catch (e) {
      throw new LoaderError('format', { file, expected: "the GPT-2 ranks this package ships (gzip'd JSON)", got: (e as Error).message, hint: 'reinstall @trtllm/loader, or give a model directory with vocab.json + merges.txt' });
    }
    return Gpt2Tokenizer.fromTiktokenRanks(ranks, 'gpt2-ranks.json.gz');
  }

  get vocabSize(): number {
    return this.#decoder.length;
  }

  /** <|endoftext|> (when the vocabulary has it) as eos and, as HF GPT-2 and the seed's run.py do, as pad. */
  get specialIds(): SpecialIds {
    const eos = this.#special.get('<|endoftext|>');
    return eos === undefined ? {} : { eos, pad: eos };
  }

  /**
   * Streaming decode (utf8-stream.ts: TextDecoder's stream mode, which holds a character split across
   * tokens until it completes). A token that leaves no character open, met while none is open, is
   * its own text, decoded once per id and kept: most tokens cost one lookup.
   */
  decoder(): IncrementalDecoder {
    const utf8 = new Utf8Stream();
    return {
      push: (id) => {
        const tok = this.#token(id);
        if (this.#special.has(tok)) return utf8.flush() + tok;
        if (!utf8.open) {
          const whole = this.#wholeText(id, tok);
          if (whole !== undefined) return whole;
        }
        return utf8.push(this.#bytes(id, tok));
      },
      flush: () => utf8.flush(),
    };
  }

  /** A token's bytes (its byte-level characters mapped back), kept per id. */
  #bytes(id: number, tok: string): Uint8Array {
    return (this.#tokenBytes[id] ??= Uint8Array.from(tok, (ch) => this.#charByte.get(ch) ?? 0x3f));
  }

  /** A token's text when its bytes leave no character open (else undefined), kept per id. */
  #wholeText(id: number, tok: string): string | undefined {
    let t = this.#tokenText[id];
    if (t === undefined) {
      const b = this.#bytes(id, tok);
      t = this.#tokenText[id] = openTail(b) === b.length ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(b) : null;
    }
    return t ?? undefined;
  }

  /** The vocabulary string of an id, or a LoaderError naming it. */
  #token(id: number): string {
    const tok = this.#decoder[id];
    if (tok === undefined) throw new LoaderError('missing', { file: 'vocab', item: `id ${id}`, expected: `an id in [0, ${this.#decoder.length})`, got: 'none' });
    return tok;
  }

  #bpe(word: string): number[] {
    const hit = this.#cache.get(word);
    if (hit) return hit;
    let symbols = [...word];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = this.#pairRank(symbols[i]!, symbols[i + 1]!);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = [symbols[best]!, symbols[best + 1]!];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i]!);
      }
      symbols = merged;
    }
    const ids = symbols.map((s) => {
      const id = this.#encoder.get(s);
      if (id === undefined) throw new LoaderError('missing', { file: 'vocab', item: JSON.stringify(s), expected: 'a vocabulary entry for every merged symbol', got: 'none', hint: 'vocab.json and merges.txt do not belong together' });
      return id;
    });
    if (this.#cache.size < 100_000) this.#cache.set(word, ids);
    return ids;
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const pieces = this.#specialSplit ? text.split(this.#specialSplit) : [text];
    for (const piece of pieces) {
      const special = this.#special.get(piece);
      if (special !== undefined) {
        out.push(special);
        continue;
      }
      if (piece === '') continue;
      const parts = this.#pre.individualDigits ? piece.split(/(\p{N})/u).filter((x) => x !== '') : [piece];
      for (let part of parts) {
        if (this.#pre.addPrefixSpace && !part.startsWith(' ')) part = ` ${part}`;
        for (const m of part.matchAll(PRETOKENIZE)) {
          const word = Array.from(Buffer.from(m[0], 'utf8'), (b) => this.#byteChar[b]!).join('');
          out.push(...this.#bpe(word));
        }
      }
    }
    return out;
  }

  tokenText(id: number): string {
    return this.decode([id]);
  }

  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    let text = '';
    const flush = (): void => {
      text += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    };
    for (const id of ids) {
      const tok = this.#token(id);
      if (this.#special.has(tok)) {
        flush();
        text += tok;
        continue;
      }
      for (const byte of this.#bytes(id, tok)) bytes.push(byte);
    }
    flush();
    return text;
  }
}
