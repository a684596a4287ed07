// torch .bin: views into shared storages (offset, transposed strides), unreadable storage types,
// a damaged archive, and a pickle naming a global torch never writes — on archives built here the
// way torch.save lays them out (zip, stored entries, <name>/data.pkl + <name>/data/<key>).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { toF32 } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { TorchCheckpoint } from './torch-bin.js';

const work = mkdtempSync(join(tmpdir(), 'trtllm-torch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const TINY = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/tiny');

/** A stored-entries zip (CRC left 0: our reader, like torch's, does not check it). */
function zip(entries: readonly [string, Uint8Array][]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    parts.push(local, n, Buffer.from(data));
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

const text = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const u32 = (n: number): number[] => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const str = (s: string): number[] => [0x58, ...u32(s.length), ...text(s)];
const tuple = (items: number[][]): number[] => [0x28, ...items.flat(), 0x74];
const int = (n: number): number[] => [0x4a, ...u32(n)];

/** `_rebuild_tensor_v2(('storage', <type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`. */
function tensorOp(type: string, key: string, numel: number, offset: number, size: number[], stride: number[]): number[] {
  return [
    0x63, ...text('torch._utils\n_rebuild_tensor_v2\n'),
    ...tuple([
      [...tuple([str('storage'), [0x63, ...text(`torch\n${type}\n`)], str(key), str('cpu'), int(numel)]), 0x51],
      int(offset), tuple(size.map(int)), tuple(stride.map(int)), [0x89], [0x63, ...text('collections\nOrderedDict\n'), 0x29, 0x52],
    ]),
    0x52,
  ];
}

function archive(file: string, dict: [string, number[]][], storages: [string, Uint8Array][]): string {
  const pkl = Uint8Array.from([0x80, 2, 0x7d, 0x28, ...dict.flatMap(([k, v]) => [...str(k), ...v]), 0x75, 0x2e]);
  const path = join(work, file);
  writeFileSync(path, zip([['archive/data.pkl', pkl], ['archive/byteorder', Uint8Array.from(text('little'))], ...storages.map(([k, d]): [string, Uint8Array] => [`archive/data/${k}`, d])]));
  return path;
}

describe('TorchCheckpoint', () => {
  const six = new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer);
  it('reads views into one storage: contiguous, offset, transposed strides (gathered)', () => {
    const f = archive('views.bin', [
      ['whole', tensorOp('FloatStorage', '0', 6, 0, [2, 3], [3, 1])],
      ['tail', tensorOp('FloatStorage', '0', 6, 4, [2], [1])],
      ['t', tensorOp('FloatStorage', '0', 6, 0, [3, 2], [1, 3])],
    ], [['0', six]]);
    const ck = TorchCheckpoint.open(f);
    expect(ck.names()).toEqual(['whole', 'tail', 't']);
    expect(Array.from(toF32(ck.read('whole')))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(toF32(ck.read('tail')))).toEqual([4, 5]);
    expect(Array.from(toF32(ck.read('t')))).toEqual([0, 3, 1, 4, 2, 5]);
    expect(ck.read('t').shape).toEqual([3, 2]);
    ck.close();
  });

  it('a view past its storage, a short storage record, and an unread dtype are typed errors naming the tensor', () => {
    const f = archive('bad.bin', [
      ['over', tensorOp('FloatStorage', '0', 6, 4, [3], [1])],
      ['short', tensorOp('FloatStorage', '1', 6, 0, [6], [1])],
      ['long', tensorOp('LongStorage', '2', 1, 0, [1], [1])],
    ], [['0', six], ['1', six.subarray(0, 8)], ['2', new Uint8Array(8)]]);
    const ck = TorchCheckpoint.open(f);
    expect(() => ck.read('over')).toThrow(/bad\.bin: over: expected a view inside its 6-element storage/);
    expect(() => ck.read('short')).toThrow(/short \(storage archive\/data\/1\): expected 24 bytes \(6 × FloatStorage\), got 8/);
    expect(() => ck.read('long')).toThrow(/long: expected FloatStorage, HalfStorage or BFloat16Storage, got LongStorage/);
    expect(ck.info('long')).toMatchObject({ storedAs: 'LongStorage', shape: [1] });
    ck.close();
  });

  it('a real transformers .bin whose pickle names subprocess.check_output is refused before anything runs', () => {
    const bin = readFileSync(resolve(TINY, 'gpt2/bin-fp32/pytorch_model.bin'));
    const at = bin.indexOf('collections\nOrderedDict\n');
    expect(at).toBeGreaterThan(0);
    const evil = Buffer.from(bin);
    evil.write('subprocess\ncheck_output\n', at, 'latin1'); // same length: the zip stays valid
    writeFileSync(join(work, 'evil.bin'), evil);
    const err = (() => {
      try {
        TorchCheckpoint.open(join(work, 'evil.bin'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LoaderError);
    expect(String(err)).toMatch(/evil\.bin:pytorch_model\/data\.pkl: pickle opcode at byte 2: expected a global this loader allows \(it executes no code\), got subprocess\.check_output/);
  });

  it('not a zip (a legacy or truncated file) names the fix', () => {
    writeFileSync(join(work, 'legacy.bin'), Buffer.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
    expect(() => TorchCheckpoint.open(join(work, 'legacy.bin'))).toThrow(/legacy \(pre-1\.6\) torch files and truncated files are not read/);
  });
});
