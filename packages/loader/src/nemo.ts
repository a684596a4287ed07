/**
 * NeMo `.nemo` archives (ARCHITECTURE.md, Checkpoints in): a tar — plain, or gzip'd by older NeMo —
 * holding `model_config.yaml`, the weights `model_weights.ckpt` (torch.save zip) or one per
 * model-parallel rank (`mp_rank_XX/…` for tensor parallelism, `tp_rank_XX_pp_rank_XXX/…` with
 * pipeline stages), and tokenizer artifacts named `<uuid>_<name>` that the config refers to as
 * `nemo:<uuid>_<name>`. An unpacked directory of the same layout is read as well.
 *
 * node-tar decodes the headers (ustar, pax extended headers, GNU long names, base-256 sizes,
 * checksums); this module walks the 512-byte blocks itself to learn where each member's bytes lie,
 * so a multi-gigabyte checkpoint is read in place, never extracted. A gzip'd archive is first
 * inflated into a temporary tar (removed by `close`). The YAML is read by the `yaml` library with
 * the YAML 1.1 schema PyYAML (and so NeMo's OmegaConf) writes.
 */
import { closeSync, createReadStream, createWriteStream, fstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Header, Pax, type HeaderData } from 'tar';
import { parse as parseYaml } from 'yaml';
import { LoaderError } from './errors.js';
import { openFile, readFully } from './files.js';
import { TorchCheckpoint } from './torch-bin.js';

