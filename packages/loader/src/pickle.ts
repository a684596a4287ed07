/**
 * A safe unpickler: a pickle virtual machine (protocols 0–5) that builds plain data and executes
 * nothing. It knows the data opcodes (ints, floats, strings, bytes, tuples, lists, dicts, sets, the
 * memo, MARK) and routes every GLOBAL / STACK_GLOBAL through the caller's allowlist; REDUCE, NEWOBJ
 * and BUILD can only apply what that allowlist returned. Opcodes that instantiate arbitrary classes
 * or consult the extension registry (INST, OBJ, EXT1/2/4) and any global the allowlist does not name
 * are refused with the opcode, its byte position and the global's name.
 *
 * Values: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes → Uint8Array, tuple and list → array, dict → Map, set → Set.
 */
import { LoaderError } from './errors.js';

/** What an allowed global is: something REDUCE / NEWOBJ may call, and BUILD may update. */
export interface PickleCallable {
  readonly name: string;
  call(args: readonly unknown[]): unknown;
  /** BUILD on a value this callable made (e.g. an OrderedDict's `__dict__`); default: refuse. */
  build?(target: unknown, state: unknown): unknown;
}

export interface UnpickleOptions {
  /** The file, for errors. */
  readonly file: string;
  /** Resolve `module.name`; undefined = refused. */
  findGlobal(module: string, name: string): PickleCallable | undefined;
  /** Resolve a persistent id (BINPERSID / PERSID); undefined = refused. */
  persistentLoad?(pid: unknown): unknown;
}

const MARK = Symbol('mark');

