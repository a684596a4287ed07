/**
 * `trtllm run` — the seed's examples/gpt/run.py: generate from an engine directory for text
 * (`--input_text`, several allowed) or token ids (`--input_tokens` .csv: one comma-separated row per
 * input; or .npy [B, T] padded with the end id), print the input and each output, and optionally
 * save the output ids (`--output_csv`, `--output_npy` [B, beams, T] = input + output, padded with the
 * end id, as the seed writes them).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Engine, GEMM_ALGOS, gpuStatus, launchFromEnv, rendezvousTimeoutMs, type BackendName, type GemmAlgo, type GenerateRequest, type KernelSet, type Launch } from '@trtllm/engine';
import { readNpy, writeNpy } from '@trtllm/loader';
import { fromValues } from '@trtllm/ref-math';
import { parseFlags, positiveInt, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';

/** The help line of --gemm_algo, shared by the commands that load engines. */
export const GEMM_ALGO_HELP = `  --gemm_algo ${GEMM_ALGOS.join('|')}
                          production GEMM policy (default auto: the decode GEMM for engines of at most 8
                          generation rows per step, else cuBLASLt with one algorithm per shape)`;

export const RUN_HELP = `Usage: trtllm run --engine_dir DIR [--input_text T ...| --input_tokens FILE] [flags]

  --engine_dir DIR        output of trtllm build (gpt_outputs)
  --input_text T          prompt text (repeat for a batch; default "Born in north-east France, Soyer trained as a")
  --input_tokens FILE     .csv (one comma-separated row of ids per input) or .npy [B, T] (padded with the end id)
  --max_output_len N      new tokens per input (default the engine's max_output_len)
  --tokenizer DIR|gpt2    a tokenizer directory (or tokenizer.model / tokenizer.json), used instead of the
                          engine dir's; gpt2: the stock GPT-2 vocabulary, only when the engine dir has none (default)
  --vocab_file FILE       a sentencepiece tokenizer.model (GPT-Next; what nemo-convert writes), the seed's flag
  --end_id N              stop id (default the tokenizer's eos, <|endoftext|> for GPT-2; else 50256 as the seed)
  --num_beams N           beam search width (default 1; at most the engine's max_beam_width); every beam is printed
  --top_k N --top_p F --temperature F --repetition_penalty F --random_seed N
                          sampling (default greedy)
  --output_csv FILE       write output ids, one row per input
  --output_npy FILE       write [B, beams, T] int32 ids (input + output, padded with the end id)
  --backend ref|cuda      kernels (default cuda when a GPU is usable, else ref)
  --kernels production|reference  cuda kernels: production (default; cuBLASLt, flash attention, CUDA graphs)
                          or reference (bit-exact to the ref backend)
${GEMM_ALGO_HELP}
  --prompt_table FILE     prompt tuning: .npy [numTasks, Pt, H] (engine built with --max_prompt_embedding_table_size);
                          text inputs get the virtual tokens V … V+Pt−1 in front
  --prompt_tasks T[,T…]   the task of each input (one value: every input; default 0); --tasks, the seed's name, too
  --world_size N          run a TP-N engine as N processes, one GPU each, joined by NCCL (cuda);
                          without it a multi-rank engine runs its ranks in this process;
                          under mpirun / srun the launcher's ranks are used (docs/engine.md)
`;

export async function defaultBackend(): Promise<BackendName> {
  return (await gpuStatus()).ok ? 'cuda' : 'ref';
}

/** `--kernels production|reference` (cuda): the Engine.load option, checked. */
export function kernelsFlag(k: string | undefined): { kernels?: KernelSet } {
  if (k === undefined) return {};
  if (k !== 'production' && k !== 'reference') throw new UsageError(`--kernels must be production or reference, got '${k}'`);
  return { kernels: k };
}

/** `--gemm_algo POLICY` (production cuda kernels): the Engine.load option, checked. */
export function gemmAlgoFlag(a: string | undefined): { gemmAlgo?: GemmAlgo } {
  if (a === undefined) return {};
  if (!(GEMM_ALGOS as readonly string[]).includes(a)) throw new UsageError(`--gemm_algo must be ${GEMM_ALGOS.join(', ')}, got '${a}'`);
  return { gemmAlgo: a as GemmAlgo };
}

