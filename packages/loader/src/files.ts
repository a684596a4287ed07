/**
 * The loader's file primitives, with typed errors naming the file (and tensor): open for reading,
 * read exactly N bytes at an offset (a short read is a truncated file, never silent), and the
 * compiled-worker lookup shared by every package that starts worker threads or processes; and whole
 * small raw files (scales) read into a tensor.
 */
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocStorage, DTYPES, numel, tensor, type DType, type Tensor } from '@trtllm/ref-math';
import { LoaderError } from './errors.js';

/** A read-only descriptor; a missing or unreadable file is a LoaderError saying what was expected. */
export function openFile(path: string, expected: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new LoaderError('io', { file: path, expected, got: (e as Error).message });
  }
}

/** Fill `into` with the bytes at `position` of the open file; the file ending first is an error. */
export function readFully(fd: number, into: Uint8Array, position: number, file: string, item: string): Uint8Array {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new LoaderError('io', { file, item, expected: `${into.length} bytes at ${position}`, got: `${done} (end of file)`, hint: 'the file is truncated, or shrank while reading' });
    done += n;
  }
  return into;
}

/**
 * The compiled file `name` beside the module `from` (an import.meta.url): itself when running
 * compiled, else the same path under the package's dist/ (tests run sources). Undefined when not built.
 */
export function compiledWorker(from: string, name: string): URL | undefined {
  const here = new URL(name, from);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL(here.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'));
  return existsSync(fileURLToPath(built)) ? built : undefined;
}

/** This process's node flags minus the `@trtllm/source` condition: a worker runs compiled JS and must resolve compiled packages. */
export function compiledExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--conditions' || a === '-C') && argv[i + 1] === '@trtllm/source') i++;
    else if (a !== '--conditions=@trtllm/source') out.push(a);
  }
  return out;
}

/**
 * A whole small raw little-endian file as a tensor of `dtype` and `shape` (checkpoint scales, INT8
 * shards), or undefined when it does not exist; a file of another size is a typed error naming it,
 * `hint` saying the fix and `what` the contents expected (default shape and dtype).
 */
export function readRawTensor<D extends DType>(path: string, dtype: D, shape: readonly number[], item: string, hint: string, what = `${shape.join('×')} ${dtype}`): Tensor<D> | undefined {
  if (!existsSync(path)) return undefined;
  const bytes = numel(shape) * DTYPES[dtype].bytes;
  const size = statSync(path).size;
  if (size !== bytes) throw new LoaderError('shape', { file: path, item, expected: `${bytes} bytes (${what})`, got: `${size} bytes`, hint });
  const data = allocStorage(dtype, numel(shape));
  new Uint8Array(data.buffer).set(readFileSync(path));
  return tensor(dtype, shape, data) as Tensor<D>;
}

/**
 * Write a checkpoint directory `<outDir>/<name>` all at once or not at all: `write` fills a hidden
 * sibling `<outDir>/.<name>.partial-*`, which then replaces `<outDir>/<name>` (an existing one only
 * when writing succeeded); on any error the partial directory is removed, and `outDir` too when this
 * call created it. Returns the final directory.
 */
export async function writeDirAtomically(outDir: string, name: string, write: (partial: string) => void | Promise<void>): Promise<string> {
  const out = resolve(outDir);
  const createdOut = !existsSync(out);
  const final = join(out, name);
  const partial = join(out, `.${name}.partial-${process.pid}-${Date.now().toString(36)}`);
  try {
    mkdirSync(partial, { recursive: true });
    await write(partial);
    if (existsSync(final)) {
      const old = `${partial}.old`;
      renameSync(final, old);
      renameSync(partial, final);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(partial, final);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    if (createdOut && existsSync(out) && readdirSync(out).length === 0) rmSync(out, { recursive: true, force: true });
    throw e;
  }
  return final;
}
