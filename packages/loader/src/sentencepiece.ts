/**
 * sentencepiece (`tokenizer.model`, GPT-Next / NeMo), read and run without the C++ library, with the
 * same ids, pieces and text as Google's sentencepiece (checked against 0.1.97's on committed
 * fixtures: BPE and unigram models, nmt_nfkc and identity normalization, byte fallback, user-defined
 * and control symbols). Why our own: the WASM builds of the library are exact but expose neither the
 * vocabulary, the special ids nor the piece types a Tokenizer needs, and fail silently on a bad model
 * (README, design notes).
 *
 * A model file is a protobuf `ModelProto` (sentencepiece_model.proto):
 *   1 pieces (repeated: 1 piece, 2 score float, 3 type)   the id is the index
 *   2 trainer_spec (3 model_type, 24 treat_whitespace_as_suffix, 35 byte_fallback, 44 unk_surface,
 *                   45–48 unk / bos / eos / pad piece)
 *   3 normalizer_spec (1 name, 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces,
 *                      5 escape_whitespaces)                5 denormalizer_spec (refused if present)
 *
 * Encoding, step by step:
 *   1. normalize (UTF-8 bytes): user-defined symbols pass through; else the longest key of the
 *      precompiled charsmap (a darts-clone double array) is replaced by its string; else one UTF-8
 *      character (an invalid byte → U+FFFD). Extra spaces are dropped, `▁` marks each space, and one
 *      `▁` goes in front (add_dummy_prefix).
 *   2. BPE: start from characters (user-defined symbols frozen whole); repeatedly merge the adjacent
 *      pair whose concatenation is the highest-scoring piece (ties: leftmost); an UNUSED piece is split
 *      back into the pair it came from.
 *      Unigram: Viterbi over every piece matching at every character, scores summed as the C++ does
 *      (double sums stored as float32; an unknown character scores min − 10).
 *   3. ids: an unknown piece becomes its bytes' `<0xXX>` pieces with byte_fallback, else one unk id
 *      per run of unknowns.
 * Decoding: pieces joined with `▁` → space, the first leading `▁` dropped (all of them when extra
 * whitespace is removed), control pieces empty, byte pieces gathered into UTF-8 (one U+FFFD per
 * byte that does not start a valid character).
 */
import { readFileSync } from 'node:fs';
import { LoaderError } from './errors.js';
import type { IncrementalDecoder, SpecialIds, Tokenizer } from './tokenizer.js';

/** SentencePiece.Type */
export const PIECE_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
type PieceType = (typeof PIECE_TYPE)[keyof typeof PIECE_TYPE];

export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  readonly type: PieceType;
}

export interface SentencePieceModel {
  readonly pieces: readonly SentencePiece[];
  readonly modelType: 'unigram' | 'bpe';
  readonly byteFallback: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
  readonly unkSurface: string;
  readonly unkPiece: string;
  readonly bosPiece: string;
  readonly eosPiece: string;
  readonly padPiece: string;
  readonly normalizer: {
    readonly name: string;
    readonly charsmap?: Uint8Array;
    readonly addDummyPrefix: boolean;
    readonly removeExtraWhitespaces: boolean;
    readonly escapeWhitespaces: boolean;
  };
}

const SPACE = '\u2581'; // ▁
const SPACE_BYTES = [0xe2, 0x96, 0x81];
/** Model strings may start with U+FEFF (a real piece in some vocabularies): keep it. */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const encoder = new TextEncoder();

// ---------------------------------------------------------------- the protobuf reader

/** One field of a protobuf message: number, wire type and its value (a varint, or bytes). */
interface Field {
  readonly n: number;
  readonly varint?: bigint;
  readonly bytes?: Uint8Array;
}

