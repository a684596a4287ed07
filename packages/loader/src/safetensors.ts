/**
 * safetensors reader (https://github.com/huggingface/safetensors, format v1): 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the byte buffer. Nothing in the header is trusted: the header length against the file
 * size, every dtype, every shape, every offset pair against the buffer and against numel·bytes,
 * and that the tensors tile the buffer with no overlap and no hole. Tensors are read one at a
 * time from the open file (never the whole file at once), little-endian as stored.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { allocStorage, dtypeOfSafetensorsName, DTYPES, numel, tensor, type DType, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { openFile, readFully } from './files.js';
import type { TensorInfo, TensorSource } from './tensor-source.js';

const MAX_HEADER = 100 * 2 ** 20;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Byte range in the data buffer (after the header). */
  readonly begin: number;
  readonly end: number;
}

export class SafetensorsFile implements TensorSource {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly #fd: number;
  readonly #dataStart: number;

  private constructor(path: string, fd: number, dataStart: number, entries: Map<string, SafetensorsEntry>, metadata: Record<string, string>) {
    this.path = path;
    this.#fd = fd;
    this.#dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  /** Open and validate the header (the tensors are read later, on demand). */
  static open(path: string): SafetensorsFile {
    const fd = openFile(path, 'a readable safetensors file');
    try {
      return SafetensorsFile.#parse(path, fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  static #parse(path: string, fd: number): SafetensorsFile {
    const size = fstatSync(fd).size;
    const err = (item: string | undefined, expected: string, got: string, hint?: string): LoaderError =>
      new LoaderError('format', item === undefined ? { file: path, expected, got, ...(hint ? { hint } : {}) } : { file: path, item, expected, got, ...(hint ? { hint } : {}) });
    if (size < 8) throw err(undefined, 'at least the 8-byte header length', `${size} bytes`, 'the file is truncated');
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER || 8 + headerLen > size) {
      throw err('header length', `≤ ${Math.min(MAX_HEADER, size - 8)} bytes (the file has ${size})`, `${headerLen}`, 'not a safetensors file, or truncated');
    }
    const headerBuf = Buffer.alloc(headerLen);
    readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
    } catch (e) {
      throw err('header', 'JSON', `unparseable text (${(e as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw err('header', 'a JSON object', typeof header);
    const dataSize = size - 8 - headerLen;
    const entries = new Map<string, SafetensorsEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = raw as Record<string, string>;
        continue;
      }
      const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      // Names from the dtype table; others (F64, I64, BOOL, U8 …) are refused with the tensor named.
      const dtype = typeof r.dtype === 'string' ? dtypeOfSafetensorsName(r.dtype) : undefined;
      if (!dtype) {
        const known = Object.values(DTYPES).map((d) => d.safetensors).join(', ');
        throw new LoaderError('dtype', { file: path, item: name, expected: `a dtype in ${known}`, got: String(r.dtype), hint: 'convert the checkpoint to fp32/fp16/bf16' });
      }
      if (!Array.isArray(r.shape) || !r.shape.every((d) => Number.isInteger(d) && d >= 0)) throw err(name, 'shape: an array of non-negative integers', JSON.stringify(r.shape));
      const off = r.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
        throw err(name, 'data_offsets: [begin, end] with 0 ≤ begin ≤ end', JSON.stringify(off));
      }
      const [begin, end] = off as [number, number];
      if (end > dataSize) throw err(name, `data_offsets inside the ${dataSize}-byte buffer`, `[${begin}, ${end}]`, 'the header lies about offsets, or the file is truncated');
      const want = numel(r.shape as number[]) * DTYPES[dtype].bytes;
      if (end - begin !== want) throw err(name, `${want} bytes for ${r.dtype} [${(r.shape as number[]).join(', ')}]`, `${end - begin} bytes at [${begin}, ${end}]`);
      entries.set(name, { name, dtype, shape: r.shape as number[], begin, end });
    }
    const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let cursor = 0;
    for (const e of sorted) {
      if (e.begin < cursor) throw err(e.name, `bytes from ${cursor} on (tensors may not overlap)`, `[${e.begin}, ${e.end}]`);
      if (e.begin > cursor) throw err(e.name, `to start at ${cursor} (no holes in the buffer)`, `${e.begin}`);
      cursor = e.end;
    }
    if (cursor !== dataSize) throw err(undefined, `tensors covering the whole ${dataSize}-byte buffer`, `${cursor} bytes covered`, 'trailing bytes or a truncated header');
    return new SafetensorsFile(path, fd, 8 + headerLen, entries, metadata);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  info(name: string): TensorInfo | undefined {
    const e = this.entries.get(name);
    return e && { name, dtype: e.dtype, shape: e.shape, file: this.path, storedAs: DTYPES[e.dtype].safetensors };
  }

  /** Read one tensor (as stored: its dtype and shape). */
  read(name: string): Tensor {
    const e = this.entries.get(name);
    if (!e) {
      throw new LoaderError('missing', { file: this.path, item: name, expected: 'a tensor of that name', got: 'none', hint: `the file has ${this.entries.size} tensors, e.g. ${[...this.entries.keys()].slice(0, 3).join(', ')}` });
    }
    const data = allocStorage(e.dtype, numel(e.shape));
    readFully(this.#fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), this.#dataStart + e.begin, this.path, e.name);
    return tensor(e.dtype, e.shape, data);
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Write tensors as a safetensors file (used by tests and, later, by convert). Offsets in insertion order. */
export function encodeSafetensors(tensors: Readonly<Record<string, Tensor>>, metadata?: Readonly<Record<string, string>>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: DTYPES[t.dtype].safetensors, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // align the buffer to 8 bytes, as the reference writer does
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...Object.values(tensors).map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}
