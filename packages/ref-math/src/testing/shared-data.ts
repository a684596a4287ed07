/**
 * Test-only: where the read-only shared data lives (`../shared` beside the checkout, as laid out for
 * sessions and CI; override with TRTLLM_SHARED_DIR) and readers for its raw formats.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export const SHARED_DIR = process.env['TRTLLM_SHARED_DIR'] ?? resolve(repoRoot, '../shared');

/** Absolute path of a file under the shared dir, or undefined when it is not present. */
export function sharedPath(rel: string): string | undefined {
  const p = resolve(SHARED_DIR, rel);
  return existsSync(p) ? p : undefined;
}

/** A raw big-endian float32 file (the gpt2-124M-layer0 format) as float32 values. */
export function readBigEndianF32(path: string): Float32Array {
  const buf = readFileSync(path);
  if (buf.length % 4 !== 0) throw new Error(`${path}: ${buf.length} bytes is not a whole number of float32`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Float32Array.from({ length: buf.length / 4 }, (_, i) => view.getFloat32(4 * i, false));
}