function* fields(buf: Uint8Array, file: string, what: string): Generator<Field> {
  let p = 0;
  const fail = (why: string): never => {
    throw new LoaderError('format', { file, item: what, expected: 'a sentencepiece ModelProto (protobuf)', got: `${why} at byte ${p}`, hint: '--vocab_file must be a sentencepiece tokenizer.model' });
  };
  const varint = (): bigint => {
    let r = 0n;
    for (let s = 0n; s < 70n; s += 7n) {
      if (p >= buf.length) fail('a truncated varint');
      const b = buf[p++]!;
      r |= BigInt(b & 0x7f) << s;
      if (!(b & 0x80)) return r;
    }
    return fail('an over-long varint');
  };
  const take = (len: number): Uint8Array => {
    if (p + len > buf.length) fail(`a field of ${len} bytes past the end`);
    const b = buf.subarray(p, p + len);
    p += len;
    return b;
  };
  while (p < buf.length) {
    const key = Number(varint());
    const n = key >>> 3;
    const wire = key & 7;
    if (n === 0) fail('field number 0');
    if (wire === 0) yield { n, varint: varint() };
    else if (wire === 1) yield { n, bytes: take(8) };
    else if (wire === 2) yield { n, bytes: take(Number(varint())) };
    else if (wire === 5) yield { n, bytes: take(4) };
    else fail(`wire type ${wire}`);
  }
}

