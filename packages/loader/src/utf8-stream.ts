/**
 * Incremental UTF-8 decoding of a token stream: the same text as TextDecoder's stream mode with every
 * byte-order mark kept as text (WHATWG
 * Encoding: invalid bytes become U+FFFD as soon as they are known to be invalid, a valid but
 * unfinished character is held until its last byte comes, and the end turns a held one into one
 * U+FFFD), in a form that lets a tokenizer skip the decoder for a token that opens and closes its own
 * characters — most tokens. The stream holds at most three bytes: the open tail of what it was given.
 */

const EMPTY = new Uint8Array(0);

/**
 * Where a valid but unfinished UTF-8 sequence starts at the end of `b`, or `b.length` when none is
 * open (the last character is complete, or the bytes end in an error, which a decoder reports now).
 */
export function openTail(b: Uint8Array): number {
  for (let i = b.length - 1; i >= 0 && i >= b.length - 3; i--) {
    const x = b[i]!;
    if (x < 0x80) return b.length; // ASCII ends whatever came before
    if (x < 0xc0) continue; // a continuation byte: look further back for its lead
    // the lead of the last sequence: how many bytes it takes (C0, C1 and F5–FF lead nothing)
    const need = x >= 0xc2 && x <= 0xdf ? 2 : x >= 0xe0 && x <= 0xef ? 3 : x >= 0xf0 && x <= 0xf4 ? 4 : 0;
    const have = b.length - i;
    if (need === 0 || have >= need) return b.length;
    // still valid only if its second byte is in the lead's range (no overlong or surrogate forms)
    if (have >= 2) {
      const lo = x === 0xe0 ? 0xa0 : x === 0xf0 ? 0x90 : 0x80;
      const hi = x === 0xed ? 0x9f : x === 0xf4 ? 0x8f : 0xbf;
      if (b[i + 1]! < lo || b[i + 1]! > hi) return b.length;
    }
    return i;
  }
  return b.length;
}

/** Bytes in, text out, as TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes, { stream: true }) gives it. */
export class Utf8Stream {
  #held: Uint8Array = EMPTY;
  // ignoreBOM: a byte-order mark is text here (Buffer's decode, the whole result's, keeps it); a
  // decoder that skipped it would drop every one, since each decode call starts a new stream
  readonly #utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

  /** Whether a character is open (bytes held for it). */
  get open(): boolean {
    return this.#held.length > 0;
  }

  /** The text `bytes` complete: everything up to an open tail, which is held. */
  push(bytes: Uint8Array): string {
    let b = bytes;
    if (this.#held.length > 0) {
      b = new Uint8Array(this.#held.length + bytes.length);
      b.set(this.#held);
      b.set(bytes, this.#held.length);
    }
    const cut = openTail(b);
    this.#held = cut < b.length ? b.slice(cut) : EMPTY;
    // decoding the bytes before an open tail whole gives what stream mode gives for them: the
    // decoder's state there is "between characters" either way
    return cut === 0 ? '' : this.#utf8.decode(cut === b.length ? b : b.subarray(0, cut));
  }

  /** The end of the stream: a held character becomes U+FFFD. */
  flush(): string {
    const h = this.#held;
    this.#held = EMPTY;
    return h.length > 0 ? this.#utf8.decode(h) : '';
  }
}
