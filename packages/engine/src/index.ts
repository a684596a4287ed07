/**
 * @trtllm/engine — GPT engines: `buildEngine` (FT checkpoint or random weights → engine dir, the
 * seed's build.py flags and checks), the engine file format, and `Engine` (load, generate, stream)
 * with a paged KV cache, in-flight batching and sampling, on the `ref` (TypeScript) or `cuda` backend.
 */
export { EngineError, type EngineErrorKind, type EngineErrorData } from './errors.js';
export { resolveBuildConfig, DTYPE_NAMES, dtypeName, type BuildFlags, type BuildConfig, type CheckpointInfo, type ContextFmha, type DTypeName, type KvCacheLayoutConfig } from './build-config.js';
export { ENGINE_MAGIC, ENGINE_FORMAT_VERSION, engineFileName, writeEngineFile, readEngineFile, readEngineConfig, engineConfigJson, engineConfigDigest, type EngineDirConfig } from './engine-dir.js';
export { buildEngine, buildEngineAsync, rankTensors, type BuildEngineOptions, type BuildResult } from './builder/build.js';
export type { SmoothQuantBuild, Fp8Build } from './builder/smoothquant.js';
export { convertCalibrated, calibrateModel, quantizeInMemory, smoothQuantModel, type CalibratedConvertOptions, type CalibratedConvertResult, type InMemoryQuantization } from './builder/convert-sq.js';
export { randomWeights } from './builder/random-weights.js';
export { ObservingBackend, mergeQkv, type ActivationStats } from './calibration/observing-backend.js';
export type { Backend, BackendName, GemmAlgo, KernelSet, LinearWeights, NormInput, StepHost, StepInputs, StepOutput, StepStats } from './backends/backend.js';
export { AUTO_DECODE_KERNEL_ROWS, GEMM_ALGOS, resolveGemmAlgo } from './backends/backend.js';
export { RefBackend } from './backends/ref.js';
export { GptGraph, type StepChunk, type GraphWeights } from './models/gpt.js';
export { BlockPool } from './kvcache/block-pool.js';
export { kvBytesPerToken } from './kvcache/kv-spec.js';
export { Scheduler, type Schedulable } from './scheduler/scheduler.js';
export { Sampler, type SamplingOptions } from './sampling/sampler.js';
export { Engine, type EngineLoadOptions, type GenerateRequest, type GenerateResult, type StreamCallbacks, type StreamEvent, type FinishReason } from './runtime/engine.js';
export type { TokenLogProbs } from '@trtllm/ref-math';
export { rougeScores, rougeTokenize, bootstrapAggregate, Mt19937, ROUGE_TYPES, type RougeScore, type RougeScores, type RougeType, type AggregateScore } from './eval/rouge.js';
export { beamStep, beamResults, beamScore, type BeamState, type BeamChoice, type Hypothesis } from './sampling/beam-search.js';
export { nll, perplexityWindows } from './eval/perplexity.js';
export { launchFromEnv, bindRankDevice, deviceForRank, expandHostlist, DEFAULT_MASTER_PORT, type Launch, type LauncherName } from './parallel/launch.js';
export { serveLaunchedRank, type ServeRankOptions } from './parallel/launched-rank.js';
export { rendezvousTimeoutMs, DEFAULT_RENDEZVOUS_TIMEOUT_MS } from './parallel/rendezvous.js';
export { measureDevice, deviceMemoryInUse, type DeviceReport } from './runtime/device.js';
export { gpuStatus, type GpuStatus } from './backends/kernels.js';