/** Parse a ModelProto and run the C++ loader's checks. */
export function parseSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  const pieces: SentencePiece[] = [];
  let modelType = 1;
  let byteFallback = false;
  let suffix = false;
  let unkSurface = ' \u2047 ';
  const names = { unk: '<unk>', bos: '<s>', eos: '</s>', pad: '<pad>' };
  let normalizer: SentencePieceModel['normalizer'] = { name: '', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
  const text = (b: Uint8Array | undefined): string => utf8.decode(b ?? new Uint8Array());
  for (const f of fields(bytes, file, 'ModelProto')) {
    if (f.n === 1 && f.bytes) {
      let piece = '';
      let score = 0;
      let type = 1;
      for (const g of fields(f.bytes, file, `pieces[${pieces.length}]`)) {
        if (g.n === 1) piece = text(g.bytes);
        else if (g.n === 2 && g.bytes?.length === 4) score = new DataView(g.bytes.buffer, g.bytes.byteOffset, 4).getFloat32(0, true);
        else if (g.n === 3 && g.varint !== undefined) type = Number(g.varint);
      }
      if (type < 1 || type > 6) throw new LoaderError('format', { file, item: `pieces[${pieces.length}] (${JSON.stringify(piece)})`, expected: 'a piece type 1–6', got: String(type) });
      pieces.push({ piece, score, type: type as PieceType });
    } else if (f.n === 2 && f.bytes) {
      for (const g of fields(f.bytes, file, 'trainer_spec')) {
        if (g.n === 3 && g.varint !== undefined) modelType = Number(g.varint);
        else if (g.n === 24 && g.varint !== undefined) suffix = g.varint !== 0n;
        else if (g.n === 35 && g.varint !== undefined) byteFallback = g.varint !== 0n;
        else if (g.n === 44) unkSurface = text(g.bytes);
        else if (g.n === 45) names.unk = text(g.bytes);
        else if (g.n === 46) names.bos = text(g.bytes);
        else if (g.n === 47) names.eos = text(g.bytes);
        else if (g.n === 48) names.pad = text(g.bytes);
      }
    } else if (f.n === 3 && f.bytes) {
      const n = { name: '', charsmap: undefined as Uint8Array | undefined, addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
      for (const g of fields(f.bytes, file, 'normalizer_spec')) {
        if (g.n === 1) n.name = text(g.bytes);
        else if (g.n === 2 && g.bytes && g.bytes.length > 0) n.charsmap = g.bytes;
        else if (g.n === 3 && g.varint !== undefined) n.addDummyPrefix = g.varint !== 0n;
        else if (g.n === 4 && g.varint !== undefined) n.removeExtraWhitespaces = g.varint !== 0n;
        else if (g.n === 5 && g.varint !== undefined) n.escapeWhitespaces = g.varint !== 0n;
      }
      const { charsmap, ...rest } = n;
      normalizer = charsmap ? { ...rest, charsmap } : rest;
    } else if (f.n === 5 && f.bytes && f.bytes.length > 0) {
      for (const g of fields(f.bytes, file, 'denormalizer_spec')) {
        if (g.n === 2 && g.bytes && g.bytes.length > 0) throw new LoaderError('format', { file, item: 'denormalizer_spec', expected: 'no denormalization rules', got: 'a precompiled denormalizer', hint: 'models with denormalization rules are not read' });
      }
    }
  }
  const bad = (item: string, expected: string, got: string): never => {
    throw new LoaderError('format', { file, item, expected, got, hint: '--vocab_file must be a sentencepiece tokenizer.model' });
  };
  if (pieces.length === 0) bad('pieces', 'a vocabulary', 'none');
  if (modelType !== 1 && modelType !== 2) bad('trainer_spec.model_type', '1 (unigram) or 2 (bpe)', `${modelType}${modelType === 3 ? ' (word)' : modelType === 4 ? ' (char)' : ''}`);
  const seen = new Set<string>();
  let unknowns = 0;
  const bytesSeen = new Set<string>();
  pieces.forEach((p, id) => {
    if (p.piece.length === 0 || p.piece.includes('\0')) bad(`pieces[${id}]`, 'a non-empty piece without NUL', JSON.stringify(p.piece));
    if (seen.has(p.piece)) bad(`pieces[${id}]`, 'unique pieces', `${JSON.stringify(p.piece)} twice`);
    seen.add(p.piece);
    if (p.type === PIECE_TYPE.unknown) unknowns++;
    if (p.type === PIECE_TYPE.byte) {
      if (!byteFallback) bad(`pieces[${id}]`, 'no byte pieces (byte_fallback is off)', p.piece);
      if (!/^<0x[0-9A-F]{2}>$/.test(p.piece)) bad(`pieces[${id}]`, 'a byte piece <0xXX>', JSON.stringify(p.piece));
      bytesSeen.add(p.piece);
    }
  });
  if (unknowns !== 1) bad('pieces', 'exactly one unknown piece', String(unknowns));
  if (byteFallback && bytesSeen.size !== 256) bad('pieces', 'all 256 byte pieces <0x00>…<0xFF> (byte_fallback)', String(bytesSeen.size));
  return { pieces, modelType: modelType === 2 ? 'bpe' : 'unigram', byteFallback, treatWhitespaceAsSuffix: suffix, unkSurface, unkPiece: names.unk, bosPiece: names.bos, eosPiece: names.eos, padPiece: names.pad, normalizer };
}

// ---------------------------------------------------------------- UTF-8 as sentencepiece sees it

/** Bytes of the character a lead byte starts (clipped by the caller). */
function charLength(lead: number): number {
  return lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/** Length of the valid UTF-8 character at b[i] (no overlongs, surrogates or > U+10FFFF), or 0. */
function validCharLength(b: Uint8Array, i: number, end: number): number {
  const c0 = b[i]!;
  const left = end - i;
  const trail = (k: number): boolean => (b[i + k]! & 0xc0) === 0x80;
  const ok = (cp: number): boolean => cp < 0xd800 || (cp >= 0xe000 && cp <= 0x10ffff);
  if (c0 < 0x80) return 1;
  if (left >= 2 && (c0 & 0xe0) === 0xc0 && trail(1)) {
    const cp = ((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f);
    return cp >= 0x80 && ok(cp) ? 2 : 0;
  }
  if (left >= 3 && (c0 & 0xf0) === 0xe0 && trail(1) && trail(2)) {
    const cp = ((c0 & 0xf) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
    return cp >= 0x800 && ok(cp) ? 3 : 0;
  }
  if (left >= 4 && (c0 & 0xf8) === 0xf0 && trail(1) && trail(2) && trail(3)) {
    const cp = ((c0 & 7) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
    return cp >= 0x10000 && ok(cp) ? 4 : 0;
  }
  return 0;
}

/** Bytes → text, one U+FFFD per byte that does not start a valid character (sentencepiece's rule, not WHATWG's). */
function bytesToText(b: Uint8Array): string {
  let s = '';
  for (let o = 0; o < b.length; ) {
    const l = validCharLength(b, o, b.length);
    if (l === 0) {
      s += '\ufffd';
      o += 1;
    } else {
      s += utf8.decode(b.subarray(o, o + l));
      o += l;
    }
  }
  return s;
}

// ---------------------------------------------------------------- the normalizer's double array

/** darts-clone's double array: every key of the charsmap that is a prefix of the input, as (length, value). */
class DoubleArray {
  readonly #units: Uint32Array;
  constructor(bytes: Uint8Array) {
    this.#units = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }
  /** The longest key that prefixes b[start..]: [length, value], or undefined. */
  longestPrefix(b: Uint8Array, start: number): [number, number] | undefined {
    const a = this.#units;
    const offset = (u: number): number => (u >>> 10) << ((u & (1 << 9)) >>> 6);
    let pos = offset(a[0]!);
    let found: [number, number] | undefined;
    for (let i = start; i < b.length; i++) {
      const c = b[i]!;
      pos ^= c;
      const u = a[pos];
      if (u === undefined || ((u & 0x800000ff) >>> 0) !== c) break;
      pos ^= offset(u);
      if ((u >>> 8) & 1) found = [i - start + 1, a[pos]! & 0x7fffffff];
    }
    return found;
  }
}

// ---------------------------------------------------------------- the processor

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  readonly specialIds: SpecialIds;
  readonly model: SentencePieceModel;
  /** NORMAL, USER_DEFINED and UNUSED pieces by text. */
  readonly #pieces = new Map<string, number>();
  /** CONTROL, UNKNOWN and BYTE pieces by text (looked up first). */
  readonly #reserved = new Map<string, number>();
  readonly #unk: number;
  readonly #byteIds = new Int32Array(256).fill(-1);
  readonly #byteOf: Int16Array;
  /** User-defined symbols as bytes, longest first. */
  readonly #user: Uint8Array[];
  readonly #charsmap: { trie: DoubleArray; strings: Uint8Array } | undefined;
  /** Unigram: a byte trie of the pieces (child maps; `id` where a piece ends). */
  readonly #trie: TrieNode | undefined;
  readonly #minScore: number;
  readonly #maxScore: number;
  /** The model file, for errors. */
  readonly #file: string;

  constructor(model: SentencePieceModel, file = 'tokenizer.model') {
    this.model = model;
    this.#file = file;
    this.kind = `sentencepiece-${model.modelType}`;
    this.vocabSize = model.pieces.length;
    let minScore = 3.4028234663852886e38; // FLT_MAX
    let maxScore = 1.1754943508222875e-38; // FLT_MIN, the C++ start value (so all-negative scores keep it)
    const user: Uint8Array[] = [];
    this.#byteOf = new Int16Array(model.pieces.length).fill(-1);
    model.pieces.forEach((p, id) => {
      const inPieces = p.type === PIECE_TYPE.normal || p.type === PIECE_TYPE.userDefined || p.type === PIECE_TYPE.unused;
      (inPieces ? this.#pieces : this.#reserved).set(p.piece, id);
      if (p.type === PIECE_TYPE.userDefined) user.push(encoder.encode(p.piece));
      if (p.type === PIECE_TYPE.normal) {
        minScore = Math.min(minScore, p.score);
        maxScore = Math.max(maxScore, p.score);
      }
      if (p.type === PIECE_TYPE.byte) {
        const v = parseInt(p.piece.slice(3, 5), 16);
        this.#byteIds[v] = id;
        this.#byteOf[id] = v;
      }
    });
    this.#minScore = minScore;
    this.#maxScore = maxScore;
    this.#user = user.sort((a, b) => b.length - a.length);
    this.#unk = model.pieces.findIndex((p) => p.type === PIECE_TYPE.unknown);
    const cm = model.normalizer.charsmap;
    if (cm) {
      const n = cm.length >= 4 ? new DataView(cm.buffer, cm.byteOffset, cm.length).getUint32(0, true) : -1;
      if (n < 0 || 4 + n > cm.length || n % 4 !== 0) throw new LoaderError('format', { file, item: 'normalizer_spec.precompiled_charsmap', expected: 'a trie size and a double array inside the blob', got: `${cm.length} bytes, trie size ${n}` });
      this.#charsmap = { trie: new DoubleArray(cm.subarray(4, 4 + n)), strings: cm.subarray(4 + n) };
    }
    if (model.modelType === 'unigram') {
      const root: TrieNode = { next: new Map() };
      for (const [piece, id] of this.#pieces) {
        let node = root;
        for (const c of encoder.encode(piece)) {
          let child = node.next.get(c);
          if (!child) node.next.set(c, (child = { next: new Map() }));
          node = child;
        }
        node.id = id;
      }
      this.#trie = root;
    }
    const control = (name: string): number | undefined => {
      const id = this.#reserved.get(name);
      return id !== undefined && model.pieces[id]!.type === PIECE_TYPE.control ? id : undefined;
    };
    const eos = control(model.eosPiece);
    const bos = control(model.bosPiece);
    const pad = control(model.padPiece);
    this.specialIds = { ...(eos !== undefined ? { eos } : {}), ...(bos !== undefined ? { bos } : {}), ...(pad !== undefined ? { pad } : eos !== undefined ? { pad: eos } : {}) };
  }

  static fromBytes(bytes: Uint8Array, file = 'tokenizer.model'): SentencePieceTokenizer {
    return new SentencePieceTokenizer(parseSentencePieceModel(bytes, file), file);
  }

  static fromFile(file: string): SentencePieceTokenizer {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new LoaderError('io', { file, expected: 'a readable sentencepiece tokenizer.model', got: (e as Error).message });
    }
    return SentencePieceTokenizer.fromBytes(bytes, file);
  }

  /** The piece of an id (`<0x41>`, `▁the`, …). */
  piece(id: number): string {
    const p = this.model.pieces[id];
    if (!p) throw new LoaderError('format', { file: this.#file, item: `id ${id}`, expected: `an id in [0, ${this.vocabSize})`, got: String(id) });
    return p.piece;
  }

  /** The piece with ▁ as a space (a byte piece stays <0xXX>; past the vocabulary: the unknown surface). */
  tokenText(id: number): string {
    return id >= this.vocabSize && Number.isInteger(id) ? this.model.unkSurface : this.piece(id).split(SPACE).join(' ');
  }

  /** Ids of `text` (no bos / eos added, as sentencepiece's encode). */
  encode(text: string): number[] {
    const pieces = this.encodeAsPieces(text);
    const ids: number[] = [];
    let prevUnk = false;
    for (const [bytes, id] of pieces) {
      const unk = id === this.#unk;
      if (unk && this.model.byteFallback) for (const c of bytes) ids.push(this.#byteIds[c]!);
      else if (!(unk && prevUnk)) ids.push(id);
      prevUnk = unk;
    }
    return ids;
  }

  /** The model's segmentation: (piece bytes, id) before byte fallback. */
  encodeAsPieces(text: string): [Uint8Array, number][] {
    const normalized = this.normalize(text);
    return this.model.modelType === 'bpe' ? this.#bpe(normalized) : this.#unigram(normalized);
  }

  /** Step 1: the normalized UTF-8 bytes. */
  normalize(text: string): Uint8Array {
    const n = this.model.normalizer;
    const b = encoder.encode(text);
    if (b.length === 0) return b;
    const ws = n.escapeWhitespaces ? SPACE_BYTES : [0x20];
    const out: number[] = [];
    let i = 0;
    if (n.removeExtraWhitespaces) {
      for (;;) {
        if (i >= b.length) return new Uint8Array();
        const [r, used] = this.#normalizePrefix(b, i);
        if (!(r.length === 1 && r[0] === 0x20)) break;
        i += used;
      }
    }
    const suffix = this.model.treatWhitespaceAsSuffix;
    if (n.addDummyPrefix && !suffix) out.push(...ws);
    let prevSpace = n.removeExtraWhitespaces;
    while (i < b.length) {
      const [r, used] = this.#normalizePrefix(b, i);
      let s = 0;
      while (prevSpace && s < r.length && r[s] === 0x20) s++;
      if (s < r.length) {
        for (let k = s; k < r.length; k++) {
          if (n.escapeWhitespaces && r[k] === 0x20) out.push(...SPACE_BYTES);
          else out.push(r[k]!);
        }
        prevSpace = r[r.length - 1] === 0x20;
      }
      i += used;
      if (!n.removeExtraWhitespaces) prevSpace = false;
    }
    if (n.removeExtraWhitespaces) {
      while (out.length >= ws.length && ws.every((c, k) => out[out.length - ws.length + k] === c)) out.length -= ws.length;
    }
    if (n.addDummyPrefix && suffix) out.push(...ws);
    return Uint8Array.from(out);
  }

  /** The replacement for the input at b[i] and the bytes it consumes. */
  #normalizePrefix(b: Uint8Array, i: number): [Uint8Array, number] {
    const user = this.#userMatch(b, i);
    if (user) return [b.subarray(i, i + user), user];
    if (this.#charsmap) {
      const hit = this.#charsmap.trie.longestPrefix(b, i);
      if (hit) {
        const s = this.#charsmap.strings;
        let e = hit[1];
        while (e < s.length && s[e] !== 0) e++;
        return [s.subarray(hit[1], e), hit[0]];
      }
    }
    const l = validCharLength(b, i, b.length);
    return l ? [b.subarray(i, i + l), l] : [Uint8Array.of(0xef, 0xbf, 0xbd), 1];
  }

  /** Length of the longest user-defined symbol at b[i] (0: none). */
  #userMatch(b: Uint8Array, i: number): number {
    for (const u of this.#user) {
      if (i + u.length <= b.length && u.every((c, k) => b[i + k] === c)) return u.length;
    }
    return 0;
  }

  #id(piece: string): number {
    return this.#reserved.get(piece) ?? this.#pieces.get(piece) ?? this.#unk;
  }

  /** Step 2, BPE: merge the best-scoring adjacent pair until none is a piece. */
  #bpe(nb: Uint8Array): [Uint8Array, number][] {
    interface Sym {
      start: number;
      end: number;
      prev: number;
      next: number;
      readonly frozen: boolean;
    }
    const syms: Sym[] = [];
    for (let i = 0; i < nb.length; ) {
      const user = this.#userMatch(nb, i);
      const len = user || Math.min(charLength(nb[i]!), nb.length - i);
      syms.push({ start: i, end: i + len, prev: syms.length - 1, next: i + len < nb.length ? syms.length + 1 : -1, frozen: user > 0 });
      i += len;
    }
    if (syms.length === 0) return [];
    const text = (s: number, e: number): string => utf8.decode(nb.subarray(s, e));
    const heap = new MaxHeap<Candidate>((a, b) => a.score < b.score || (a.score === b.score && a.left > b.left));
    const unusedSplit = new Map<string, [string, string]>();
    const consider = (l: number, r: number): void => {
      if (l < 0 || r < 0 || syms[l]!.frozen || syms[r]!.frozen) return;
      const piece = text(syms[l]!.start, syms[r]!.end);
      const id = this.#pieces.get(piece);
      if (id === undefined) return;
      const p = this.model.pieces[id]!;
      heap.push({ left: l, right: r, score: p.score, size: syms[r]!.end - syms[l]!.start });
      if (p.type === PIECE_TYPE.unused) unusedSplit.set(piece, [text(syms[l]!.start, syms[l]!.end), text(syms[r]!.start, syms[r]!.end)]);
    };
    for (let i = 1; i < syms.length; i++) consider(i - 1, i);
    for (let top = heap.pop(); top; top = heap.pop()) {
      const l = syms[top.left]!;
      const r = syms[top.right]!;
      // stale: a side was merged away, or grew since this pair was queued
      if (l.end === l.start || r.end === r.start || r.end - l.start !== top.size || l.end !== r.start) continue;
      l.end = r.end;
      l.next = r.next;
      if (r.next >= 0) syms[r.next]!.prev = top.left;
      r.end = r.start;
      consider(l.prev, top.left);
      consider(top.left, l.next);
    }
    const out: [Uint8Array, number][] = [];
    const emit = (piece: string): void => {
      const id = this.#id(piece);
      const split = unusedSplit.get(piece);
      if (id !== this.#unk && this.model.pieces[id]!.type === PIECE_TYPE.unused && split) {
        emit(split[0]);
        emit(split[1]);
      } else out.push([encoder.encode(piece), id]);
    };
    for (let i = 0; i !== -1; i = syms[i]!.next) emit(text(syms[i]!.start, syms[i]!.end));
    return out;
  }

  /** Step 2, unigram: the best-scoring segmentation (Viterbi, sums as the C++ does them). */
  #unigram(nb: Uint8Array): [Uint8Array, number][] {
    const n = nb.length;
    const unkScore = Math.fround(this.#minScore - 10);
    const best = Array.from({ length: n + 1 }, () => ({ id: -1, score: 0, start: -1 }));
    for (let s = 0; s < n; ) {
      const till = best[s]!.score;
      const charLen = Math.min(charLength(nb[s]!), n - s);
      let single = false;
      let node: TrieNode | undefined = this.#trie!;
      for (let k = s; k < n; k++) {
        node = node.next.get(nb[k]!);
        if (!node) break;
        if (node.id === undefined) continue;
        const p = this.model.pieces[node.id]!;
        if (p.type === PIECE_TYPE.unused) continue;
        const len = k + 1 - s;
        const score = p.type === PIECE_TYPE.userDefined ? Math.fround(len * this.#maxScore) - 0.1 : p.score;
        const cand = score + till; // a double sum, compared with the stored float32
        const t = best[k + 1]!;
        if (t.start === -1 || cand > t.score) {
          t.score = Math.fround(cand);
          t.start = s;
          t.id = node.id;
        }
        if (len === charLen) single = true;
      }
      if (!single) {
        const t = best[s + charLen]!;
        const cand = Math.fround(unkScore + till); // a float32 sum here
        if (t.start === -1 || cand > t.score) {
          t.score = cand;
          t.start = s;
          t.id = this.#unk;
        }
      }
      s += charLen;
    }
    const out: [Uint8Array, number][] = [];
    for (let e = n; e > 0; ) {
      const b = best[e]!;
      out.push([nb.subarray(b.start, e), b.id]);
      e = b.start;
    }
    return out.reverse();
  }

  decode(ids: readonly number[]): string {
    const d = this.decoder();
    let s = '';
    for (const id of ids) s += d.push(id);
    return s + d.flush();
  }

  /**
   * Text as ids arrive: a character split over byte pieces comes out once complete (decode = the pushes
   * + flush). An id past the vocabulary (NeMo pads the model's vocabulary beyond the tokenizer's, and a
   * model may emit such an id) reads as the unknown surface ` ⁇ ` where sentencepiece would refuse it.
   */
  decoder(): IncrementalDecoder {
    const pieces = this.model.pieces;
    const n = this.model.normalizer;
    const byteOf = this.#byteOf;
    const unkSurface = this.model.unkSurface;
    const file = this.#file;
    let pending: number[] = [];
    let emitted = 0;
    let atStart = true;
    let bosSpaceSeen = false;
    /** Complete characters at the front of `pending` (all of it when `all`). */
    const drain = (all: boolean): string => {
      const b = Uint8Array.from(pending);
      let s = '';
      let o = 0;
      while (o < b.length) {
        const l = validCharLength(b, o, b.length);
        if (l > 0) {
          s += utf8.decode(b.subarray(o, o + l));
          o += l;
          continue;
        }
        if (!all && couldComplete(b, o)) break;
        s += '\ufffd';
        o += 1;
      }
      pending = pending.slice(o);
      emitted += s.length;
      return s;
    };
    return {
      push: (id: number): string => {
        if (!Number.isInteger(id) || id < 0) throw new LoaderError('format', { file, item: `id ${id}`, expected: 'a token id ≥ 0', got: String(id) });
        // past the vocabulary: rows NeMo pads the model's vocabulary with (sentencepiece refuses them; a model may still emit one)
        const p = pieces[id] ?? { piece: '', score: 0, type: PIECE_TYPE.unknown };
        if (p.type === PIECE_TYPE.byte) {
          pending.push(byteOf[id]!);
          return drain(false);
        }
        let s = drain(true);
        if (bosSpaceSeen || emitted > 0) atStart = false;
        let text: string;
        let hasBosSpace = false;
        if (p.type === PIECE_TYPE.control) text = '';
        else if (p.type === PIECE_TYPE.unknown) text = unkSurface;
        else {
          let piece = p.piece;
          if (atStart && (n.addDummyPrefix || n.removeExtraWhitespaces)) {
            if (piece.startsWith(SPACE)) {
              piece = piece.slice(1);
              hasBosSpace = true;
            }
            if (n.removeExtraWhitespaces) hasBosSpace = false;
          }
          text = piece.split(SPACE).join(' ');
        }
        bosSpaceSeen = hasBosSpace;
        emitted += text.length;
        s += text;
        return s;
      },
      flush: (): string => drain(true),
    };
  }
}

/** Whether b[o..] is the start of a character that more bytes could complete. */
function couldComplete(b: Uint8Array, o: number): boolean {
  const need = charLength(b[o]!);
  if (b[o]! < 0xc2 || b[o]! > 0xf4 || need <= b.length - o) return false;
  for (let k = o + 1; k < b.length; k++) if ((b[k]! & 0xc0) !== 0x80) return false;
  return true;
}

interface TrieNode {
  readonly next: Map<number, TrieNode>;
  id?: number;
}

interface Candidate {
  readonly left: number;
  readonly right: number;
  readonly score: number;
  readonly size: number;
}

/** A binary max-heap; `less(a, b)`: a ranks below b. */
class MaxHeap<T> {
  readonly #a: T[] = [];
  readonly #less: (a: T, b: T) => boolean;
  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }
  push(x: T): void {
    const a = this.#a;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.#less(a[p]!, a[i]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.#less(a[m]!, a[l]!)) m = l;
        if (r < a.length && this.#less(a[m]!, a[r]!)) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
