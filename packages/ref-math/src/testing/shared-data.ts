/**
 * Test-only: where the read-only shared data lives (`../shared` beside the checkout, as laid out for
 * sessions and CI; override with TRTLLM_SHARED_DIR) and readers for its raw formats. Imported by
 * other packages' tests as `@trtllm/ref-math/testing` (source condition only; never built or shipped).
 *
 * A test that needs a shared file asks `sharedData(rel)`. Outside CI a missing file skips the test,
 * with the path in its title. Under CI (`CI=true`) the data is part of the contract: the test is not
 * skipped, it runs and fails on the missing file, and `SHARED_DATA_FILES` is checked up front by
 * shared-data.test.ts, so a run without the data cannot stay green.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The testing entry's other helper: the largest |a − b| of two equally shaped arrays (also used by other packages' tests). */
export { maxAbsDiff } from './reference64.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export const SHARED_DIR = process.env['TRTLLM_SHARED_DIR'] ?? resolve(repoRoot, '../shared');

/** True when the suite runs as CI (`CI=true`, as .ci/run sets it): missing shared data then fails. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** Every shared file some test reads (relative to SHARED_DIR); CI asserts they all exist. */
export const SHARED_DATA_FILES = [
  'data/gpt2-124M-layer0/decoder1/att.query.w.dat',
  'data/gpt2-124M-layer0/input/wpe.dat',
  'data/sotu/val.txt',
  'data/cnn_dailymail/test_sample_100.jsonl',
  'models/sotu-gpt2-16m/vocab.json',
  'models/sotu-gpt2-16m/merges.txt',
  'models/sotu-gpt2-16m/tokenizer.json',
  'models/sotu-gpt2-16m/model.safetensors',
] as const;

/** Absolute path of a file under the shared dir, or undefined when it is not present. */
export function sharedPath(rel: string): string | undefined {
  const p = resolve(SHARED_DIR, rel);
  return existsSync(p) ? p : undefined;
}

export interface SharedData {
  /** Absolute path (whether or not the file exists). */
  readonly path: string;
  readonly present: boolean;
  /** Skip the tests that need it: only when it is missing and this is not CI. */
  readonly skip: boolean;
  /** `title`, or `title (skipped: <path> not found)` when skipped. */
  title(title: string): string;
}

/** The gate for tests that read `rel` under the shared dir (see the file header). */
export function sharedData(rel: string): SharedData {
  const path = resolve(SHARED_DIR, rel);
  const present = existsSync(path);
  const skip = !present && !IN_CI;
  return { path, present, skip, title: (t) => (skip ? `${t} (skipped: ${path} not found; set TRTLLM_SHARED_DIR)` : t) };
}

/** A raw big-endian float32 file (the gpt2-124M-layer0 format) as float32 values. */
export function readBigEndianF32(path: string): Float32Array {
  const buf = readFileSync(path);
  if (buf.length % 4 !== 0) throw new Error(`${path}: ${buf.length} bytes is not a whole number of float32`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Float32Array.from({ length: buf.length / 4 }, (_, i) => view.getFloat32(4 * i, false));
}
