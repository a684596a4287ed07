/**
 * The `trtllm` command line: one subcommand per workflow step. Each subcommand parses its own flags
 * and returns an exit code; bad usage is a UsageError (exit 2) whose message names the flag and the fix.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bindRankDevice, EngineError, gpuStatus, launchFromEnv, rendezvousTimeoutMs, serveLaunchedRank } from '@trtllm/engine';
import { UsageError, type CliIO } from './io.js';
import { benchmark } from './benchmark.js';
import { build } from './build.js';
import { convert } from './convert.js';
import { nemoConvert, nemoPromptConvert } from './nemo.js';
import { perplexity } from './perplexity.js';
import { run } from './run.js';
import { summarize } from './summarize.js';
import { selftest } from './selftest.js';
import { serve } from './serve.js';

export { type CliIO, UsageError } from './io.js';

type Command = (argv: readonly string[], io: CliIO) => number | Promise<number>;

/** The commands that load an engine, and so may run as one rank of a launched job (mpirun, srun). */
const LAUNCHABLE = new Set(['run', 'summarize', 'perplexity', 'serve', 'benchmark']);

const COMMANDS: Record<string, { readonly run: Command; readonly summary: string }> = {
  selftest: { run: selftest, summary: "run the oracle's golden checks and print its conformance table (no GPU needed)" },
  convert: { run: convert, summary: 'HF checkpoint (safetensors / .bin; GPT-2, SantaCoder, StarCoder) → FT checkpoint with TP splits' },
  'nemo-convert': { run: nemoConvert, summary: 'NeMo .nemo (GPT-Next: RoPE, SwiGLU, layernorm1p; any training TP / PP) → FT checkpoint + tokenizer.model' },
  'nemo-prompt-convert': { run: nemoPromptConvert, summary: 'prompt-learning .nemo → .npy prompt table [tasks, Pt, H] for run --prompt_table' },
  build: { run: build, summary: 'FT checkpoint or random weights → engine directory (the seed build.py flags)' },
  run: { run, summary: 'generate from an engine for text or token ids (ref or cuda backend)' },
  summarize: { run: summarize, summary: 'cnn_dailymail-style summarization with ROUGE-1/2/L/Lsum as summarize.py reports it' },
  perplexity: { run: perplexity, summary: 'windowed validation perplexity of an engine on a text file' },
  serve: { run: serve, summary: 'an engine behind an OpenAI-compatible HTTP API: /v1/completions (streaming too), /v1/models, /health' },
  benchmark: { run: benchmark, summary: 'TTFT, ms per decode step, tokens/s per batch size (vs the HF peer and the roofline), table + JSON + SVG' },
};

export const HELP = `Usage: trtllm <command> [flags]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(20)}${c.summary}`)
  .join('\n')}

Run \`trtllm <command> --help\` for a command's flags; \`trtllm --version\` for the version and the GPU seen.
`;

/** `trtllm --version`: this package's version, Node's, and the backend a command would pick (with the GPU, or why none). */
export async function versionLine(): Promise<string> {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  const g = await gpuStatus();
  return `trtllm ${version} (node ${process.version}; ${g.ok ? `cuda backend: ${g.name}${g.count > 1 ? ` × ${g.count}` : ''}` : `ref backend: ${g.reason}`})\n`;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.out(await versionLine());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`trtllm: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  if (LAUNCHABLE.has(name) && !rest.some((a) => a === '--help' || a === '-h')) {
    const ranked = await launchedRank(name, rest, io);
    if (ranked !== undefined) return ranked;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`trtllm ${name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

/**
 * Under mpirun / srun (launchFromEnv), every rank gets its GPU by local rank before anything touches
 * CUDA; rank 0 goes on to run the command (its Engine.load accepts the others), and ranks 1 … W−1
 * serve rank 0 instead of running it: the returned exit code is theirs. undefined: go on.
 */
async function launchedRank(name: string, argv: readonly string[], io: CliIO): Promise<number | undefined> {
  try {
    const launch = launchFromEnv();
    if (!launch || launch.worldSize === 1) return undefined;
    bindRankDevice(launch);
    if (launch.rank === 0) return undefined;
    return await serveLaunchedRank(launch, { timeoutMs: rendezvousTimeoutMs(), log: (l) => io.err(`${l}\n`), engineDir: engineDirFlag(argv) });
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    io.err(`trtllm ${name}: ${e.message}\n`);
    return e.kind === 'config' ? 2 : 1;
  }
}

/** The command's `--engine_dir` (its default, gpt_outputs, as run / summarize / perplexity use): a rank loads the engine on its own host's path. */
function engineDirFlag(argv: readonly string[]): string {
  const { values } = parseArgs({ args: [...argv], options: { engine_dir: { type: 'string' } }, strict: false, allowPositionals: true });
  return typeof values.engine_dir === 'string' ? values.engine_dir : 'gpt_outputs';
}
