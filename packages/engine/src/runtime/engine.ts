/**
 * The runtime (ARCHITECTURE.md, Runtime): `Engine.load(dir, {backend})`, then `generate(requests)` or
 * `stream(request)`. Requests go through the in-flight batching scheduler; each step runs one packed
 * forward (context chunks + decode tokens) on the backend and one sampler per sequence; finished,
 * stopped and cancelled requests leave between steps and new ones join. A request's tokens depend
 * only on the request (the graph is batch-invariant: every op's reduction order is per row, and
 * every request samples from its own seeded generator).
 */
import { join, resolve } from 'node:path';
import { Gpt2Tokenizer, openTokenizer, type Tokenizer } from '@trtllm/loader';
import { quantModeOf } from '@trtllm/quant';
import { beamCandidates, beamCandidatesFromRow, f32FromBits, headSize, markConstant, rotaryDimOf, TOKEN_LOG_PROB_WORDS, tokenLogProbFromRow, tokenLogProbs, tokenLogProbsOf, type BeamCandidates, type GptConfig, type GptModel, type KvLayout, type SamplingRow, type Tensor, type TokenLogProbs } from '@trtllm/ref-math';
import { resolveGemmAlgo, type Backend, type BackendName, type GemmAlgo, type KernelSet, type PendingStep, type StepOutput, type StepStats } from '../backends/backend.js';
import { RefBackend } from '../backends/ref.js';
import { dtypeName, resolveBuildConfig, smoothQuantModeOf, type BuildConfig } from '../build-config.js';
import { engineConfigDigest, engineFileName, readEngineConfig, readEngineFile } from '../engine-dir.js';
import { EngineError } from '../errors.js';
import { BlockPool } from '../kvcache/block-pool.js';
import { kvBlockBytes, kvCacheSpec } from '../kvcache/kv-spec.js';
import { GptGraph, stepRows, type Distributed, type StepChunk, type StepRequest } from '../models/gpt.js';
import { mergeQkv, ObservingBackend, type ActivationStats } from '../calibration/observing-backend.js';
import { rankTensors } from '../builder/build.js';
import { beamResults, beamStep, type BeamState, type Hypothesis } from '../sampling/beam-search.js';
import { Sampler, type SamplingOptions } from '../sampling/sampler.js';
import { Scheduler, type Schedulable } from '../scheduler/scheduler.js';
import { loadKernels } from '../backends/kernels.js';
import { bindRankDevice, type Launch } from '../parallel/launch.js';
import { acceptRanks } from '../parallel/rendezvous.js';
import { collectiveTimeoutMs, joinCollectives } from '../parallel/collective-watch.js';
import { TpGroup, type RankChannel } from '../parallel/tp-group.js';

export interface EngineLoadOptions {
  /** Default 'ref'. */
  readonly backend?: BackendName;
  /**
   * cuda only: 'production' (default: cuBLASLt, fused attention, CUDA graphs — tier 3, within the
   * kernels' declared tolerances) or 'reference' (bit-exact to the ref backend, slow).
   */
  readonly kernels?: KernelSet;
  /** Production kernels: capture decode steps into CUDA graphs (default true). */
  readonly cudaGraphs?: boolean;
  /**
   * Production kernels' GEMM policy (GemmAlgo): 'auto' (default: 'decode-kernel' for engines of at
   * most 8 generation rows per step, else 'batch-invariant'), 'batch-invariant' (cuBLASLt with one
   * algorithm per shape, the lm_head on the tensor-core decode GEMM), 'decode-kernel' (generation rows
   * on the decode GEMM too), 'cublaslt' (everything on cuBLASLt) or 'per-shape' (cuBLASLt's choice per
   * batch size: not batch-invariant). Engine.gemmAlgo says which one runs.
   */
  readonly gemmAlgo?: GemmAlgo;
  /** Paged KV cache size in blocks (default: every slot's longest sequence fits, capped on a GPU by kvCacheFreeMemFraction). */
  readonly kvCacheBlocks?: number;
  /** Share of the device memory left after the weights that the paged KV cache may take (default 0.9, as TensorRT-LLM). */
  readonly kvCacheFreeMemFraction?: number;
  /**
   * How a multi-rank engine runs: every rank in this process (default; on cuda, one device), or one
   * process per rank on GPUs 0 … W−1 joined by NCCL (cuda only; needs the built dist).
   */
  readonly tensorParallel?: 'in-process' | 'processes';
  /** The world size the caller expects (e.g. `--world_size`); a different engine is refused. */
  readonly worldSize?: number;
  /**
   * This process is rank 0 of a launched job (`launchFromEnv()`: mpirun, srun, …): ranks 1 … W−1
   * are the launcher's other processes, which call `serveLaunchedRank(launch)`; they are accepted at
   * launch.masterAddr:masterPort instead of forked (implies tensorParallel 'processes').
   */
  readonly launch?: Launch;
  /** How long rank 0 waits for launched ranks to join (default 300 s). */
  readonly rendezvousTimeoutMs?: number;
  /**
   * Tokenizer: a Tokenizer, a tokenizer directory or file (a sentencepiece tokenizer.model, vocab.json +
   * merges.txt, tokenizer.json), which wins over the engine dir's; or 'gpt2', the stock GPT-2
   * vocabulary, used only when the engine dir records no tokenizer.
   */
  readonly tokenizer?: Tokenizer | string;
  /**
   * Launch step k + 1 before handing step k's tokens to their listeners, so that their work (a
   * server's writes, a stream's text) and the I/O between steps overlap the device — except a
   * request's first token, handed over before that launch (time to first token); each request's
   * tokens are the same either way. Default: on where the backend's steps run asynchronously (cuda
   * production kernels); TRTLLM_STEP_AHEAD=0 / 1 turns it off / on for any backend (A/B runs). On
   * `ref` it only hands each token over one step later.
   */
  readonly stepAhead?: boolean;
}

export interface GenerateRequest extends SamplingOptions {
  /** Text (needs a tokenizer) or token ids. */
  readonly prompt?: string;
  readonly tokens?: readonly number[];
  /** Default: the engine's max_output_len. */
  readonly maxNewTokens?: number;
  /** Stop after this id (kept in `tokens`, left out of `text`). Default: the tokenizer's eos (GPT-2: <|endoftext|>), if any. `null`: none. */
  readonly endId?: number | null;
  /** Stop when the output ends with one of these (text is tokenized). */
  readonly stopWords?: readonly (string | readonly number[])[];
  /** Prompt tuning: the task whose prompt-table rows the prompt's ids V … V+Pt−1 are (default 0). */
  readonly promptTask?: number;
  /** Beam search width (default 1: sampling / greedy); at most the engine's max_beam_width. */
  readonly numBeams?: number;
  /** Beam scores are Σ log p / (new tokens)^lengthPenalty (default 1). */
  readonly lengthPenalty?: number;
  /**
   * Log-probabilities of the new tokens under the model's distribution (the raw logits; ref-math
   * tokenLogProbs), and of the n most likely tokens at each position (0 … 20; 0: the chosen ones only).
   * Not with beam search. With fp32 logits the backend reduces each row to the token, its four
   * tokenLogProbRows words and the top n candidates (step output 'chosenLogProbs'): no row comes to
   * the host; an engine with fp16 logits brings its rows to the host.
   */
  readonly logprobs?: number;
  /**
   * Log-probabilities of the prompt's tokens after its first, each given the tokens before it (what
   * scoring a text, OpenAI's echo with logprobs and lm-evaluation-harness's loglikelihood need), and of
   * the n most likely tokens at each of those positions (0 … 20). Reduced on the backend in the
   * prompt's own step with fp32 logits (only four words and n candidates a position cross to the host).
   * Not with beam search.
   */
  readonly promptLogprobs?: number;
  readonly signal?: AbortSignal;
}

/** One finished beam. */
export interface BeamResult {
  readonly tokens: readonly number[];
  readonly text?: string;
  /** Σ log p / length^lengthPenalty. */
  readonly score: number;
  /** 'end': the beam ended with the end id (its last token); 'length': it reached maxNewTokens. */
  readonly finishReason: 'end' | 'length';
}

export type FinishReason = 'length' | 'end' | 'stop' | 'cancelled';