export function unpickle(data: Uint8Array, o: UnpickleOptions): unknown {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  /** Start of the opcode being run (errors point here). */
  let at = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const fail = (expected: string, got: string, hint?: string): LoaderError =>
    new LoaderError('format', { file: o.file, item: `pickle opcode at byte ${at}`, expected, got, ...(hint ? { hint } : {}) });
  const need = (n: number): void => {
    if (pos + n > buf.length) throw fail(`${n} more bytes`, `end of data at ${buf.length}`, 'the pickle is truncated');
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++]!;
  };
  const bytes = (n: number): Buffer => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const u16 = (): number => bytes(2).readUInt16LE(0);
  const u32 = (): number => bytes(4).readUInt32LE(0);
  const u64 = (): number => {
    const v = bytes(8).readBigUInt64LE(0);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail('a length below 2^53', v.toString());
    return Number(v);
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw fail('a newline-terminated argument', 'end of data');
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw fail('a value on the stack', 'an empty stack');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw fail('a MARK before this opcode', 'none');
    stack = prev;
    return items;
  };
  const top = (): unknown => {
    if (stack.length === 0) throw fail('a value on the stack', 'an empty stack');
    return stack[stack.length - 1];
  };
  const intOf = (n: bigint): number | bigint => (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);
  const littleSigned = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return intOf(v);
  };
  const global = (module: string, name: string): PickleCallable => {
    const g = o.findGlobal(module, name);
    if (!g) throw fail('a global this loader allows (it executes no code)', `${module}.${name}`, 'the checkpoint holds objects other than tensors; save a plain state_dict or use safetensors');
    return g;
  };
  const callable = (f: unknown, what: string): PickleCallable => {
    if (typeof f !== 'object' || f === null || typeof (f as PickleCallable).call !== 'function' || typeof (f as PickleCallable).name !== 'string') {
      throw fail(`an allowed global to ${what}`, describe(f));
    }
    return f as PickleCallable;
  };
  const setItems = (target: unknown, kv: readonly unknown[]): void => {
    if (!(target instanceof Map)) throw fail('a dict to set items on', describe(target));
    if (kv.length % 2) throw fail('key/value pairs', `${kv.length} items`);
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const made = new WeakMap<object, PickleCallable>();
  const apply = (f: PickleCallable, args: readonly unknown[]): unknown => {
    try {
      return f.call(args);
    } catch (e) {
      if (e instanceof LoaderError) throw e;
      throw fail(`arguments ${f.name} accepts`, (e as Error).message);
    }
  };

  for (;;) {
    at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw fail('pickle protocol ≤ 5', `protocol ${buf[pos - 1]}`);
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length) throw fail('one value on the stack at STOP', `${stack.length} values, ${marks.length} open marks`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: {
        // INT (text; "00"/"01" are False/True in protocol 0)
        const s = line();
        stack.push(s === '00' ? false : s === '01' ? true : intOf(BigInt(s)));
        break;
      }
      case 0x4a: // BININT
        stack.push(bytes(4).readInt32LE(0));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4c: // LONG (text, trailing L)
        stack.push(intOf(BigInt(line().replace(/L$/, ''))));
        break;
      case 0x8a: // LONG1
        stack.push(littleSigned(bytes(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(littleSigned(bytes(u32())));
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number(line()));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(bytes(8).readDoubleBE(0));
        break;
      case 0x58: // BINUNICODE
        stack.push(bytes(u32()).toString('utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(bytes(u8()).toString('utf8'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(bytes(u64()).toString('utf8'));
        break;
      case 0x54: // BINSTRING (py2 str)
        stack.push(bytes(u32()).toString('latin1'));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(bytes(u8()).toString('latin1'));
        break;
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(bytes(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(bytes(u8())));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(new Uint8Array(bytes(u64())));
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: {
        // TUPLE (popMark replaces `stack`: take the items before pushing)
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!Array.isArray(l)) throw fail('a list to append to', describe(l));
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!Array.isArray(l)) throw fail('a list to append to', describe(l));
        l.push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const m = new Map();
        setItems(m, popMark());
        stack.push(m);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) throw fail('a set to add to', describe(s));
        for (const v of items) s.add(v);
        break;
      }
      case 0x91: {
        // FROZENSET
        const items = new Set(popMark());
        stack.push(items);
        break;
      }
      case 0x67: // GET
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x67 ? Number(line()) : op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(`memo entry ${k}`, 'none');
        stack.push(memo.get(k));
        break;
      }
      case 0x70: // PUT
        memo.set(Number(line()), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('module and name strings', `${describe(module)}, ${describe(name)}`);
        stack.push(global(module, name));
        break;
      }
      case 0x52: // REDUCE
      case 0x81: {
        // NEWOBJ (cls, args): with our allowlist the same as calling
        const args = pop();
        const f = callable(pop(), op === 0x52 ? 'call (REDUCE)' : 'construct (NEWOBJ)');
        if (!Array.isArray(args)) throw fail('an argument tuple', describe(args));
        const v = apply(f, args);
        if (typeof v === 'object' && v !== null) made.set(v, f);
        stack.push(v);
        break;
      }
      case 0x92: {
        // NEWOBJ_EX (cls, args, kwargs)
        const kwargs = pop();
        const args = pop();
        const f = callable(pop(), 'construct (NEWOBJ_EX)');
        if (!Array.isArray(args) || !(kwargs instanceof Map) || kwargs.size) throw fail('positional arguments only', describe(kwargs));
        const v = apply(f, args);
        if (typeof v === 'object' && v !== null) made.set(v, f);
        stack.push(v);
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        const f = typeof target === 'object' && target !== null ? made.get(target) : undefined;
        if (!f?.build) throw fail('BUILD only on objects an allowed global made and knows how to update', describe(target));
        stack[stack.length - 1] = f.build(target, state);
        break;
      }
      case 0x51: // BINPERSID
      case 0x50: {
        // PERSID
        const pid = op === 0x51 ? pop() : line();
        const v = o.persistentLoad?.(pid);
        if (v === undefined) throw fail('a persistent id this loader knows (a torch storage)', describe(pid));
        stack.push(v);
        break;
      }
      default:
        throw fail(
          'a data opcode (this unpickler executes no code)',
          `opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : ''}`,
          'INST, OBJ and the EXT opcodes are refused; save a plain state_dict or use safetensors',
        );
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (typeof v === 'object' && typeof (v as PickleCallable).name === 'string') return `global ${(v as PickleCallable).name}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v;
}