/** `--kernels` and `--gemm_algo` together: the Engine.load options of the commands that load engines, checked. */
export function kernelOptions(v: { readonly kernels?: string | undefined; readonly gemm_algo?: string | undefined }): { kernels?: KernelSet; gemmAlgo?: GemmAlgo } {
  return { ...kernelsFlag(v.kernels), ...gemmAlgoFlag(v.gemm_algo) };
}

/**
 * How a TP engine's ranks run: under a launcher (`mpirun -np N trtllm run …`, `srun`: this process is
 * rank 0, cli.ts made the others serve it), or `--world_size N` (N > 1): one process per rank forked
 * by this one. A `--world_size` that disagrees with the launcher's rank count is a usage error.
 */
export function tensorParallel(worldSize: string | undefined, launch: Launch | undefined = launchFromEnv()): { tensorParallel?: 'processes'; worldSize?: number; launch?: Launch; rendezvousTimeoutMs?: number } {
  const n = worldSize === undefined ? undefined : positiveInt('--world_size', worldSize, 1);
  if (launch && launch.worldSize > 1) {
    if (n !== undefined && n !== launch.worldSize) throw new UsageError(`--world_size ${n}, but ${launch.launcher} started ${launch.worldSize} ranks: give the same number (or leave --world_size out)`);
    return { launch, worldSize: launch.worldSize, rendezvousTimeoutMs: rendezvousTimeoutMs() };
  }
  if (n === undefined) return {};
  return n > 1 ? { tensorParallel: 'processes', worldSize: n } : { worldSize: n };
}

function readTokens(file: string, endId: number): number[][] {
  if (!existsSync(file)) throw new UsageError(`--input_tokens ${file}: no such file (a CSV of token ids, one input per line, or a [B, T] .npy)`);
  if (file.endsWith('.npy')) {
    const a = readNpy(file);
    if (a.shape.length !== 2) throw new UsageError(`--input_tokens ${file}: expected a [B, T] array, got shape (${a.shape.join(', ')})`);
    const [b, t] = a.shape as [number, number];
    return Array.from({ length: b }, (_, i) => {
      const row = Array.from(a.data.subarray(i * t, (i + 1) * t));
      const end = row.indexOf(endId);
      return end < 0 ? row : row.slice(0, end);
    });
  }
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim().length > 0)
    .map((l, n) =>
      l.split(',').map((x) => {
        const v = Number(x.trim());
        if (!Number.isInteger(v) || v < 0) throw new UsageError(`--input_tokens ${file}: line ${n + 1}: '${x}' is not a token id`);
        return v;
      }),
    );
}

