/**
 * NumPy .npy files (format 1.0 / 2.0 / 3.0): magic "\x93NUMPY", version, a header dict
 * `{'descr': '<i4', 'fortran_order': False, 'shape': (B, T), }` padded to 64 bytes, then the raw
 * C-order data. Read: little-endian int32 / int64 / float32 / float16 (int64 values must fit 2^53).
 * Write: int32 and float32, version 1.0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { LoaderError } from './errors.js';

export interface NpyArray {
  readonly descr: '<i4' | '<i8' | '<f4' | '<f2';
  readonly shape: readonly number[];
  /** Values as numbers (float16 decoded). */
  readonly data: Float64Array;
}

const DESCR_BYTES = { '<i4': 4, '<i8': 8, '<f4': 4, '<f2': 2 } as const;

export function readNpy(file: string): NpyArray {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    throw new LoaderError('io', { file, expected: 'a readable .npy file', got: (e as Error).message });
  }
  const fail = (expected: string, got: string): LoaderError => new LoaderError('format', { file, expected, got });
  if (b.length < 10 || b.toString('latin1', 0, 6) !== '\x93NUMPY') throw fail('a .npy file (magic \\x93NUMPY)', JSON.stringify(b.toString('latin1', 0, 6)));
  const major = b[6]!;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !(descr in DESCR_BYTES)) throw fail("descr '<i4', '<i8', '<f4' or '<f2'", String(descr));
  if (fortran !== 'False') throw fail('fortran_order False', String(fortran));
  if (shapeText === undefined) throw fail('a shape tuple', header);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const n = shape.reduce((a, c) => a * c, 1);
  const width = DESCR_BYTES[descr as NpyArray['descr']];
  const dataStart = start + headerLen;
  if (b.length - dataStart < n * width) throw fail(`${n * width} data bytes`, `${b.length - dataStart}`);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = dataStart + i * width;
    if (descr === '<i4') data[i] = b.readInt32LE(o);
    else if (descr === '<f4') data[i] = b.readFloatLE(o);
    else if (descr === '<f2') data[i] = decodeF16(b.readUInt16LE(o));
    else {
      const v = b.readBigInt64LE(o);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw fail('int64 values within ±2^53', v.toString());
      data[i] = Number(v);
    }
  }
  return { descr: descr as NpyArray['descr'], shape, data };
}

function decodeF16(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function writeNpy(file: string, descr: '<i4' | '<f4', shape: readonly number[], values: ArrayLike<number>): void {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    if (descr === '<i4') data.writeInt32LE(values[i]!, i * 4);
    else data.writeFloatLE(values[i]!, i * 4);
  }
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]));
}