/** A member's bytes: `length` bytes at `offset` of `file`. */
export interface NemoMember {
  /** Its name in the archive, without a leading `./`. */
  readonly name: string;
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

export class NemoArchive {
  /** The .nemo file or directory as given. */
  readonly path: string;
  readonly members: ReadonlyMap<string, NemoMember>;
  /** Directory of model_config.yaml inside the archive ('' at the root): where ranks and tokenizer files are. */
  readonly root: string;
  /** model_config.yaml, parsed. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly #temp: string | undefined;

  private constructor(path: string, members: Map<string, NemoMember>, temp: string | undefined) {
    this.path = path;
    this.members = members;
    this.#temp = temp;
    const configs = [...members.keys()].filter((n) => posix.basename(n) === 'model_config.yaml');
    if (configs.length !== 1) {
      throw new LoaderError(configs.length ? 'format' : 'missing', { file: path, item: 'model_config.yaml', expected: 'one model_config.yaml', got: configs.length ? configs.join(', ') : `none among ${members.size} members (${[...members.keys()].slice(0, 4).join(', ')})`, hint: 'a .nemo file as NeMo saves it (save_to)' });
    }
    this.root = posix.dirname(configs[0]!) === '.' ? '' : posix.dirname(configs[0]!);
    const text = this.read(configs[0]!).toString('utf8');
    let config: unknown;
    try {
      config = parseYaml(text, { version: '1.1', uniqueKeys: true, maxAliasCount: 100 });
    } catch (e) {
      throw new LoaderError('format', { file: `${path}:${configs[0]}`, expected: 'YAML', got: (e as Error).message.split('\n')[0]! });
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new LoaderError('format', { file: `${path}:${configs[0]}`, expected: 'a mapping of config keys', got: Array.isArray(config) ? 'a list' : String(config) });
    this.config = config as Record<string, unknown>;
  }

  /** Index `path` (a .nemo tar, gzip'd or not, or a directory) and read its config. */
  static async open(path: string): Promise<NemoArchive> {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      throw new LoaderError('io', { file: path, expected: 'a .nemo file or an unpacked .nemo directory', got: (e as Error).message });
    }
    if (st.isDirectory()) return new NemoArchive(path, directoryMembers(path), undefined);
    const fd = openFile(path, 'a .nemo file');
    let magic: Uint8Array;
    try {
      magic = readFully(fd, new Uint8Array(Math.min(2, fstatSync(fd).size)), 0, path, 'magic');
    } finally {
      closeSync(fd);
    }
    if (magic[0] !== 0x1f || magic[1] !== 0x8b) return new NemoArchive(path, tarMembers(path, path), undefined);
    const temp = mkdtempSync(join(tmpdir(), 'trtllm-nemo-'));
    try {
      const tar = join(temp, 'archive.tar');
      try {
        await pipeline(createReadStream(path), createGunzip(), createWriteStream(tar));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code && !code.startsWith('Z_')) throw new LoaderError('io', { file: tar, expected: `room to inflate ${path} (a gzip'd .nemo is unpacked to a temporary tar)`, got: (e as Error).message, hint: 'free space there, or point TMPDIR elsewhere' });
        throw new LoaderError('format', { file: path, expected: 'a gzip-compressed tar', got: (e as Error).message, hint: 'the file is truncated or damaged' });
      }
      return new NemoArchive(path, tarMembers(tar, path), temp);
    } catch (e) {
      rmSync(temp, { recursive: true, force: true });
      throw e;
    }
  }

  /** A member by name (relative to the archive's top, `./` dropped). */
  member(name: string): NemoMember {
    const m = this.members.get(name);
    if (!m) throw new LoaderError('missing', { file: this.path, item: name, expected: 'an archive member of that name', got: `none (members: ${[...this.members.keys()].slice(0, 6).join(', ')}${this.members.size > 6 ? ', …' : ''})` });
    return m;
  }

  /** A whole member's bytes (small members: config, tokenizer). */
  read(name: string): Buffer {
    const m = this.member(name);
    const fd = openFile(m.file, 'a readable archive');
    try {
      const b = readFully(fd, new Uint8Array(m.length), m.offset, `${this.path}:${name}`, name);
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    } finally {
      closeSync(fd);
    }
  }

  /** A torch.save member, read in place (`dict`: the state dict's key path, TorchCheckpoint.open). */
  checkpoint(name: string, o: { readonly dict?: readonly string[] } = {}): TorchCheckpoint {
    const m = this.member(name);
    return TorchCheckpoint.open(m.file, { window: { offset: m.offset, length: m.length, label: `${this.path}:${name}` }, ...o });
  }

  /**
   * The weights member of tensor-parallel rank `tp` and pipeline stage `pp` of a model trained with
   * `tpSize` × `ppSize` ranks: `model_weights.ckpt` (or `*last.ckpt`), under `mp_rank_XX/` when
   * `tpSize` > 1 and `tp_rank_XX_pp_rank_XXX/` when `ppSize` > 1, as NeMo saves them.
   */
  weightsMember(tp: number, pp: number, tpSize: number, ppSize: number): string {
    const dir = ppSize > 1 ? `tp_rank_${pad(tp, 2)}_pp_rank_${pad(pp, 3)}` : tpSize > 1 ? `mp_rank_${pad(tp, 2)}` : '';
    const base = posix.join(this.root, dir);
    const inDir = [...this.members.keys()].filter((n) => posix.dirname(n) === (base || '.') || (base === '' && !n.includes('/')));
    const name = inDir.find((n) => posix.basename(n) === 'model_weights.ckpt') ?? inDir.filter((n) => n.endsWith('last.ckpt')).sort()[0];
    if (!name) {
      throw new LoaderError('missing', { file: this.path, item: posix.join(dir, 'model_weights.ckpt'), expected: `the weights of rank ${tp}${ppSize > 1 ? ` stage ${pp}` : ''} (tensor_model_parallel_size ${tpSize}, pipeline_model_parallel_size ${ppSize} in model_config.yaml)`, got: 'no such member', hint: 'the archive is incomplete, or its config does not describe it' });
    }
    return name;
  }

  /**
   * The member a tokenizer config value names: `nemo:<name>` (or `/artifacts/…`) is the one member
   * directly in the archive root whose name ends with `<name>` (NeMo prefixes a uuid); undefined when
   * the value is absent or 'None'.
   */
  artifact(value: unknown, key: string): string | undefined {
    if (value === undefined || value === null || value === 'None') return undefined;
    if (typeof value !== 'string') throw new LoaderError('format', { file: this.path, item: key, expected: 'a file name (nemo:<name>)', got: JSON.stringify(value) });
    const want = value.startsWith('nemo:') ? value.slice(5) : posix.basename(value);
    const inRoot = [...this.members.keys()].filter((n) => posix.dirname(n) === (this.root || '.') && n.endsWith(want));
    if (inRoot.length !== 1) {
      throw new LoaderError(inRoot.length ? 'format' : 'missing', { file: this.path, item: key, expected: `one archive member named *${want} (from ${key}: ${value})`, got: inRoot.length ? inRoot.join(', ') : 'none', hint: 'the archive lacks the tokenizer file its config names' });
    }
    return inRoot[0];
  }

  /** Remove the inflated copy of a gzip'd archive. */
  close(): void {
    if (this.#temp) rmSync(this.#temp, { recursive: true, force: true });
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function directoryMembers(dir: string): Map<string, NemoMember> {
  const out = new Map<string, NemoMember>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p); // follows symlinks (a linked model_weights.ckpt is a member too)
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const name = relative(dir, p).split(/[\\/]/).join('/');
        out.set(name, { name, file: p, offset: 0, length: st.size });
      }
    }
  };
  walk(dir);
  return out;
}