export interface GenerateResult {
  readonly promptTokens: readonly number[];
  /** New tokens. */
  readonly tokens: readonly number[];
  /** Decoded new tokens (without the end id), when there is a tokenizer. */
  readonly text?: string;
  readonly finishReason: FinishReason;
  /** Beam search: every beam, best first (`tokens` is the first one's). */
  readonly beams?: readonly BeamResult[];
  /** With `logprobs`: each new token's log-probability (and the most likely tokens'). */
  readonly logprobs?: readonly TokenLogProbs[];
  /** With `promptLogprobs`: prompt tokens 1 … n−1, each one's log-probability given those before it (and the most likely tokens'). */
  readonly promptLogprobs?: readonly TokenLogProbs[];
}

export interface StreamEvent {
  readonly token: number;
  /** 0-based index among the new tokens. */
  readonly index: number;
  /**
   * With a tokenizer (Engine.stream): the text this token completes. A character whose UTF-8 bytes
   * span several tokens comes whole with its last token ('' before); the end id adds nothing; the
   * last event also carries what is still open (as U+FFFD). Joined, the deltas are the result's text —
   * except after a cancel or a failed step mid-character, whose open bytes no later token delivers
   * (the result's text shows them as U+FFFD).
   */
  readonly text?: string;
  /** With `logprobs`: this token's log-probability (and the most likely tokens'). */
  readonly logprobs?: TokenLogProbs;
  /** With `promptLogprobs`, on the first token's event: GenerateResult.promptLogprobs. */
  readonly promptLogprobs?: readonly TokenLogProbs[];
}

/** Engine.listen's callbacks. */
export interface StreamCallbacks {
  /** Each token as its step hands it over (with its text when the engine has a tokenizer). */
  readonly onToken: (e: StreamEvent) => void;
  /** The request ended: its result, after its last token. */
  readonly onEnd: (r: GenerateResult) => void;
  /** The request failed: a failed step, or a text or result the tokenizer could not make. */
  readonly onError: (e: Error) => void;
}

interface Sequence extends Schedulable {
  readonly prompt: readonly number[];
  readonly out: number[];
  readonly maxNew: number;
  readonly endId: number | undefined;
  readonly stops: readonly (readonly number[])[];
  readonly sampler: Sampler;
  readonly signal: AbortSignal | undefined;
  /** Set when the consumer of its stream stops iterating: it leaves at the next step, as on abort. */
  cancelled?: boolean;
  /** Ended by a failed step (its listeners got the error). */
  failed?: boolean;
  nextTokens: number;
  readonly width: number;
  readonly lengthPenalty: number;
  readonly task: number;
  /** `logprobs`: how many most likely tokens to report per position (undefined: none asked). */
  readonly topLogProbs: number | undefined;
  readonly logProbs: TokenLogProbs[];
  /** `promptLogprobs`: how many most likely tokens to report per prompt position (undefined: not asked). */
  readonly promptTop: number | undefined;
  promptLogProbs?: TokenLogProbs[];
  /** Beam search state: the live beams (each in its own slot) and the finished hypotheses. */
  beams?: Beam[];
  /** Paged beam search: a slot's block table when it differs from its own blocks (full blocks shared with the beam it forked from). */
  tables?: Map<number, readonly number[]>;
  finished?: Hypothesis[];
  done?: FinishReason;
  /**
   * Every event of the sequence: tokens, then how it ended — or the error that ended the step it was in.
   * `last` marks the token after which the sequence ends (its finish reason follows in the same step).
   */
  readonly listeners: ((e: StreamEvent | FinishReason | Error, last: boolean) => void)[];
}

/** A step on the backend, not yet collected: its sequences, each one's rows, and what it returns. */
interface LaunchedStep {
  readonly batch: readonly Sequence[];
  readonly rowsOf: ReadonlyMap<Sequence, readonly number[]>;
  /** Beam candidates per row ('beams'); the top candidates per row ('chosenLogProbs'). */
  readonly n: number;
  /** Per chunk, the output row of its first token and of its last (they differ for a scored prompt: every row returns). */
  readonly first: readonly number[];
  readonly last: readonly number[];
  readonly output: StepOutput;
  readonly pending: PendingStep;
}

/** The listener calls of one turn of the pump: those of sequences whose first token is among them, and the rest. */
interface Notes {
  readonly first: (() => void)[];
  readonly rest: (() => void)[];
  readonly firsts: Set<Sequence>;
}

/**
 * Call listeners in order. One that throws does not stop the others or the engine: its error is
 * rethrown on its own (an uncaught exception, as a throwing EventEmitter listener's) once all have run.
 */
