/**
 * `trtllm nemo-convert` and `trtllm nemo-prompt-convert` — the seed's examples/gpt/nemo_ckpt_convert.py
 * and nemo_prompt_convert.py: a NeMo Megatron GPT `.nemo` (GPT-Next) → an FT checkpoint
 * `<out>/<tp>-gpu/` with its `tokenizer.model`, and a prompt-learning `.nemo` → the `.npy` prompt table
 * `run --prompt_table` reads.
 */
import { convertNemoToFt, FT_STORAGE, readNemoPromptTable, writeNpy, type FtStorageType } from '@trtllm/loader';
import { parseFlags, positiveInt, withLibraryErrors } from './command.js';
import { UsageError, type CliIO } from './io.js';
import { progressBar } from './progress.js';

export const NEMO_CONVERT_HELP = `Usage: trtllm nemo-convert -i <model.nemo> -o <out dir> [flags]

Converts a NeMo Megatron GPT checkpoint (GPT-Next: RoPE, SwiGLU, layernorm1p, no bias; or GPT-2
style) to an FT checkpoint in <out dir>/<tp>-gpu, with its tokenizer (tokenizer.model, or
vocab.json + merges.txt), as TensorRT-LLM's examples/gpt/nemo_ckpt_convert.py writes it.

  -i, --in-file FILE              the .nemo (a tar, gzip'd or not) or its unpacked directory;
                                  tensor-parallel (mp_rank_XX) and pipeline (tp_rank_XX_pp_rank_XXX)
                                  checkpoints are merged
  -o, --out-dir DIR               output directory (the checkpoint goes to DIR/<tp>-gpu; an existing
                                  one is replaced only when conversion succeeds)
  -tp, --tensor-parallelism N     split for N ranks (default 1), whatever the training TP; must divide
                                  the heads and ffn_hidden_size
  -t, --storage-type T            float32 | float16 | bfloat16 (default float32)
  -p, --processes N               accepted for compatibility (one thread converts)
      --load-checkpoints-on-gpu   accepted for compatibility: conversion runs on the CPU
      --verbose                   a line per tensor written (tensors done / all) instead of the progress bar

Differences from the seed, on purpose: rotary_pct is written only when position_embedding_type is
rope (the seed copies rotary_percentage for learned positions too); plain swiglu's separate
dense_h_to_4h_2 becomes the gate (the seed halves dense_h_to_4h); geglu, reglu, RMSNorm, grouped
queries and Megatron-core checkpoints are refused by name; config.ini holds the keys build reads;
eos/bos come from the tokenizer and run uses them (the seed's run.py hard-codes 50256).
`;

export const NEMO_PROMPT_CONVERT_HELP = `Usage: trtllm nemo-prompt-convert -i <prompt.nemo> -o <table.npy>

Writes the prompt table of a p-tuning / prompt-tuning .nemo as a float32 .npy [tasks, Pt, H] (every
task's virtual-token embeddings, zero rows after the shorter ones), as TensorRT-LLM's
examples/gpt/nemo_prompt_convert.py does, and prints each task's id: pass the ids to
trtllm run --prompt_table <table.npy> --tasks ID[,ID…].

  -i, --in-file FILE              the prompt-learning .nemo
  -o, --out-file FILE             the .npy to write (.npy is added when missing, as numpy does)
  -t, --storage-type T            accepted for compatibility: the table is float32 (as the seed's)
      --verbose                   accepted for compatibility
`;

const ALIASES: Record<string, string> = { '-tp': '--tensor-parallelism' };

