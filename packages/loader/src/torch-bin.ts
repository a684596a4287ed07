/**
 * PyTorch checkpoints (`pytorch_model.bin`, torch.save ≥ 1.6 zip format) read without Python and
 * without executing anything. The archive is `<name>/data.pkl` (the pickled state dict),
 * `<name>/data/<key>` (one raw storage per key), `<name>/byteorder`. The pickle is run by our safe
 * unpickler with exactly the globals torch uses for a state dict:
 *   collections.OrderedDict                       the dict itself (BUILD sets `_metadata`: ignored)
 *   torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
 *   torch._utils._rebuild_parameter(data, requires_grad, hooks)
 *   torch.<T>Storage                              storage types (Float, Half, BFloat16 readable; others listed)
 * and persistent ids ('storage', <T>Storage, key, location, numel). Any other global is refused.
 * Tensors are read one at a time from their storage's byte range (views and shared storages, e.g.
 * a tied lm_head, resolve to the same bytes); strided views are gathered element by element.
 */
import { allocStorage, DTYPES, numel, tensor, type DType, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { unpickle, type PickleCallable } from './pickle.js';
import type { TensorInfo, TensorSource } from './tensor-source.js';
import { ZipArchive } from './zip.js';

interface StorageType {
  readonly kind: 'storageType';
  readonly torchName: string;
  readonly bytes: number;
  /** Our dtype, when we read this storage type. */
  readonly dtype?: DType;
}
/** A storage type global (torch.FloatStorage …), as persistent ids name it. */
interface StorageTypeGlobal extends PickleCallable {
  readonly type: StorageType;
}
interface StorageRef {
  readonly kind: 'storage';
  readonly type: StorageType;
  readonly key: string;
  readonly numel: number;
}
interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

const STORAGE_TYPES: Record<string, { bytes: number; dtype?: DType }> = {
  FloatStorage: { bytes: 4, dtype: 'f32' },
  HalfStorage: { bytes: 2, dtype: 'f16' },
  BFloat16Storage: { bytes: 2, dtype: 'bf16' },
  CharStorage: { bytes: 1, dtype: 'i8' },
  IntStorage: { bytes: 4, dtype: 'i32' },
  DoubleStorage: { bytes: 8 },
  LongStorage: { bytes: 8 },
  ShortStorage: { bytes: 2 },
  ByteStorage: { bytes: 1 },
  BoolStorage: { bytes: 1 },
};

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

export class TorchCheckpoint implements TensorSource {
  readonly path: string;
  readonly #zip: ZipArchive;
  readonly #prefix: string;
  readonly #tensors: ReadonlyMap<string, TensorRef>;

  private constructor(path: string, zip: ZipArchive, prefix: string, tensors: Map<string, TensorRef>) {
    this.path = path;
    this.#zip = zip;
    this.#prefix = prefix;
    this.#tensors = tensors;
  }

  /**
   * @param o.window the checkpoint is bytes [offset, offset + length) of `path` (a member of an
   *   uncompressed .nemo tar, read in place), named `label` in errors.
   * @param o.dict the state dict sits at this key path of the pickled dict (e.g. ['prompt_table'] in a
   *   NeMo prompt-learning checkpoint); default the root, or its 'state_dict' / 'model' / 'module'.
   */
  static open(path: string, o: { readonly window?: { readonly offset: number; readonly length: number; readonly label: string }; readonly dict?: readonly string[] } = {}): TorchCheckpoint {
    const zip = ZipArchive.open(path, o.window);
    path = zip.path;
    try {
      const pkl = [...zip.entries.keys()].find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2);
      if (!pkl) throw new LoaderError('format', { file: path, item: 'data.pkl', expected: 'a torch.save archive (<name>/data.pkl)', got: `entries ${[...zip.entries.keys()].slice(0, 4).join(', ')}` });
      const prefix = pkl.slice(0, -'data.pkl'.length);
      const order = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1') : 'little';
      if (order !== 'little') throw new LoaderError('format', { file: path, item: `${prefix}byteorder`, expected: 'little', got: order, hint: 're-save the checkpoint on a little-endian machine' });
      const root = unpickle(zip.read(pkl), { file: `${path}:${pkl}`, findGlobal, persistentLoad });
      return new TorchCheckpoint(path, zip, prefix, collectTensors(path, root, o.dict));
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.#tensors.keys()];
  }

  info(name: string): TensorInfo | undefined {
    const t = this.#tensors.get(name);
    if (!t) return undefined;
    return { name, shape: t.shape, file: this.path, ...(t.storage.type.dtype ? { dtype: t.storage.type.dtype } : {}), storedAs: t.storage.type.torchName };
  }

  read(name: string): Tensor {
    const t = this.#tensors.get(name);
    if (!t) throw new LoaderError('missing', { file: this.path, item: name, expected: 'a tensor of that name', got: 'none', hint: `the state dict has ${this.#tensors.size} tensors, e.g. ${[...this.#tensors.keys()].slice(0, 3).join(', ')}` });
    const dtype = t.storage.type.dtype;
    if (!dtype) throw new LoaderError('dtype', { file: this.path, item: name, expected: 'FloatStorage, HalfStorage or BFloat16Storage', got: t.storage.type.torchName, hint: 'convert the checkpoint to fp32/fp16/bf16' });
    const { bytes } = DTYPES[dtype];
    const n = numel(t.shape);
    const record = `${this.#prefix}data/${t.storage.key}`;
    const range = this.#zip.dataRange(record);
    if (range.length < t.storage.numel * bytes) {
      throw new LoaderError('format', { file: this.path, item: `${name} (storage ${record})`, expected: `${t.storage.numel * bytes} bytes (${t.storage.numel} × ${t.storage.type.torchName})`, got: `${range.length}`, hint: 'the archive is damaged' });
    }
    // Elements this view touches: offset + Σ (size_i − 1)·stride_i must lie inside the storage.
    const last = n === 0 ? t.offset : t.offset + t.shape.reduce((s, d, i) => s + (d - 1) * t.stride[i]!, 0);
    if (last >= t.storage.numel && n > 0) {
      throw new LoaderError('shape', { file: this.path, item: name, expected: `a view inside its ${t.storage.numel}-element storage`, got: `shape [${t.shape.join(', ')}] stride [${t.stride.join(', ')}] offset ${t.offset} reaching element ${last}` });
    }
    const data = allocStorage(dtype, n);
    const out = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (contiguous(t.shape, t.stride)) {
      this.#zip.readAt(range.offset + t.offset * bytes, n * bytes, name, out);
    } else {
      const span = this.#zip.readAt(range.offset + t.offset * bytes, (last - t.offset + 1) * bytes, name);
      gather(span, out, t.shape, t.stride, bytes);
    }
    return tensor(dtype, t.shape, data);
  }

  close(): void {
    this.#zip.close();
  }
}

function contiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) return false;
    expect *= shape[i]!;
  }
  return true;
}

