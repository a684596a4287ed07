// The safe unpickler: data opcodes build values; globals go through the allowlist; code-running
// opcodes and unknown globals are refused with the opcode, byte position and global named.
import { describe, expect, it } from 'vitest';
import { LoaderError } from './errors.js';
import { unpickle, type PickleCallable } from './pickle.js';

const none = { file: 'test.pkl', findGlobal: (): undefined => undefined };
const b = (...parts: (number | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));
const u32 = (n: number): string => String.fromCharCode(n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >> 24) & 255);

describe('unpickle', () => {
  it('builds protocol-2 data: dicts in order, tuples, lists, ints (small, 2-byte, 4-byte, long), floats, strings, bytes, memo', () => {
    // {'a': (1, 300, -2, 2**70), 'b': [1.5, None, True], b'xy': 'c', 'a2': <memo 1>}
    const data = b(
      0x80, 2, '}', 'q', 0, '(',
      'X', u32(1), 'a', '(', 'K', 1, 'M', 44, 1, 'J', u32(-2), 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 't', 'q', 1,
      'X', u32(1), 'b', ']', 'q', 2, '(', 'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 'N', 0x88, 'e',
      'C', 2, 'xy', 'X', u32(1), 'c', 0x8c, 2, 'a2', 'h', 1,
      'u', '.',
    );
    const v = unpickle(data, none) as Map<unknown, unknown>;
    expect([...v.keys()]).toEqual(['a', 'b', Uint8Array.from([120, 121]), 'a2']);
    expect(v.get('a')).toEqual([1, 300, -2, 2n ** 70n]);
    expect(v.get('b')).toEqual([1.5, null, true]);
    expect(v.get('a2')).toBe(v.get('a'));
  });

  it('refuses a global the allowlist does not name (os.system), naming it and the byte', () => {
    const evil = b(0x80, 2, 'c', 'os\nsystem\n', 'X', u32(2), 'ls', 0x85, 'R', '.');
    expect(() => unpickle(evil, none)).toThrow(LoaderError);
    expect(() => unpickle(evil, none)).toThrow(/test\.pkl: pickle opcode at byte 2: expected a global this loader allows \(it executes no code\), got os\.system/);
  });

  it('refuses STACK_GLOBAL of builtins.eval the same way, and INST / OBJ opcodes by name', () => {
    expect(() => unpickle(b(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.'), none)).toThrow(/got builtins\.eval/);
    expect(() => unpickle(b('(', 'i', 'os\nsystem\n', '.'), none)).toThrow(/pickle opcode at byte 1: expected a data opcode .*got opcode 0x69 'i'/);
    expect(() => unpickle(b('(', 'o', '.'), none)).toThrow(/opcode 0x6f 'o'/);
  });

  it('REDUCE only calls what the allowlist returned; BUILD only where the maker knows how', () => {
    const calls: unknown[] = [];
    const pair: PickleCallable = { name: 'my.pair', call: (args) => (calls.push(args), { pair: args }) };
    const o = { file: 'p.pkl', findGlobal: (m: string, n: string) => (m === 'my' && n === 'pair' ? pair : undefined) };
    expect(unpickle(b('c', 'my\npair\n', 'K', 1, 'K', 2, 0x86, 'R', '.'), o)).toEqual({ pair: [1, 2] });
    expect(() => unpickle(b('c', 'my\npair\n', ')', 'R', '}', 'b', '.'), o)).toThrow(/expected BUILD only on objects an allowed global made and knows how to update/);
    expect(() => unpickle(b('K', 1, ')', 'R', '.'), o)).toThrow(/expected an allowed global to call \(REDUCE\), got number/);
  });

  it('a truncated pickle and a missing STOP are errors, not hangs', () => {
    expect(() => unpickle(b(0x80, 2, 'X', u32(100), 'ab'), none)).toThrow(/expected 100 more bytes, got end of data .*truncated/);
    expect(() => unpickle(b(0x80, 2, 'K', 1), none)).toThrow(/end of data/);
    expect(() => unpickle(b('K', 1, 'K', 2, '.'), none)).toThrow(/one value on the stack at STOP, got 2 values/);
  });
});
