/**
 * One interface over every checkpoint container: a named set of tensors read one at a time.
 * Implemented by a safetensors file, a torch .bin, and a sharded checkpoint (HF's
 * `*.index.json`: `{"weight_map": {tensor: shard file}}`), so mapping code never cares which.
 * `openHfWeights(dir)` picks what an HF model directory holds, in HF's own order of preference:
 * model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { DType, Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';
import { SafetensorsFile } from './safetensors.js';
import { TorchCheckpoint } from './torch-bin.js';

export interface TensorInfo {
  readonly name: string;
  /** Undefined when stored in a type we do not read (named by `storedAs`); reading it is then an error. */
  readonly dtype?: DType;
  readonly shape: readonly number[];
  /** The file holding it. */
  readonly file: string;
  /** The container's own name for the stored type (F32, HalfStorage, …). */
  readonly storedAs: string;
}

export interface TensorSource {
  /** A file, or the index file of a sharded checkpoint. */
  readonly path: string;
  names(): string[];
  info(name: string): TensorInfo | undefined;
  read(name: string): Tensor;
  close(): void;
}

export type HfWeightsFormat = 'safetensors' | 'safetensors-sharded' | 'pytorch' | 'pytorch-sharded';

const CANDIDATES: readonly [string, HfWeightsFormat][] = [
  ['model.safetensors', 'safetensors'],
  ['model.safetensors.index.json', 'safetensors-sharded'],
  ['pytorch_model.bin', 'pytorch'],
  ['pytorch_model.bin.index.json', 'pytorch-sharded'],
];

/** Open the weights of an HF model directory (or one weights file given directly). */
export function openHfWeights(path: string): TensorSource & { readonly format: HfWeightsFormat } {
  let file: string | undefined;
  let format: HfWeightsFormat | undefined;
  const known = CANDIDATES.find(([name]) => basename(path) === name);
  if (known) [file, format] = [path, known[1]];
  else {
    for (const [name, f] of CANDIDATES) {
      if (existsSync(join(path, name))) {
        [file, format] = [join(path, name), f];
        break;
      }
    }
  }
  if (!file || !format) {
    throw new LoaderError('missing', { file: path, expected: CANDIDATES.map(([n]) => n).join(', or '), got: existsSync(path) ? 'none of them' : 'no such directory', hint: 'point at an HF model directory saved with save_pretrained' });
  }
  const src: TensorSource =
    format === 'safetensors' ? SafetensorsFile.open(file) : format === 'pytorch' ? TorchCheckpoint.open(file) : ShardedSource.open(file, format === 'safetensors-sharded' ? SafetensorsFile.open : TorchCheckpoint.open);
  return Object.assign(src, { format });
}

/** A sharded checkpoint: the index's weight_map sends each tensor to one shard; shards open on first use. */
export class ShardedSource implements TensorSource {
  readonly path: string;
  readonly #map: ReadonlyMap<string, string>;
  readonly #openShard: (file: string) => TensorSource;
  readonly #open = new Map<string, TensorSource>();

  private constructor(path: string, map: Map<string, string>, openShard: (file: string) => TensorSource) {
    this.path = path;
    this.#map = map;
    this.#openShard = openShard;
  }

  static open(indexFile: string, openShard: (file: string) => TensorSource): ShardedSource {
    let index: { weight_map?: unknown };
    try {
      index = JSON.parse(readFileSync(indexFile, 'utf8')) as { weight_map?: unknown };
    } catch (e) {
      throw new LoaderError('format', { file: indexFile, expected: 'a JSON index with weight_map', got: (e as Error).message });
    }
    const wm = index.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw new LoaderError('format', { file: indexFile, item: 'weight_map', expected: 'an object tensor → shard file', got: JSON.stringify(wm) });
    const dir = dirname(indexFile);
    const map = new Map<string, string>();
    for (const [name, shard] of Object.entries(wm)) {
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
        throw new LoaderError('format', { file: indexFile, item: name, expected: 'a shard file name in the same directory', got: JSON.stringify(shard) });
      }
      map.set(name, resolve(dir, shard));
    }
    for (const shard of new Set(map.values())) {
      if (!existsSync(shard)) throw new LoaderError('missing', { file: shard, expected: 'the shard file the index names', got: 'no such file', hint: `listed in ${indexFile}` });
    }
    const src = new ShardedSource(indexFile, map, openShard);
    // Every shard must hold what the index says it holds (headers only).
    for (const [name, shard] of map) {
      if (!src.#shard(shard).info(name)) throw new LoaderError('missing', { file: shard, item: name, expected: 'the tensor the index places in this shard', got: 'none' });
    }
    return src;
  }

  names(): string[] {
    return [...this.#map.keys()];
  }

  info(name: string): TensorInfo | undefined {
    const shard = this.#map.get(name);
    return shard === undefined ? undefined : this.#shard(shard).info(name);
  }

  read(name: string): Tensor {
    const shard = this.#map.get(name);
    if (shard === undefined) throw new LoaderError('missing', { file: this.path, item: name, expected: 'a tensor in weight_map', got: 'none' });
    return this.#shard(shard).read(name);
  }

  close(): void {
    for (const s of this.#open.values()) s.close();
    this.#open.clear();
  }

  #shard(file: string): TensorSource {
    let s = this.#open.get(file);
    if (!s) {
      s = this.#openShard(file);
      this.#open.set(file, s);
    }
    return s;
  }
}