export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv, {
    engine_dir: { type: 'string' }, input_text: { type: 'string', multiple: true }, input_tokens: { type: 'string' }, max_output_len: { type: 'string' },
    tokenizer: { type: 'string' }, tokenizer_dir: { type: 'string' }, vocab_file: { type: 'string' }, tasks: { type: 'string' }, end_id: { type: 'string' }, num_beams: { type: 'string' }, top_k: { type: 'string' },
    top_p: { type: 'string' }, temperature: { type: 'string' }, repetition_penalty: { type: 'string' }, random_seed: { type: 'string' },
    output_csv: { type: 'string' }, output_npy: { type: 'string' }, backend: { type: 'string' }, kernels: { type: 'string' }, gemm_algo: { type: 'string' }, world_size: { type: 'string' }, prompt_table: { type: 'string' }, prompt_tasks: { type: 'string' }, log_level: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, RUN_HELP);
  if (values.help) {
    io.out(RUN_HELP);
    return 0;
  }
  const num = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${v}'`);
    return n;
  };
  const numBeams = num('num_beams', values.num_beams) ?? 1;
  if (!Number.isInteger(numBeams) || numBeams < 1) throw new UsageError(`--num_beams must be a positive integer, got '${String(values.num_beams)}'`);
  const kernelFlags = kernelOptions(values);
  const backend = (values.backend ?? (await defaultBackend())) as BackendName;
  if (backend !== 'ref' && backend !== 'cuda') throw new UsageError(`--backend must be ref or cuda, got '${backend}'`);
  return withLibraryErrors('run', io, async () => {
    if (values.vocab_file !== undefined && (values.tokenizer ?? values.tokenizer_dir) !== undefined) throw new UsageError('--vocab_file and --tokenizer name two tokenizers: give one');
    const tok = values.vocab_file ?? values.tokenizer ?? values.tokenizer_dir;
    const engine = await Engine.load(values.engine_dir ?? 'gpt_outputs', { backend, ...kernelFlags, ...(tok ? { tokenizer: tok } : { tokenizer: 'gpt2' }), ...tensorParallel(values.world_size) });
    const endId = num('end_id', values.end_id) ?? engine.tokenizer?.specialIds.eos ?? 50256;
    const sampling = numBeams > 1 ? { numBeams } : {
      ...(values.top_k !== undefined ? { topK: num('top_k', values.top_k)! } : {}),
      ...(values.top_p !== undefined ? { topP: num('top_p', values.top_p)! } : {}),
      ...(values.temperature !== undefined ? { temperature: num('temperature', values.temperature)! } : {}),
      ...(values.repetition_penalty !== undefined ? { repetitionPenalty: num('repetition_penalty', values.repetition_penalty)! } : {}),
      seed: num('random_seed', values.random_seed) ?? 0,
    };
    const maxNew = num('max_output_len', values.max_output_len) ?? engine.config.maxOutputLen;
    let virtual: number[] = [];
    if (values.prompt_table) {
      const a = readNpy(values.prompt_table);
      if (a.shape.length !== 3) throw new UsageError(`--prompt_table ${values.prompt_table}: expected [numTasks, Pt, H], got (${a.shape.join(', ')})`);
      engine.setPromptTable(fromValues(engine.model.dtype, a.shape, a.data));
      virtual = Array.from({ length: a.shape[1]! }, (_, i) => engine.model.vocabSize + i);
    }
    const tasks = (values.prompt_tasks ?? values.tasks ?? '0').split(',').map((x) => num('prompt_tasks', x)!);
    const inputs: GenerateRequest[] = (values.input_tokens
      ? readTokens(values.input_tokens, endId).map((tokens): GenerateRequest => ({ tokens }))
      : (values.input_text ?? ['Born in north-east France, Soyer trained as a']).map((prompt): GenerateRequest => (virtual.length ? { tokens: [...virtual, ...engine.tokenizer!.encode(prompt)] } : { prompt }))
    ).map((r, i) => (values.prompt_table ? { ...r, promptTask: tasks[i] ?? tasks[0]! } : r));
    const results = await engine.generate(inputs.map((r) => ({ ...r, ...sampling, maxNewTokens: Math.min(maxNew, engine.config.maxOutputLen), endId: endId < engine.model.vocabSize ? endId : null })));
    const beamsOf = (r: (typeof results)[number]): readonly { readonly tokens: readonly number[]; readonly text?: string }[] => r.beams ?? [r];
    results.forEach((r, i) => {
      const real = r.promptTokens.filter((t) => t < engine.model.vocabSize);
      const input = engine.tokenizer ? `${r.promptTokens.length > real.length ? `<${r.promptTokens.length - real.length} prompt tokens>` : ''}${engine.tokenizer.decode(real)}` : r.promptTokens.join(', ');
      io.out(`Input [Text ${i}]: "${input}"\n`);
      beamsOf(r).forEach((b, k) => io.out(`Output [Text ${i} Beam ${k}]: "${b.text ?? b.tokens.join(', ')}"\n`));
    });
    if (values.output_csv) writeFileSync(values.output_csv, results.flatMap((r) => beamsOf(r).map((b) => b.tokens.join(','))).join('\n') + '\n');
    if (values.output_npy) {
      const rows = results.map((r) => beamsOf(r).map((b) => [...r.promptTokens, ...b.tokens]));
      const beams = Math.max(...rows.map((x) => x.length));
      const width = Math.max(...rows.flat().map((x) => x.length));
      const ids = rows.flatMap((perBeam) =>
        Array.from({ length: beams }, (_, k) => {
          const row = perBeam[k] ?? [];
          return [...row, ...new Array<number>(width - row.length).fill(endId)];
        }).flat(),
      );
      writeNpy(values.output_npy, '<i4', [results.length, beams, width], ids);
    }
    io.err(`${results.reduce((s, r) => s + r.tokens.length, 0)} tokens in ${engine.steps} steps on the ${backend} backend\n`);
    engine.dispose();
    return 0;
  });
}