export async function nemoConvert(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv.map((a) => ALIASES[a] ?? a), {
    'in-file': { type: 'string', short: 'i' },
    'out-dir': { type: 'string', short: 'o' },
    'tensor-parallelism': { type: 'string' },
    'storage-type': { type: 'string', short: 't' },
    processes: { type: 'string', short: 'p' },
    'load-checkpoints-on-gpu': { type: 'boolean' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, NEMO_CONVERT_HELP);
  if (values.help) {
    io.out(NEMO_CONVERT_HELP);
    return 0;
  }
  const inFile = values['in-file'];
  const outDir = values['out-dir'];
  if (!inFile || !outDir) throw new UsageError(`-i/--in-file and -o/--out-dir are required\n\n${NEMO_CONVERT_HELP}`);
  const storage = values['storage-type'] ?? 'float32';
  if (!(storage in FT_STORAGE)) throw new UsageError(`-t/--storage-type must be one of ${Object.keys(FT_STORAGE).join(', ')}, got '${storage}'`);
  const tp = positiveInt('-tp/--tensor-parallelism', values['tensor-parallelism'], 1);
  positiveInt('-p/--processes', values.processes, 1); // accepted, checked, unused
  const started = performance.now();
  return withLibraryErrors('nemo-convert', io, async () => {
    const bar = values.verbose ? undefined : progressBar(io, 'saving weights');
    const r = await convertNemoToFt({
      inFile,
      outDir,
      tp,
      storage: storage as FtStorageType,
      onProgress: (p) => (bar ? bar.update(p.tensorsDone, p.tensors, `${p.tensorsDone}/${p.tensors} tensors`) : io.out(`  ${p.tensorsDone}/${p.tensors}\n`)),
    });
    bar?.end();
    const c = r.config;
    const m = r.nemo;
    io.out(`${inFile}: NeMo GPT, ${c.nLayer} layers, hidden ${c.nEmbd}, ${c.nHead} heads, ffn ${c.intermediateSize} (${m.activation}), vocab ${c.vocabSize} (padded), ${m.rotaryPct > 0 ? `rope ${m.rotaryPct}` : 'learned positions'}, ${m.layernorm1p ? 'layernorm1p' : 'layernorm'}, bias ${m.bias}, output ${m.shareEmbeddings ? 'tied' : 'separate'}, trained with tp ${m.tp}${m.pp > 1 ? ` pp ${m.pp}` : ''}\n`);
    const seconds = (performance.now() - started) / 1000;
    io.out(`wrote ${r.dir}: ${r.files} files, ${storage}, tp ${tp}, tokenizer ${r.tokenizer.join(' + ')} (eos ${r.eos}, bos ${r.bos}), ${seconds.toFixed(2)} s\n`);
    return 0;
  });
}

export async function nemoPromptConvert(argv: readonly string[], io: CliIO): Promise<number> {
  const values = parseFlags(argv, {
    'in-file': { type: 'string', short: 'i' },
    'out-file': { type: 'string', short: 'o' },
    'storage-type': { type: 'string', short: 't' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, NEMO_PROMPT_CONVERT_HELP);
  if (values.help) {
    io.out(NEMO_PROMPT_CONVERT_HELP);
    return 0;
  }
  const inFile = values['in-file'];
  let outFile = values['out-file'];
  if (!inFile || !outFile) throw new UsageError(`-i/--in-file and -o/--out-file are required\n\n${NEMO_PROMPT_CONVERT_HELP}`);
  if (values['storage-type'] !== undefined && !['fp32', 'fp16'].includes(values['storage-type'])) throw new UsageError(`-t/--storage-type must be fp32 or fp16, got '${values['storage-type']}'`);
  if (!outFile.endsWith('.npy')) outFile += '.npy';
  return withLibraryErrors('nemo-prompt-convert', io, async () => {
    const { tasks, skipped, table } = await readNemoPromptTable(inFile);
    for (const t of tasks) io.out(`Task ${t.id}: ${t.name} (${t.rows.shape[0]} virtual tokens)\n`);
    for (const s of skipped) io.out(`note: task ${s} of task_templates has no weights in the checkpoint: skipped\n`);
    writeNpy(outFile!, '<f4', table.shape, table.data);
    io.out(`wrote ${outFile}: [${table.shape.join(', ')}] float32\n`);
    return 0;
  });
}
