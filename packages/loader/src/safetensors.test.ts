import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bitEqual, fromValues } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { encodeSafetensors, SafetensorsFile } from './safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'st-'));
const tensors = {
  'a.weight': fromValues('f16', [2, 3], [1, -2, 3.5, 0, 65504, -0.25]),
  'b.bias': fromValues('f32', [3], [0.1, 0.2, 0.3]),
  'c.q': fromValues('i8', [4], [-128, 0, 1, 127]),
  'd.bf': fromValues('bf16', [1], [1.5]),
};
const file = (name: string, bytes: Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
/** A file whose JSON header is replaced (data kept), to lie about offsets, dtypes or shapes. */
function withHeader(header: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}
const good = encodeSafetensors(tensors, { format: 'pt' });
const dataOf = (buf: Buffer): Buffer => buf.subarray(8 + Number(buf.readBigUInt64LE(0)));
const thrown = (fn: () => unknown): LoaderError => {
  try {
    fn();
  } catch (e) {
    return e as LoaderError;
  }
  throw new Error('expected a LoaderError');
};

describe('safetensors', () => {
  it('round-trips every dtype bit for bit, with metadata, reading tensors on demand', () => {
    const st = SafetensorsFile.open(file('good.safetensors', good));
    expect([...st.entries.keys()]).toEqual(Object.keys(tensors));
    expect(st.metadata).toEqual({ format: 'pt' });
    for (const [name, t] of Object.entries(tensors)) expect(bitEqual(st.read(name), t)).toBe(true);
    st.close();
  });
  it('a truncated file names the tensor whose bytes are missing', () => {
    const e = thrown(() => SafetensorsFile.open(file('trunc.safetensors', good.subarray(0, good.length - 3))));
    expect(e).toBeInstanceOf(LoaderError);
    expect(e.message).toMatch(/trunc\.safetensors: c\.q: expected data_offsets inside the 27-byte buffer, got \[24, 28\]/); // the first tensor past the end
  });
  it('a header length past the end of the file is refused', () => {
    const bad = Buffer.from(good);
    bad.writeBigUInt64LE(10n ** 12n, 0);
    expect(thrown(() => SafetensorsFile.open(file('len.safetensors', bad))).message).toMatch(/header length: expected ≤ \d+ bytes/);
  });
  it('offsets that disagree with dtype × shape, overlap, or leave holes are refused, naming the tensor', () => {
    const data = dataOf(good);
    const lie = withHeader({ x: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 10] }, y: { dtype: 'F32', shape: [3], data_offsets: [10, data.length] } }, data);
    expect(thrown(() => SafetensorsFile.open(file('size.safetensors', lie))).message).toMatch(/: x: expected 12 bytes for F16 \[2, 3\], got 10 bytes/);
    const overlap = withHeader({ x: { dtype: 'I8', shape: [4], data_offsets: [0, 4] }, y: { dtype: 'I8', shape: [4], data_offsets: [2, 6] } }, data.subarray(0, 6));
    expect(thrown(() => SafetensorsFile.open(file('overlap.safetensors', overlap))).message).toMatch(/y: expected bytes from 4 on \(tensors may not overlap\)/);
    const hole = withHeader({ x: { dtype: 'I8', shape: [2], data_offsets: [2, 4] } }, data.subarray(0, 4));
    expect(thrown(() => SafetensorsFile.open(file('hole.safetensors', hole))).message).toMatch(/x: expected to start at 0 \(no holes/);
  });
  it('an unsupported dtype, a bad shape or unparseable JSON is refused with the reason', () => {
    const f64 = withHeader({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8));
    const e = thrown(() => SafetensorsFile.open(file('f64.safetensors', f64)));
    expect(e).toMatchObject({ kind: 'dtype', item: 'w', got: 'F64' });
    const shape = withHeader({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4));
    expect(thrown(() => SafetensorsFile.open(file('shape.safetensors', shape))).message).toMatch(/shape: an array of non-negative integers/);
    const json = Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{bad}')]);
    expect(thrown(() => SafetensorsFile.open(file('json.safetensors', json))).message).toMatch(/header: expected JSON/);
  });
  it('reading an absent tensor names it and lists what the file has; a missing file is an io error', () => {
    const st = SafetensorsFile.open(file('good2.safetensors', good));
    expect(thrown(() => st.read('lm_head.weight'))).toMatchObject({ kind: 'missing', item: 'lm_head.weight' });
    st.close();
    expect(thrown(() => SafetensorsFile.open(join(dir, 'nope.safetensors')))).toMatchObject({ kind: 'io' });
  });
});