/** Copy a strided view (element strides, relative to span start) into row-major `out`. */
function gather(span: Uint8Array, out: Uint8Array, shape: readonly number[], stride: readonly number[], bytes: number): void {
  const idx = new Array<number>(shape.length).fill(0);
  const n = numel(shape);
  for (let e = 0; e < n; e++) {
    let src = 0;
    for (let d = 0; d < shape.length; d++) src += idx[d]! * stride[d]!;
    out.set(span.subarray(src * bytes, src * bytes + bytes), e * bytes);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

const orderedDict: PickleCallable = {
  name: 'collections.OrderedDict',
  call: (args) => new Map((args[0] as [unknown, unknown][] | undefined) ?? []),
  build: (target) => target, // state = {'_metadata': …}: version numbers of modules, not tensors
};

const rebuildTensor: PickleCallable = {
  name: 'torch._utils._rebuild_tensor_v2',
  call: (args) => {
    const [storage, offset, size, stride] = args;
    const s = storage as StorageRef | undefined;
    if (s?.kind !== 'storage' || !isInt(offset) || !Array.isArray(size) || !Array.isArray(stride) || !size.every(isInt) || !stride.every(isInt) || size.length !== stride.length) {
      throw new Error(`(storage, offset, size, stride, …) with sizes and strides of one rank; got ${args.length} arguments`);
    }
    return { kind: 'tensor', storage: s, offset, shape: size as number[], stride: stride as number[] } satisfies TensorRef;
  },
};

const rebuildParameter: PickleCallable = {
  name: 'torch._utils._rebuild_parameter',
  call: (args) => args[0],
};

function findGlobal(module: string, name: string): PickleCallable | undefined {
  if (module === 'collections' && name === 'OrderedDict') return orderedDict;
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return rebuildTensor;
  if (module === 'torch._utils' && name === '_rebuild_parameter') return rebuildParameter;
  const st = module === 'torch' ? STORAGE_TYPES[name] : undefined;
  if (st) {
    const type: StorageType = { kind: 'storageType', torchName: name, ...st };
    const g: StorageTypeGlobal = { name: `torch.${name}`, type, call: () => type };
    return g;
  }
  return undefined;
}

function persistentLoad(pid: unknown): unknown {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return undefined;
  const [, typeGlobal, key, , n] = pid as [string, Partial<StorageTypeGlobal> | undefined, unknown, unknown, unknown];
  const type = typeGlobal?.type;
  if (!type || typeof key !== 'string' || !/^[\w.-]+$/.test(key) || !isInt(n)) return undefined;
  return { kind: 'storage', type, key, numel: n } satisfies StorageRef;
}

/** The state dict: a dict of name → tensor, at key path `at` if given, else the root or its {'state_dict' | 'model' | 'module': {...}} wrappers. */
function collectTensors(file: string, root: unknown, at?: readonly string[]): Map<string, TensorRef> {
  let dict = root;
  if (at) {
    for (const [i, key] of at.entries()) {
      if (!(dict instanceof Map) || !(dict.get(key) instanceof Map)) {
        throw new LoaderError('format', { file, item: at.slice(0, i + 1).join('.'), expected: 'a dict at that key of the pickled checkpoint', got: dict instanceof Map ? `keys ${[...dict.keys()].slice(0, 5).map(String).join(', ')}` : typeof dict });
      }
      dict = dict.get(key);
    }
  } else {
    for (const wrapper of ['state_dict', 'model', 'module']) {
      if (dict instanceof Map && dict.has(wrapper) && dict.get(wrapper) instanceof Map) dict = dict.get(wrapper);
    }
  }
  if (!(dict instanceof Map)) throw new LoaderError('format', { file, item: 'data.pkl', expected: 'a state dict (name → tensor)', got: Array.isArray(dict) ? 'a list' : typeof dict });
  const out = new Map<string, TensorRef>();
  for (const [k, v] of dict) {
    if (typeof k === 'string' && typeof v === 'object' && v !== null && (v as TensorRef).kind === 'tensor') out.set(k, v as TensorRef);
  }
  if (out.size === 0) throw new LoaderError('format', { file, item: 'data.pkl', expected: 'at least one tensor', got: `a dict of ${dict.size} non-tensor values` });
  return out;
}