/** The regular files of the tar `file` and their byte ranges; `label` names it in errors. */
export function tarMembers(file: string, label = file): Map<string, NemoMember> {
  const fd = openFile(file, 'a tar archive');
  try {
    const size = fstatSync(fd).size;
    const out = new Map<string, NemoMember>();
    const block = Buffer.alloc(512);
    let at = 0;
    let ex: HeaderData | undefined;
    let gex: HeaderData | undefined;
    const body = (h: Header, offset: number): string => {
      const b = Buffer.alloc(h.size ?? 0);
      readFully(fd, b, offset, label, 'tar extended header');
      return b.toString('utf8');
    };
    for (;;) {
      if (at + 512 > size) {
        if (at === size && out.size > 0) break; // no end-of-archive blocks: tolerated, as tar does
        throw new LoaderError('format', { file: label, item: `tar header at byte ${at}`, expected: '512 bytes', got: `${size - at} (the archive is truncated)`, hint: 'download or copy the .nemo again' });
      }
      readFully(fd, block, at, label, 'tar header');
      if (block.every((b) => b === 0)) break; // end of archive
      const h = new Header(block, 0, ex, gex);
      if (!h.cksumValid) {
        throw new LoaderError('format', { file: label, item: `tar header at byte ${at}`, expected: at === 0 ? 'a tar archive (.nemo)' : 'a valid tar header checksum', got: at === 0 ? 'a file that is not a tar' : 'a damaged header', hint: at === 0 ? 'pass a .nemo file (a tar, possibly gzip-compressed) or its unpacked directory' : 'the archive is damaged' });
      }
      const length = h.size ?? 0;
      const data = at + 512;
      if (data + length > size) {
        throw new LoaderError('format', { file: label, item: h.path ?? `member at byte ${at}`, expected: `${length} bytes of data`, got: `${size - data} (the archive is truncated)`, hint: 'download or copy the .nemo again' });
      }
      const type = h.type;
      if (type === 'ExtendedHeader') ex = Pax.parse(body(h, data), ex, false);
      else if (type === 'GlobalExtendedHeader') gex = Pax.parse(body(h, data), gex, true);
      else if (type === 'NextFileHasLongPath' || type === 'OldGnuLongPath') ex = { ...ex, path: body(h, data).replace(/\0.*/s, '') };
      else if (type === 'NextFileHasLongLinkpath') ex = { ...ex, linkpath: body(h, data).replace(/\0.*/s, '') };
      else {
        if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') {
          const name = posix.normalize((h.path ?? '').replace(/^(\.\/)+/, ''));
          if (name === '..' || name.startsWith('../') || name.startsWith('/')) throw new LoaderError('format', { file: label, item: h.path ?? '', expected: 'a member path inside the archive', got: 'a path outside it' });
          out.set(name, { name, file, offset: data, length });
        }
        ex = undefined; // an extended header applies to the next member only
      }
      at = data + Math.ceil(length / 512) * 512;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