function deliver(notes: readonly (() => void)[]): void {
  for (const note of notes) {
    try {
      note();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}

/** The tokens a sequence's sampler sees: its prompt and what it generated. */
function seenTokens(s: Sequence): readonly number[] {
  return s.out.length === 0 ? s.prompt : [...s.prompt, ...s.out];
}

/** A live beam: its state and the slot holding its KV cache. */
interface Beam extends BeamState {
  readonly slot: number;
}

let nextId = 0;

export class Engine {
  readonly dir: string;
  readonly config: BuildConfig;
  readonly tokenizer: Tokenizer | undefined;
  readonly backendName: BackendName;
  /** One backend per tensor-parallel rank. */
  readonly #backends: readonly Backend<unknown>[];
  readonly #graph: GptGraph<unknown>;
  readonly #pool: BlockPool;
  /** Beam forks' KV rows to copy ([source, destination] blocks, or slots), gathered over a step and copied at its end. */
  #forkCopies: [number, number][] = [];
  readonly #scheduler: Scheduler<Sequence>;
  #pumping = false;
  /** EngineLoadOptions.stepAhead as resolved at load. */
  #ahead = false;
  /** Inside the pump: listener calls held until the next step is launched (#emit). */
  #deferred: Notes | undefined;
  /** Steps run so far (for reports). */
  steps = 0;

  readonly #group: TpGroup | undefined;
  /** Each in-process rank's weights on its backend, by engine tensor name. */
  #rankWeights: readonly Map<string, unknown>[] = [];
  /** Prompt table on rank 0's backend (in-process ranks share rank 0's embedding) and its shape. */
  #prompt: { readonly table: unknown; readonly tasks: number; readonly tokens: number } | undefined;

  private constructor(dir: string, config: BuildConfig, backends: readonly Backend<unknown>[], graph: GptGraph<unknown>, pool: BlockPool, tokenizer: Tokenizer | undefined, group?: TpGroup) {
    this.#group = group;
    this.dir = dir;
    this.config = config;
    this.backendName = backends[0]!.name;
    this.#backends = backends;
    this.#graph = graph;
    this.#pool = pool;
    this.#scheduler = new Scheduler(pool, { maxBatchSize: config.maxBatchSize, maxNumTokens: config.maxNumTokens });
    this.tokenizer = tokenizer;
  }

  static async load(dir: string, o: EngineLoadOptions = {}): Promise<Engine> {
    const { build, tokenizer: tokDir } = readEngineConfig(dir);
    return Engine.#open(dir, build, tokDir, o, (r, b) => loadRankWeights(dir, build, r, b));
  }

  /**
   * An engine over a model in memory (no engine files): one rank, `maxInputLen` tokens per prompt —
   * what `trtllm convert -sq` calibrates on. The weights are uploaded as a one-rank build lays them out.
   */
  static async fromModel(model: GptModel, o: EngineLoadOptions & { readonly maxInputLen: number; readonly maxOutputLen?: number; readonly maxBatchSize?: number }): Promise<Engine> {
    const storage = dtypeName(model.config.dtype);
    // sequences of up to maxInputLen + maxOutputLen positions, within n_positions (a calibration prompt may fill it)
    const out = o.maxOutputLen ?? 1;
    const build = resolveBuildConfig(
      { dtype: storage, max_input_len: Math.max(1, Math.min(o.maxInputLen, model.config.nPositions - out)), max_output_len: out, max_batch_size: o.maxBatchSize ?? 1, max_num_tokens: (o.maxBatchSize ?? 1) * Math.min(o.maxInputLen + out, model.config.nPositions) },
      { config: model.config, storage, file: '(model in memory)' },
    );
    return Engine.#open('(model in memory)', build, undefined, o, (_r, b) => {
      const weights = new Map<string, unknown>();
      for (const [name, t] of rankTensors(build.model, model.weights, 0, 1)) weights.set(name, b.upload(t));
      return weights;
    });
  }

  static async #open(dir: string, build: BuildConfig, tokDir: string | undefined, o: EngineLoadOptions, rankWeights: (r: number, b: Backend<unknown>) => Map<string, unknown>): Promise<Engine> {
    const w = build.worldSize;
    if (o.worldSize !== undefined && o.worldSize !== w) throw new EngineError('config', { what: '--world_size', expected: `the engine's tensor_parallel (${w})`, got: String(o.worldSize), hint: `run with --world_size ${w}, or rebuild with --world_size ${o.worldSize}` });
    const launch = o.launch && o.launch.worldSize > 1 ? o.launch : undefined;
    if (launch) {
      if (launch.worldSize !== w) throw new EngineError('config', { what: `${launch.launcher}: ${launch.worldSize} ranks`, expected: `the engine's tensor_parallel (${w})`, got: String(launch.worldSize), hint: `launch ${w} ranks (mpirun -np ${w}, srun -n ${w}), or rebuild with --world_size ${launch.worldSize}` });
      if (launch.rank !== 0) throw new EngineError('config', { what: `${launch.launcher} rank ${launch.rank}`, expected: 'rank 0 (the rank that loads the engine)', got: `rank ${launch.rank}`, hint: 'ranks ≥ 1 call serveLaunchedRank(launch) (the trtllm CLI does)' });
    }
    const processes = (o.tensorParallel === 'processes' || launch !== undefined) && w > 1;
    if (processes && o.backend !== 'cuda') {
      throw new EngineError('config', { what: launch ? `${launch.launcher} with ${w} ranks` : 'tensorParallel: processes', expected: "backend 'cuda' (NCCL between GPUs)", got: `backend '${o.backend ?? 'ref'}'`, hint: launch ? 'run on GPU hosts, or run the ref backend as one process (TRTLLM_LAUNCHER=none): it holds every rank' : "use tensorParallel 'in-process' on the ref backend" });
    }
    // In-process ranks share rank 0's step: the production backend keeps per-step state (decode rows,
    // attention tiles) in each backend and only rank 0's would be set, so its other ranks would compute
    // garbage. Refused rather than wrong; the reference kernels simulate ranks on one GPU exactly.
    if (w > 1 && !processes && o.backend === 'cuda' && (o.kernels ?? 'production') === 'production') {
      throw new EngineError('config', { what: 'tensorParallel', expected: `'processes' (one GPU per rank) for a ${w}-rank engine on production kernels`, got: "'in-process'", hint: "load with tensorParallel: 'processes' (trtllm run --world_size does), or kernels: 'reference' to run every rank in this process" });
    }
    if (!launch) return Engine.#openRanks(dir, build, tokDir, o, rankWeights, processes, undefined);
    bindRankDevice(launch); // before anything touches CUDA
    // listen at once: the other ranks wait for rank 0 from their start, not from the end of its load
    const stop = new AbortController();
    const accepting = acceptRanks(launch, { ...(o.rendezvousTimeoutMs !== undefined ? { timeoutMs: o.rendezvousTimeoutMs } : {}), signal: stop.signal });
    accepting.catch(() => undefined); // awaited by TpGroup.start
    try {
      return await Engine.#openRanks(dir, build, tokDir, o, rankWeights, processes, () => accepting);
    } catch (e) {
      stop.abort();
      throw e;
    }
  }

  static async #openRanks(dir: string, build: BuildConfig, tokDir: string | undefined, o: EngineLoadOptions, rankWeights: (r: number, b: Backend<unknown>) => Map<string, unknown>, processes: boolean, transport: (() => Promise<RankChannel[]>) | undefined): Promise<Engine> {
    const c = build.model;
    const w = build.worldSize;
    // the tokenizer first: a bad one is refused before any device memory or worker process exists
    let tokenizer: Tokenizer | undefined;
    if (typeof o.tokenizer === 'object') tokenizer = o.tokenizer;
    else if (typeof o.tokenizer === 'string' && o.tokenizer !== 'gpt2') tokenizer = openTokenizer(o.tokenizer);
    else if (tokDir !== undefined) tokenizer = openTokenizer(join(dir, tokDir));
    else if (o.tokenizer === 'gpt2') tokenizer = Gpt2Tokenizer.gpt2();
    if (tokenizer && tokenizer.vocabSize > c.vocabSize) {
      throw new EngineError('config', { what: 'tokenizer', expected: `at most the engine's ${c.vocabSize} tokens`, got: `${tokenizer.vocabSize}`, hint: 'give the tokenizer of the model the engine was built from' });
    }
    // One backend per rank, each with its weights and KV cache (one process; on cuda, one device)
    const ranks: { backend: Backend<unknown>; weights: Map<string, unknown> }[] = [];
    const maxSeq = build.maxInputLen + build.maxOutputLen;
    // every quantization runs on every backend; FP8 GEMMs on production kernels need FP8 tensor cores
    if (build.quant.weights.kind === 'fp8' && build.model.dtype !== 'f32' && o.backend === 'cuda' && (o.kernels ?? 'production') === 'production') {
      const cc = (await loadKernels()).isAvailable();
      const have = cc.ok ? cc.device.computeCapability : undefined;
      if (have !== undefined && Number(have) < 8.9) {
        throw new EngineError('config', { what: `${dir}: an FP8 engine (quant_mode ${quantModeOf(build.quant)}) on production kernels`, expected: 'a GPU of compute capability 8.9 or newer (FP8 tensor cores: Ada, Hopper)', got: `${cc.ok ? cc.device.name : 'a GPU'} of compute capability ${have}`, hint: "load it with kernels: 'reference' (--kernels reference), or on a newer GPU" });
      }
    }
    let pool: BlockPool;
    let layout: KvLayout;
    if (build.kvCache.kind === 'paged') {
      const tpb = build.kvCache.tokensPerBlock;
      const maxBlocksPerSeq = Math.ceil(maxSeq / tpb);
      const numBlocks = o.kvCacheBlocks ?? build.maxBatchSize * build.maxBeamWidth * maxBlocksPerSeq;
      pool = new BlockPool({ numBlocks, tokensPerBlock: tpb, numSlots: build.maxBatchSize * build.maxBeamWidth, maxBlocksPerSeq });
      layout = { kind: 'paged', tokensPerBlock: tpb, numBlocks, maxBlocksPerSeq };
    } else {
      const slots = build.maxBatchSize * build.maxBeamWidth;
      pool = new BlockPool({ numBlocks: slots, tokensPerBlock: maxSeq, numSlots: slots, maxBlocksPerSeq: 1 });
      layout = { kind: 'contiguous', maxSeqLen: maxSeq };
    }
    const local = processes ? 1 : w; // ranks held by this process
    const backends: Backend<unknown>[] = [];
    let group: TpGroup | undefined;
    let dist: Distributed<unknown> | undefined;
    try {
      for (let r = 0; r < local; r++) backends.push(await createBackend(o.backend ?? 'ref', build, o));
      for (let r = 0; r < local; r++) ranks.push({ backend: backends[r]!, weights: rankWeights(r, backends[r]!) });
      // a paged cache on a GPU takes at most a share of what the weights left free (in-process ranks share the device)
      const free = backends[0]!.freeMemoryBytes();
      if (layout.kind === 'paged' && free !== undefined && o.kvCacheBlocks === undefined) {
        const blockBytes = local * kvBlockBytes(kvCacheSpec(build, { numSlots: pool.numSlots, layout }), layout.tokensPerBlock);
        const fits = Math.floor(((o.kvCacheFreeMemFraction ?? 0.9) * free) / blockBytes);
        if (fits < layout.maxBlocksPerSeq) {
          throw new EngineError('capacity', { what: 'kv cache', expected: `room for ${layout.maxBlocksPerSeq} blocks (one sequence of ${maxSeq} positions)`, got: `${fits} blocks in ${(free / 2 ** 30).toFixed(1)} GiB free`, hint: 'lower --max_input_len / --max_output_len, or free GPU memory' });
        }
        if (fits < layout.numBlocks) {
          layout = { ...layout, numBlocks: fits };
          pool = new BlockPool({ numBlocks: fits, tokensPerBlock: layout.tokensPerBlock, numSlots: pool.numSlots, maxBlocksPerSeq: layout.maxBlocksPerSeq });
        }
      }
      for (const b of backends) b.createKvCache(kvCacheSpec(build, { numSlots: pool.numSlots, layout }));
      if (processes) {
        const k = await loadKernels();
        const id = k.NcclCommunicator.uniqueId();
        group = await TpGroup.start({ dir: resolve(dir), configDigest: engineConfigDigest(dir), worldSize: w, layout, numSlots: pool.numSlots, ncclId: Array.from(id), kernels: o.kernels ?? 'production', ...(o.gemmAlgo ? { gemmAlgo: o.gemmAlgo } : {}) }, transport);
        const timeoutMs = collectiveTimeoutMs(); // a bad TRTLLM_NCCL_TIMEOUT fails before any rank joins
        let allReduce: ((x: unknown) => unknown) | undefined;
        // blocks until every rank joined; then a rank that dies or hangs inside an all-reduce fails this one's step within the limit, named
        await group.join(() => (allReduce = joinCollectives(backends[0]!, k.NcclCommunicator.init({ worldSize: w, rank: 0, id }), { rank: 0, worldSize: w, timeoutMs })));
        dist = { worldSize: w, allReduce: (x) => allReduce!(x) };
      }
    } catch (e) {
      for (const b of backends) b.dispose();
      group?.close();
      throw e;
    }
    const engine = new Engine(dir, build, ranks.map((r) => r.backend), new GptGraph(ranks, c, dist, smoothQuantModeOf(build)), pool, tokenizer, group);
    const env = process.env['TRTLLM_STEP_AHEAD'];
    engine.#ahead = o.stepAhead ?? (env === '1' || (env !== '0' && ranks[0]!.backend.asyncSteps === true));
    engine.#rankWeights = ranks.map((r) => r.weights);
    return engine;
  }

  /**
   * Production cuda kernels: how many steps ran eagerly, were captured into CUDA graphs, were
   * replayed, and the milliseconds spent in the backend's step (host) and on the device, summed.
   */
  /** The GEMM policy the production kernels run ('auto' resolved at load), or undefined (other backends). */
  get gemmAlgo(): Exclude<GemmAlgo, 'auto'> | undefined {
    return this.#backends[0]?.gemmAlgo;
  }

  get stepStats(): StepStats | undefined {
    const s = this.#backends[0]!.stats;
    return s && { ...s };
  }

  get model(): GptConfig {
    return this.config.model;
  }

  /** The scheduler and the KV cache now: requests running and waiting, KV blocks (or contiguous slots) in use and free. */
  get load(): { readonly running: number; readonly waiting: number; readonly kvBlocks: number; readonly freeKvBlocks: number } {
    return { running: this.#scheduler.running, waiting: this.#scheduler.waiting, kvBlocks: this.#pool.numBlocks, freeKvBlocks: this.#pool.freeBlocks };
  }

  /** Run requests to completion (they are batched in flight); results in request order. */
  async generate(requests: readonly (GenerateRequest | string | readonly number[])[]): Promise<GenerateResult[]> {
    const seqs = requests.map((r, i) => this.#submit(typeof r === 'string' ? { prompt: r } : isTokenArray(r) ? { tokens: r } : r, i));
    return Promise.all(seqs.map((s) => new Promise<GenerateResult>((ok, fail) => this.#whenEnded(s, ok, fail))));
  }

  /**
   * Tokens of one request as they are produced, each with the text it completes when the engine has a
   * tokenizer; `result` resolves when it ends. Leaving the loop early (`break`, `return`, a throw in
   * its body) cancels the request, as its AbortSignal would.
   */
  stream(request: GenerateRequest | string): AsyncIterable<StreamEvent> & { readonly result: Promise<GenerateResult> } {
    const s = this.#submit(typeof request === 'string' ? { prompt: request } : request, 0);
    const cancel = (): void => this.#cancel(s);
    const withText = this.#textEvents(s);
    const queue: [StreamEvent | FinishReason | Error, boolean][] = [];
    let wake: (() => void) | undefined;
    s.listeners.push((e, last) => {
      queue.push([e, last]);
      wake?.();
    });
    const result = new Promise<GenerateResult>((ok, fail) => this.#whenEnded(s, ok, fail));
    result.catch(() => undefined); // a caller that only iterates gets the error from the iterator
    const iterate = async function* (): AsyncGenerator<StreamEvent> {
      try {
        for (;;) {
          while (queue.length === 0) await new Promise<void>((r) => (wake = r));
          const [e, last] = queue.shift()!;
          if (e instanceof Error) throw e;
          if (typeof e === 'string') return;
          yield withText(e, last); // a tokenizer that refuses an id throws here, to the consumer
        }
      } finally {
        cancel(); // a consumer that stops early (break, return, throw) ends the request
      }
    };
    return { [Symbol.asyncIterator]: iterate, result };
  }

  /**
   * One request with callbacks instead of an async iterator: `onToken` runs for each token as its step
   * hands it over — synchronously, in the engine's delivery, with no promise or task per token, which
   * is what a server writing thousands of tokens a second wants — then `onEnd` with the result, or
   * `onError` once (a failed step, or a result or text the tokenizer cannot make; the request is then
   * cancelled and nothing more is called). Events and text are those of `stream()`. A callback that
   * throws does not stop the step's other deliveries; its error is then thrown on its own, as an
   * uncaught exception (as a throwing EventEmitter listener's is), which ends the process unless it is
   * handled: catch inside the callback.
   */
  listen(request: GenerateRequest | string, on: StreamCallbacks): { cancel(): void } {
    const s = this.#submit(typeof request === 'string' ? { prompt: request } : request, 0);
    const cancel = (): void => this.#cancel(s);
    const withText = this.#textEvents(s);
    let failed = false;
    const fail = (e: Error): void => {
      failed = true;
      cancel();
      on.onError(e);
    };
    s.listeners.push((e, last) => {
      if (failed || typeof e !== 'object' || e instanceof Error) return;
      let event: StreamEvent;
      try {
        event = withText(e, last);
      } catch (err) {
        return fail(err as Error);
      }
      on.onToken(event);
    });
    this.#whenEnded(s, (r) => {
      if (!failed) on.onEnd(r);
    }, (e) => {
      if (!failed) fail(e);
    });
    return { cancel };
  }

  /**
   * Once `s` has ended: its result to `ok` — or to `fail` the error of the step that ended it, or the
   * one making the result threw (a tokenizer refusing an id; the engine goes on).
   */
  #whenEnded(s: Sequence, ok: (r: GenerateResult) => void, fail: (e: Error) => void): void {
    s.listeners.push((e) => {
      if (e instanceof Error) return fail(e);
      if (typeof e !== 'string') return;
      let r: GenerateResult;
      try {
        r = this.#result(s);
      } catch (err) {
        return fail(err as Error);
      }
      ok(r);
    });
  }

  /**
   * A sequence's token events with their text when the engine has a tokenizer: each token's bytes
   * through one incremental decoder, the end id adding nothing, and the token the sequence ends on
   * (`last`) also carrying what is still open.
   */
  #textEvents(s: Sequence): (e: StreamEvent, last: boolean) => StreamEvent {
    const decoder = this.tokenizer?.decoder();
    if (!decoder) return (e) => e;
    return (e, last) => ({ ...e, text: (e.token === s.endId ? '' : decoder.push(e.token)) + (last ? decoder.flush() : '') });
  }

  /**
   * fp32 logits [T, V] of every position of `tokens` on a free slot (for perplexity): one context step,
   * or with `decodeFrom: p` (1 ≤ p ≤ T) a context step over the first p tokens and then one one-token
   * decode step per later position — those attend to earlier positions as generation does, through
   * the KV cache (an int8 / fp8 cache's rounding shows there; a context step never reads the cache).
   */
  logits(tokens: readonly number[], o: { readonly promptTask?: number; readonly decodeFrom?: number } = {}): Float32Array {
    return this.#onFreeSlot('logits', tokens, o, (chunk, p, prompt) => {
      const context = this.#graph.forward([chunk(0, p)], { logits: 'all', ...prompt });
      if (p === tokens.length) return context;
      const v = this.model.vocabSize;
      const out = new Float32Array(tokens.length * v);
      out.set(context, 0);
      for (let i = p; i < tokens.length; i++) out.set(this.#graph.forward([chunk(i, i + 1)], { logits: 'last', ...prompt }), i * v);
      return out;
    });
  }

  /**
   * The float64 log-probability of `targets[i]` after tokens[0 … i], for every position i of `tokens`
   * (targets: one id in [0, V) per token, usually the tokens shifted by one) — what perplexity and
   * scoring a text need. `decodeFrom` and `promptTask` as for `logits`. Each logits row is reduced on
   * the backend to four words (ref-math tokenLogProbRows: the target's logit, the row's max and exact
   * weight sum) and finished on the host with tokenLogProbFromRow, so no row of logits crosses to the
   * host and every backend gives the same float64 for the same logits (= ref-math tokenLogProbs of the
   * row `logits` returns). An engine with fp16 logits scores the rows `logits` returns, with the same arithmetic.
   */
  tokenLogProbs(tokens: readonly number[], targets: readonly number[], o: { readonly promptTask?: number; readonly decodeFrom?: number } = {}): Float64Array {
    const v = this.model.vocabSize;
    if (targets.length !== tokens.length) throw new EngineError('request', { what: 'tokenLogProbs: targets', expected: `one target per token (${tokens.length})`, got: String(targets.length) });
    const bad = targets.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= v);
    if (bad >= 0) throw new EngineError('request', { what: `tokenLogProbs: targets[${bad}]`, expected: `a token id in [0, ${v - 1}]`, got: String(targets[bad]) });
    if (this.config.model.logitsDtype !== 'f32') {
      const rows = this.logits(tokens, o);
      return Float64Array.from(targets, (t, i) => tokenLogProbs(rows.subarray(i * v, (i + 1) * v), t).logProb);
    }
    return this.#onFreeSlot('tokenLogProbs', tokens, o, (chunk, p, prompt) => {
      const out = new Float64Array(tokens.length);
      const context = this.#graph.tokenLogProbs([chunk(0, p)], targets.slice(0, p), { rows: 'all', ...prompt });
      for (let i = 0; i < p; i++) out[i] = tokenLogProbFromRow(context, i);
      for (let i = p; i < tokens.length; i++) out[i] = tokenLogProbFromRow(this.#graph.tokenLogProbs([chunk(i, i + 1)], [targets[i]!], { rows: 'last', ...prompt }), 0);
      return out;
    });
  }

  /**
   * Run `score` with `tokens` on a free slot (checked: an idle in-process engine, 1 … max length
   * tokens, 1 ≤ decodeFrom = p ≤ T); `chunk(a, b)` is tokens[a, b) as a step chunk of that slot.
   */
  #onFreeSlot<R>(what: string, tokens: readonly number[], o: { readonly promptTask?: number; readonly decodeFrom?: number }, score: (chunk: (a: number, b: number) => StepChunk, p: number, prompt: { promptTable?: unknown }) => R): R {
    if (this.#group) throw new EngineError('request', { what, expected: "an engine with its ranks in this process (tensorParallel 'in-process')", got: 'ranks in worker processes', hint: 'use generate/stream, or load in-process' });
    // steps are synchronous, so between them the cache is free to use once no request holds a slot
    if (this.#scheduler.running + this.#scheduler.waiting > 0) throw new EngineError('request', { what, expected: 'an idle engine', got: 'requests in flight' });
    if (tokens.length < 1 || tokens.length > this.config.maxInputLen + this.config.maxOutputLen) {
      throw new EngineError('request', { what: `${what}: tokens`, expected: `1 … ${this.config.maxInputLen + this.config.maxOutputLen} tokens`, got: `${tokens.length}` });
    }
    const p = o.decodeFrom ?? tokens.length;
    if (!Number.isInteger(p) || p < 1 || p > tokens.length) throw new EngineError('request', { what: `${what}: decodeFrom`, expected: `an integer in [1, ${tokens.length}] (the context step's length)`, got: String(o.decodeFrom) });
    const got = this.#pool.acquire(tokens.length);
    if (!got) throw new EngineError('capacity', { what, expected: 'a free slot and blocks', got: 'none' });
    try {
      if (this.config.kvCache.kind === 'paged') this.#assign(got.slot, got.blocks);
      const task = o.promptTask ?? 0;
      const prompt = this.#prompt ? { promptTable: this.#prompt.table } : {};
      return score((a, b) => ({ slot: got.slot, start: a, tokens: a === 0 && b === tokens.length ? tokens : tokens.slice(a, b), task }), p, prompt);
    } finally {
      this.#pool.release(got.slot);
    }
  }

  /**
   * SmoothQuant / KV-cache calibration (the seed's smoothquant.py capture_activation_range): each prompt
   * runs as one sequence, and every linear layer records max |·| per channel of its input (`x`, [K]) and
   * of its output before GELU and the residual (`y`, [N]); q, k and v are one GEMM, `layers.<n>.qkv`,
   * y over [q | k | v]. Keys `layers.<n>.qkv | attnOut | fc | gate | proj`. One rank, an idle engine.
   */
  calibrate(prompts: readonly (readonly number[])[], o: { readonly onProgress?: (done: number, total: number) => void } = {}): Map<string, ActivationStats> {
    if (this.#group || this.#backends.length !== 1) throw new EngineError('request', { what: 'calibrate', expected: 'a one-rank engine (calibration sees whole layers)', got: `${this.config.worldSize} ranks`, hint: 'calibrate on a world_size 1 engine of the model' });
    if (this.#scheduler.running + this.#scheduler.waiting > 0) throw new EngineError('request', { what: 'calibrate', expected: 'an idle engine', got: 'requests in flight' });
    const b = this.#backends[0]!;
    const weights = this.#rankWeights[0]!;
    const names = new Map<unknown, string>();
    for (const [name, t] of weights) {
      const m = /^(layers\.\d+\.(?:q|k|v|attnOut|fc|gate|proj))\.weight(?:\.int8|\.fp8)?$/.exec(name);
      if (m) names.set(t, m[1]!);
    }
    const observer = new ObservingBackend(b, names);
    const graph = new GptGraph([{ backend: observer, weights }], this.config.model, undefined, smoothQuantModeOf(this.config));
    try {
      prompts.forEach((tokens, i) => {
        if (tokens.length < 1 || tokens.length > this.config.maxInputLen + this.config.maxOutputLen) {
          throw new EngineError('request', { what: `calibrate: prompt ${i}`, expected: `1 … ${this.config.maxInputLen + this.config.maxOutputLen} tokens`, got: `${tokens.length}` });
        }
        const got = this.#pool.acquire(tokens.length);
        if (!got) throw new EngineError('capacity', { what: 'calibrate', expected: 'a free slot and blocks', got: 'none' });
        try {
          if (this.config.kvCache.kind === 'paged') this.#assign(got.slot, got.blocks);
          graph.forward([{ slot: got.slot, start: 0, tokens }], { logits: 'none' });
        } finally {
          this.#pool.release(got.slot);
        }
        o.onProgress?.(i + 1, prompts.length);
      });
      return mergeQkv(observer.activationStats(), this.config.model.nLayer);
    } finally {
      observer.dispose();
    }
  }

  dispose(): void {
    for (const b of this.#backends) b.dispose();
    this.#group?.close();
  }

  /**
   * Prompt tuning: a table [numTasks, Pt, H] in the model dtype whose rows are the embeddings of the
   * virtual tokens V … V+Pt−1 of each task (at most max_prompt_embedding_table_size rows); undefined clears it.
   */
  setPromptTable(table: Tensor | undefined): void {
    if (this.#scheduler.running + this.#scheduler.waiting > 0) throw new EngineError('request', { what: 'setPromptTable', expected: 'an idle engine', got: 'requests in flight' });
    if (table === undefined) {
      this.#prompt = undefined;
      return;
    }
    const c = this.config;
    const [tasks, pt, h] = table.shape as [number, number, number];
    if (table.shape.length !== 3 || h !== c.model.nEmbd) throw new EngineError('request', { what: 'prompt table', expected: `[numTasks, Pt, ${c.model.nEmbd}]`, got: `[${table.shape.join(', ')}]` });
    if (table.dtype !== c.model.dtype) throw new EngineError('request', { what: 'prompt table', expected: `dtype ${c.model.dtype} (the engine's)`, got: table.dtype });
    if (tasks * pt > c.maxPromptEmbeddingTableSize) {
      throw new EngineError('config', { what: 'prompt table', expected: `at most ${c.maxPromptEmbeddingTableSize} rows (--max_prompt_embedding_table_size)`, got: `${tasks} × ${pt} = ${tasks * pt}`, hint: 'rebuild with a larger --max_prompt_embedding_table_size' });
    }
    this.#prompt = { table: this.#backends[0]!.upload(table), tasks, tokens: pt };
    this.#group?.queue({ op: 'promptTable', table });
  }

  /** A block-table row on every rank (workers get it with the next step). */
  #assign(slot: number, blocks: readonly number[]): void {
    for (const b of this.#backends) b.assignBlocks(slot, blocks);
    this.#group?.queue({ op: 'assign', slot, blocks });
  }

  #submit(r: GenerateRequest, index: number): Sequence {
    const what = `request ${index}`;
    const c = this.config;
    const tok = this.tokenizer;
    if ((r.prompt === undefined) === (r.tokens === undefined)) throw new EngineError('request', { what, expected: 'one of prompt (text) or tokens', got: r.prompt === undefined ? 'neither' : 'both' });
    if (r.prompt !== undefined && !tok) throw new EngineError('request', { what: `${what}.prompt`, expected: 'token ids (this engine has no tokenizer)', got: 'text', hint: 'load the engine with { tokenizer }' });
    const prompt = r.tokens ?? tok!.encode(r.prompt!);
    if (prompt.length < 1 || prompt.length > c.maxInputLen) throw new EngineError('request', { what: `${what}: prompt`, expected: `1 … ${c.maxInputLen} tokens (max_input_len)`, got: `${prompt.length} tokens` });
    const idLimit = c.model.vocabSize + (this.#prompt?.tokens ?? 0);
    const bad = prompt.find((id) => !Number.isInteger(id) || id < 0 || id >= idLimit);
    if (bad !== undefined) throw new EngineError('request', { what: `${what}: token`, expected: `ids in [0, ${idLimit})${this.#prompt ? ` (vocab plus ${this.#prompt.tokens} prompt tokens)` : ''}`, got: String(bad) });
    const task = r.promptTask ?? 0;
    if (r.promptTask !== undefined && (!this.#prompt || !Number.isInteger(task) || task < 0 || task >= this.#prompt.tasks)) {
      throw new EngineError('request', { what: `${what}.promptTask`, expected: this.#prompt ? `a task in [0, ${this.#prompt.tasks})` : 'a prompt table (setPromptTable) first', got: String(r.promptTask) });
    }
    const maxNew = r.maxNewTokens ?? c.maxOutputLen;
    if (!Number.isInteger(maxNew) || maxNew < 1 || maxNew > c.maxOutputLen) throw new EngineError('request', { what: `${what}.maxNewTokens`, expected: `1 … ${c.maxOutputLen} (max_output_len)`, got: String(maxNew) });
    const endId = r.endId === null ? undefined : (r.endId ?? tok?.specialIds.eos);
    const stops = (r.stopWords ?? []).map((w) => (typeof w === 'string' ? (tok ? tok.encode(w) : []) : [...w])).filter((w) => w.length > 0);
    const width = r.numBeams ?? 1;
    if (!Number.isInteger(width) || width < 1 || width > c.maxBeamWidth) throw new EngineError('request', { what: `${what}.numBeams`, expected: `1 … ${c.maxBeamWidth} (max_beam_width)`, got: String(r.numBeams), hint: 'build with a larger --max_beam_width' });
    if (width > 1 && (r.temperature !== undefined || r.topK !== undefined || r.topP !== undefined || r.stopWords !== undefined)) {
      throw new EngineError('request', { what, expected: 'beam search without sampling options or stop words', got: 'numBeams > 1 with temperature/topK/topP/stopWords' });
    }
    if (r.logprobs !== undefined && (!Number.isInteger(r.logprobs) || r.logprobs < 0 || r.logprobs > 20)) throw new EngineError('request', { what: `${what}.logprobs`, expected: 'an integer in 0 … 20', got: String(r.logprobs) });
    if (r.logprobs !== undefined && width > 1) throw new EngineError('request', { what: `${what}.logprobs`, expected: 'sampling or greedy decoding (beam results carry their scores)', got: `logprobs with numBeams ${width}` });
    if (r.promptLogprobs !== undefined && (!Number.isInteger(r.promptLogprobs) || r.promptLogprobs < 0 || r.promptLogprobs > 20)) throw new EngineError('request', { what: `${what}.promptLogprobs`, expected: 'an integer in 0 … 20', got: String(r.promptLogprobs) });
    if (r.promptLogprobs !== undefined && width > 1) throw new EngineError('request', { what: `${what}.promptLogprobs`, expected: 'sampling or greedy decoding', got: `promptLogprobs with numBeams ${width}` });
    const lengthPenalty = r.lengthPenalty ?? 1;
    if (!Number.isFinite(lengthPenalty)) throw new EngineError('request', { what: `${what}.lengthPenalty`, expected: 'a finite number', got: String(lengthPenalty) });
    if (!this.#pool.fitsEver(prompt.length + maxNew, width)) throw new EngineError('capacity', { what, expected: `at most ${this.#pool.numBlocks * this.#pool.tokensPerBlock} positions in the KV cache${width > 1 ? ` for ${width} beams` : ''}`, got: `${width > 1 ? `${width} × ` : ''}${prompt.length + maxNew}`, hint: 'load the engine with more kvCacheBlocks' });
    const s: Sequence = {
      id: nextId++,
      prompt,
      out: [],
      maxNew,
      endId,
      stops,
      sampler: new Sampler(r, what),
      signal: r.signal,
      nextTokens: prompt.length,
      maxPositions: prompt.length + maxNew,
      width,
      lengthPenalty,
      task,
      topLogProbs: r.logprobs,
      logProbs: [],
      promptTop: r.promptLogprobs,
      listeners: [],
    };
    this.#scheduler.submit(s);
    r.signal?.addEventListener('abort', () => this.#cancel(s), { once: true });
    void this.#pump();
    return s;
  }

  #text(tokens: readonly number[], endId: number | undefined): string | undefined {
    return this.tokenizer?.decode(tokens[tokens.length - 1] === endId ? tokens.slice(0, -1) : tokens);
  }

  #result(s: Sequence): GenerateResult {
    const text = this.#text(s.out, s.endId);
    const beams = s.width > 1 && s.finished ? { beams: s.finished.map((b) => ({ ...b, ...(this.tokenizer ? { text: this.#text(b.tokens, s.endId)! } : {}) })) } : {};
    return { promptTokens: s.prompt, tokens: [...s.out], finishReason: s.done!, ...(text !== undefined ? { text } : {}), ...beams, ...(s.topLogProbs !== undefined ? { logprobs: [...s.logProbs] } : {}), ...(s.promptTop !== undefined ? { promptLogprobs: s.promptLogProbs ?? [] } : {}) };
  }

  /** Cancel a request: still waiting, it leaves now; running, at the next step (its blocks are freed then). */
  #cancel(s: Sequence): void {
    if (s.done || s.failed) return;
    s.cancelled = true;
    if (s.slots === undefined) this.#end(s, 'cancelled');
  }

  #end(s: Sequence, why: FinishReason): void {
    s.done = why;
    this.#scheduler.finish(s);
    this.#emit(s, why);
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    // one step ahead (EngineLoadOptions.stepAhead): step k + 1 is launched before step k's listeners run
    const ahead = this.#ahead;
    let inFlight: LaunchedStep | undefined;
    try {
      // let the caller's other submissions of this tick join the first step
      await new Promise<void>((r) => setImmediate(r));
      while (inFlight || this.#scheduler.running + this.#scheduler.waiting > 0) {
        const notes: Notes = { first: [], rest: [], firsts: new Set() };
        this.#deferred = notes;
        const applyInFlight = (): void => {
          const done = inFlight;
          inFlight = undefined; // collected or failed, it is no longer in flight
          if (done) this.#apply(done);
        };
        try {
          applyInFlight();
          if (ahead && notes.first.length > 0) {
            // a request's first token does not wait for the next launch (a step with a new prompt is
            // slow to enqueue): its events go out now, and the next turn of the event loop lets the
            // consumers (a server's write) run before the launch
            deliver(notes.first.splice(0));
            await new Promise<void>((r) => setImmediate(r));
          }
          inFlight = await this.#launch();
          if (!ahead) applyInFlight();
        } catch (e) {
          // a failed step (device error, a dead worker rank) ends every request with that error, after the
          // events of the step before it; the engine stays usable if the cause is gone
          inFlight = undefined;
          for (const s of this.#scheduler.all()) {
            s.failed = true;
            this.#scheduler.finish(s);
            this.#emit(s, e as Error);
          }
        } finally {
          this.#deferred = undefined;
        }
        deliver([...notes.first, ...notes.rest]);
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Tell a sequence's listeners; inside the pump, once the next step is launched (#pump) — except a
   * request's first token and whatever follows it in the same step, which go out before that launch.
   */
  #emit(s: Sequence, e: StreamEvent | FinishReason | Error, last = false): void {
    const call = (): void => {
      for (const l of s.listeners) l(e, last);
    };
    const d = this.#deferred;
    if (!d) return call();
    if (typeof e === 'object' && !(e instanceof Error) && e.index === 0) d.firsts.add(s);
    (d.firsts.has(s) ? d.first : d.rest).push(call);
  }

  /** Schedule the next step and launch it on the backend; undefined when nothing is left to run. */
  async #launch(): Promise<LaunchedStep | undefined> {
    const { decode, admitted } = this.#scheduler.schedule();
    const live = [...decode, ...admitted];
    for (const s of live) if (s.signal?.aborted || s.cancelled) this.#end(s, 'cancelled');
    const batch = live.filter((s) => !s.done);
    if (batch.length === 0) return undefined;
    if (this.config.kvCache.kind === 'paged') for (const s of admitted) if (!s.done) s.slots!.forEach((slot, i) => this.#assign(slot, s.blocks![i]!));
    // one chunk per sequence, or per live beam; the prompt runs once, on the first slot
    const chunks: StepChunk[] = [];
    const rowsOf = new Map<Sequence, number[]>();
    const add = (s: Sequence, ch: StepChunk): void => {
      rowsOf.set(s, [...(rowsOf.get(s) ?? []), chunks.length]);
      chunks.push(ch);
    };
    for (const s of batch) {
      const p = s.prompt.length;
      if (s.beams) for (const b of s.beams) add(s, { slot: b.slot, start: p + b.tokens.length - 1, tokens: [b.tokens[b.tokens.length - 1]!] });
      else if (s.out.length === 0) add(s, { slot: s.slots![0]!, start: 0, tokens: s.prompt, task: s.task });
      else add(s, { slot: s.slots![0]!, start: p + s.out.length - 1, tokens: [s.out[s.out.length - 1]!] });
    }
    await this.#group?.step(chunks); // workers get the step before this process blocks in NCCL
    const prompt = this.#prompt ? { promptTable: this.#prompt.table } : {};
    // no beams: the backend picks the tokens — argmax when every row is plain greedy, else the sampling
    // op with each row's settings and draw — and only ids come back, with (when a request asks for
    // logprobs) each picked token's log-probability and the top candidates reduced on the backend; a
    // step of beam searches only: each beam's row reduced to its candidates on the backend; anything
    // else (fp16 logits, beams beside other requests): fp32 logits, scored on the host
    const f32 = this.config.model.logitsDtype === 'f32';
    const onDevice = f32 && batch.every((s) => s.width === 1);
    const beamsOnDevice = f32 && batch.every((s) => s.width > 1);
    const greedy = onDevice && batch.every((s) => s.sampler.plainGreedy(s.out.length, s.endId));
    // a prompt whose log-probabilities are asked returns every row of its step (scored on the backend)
    const scored = batch.filter((s) => s.promptTop !== undefined && s.out.length === 0).map((s) => rowsOf.get(s)![0]!);
    const asks = scored.length > 0 || batch.some((s) => s.topLogProbs !== undefined);
    const n = asks ? Math.max(...batch.map((s) => Math.max(s.topLogProbs ?? 0, s.out.length === 0 ? (s.promptTop ?? 0) : 0))) : 2 * Math.max(...batch.map((s) => s.width));
    const withScored = scored.length ? { scored } : {};
    const sampling = (): { sampling: SamplingRow[] } => ({ sampling: batch.map((s) => s.sampler.row(s.sampler.penalizes ? seenTokens(s) : [], s.out.length, s.endId)) });
    const request: StepRequest<unknown> = onDevice && asks ? { output: 'chosenLogProbs', top: n, ...(greedy ? {} : sampling()), ...withScored, ...prompt }
      : greedy ? { output: 'tokens', ...prompt }
        : onDevice ? { output: 'sampled', ...sampling(), ...prompt }
          : beamsOnDevice ? { output: 'beams', beams: n, ...prompt }
            : { output: 'logits', ...withScored, ...prompt };
    const rows = stepRows(chunks, new Set(scored));
    return { batch, rowsOf, n, first: rows.first, last: rows.last, output: request.output, pending: this.#graph.launch(chunks, request) };
  }

  /** Collect a launched step and hand each sequence its token (or its beams' candidates); end those that are done. */
  #apply(l: LaunchedStep): void {
    const { batch, rowsOf, n, first, last } = l;
    this.#forkCopies = []; // a step that failed in its #apply leaves none behind for this one
    const out = l.pending.collect();
    this.steps++;
    const tokens = l.output === 'tokens' || l.output === 'sampled' ? (out as Int32Array) : undefined;
    const reduced = l.output === 'beams' ? (out as Int32Array) : undefined;
    const chosen = l.output === 'chosenLogProbs' ? (out as Int32Array) : undefined;
    const width = CHOSEN_WORDS + (n > 0 ? 2 * n + 3 : 0); // a 'chosenLogProbs' row: token, its four words, n candidates
    const logits = l.output === 'logits' ? (out as Float32Array) : new Float32Array(0);
    const v = this.config.model.vocabSize;
    const row = (i: number): Float32Array => logits.slice(i * v, (i + 1) * v);
    for (const s of batch) {
      // cancelled while its step was in flight (one step ahead): it ends where it was, as in step
      if (s.cancelled || s.signal?.aborted) {
        this.#end(s, 'cancelled');
        continue;
      }
      const rows = rowsOf.get(s)!;
      if (s.width > 1) {
        this.#beamStep(s, rows.map((c) => (reduced ? beamCandidatesFromRow(reduced, c, n) : beamCandidates(row(last[c]!), 2 * s.width))));
        continue;
      }
      // the sequence's row: a 'chosenLogProbs' output has one per chunk first; logits, one per output row
      const c = rows[0]!;
      const r = chosen ? c : last[c]!;
      if (s.promptTop !== undefined && s.promptLogProbs === undefined) {
        // the prompt's step: output row first + j scored prompt token j + 1 given tokens 0 … j
        const f = first[c]!;
        const at = (q: number): number => first.length * width + q * (width - 1); // after the chunks' rows, the scored rows (no token word)
        s.promptLogProbs = s.prompt.slice(1).map((t, j) => (chosen ? wordsLogProbs(chosen, at(f + j), n, s.promptTop!, t) : tokenLogProbs(row(f + j), t, s.promptTop)));
      }
      const x = tokens || chosen ? undefined : row(r);
      const token = tokens ? tokens[r]! : chosen ? chosen[r * width]! : s.sampler.next(x!, seenTokens(s), s.out.length, s.endId);
      const lp = s.topLogProbs === undefined ? undefined : chosen ? chosenLogProbs(chosen, r, width, n, s.topLogProbs) : tokenLogProbs(x!, token, s.topLogProbs);
      if (lp) s.logProbs.push(lp);
      s.out.push(token);
      s.nextTokens = 1;
      const why: FinishReason | undefined = token === s.endId ? 'end'
        : s.stops.some((w) => w.length <= s.out.length && w.every((id, j) => s.out[s.out.length - w.length + j] === id)) ? 'stop'
          : s.out.length >= s.maxNew ? 'length' : undefined;
      this.#emit(s, { token, index: s.out.length - 1, ...(lp ? { logprobs: lp } : {}), ...(s.out.length === 1 && s.promptLogProbs ? { promptLogprobs: s.promptLogProbs } : {}) }, why !== undefined);
      if (why) this.#end(s, why);
    }
    this.#copyForks();
  }

  /** The KV rows this step's beam forks copy, every sequence's at once (one call per backend; one launch on cuda). */
  #copyForks(): void {
    if (this.#forkCopies.length === 0) return;
    const pairs = this.#forkCopies;
    this.#forkCopies = [];
    for (const b of this.#backends) b.copyKvRows(pairs);
    this.#group?.queue({ op: 'copyKvRows', pairs });
  }

  /**
   * One beam-search step (sampling/beam-search.ts scores it): a child reuses its parent's slot when
   * it is the parent's first child, else it takes a slot no new beam's parent holds and inherits the
   * parent's KV cache there (on every rank). Paged: the parent's full blocks are shared — the child's
   * block table points at them, since no position in them is written again — and only the block the
   * next token goes to is copied into the child's own; every slot's table from that block on is its
   * own blocks, so no write ever lands in a shared block. Contiguous: the slot's row is copied.
   */
  #beamStep(s: Sequence, rows: BeamCandidates[]): void {
    const k = s.width;
    const parents: Beam[] = s.beams ?? [{ tokens: [], logProb: 0, slot: s.slots![0]! }];
    const { next, ended } = beamStep(parents, rows, k, s.endId, s.lengthPenalty);
    const finished = [...(s.finished ?? []), ...ended];
    const slotBlocks = new Map(s.slots!.map((slot, i) => [slot, s.blocks![i]!]));
    const claimed = new Set<number>();
    const beams: (Beam | undefined)[] = next.map((c) => {
      const parent = parents[c.parent]!;
      if (claimed.has(parent.slot)) return undefined;
      claimed.add(parent.slot);
      return { tokens: [...parent.tokens, c.token], logProb: c.logProb, slot: parent.slot };
    });
    const free = s.slots!.filter((slot) => !claimed.has(slot));
    const paged = this.config.kvCache.kind === 'paged';
    const tableOf = (slot: number): readonly number[] => s.tables?.get(slot) ?? slotBlocks.get(slot)!;
    // positions 0 … written − 1 are in the cache; the next step writes position `written`, in block `cur`
    const written = s.prompt.length + parents[0]!.tokens.length;
    const cur = paged ? Math.floor(written / this.config.kvCache.tokensPerBlock) : 0;
    const tables = new Map<number, readonly number[]>();
    next.forEach((c, i) => {
      if (beams[i]) return;
      const parent = parents[c.parent]!;
      const dst = free.shift()!;
      const src = tableOf(parent.slot);
      const own = slotBlocks.get(dst)!;
      if (paged) {
        const table = [...src.slice(0, cur), ...own.slice(cur)];
        tables.set(dst, table);
        this.#assign(dst, table);
      }
      // paged: the block the next token goes to, unless it starts a fresh block; contiguous: the slot
      if (!paged) this.#forkCopies.push([parent.slot, dst]);
      else if (written % this.config.kvCache.tokensPerBlock !== 0) this.#forkCopies.push([src[cur]!, own[cur]!]);
      beams[i] = { tokens: [...parent.tokens, c.token], logProb: c.logProb, slot: dst };
    });
    // a slot kept by its parent's first child keeps its table
    if (paged) for (const b of beams as Beam[]) if (!tables.has(b.slot)) tables.set(b.slot, tableOf(b.slot));
    s.tables = tables;
    s.beams = beams as Beam[];
    s.nextTokens = s.beams.length;
    s.finished = finished;
    const results = beamResults(s.beams, finished, k, s.maxNew, s.lengthPenalty);
    if (!results) return;
    s.finished = results;
    const best = results[0]!;
    s.out.push(...best.tokens);
    best.tokens.forEach((token, index) => this.#emit(s, { token, index }, index === best.tokens.length - 1));
    this.#end(s, best.finishReason);
  }
}

/** Words of a 'chosenLogProbs' row before its candidates: the token, then tokenLogProbRows' four. */
const CHOSEN_WORDS = 1 + TOKEN_LOG_PROB_WORDS;

/** Row r of a 'chosenLogProbs' output (`width` words a row: the pick, its four words, n candidates) as the pick's TokenLogProbs with its top k ≤ n. */
function chosenLogProbs(out: Int32Array, r: number, width: number, n: number, k: number): TokenLogProbs {
  return wordsLogProbs(out, r * width + 1, n, k, out[r * width]!);
}

/** `token`'s TokenLogProbs (top k ≤ n) from the four tokenLogProbRows words at `o`, followed when n > 0 by a beamCandidateRows row of n. */
function wordsLogProbs(out: Int32Array, o: number, n: number, k: number, token: number): TokenLogProbs {
  const words = out.subarray(o, o + TOKEN_LOG_PROB_WORDS);
  const max = f32FromBits(words[1]!);
  const weightSum = (words[2]! >>> 0) + (words[3]! >>> 0) * 2 ** 32;
  const c = n > 0 ? beamCandidatesFromRow(out.subarray(o + TOKEN_LOG_PROB_WORDS, o + TOKEN_LOG_PROB_WORDS + 2 * n + 3), 0, n) : { max, weightSum };
  return tokenLogProbsOf(token, f32FromBits(words[0]!), c, k);
}

/** Upload one rank's engine file to a backend (checked: rank, world size, dtypes). */
export function loadRankWeights(dir: string, build: BuildConfig, r: number, backend: Backend<unknown>): Map<string, unknown> {
  const path = join(dir, engineFileName(build, r));
  const file = readEngineFile(path);
  if (file.rank !== r || file.worldSize !== build.worldSize) throw new EngineError('format', { what: path, expected: `rank ${r} of ${build.worldSize}`, got: `rank ${file.rank} of ${file.worldSize}`, hint: 'rebuild the engine' });
  const weights = new Map<string, unknown>();
  for (const [name, t] of file.tensors) {
    // float tensors in the model's dtype; SmoothQuant's INT8 weights in i8 and their scales in f32
    const want = name.endsWith('.weight.int8') ? 'i8' : name.endsWith('.weight.fp8') ? 'fp8e4m3' : /\.scale_[a-z_]+$/.test(name) ? 'f32' : build.model.dtype;
    if (t.dtype !== want) throw new EngineError('format', { what: `${path}: ${name}`, expected: want, got: t.dtype, hint: 'rebuild the engine' });
    weights.set(name, backend.upload(markConstant(t))); // read from the file for this engine only: never written (the ref backend decodes it once)
  }
  return weights;
}

/** The RoPE table parameters of a config, if it uses RoPE. */
export function ropeOf(c: GptConfig): { positions: number; rotaryDim: number; base: number } | undefined {
  return c.rotaryPct > 0 ? { positions: c.nPositions, rotaryDim: rotaryDimOf(headSize(c), c.rotaryPct), base: c.rotaryBase } : undefined;
}

function isTokenArray(r: unknown): r is readonly number[] {
  return Array.isArray(r) && r.every((x) => typeof x === 'number');
}

/** A backend for one rank of `build` (also used by tensor-parallel worker processes). */
export async function createBackend(name: BackendName, build: BuildConfig, o: Pick<EngineLoadOptions, 'kernels' | 'cudaGraphs' | 'gemmAlgo'> = {}): Promise<Backend<unknown>> {
  const c = build.model;
  const rope = ropeOf(c);
  if (o.kernels !== undefined && o.kernels !== 'reference' && o.kernels !== 'production') throw new EngineError('config', { what: 'kernels', expected: "'reference' or 'production'", got: String(o.kernels) });
  if (name === 'ref') {
    if (o.kernels === 'production') throw new EngineError('config', { what: "kernels 'production'", expected: "backend 'cuda'", got: "backend 'ref'", hint: 'the ref backend is the oracle: it has one kernel set' });
    return new RefBackend(rope ? { rope } : {}) as Backend<unknown>;
  }
  if (name === 'cuda') {
    if ((o.kernels ?? 'production') === 'reference') {
      const { CudaBackend } = await import('../backends/cuda.js');
      return (await CudaBackend.create(rope ? { rope } : {})) as Backend<unknown>;
    }
    const { CudaProductionBackend } = await import('../backends/cuda-production.js');
    return (await CudaProductionBackend.createProduction({
      ...(rope ? { rope } : {}),
      maxTokens: Math.max(build.maxNumTokens, build.maxInputLen + build.maxOutputLen, build.maxBatchSize * build.maxBeamWidth),
      maxRows: build.maxBatchSize * build.maxBeamWidth,
      maxSeqLen: build.maxInputLen + build.maxOutputLen,
      contextFmha: build.contextFmha,
      headSize: headSize(c),
      ...(o.cudaGraphs !== undefined ? { cudaGraphs: o.cudaGraphs } : {}),
      gemmAlgo: resolveGemmAlgo(o.gemmAlgo, build.maxBatchSize * build.maxBeamWidth),
    })) as Backend<unknown>;
  }
  throw new EngineError('config', { what: 'backend', expected: "'ref' or 'cuda'", got: String(name) });
}

