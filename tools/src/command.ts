/**
 * What every `trtllm` command shares: flags parsed by node:util's parseArgs (bad usage becomes a
 * UsageError carrying the command's help), and the library's typed errors (LoaderError,
 * EngineError — each already names the file or flag and the fix) turned into a message and an exit
 * code: 2 for a configuration the flags asked for, 1 for everything else. Other errors propagate.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '@trtllm/engine';
import { LoaderError } from '@trtllm/loader';
import { UsageError, type CliIO } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<O extends Options>(args: readonly string[], options: O, help: string): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true }>>['values'] {
  try {
    return parseArgs({ args: [...args], options, strict: true }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${help}`);
  }
}

export async function withLibraryErrors(command: string, io: CliIO, body: () => number | Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof EngineError || e instanceof LoaderError) {
      io.err(`trtllm ${command}: ${e.message}\n`);
      return e instanceof EngineError && e.kind === 'config' ? 2 : 1;
    }
    throw e;
  }
}

/** A flag that must be a positive integer (`fallback` when absent); else a usage error naming it. */
export function positiveInt(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
  return n;
}
