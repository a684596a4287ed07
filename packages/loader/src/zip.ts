/**
 * A read-only ZIP reader for what torch.save writes (PKWARE APPNOTE 6.3): entries STORED
 * (method 0, uncompressed), ZIP64 when the archive or an entry passes 4 GiB. Only the central
 * directory is read at open; entry data is read later by byte range, straight from the file.
 *
 * Layout used: end of central directory record (EOCD, signature 0x06054b50) in the last
 * 22 + 65,535 bytes; for ZIP64 its locator (0x07064b50) just before it points at the ZIP64 EOCD
 * (0x06064b50) holding 64-bit counts and offsets. Central directory headers (0x02014b50) give each
 * entry's name, method, sizes and local header offset (64-bit values in the 0x0001 extra field);
 * the local header (0x04034b50) has its own name and extra lengths (torch pads the extra field so
 * data is 64-byte aligned), after which the data starts.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { LoaderError } from './errors.js';
import { openFile, readFully } from './files.js';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored. Anything else is refused when read. */
  readonly method: number;
  readonly size: number;
  readonly compressedSize: number;
  readonly localHeaderOffset: number;
}

const U32_MAX = 0xffffffff;

export class ZipArchive {
  readonly path: string;
  readonly entries: ReadonlyMap<string, ZipEntry>;
  readonly #fd: number;
  /** Where the archive starts in the file (0, or a member's offset inside a .nemo tar). */
  readonly #base: number;
  readonly #size: number;

  private constructor(path: string, fd: number, base: number, size: number, entries: Map<string, ZipEntry>) {
    this.path = path;
    this.#fd = fd;
    this.#base = base;
    this.#size = size;
    this.entries = entries;
  }

  /**
   * The archive in `path`, or in bytes [window.offset, window.offset + window.length) of it (a
   * torch checkpoint stored inside an uncompressed tar is read in place; `path` is then named
   * `label` in errors, e.g. `x.nemo:model_weights.ckpt`).
   */
  static open(path: string, window?: { readonly offset: number; readonly length: number; readonly label?: string }): ZipArchive {
    const fd = openFile(path, 'a readable file');
    const label = window?.label ?? path;
    try {
      const fileSize = fstatSync(fd).size;
      const base = window?.offset ?? 0;
      const size = window?.length ?? fileSize;
      if (base + size > fileSize) throw formatError(label, 'archive', `${size} bytes at ${base}`, `a ${fileSize}-byte file`, 'the file is truncated');
      return new ZipArchive(label, fd, base, size, readCentralDirectory(label, (b, at) => readSync(fd, b, 0, b.length, base + at), size));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Offset (in the archive) and length of a stored entry's data (validated against the archive). */
  dataRange(name: string): { offset: number; length: number } {
    const e = this.entries.get(name);
    if (!e) throw new LoaderError('missing', { file: this.path, item: name, expected: 'a zip entry of that name', got: 'none' });
    if (e.method !== 0) {
      throw new LoaderError('format', { file: this.path, item: name, expected: 'a stored (uncompressed) entry, as torch.save writes', got: `compression method ${e.method}`, hint: 're-save the checkpoint with torch.save, or convert it to safetensors' });
    }
    const head = this.#bytes(e.localHeaderOffset, 30, name);
    if (head.readUInt32LE(0) !== 0x04034b50) throw formatError(this.path, name, 'a local file header (PK\\3\\4)', `0x${head.readUInt32LE(0).toString(16)}`);
    const offset = e.localHeaderOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
    if (offset + e.size > this.#size) throw formatError(this.path, name, `${e.size} bytes inside the ${this.#size}-byte file`, `data ending at ${offset + e.size}`, 'the file is truncated');
    return { offset, length: e.size };
  }

  /** Read bytes [offset, offset + length) of the archive into `into` (or a new buffer). */
  readAt(offset: number, length: number, item: string, into?: Uint8Array): Uint8Array {
    return readFully(this.#fd, into ?? new Uint8Array(length), this.#base + offset, this.path, item);
  }

  /** A whole stored entry. */
  read(name: string): Buffer {
    const { offset, length } = this.dataRange(name);
    const b = this.readAt(offset, length, name);
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  close(): void {
    closeSync(this.#fd);
  }

  #bytes(offset: number, length: number, item: string): Buffer {
    if (offset + length > this.#size) throw formatError(this.path, item, `${length} bytes at ${offset}`, `a ${this.#size}-byte file`, 'the file is truncated');
    const b = this.readAt(offset, length, item);
    return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }
}

function formatError(file: string, item: string, expected: string, got: string, hint?: string): LoaderError {
  return new LoaderError('format', { file, item, expected, got, ...(hint ? { hint } : {}) });
}

/** `readAt(b, at)` fills b from archive offset `at` (one read; fewer bytes only at the end of the file). */
function readCentralDirectory(path: string, readAt: (b: Buffer, at: number) => number, size: number): Map<string, ZipEntry> {
  const read = (offset: number, length: number, item: string): Buffer => {
    if (offset < 0 || offset + length > size) throw formatError(path, item, `${length} bytes at ${offset}`, `a ${size}-byte file`, 'not a zip archive, or truncated');
    const b = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readAt(b.subarray(done), offset + done);
      if (n === 0) break;
      done += n;
    }
    return b;
  };
  const tailLen = Math.min(size, 22 + 65535);
  const tail = read(size - tailLen, tailLen, 'end of central directory');
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw formatError(path, 'end of central directory', 'a zip archive (torch.save ≥ 1.6 format)', 'no end-of-central-directory record', 'legacy (pre-1.6) torch files and truncated files are not read; re-save with torch.save or use safetensors');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw formatError(path, 'zip64 locator', 'a ZIP64 end-of-central-directory locator', 'none');
    const z64Off = Number(tail.readBigUInt64LE(loc + 8));
    const z64 = read(z64Off, 56, 'zip64 end of central directory');
    if (z64.readUInt32LE(0) !== 0x06064b50) throw formatError(path, 'zip64 end of central directory', 'signature 0x06064b50', `0x${z64.readUInt32LE(0).toString(16)}`);
    count = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  const cd = read(cdOffset, cdSize, 'central directory');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw formatError(path, `central directory entry ${n}`, 'signature 0x02014b50', p + 46 > cd.length ? 'end of directory' : `0x${cd.readUInt32LE(p).toString(16)}`);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: present values in the order size, compressed size, offset, each only if its 32-bit field is saturated.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const next = (): number => {
          const v = Number(cd.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (size === U32_MAX) size = next();
        if (compressedSize === U32_MAX) compressedSize = next();
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next();
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, size, compressedSize, localHeaderOffset });
    p = xEnd + commentLen;
  }
  return entries;
}
