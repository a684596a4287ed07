/**
 * sampling on the device — each row's next token from fp32 logits, the token of ref-math's
 * sampleRows for the same settings and draws, and beam search's reduction of each row to its first
 * candidates, max and exact weight sum (ref-math beamCandidateRows); tier 2, csrc/sampling.cu. And the
 * reduction that scores given tokens (ref-math tokenLogProbRows; tier 1). Enqueue only.
 */
import { expectDType, expectShape, f32ToBits, fromValues, ShapeError, TOKEN_LOG_PROB_WORDS, type SamplingRow, type Tensor } from '@trtllm/ref-math';
import { addon } from '../binding.js';
import { DeviceTensor, type Stream } from '../device.js';
import { native } from '../errors.js';

/** i32 values per row of the settings tensor: temperature, topK, topP, repetition penalty (f32 bits), banned, draw. */
export const SAMPLING_SETTINGS = 6;

/** Rows' settings as the kernel reads them: settings [R, 6], seenOffsets [R + 1], seen [Σ seen]. */
export interface PackedSampling {
  readonly settings: Int32Array;
  readonly seenOffsets: Int32Array;
  readonly seen: Int32Array;
}

/**
 * Pack rows' settings for the kernel. A row's seen ids travel only when its penalty is not 1 (the
 * kernel reads them for nothing else); fp32 fields as their bits, the draw as a uint32's bits, top-k
 * capped at 2^31 − 1 (any k past the vocabulary keeps every candidate).
 */
export function packSampling(rows: readonly SamplingRow[]): PackedSampling {
  const settings = new Int32Array(rows.length * SAMPLING_SETTINGS);
  const seenOffsets = new Int32Array(rows.length + 1);
  const seen: number[] = [];
  rows.forEach((r, i) => {
    settings.set([f32ToBits(r.temperature), Math.min(r.topK, 0x7fffffff), f32ToBits(r.topP), f32ToBits(r.repetitionPenalty), r.banned, r.draw | 0], i * SAMPLING_SETTINGS);
    if (Math.fround(r.repetitionPenalty) !== 1) seen.push(...r.seen);
    seenOffsets[i + 1] = seen.length;
  });
  return { settings, seenOffsets, seen: Int32Array.from(seen) };
}

/** The packed settings as host tensors (for upload). */
export function samplingTensors(p: PackedSampling): { settings: Tensor<'i32'>; seenOffsets: Tensor<'i32'>; seen: Tensor<'i32'> } {
  const rows = p.seenOffsets.length - 1;
  return {
    settings: fromValues('i32', [rows, SAMPLING_SETTINGS], p.settings),
    seenOffsets: fromValues('i32', [rows + 1], p.seenOffsets),
    seen: fromValues('i32', [Math.max(1, p.seen.length)], p.seen.length ? p.seen : [0]),
  };
}

export interface SampleInputs {
  /** f32 [R, V] logits (not modified). */
  readonly x: DeviceTensor;
  /** i32 [R, 6] (packSampling). */
  readonly settings: DeviceTensor;
  /** i32 [R + 1]. */
  readonly seenOffsets: DeviceTensor;
  /** i32 [≥ seenOffsets[R]]. */
  readonly seen: DeviceTensor;
  /**
   * i32 [≥ sampleWorkspaceSize(R, V)]: the kernel's compacted candidates. The caller owns it and frees
   * it once the kernel is done (the allocator does not track streams), or keeps it with a captured graph.
   */
  readonly workspace: DeviceTensor;
}

/** i32 elements of the workspace for R rows of V logits: two lists of a u64 key and a u32 weight per logit. */
export const sampleWorkspaceSize = (rows: number, cols: number): number => Math.max(1, rows * cols * 6);

/** ids[r] = ref-math sampleToken(row r of x, the settings of row r). */
export function sampleRows(i: SampleInputs, stream?: Stream): DeviceTensor<'i32'> {
  expectDType('sampleRows', 'x', i.x, ['f32']);
  const [rows, cols] = expectShape('sampleRows', 'x', i.x, ['R', 'V']) as [number, number];
  expectDType('sampleRows', 'settings', i.settings, ['i32']);
  expectShape('sampleRows', 'settings', i.settings, [rows, SAMPLING_SETTINGS]);
  expectDType('sampleRows', 'seenOffsets', i.seenOffsets, ['i32']);
  expectShape('sampleRows', 'seenOffsets', i.seenOffsets, [rows + 1]);
  expectDType('sampleRows', 'seen', i.seen, ['i32']);
  if (i.seen.shape.length !== 1) throw new ShapeError({ op: 'sampleRows', what: 'seen', expected: '[n] (1-D)', got: `[${i.seen.shape.join(', ')}]` });
  expectDType('sampleRows', 'workspace', i.workspace, ['i32']);
  const need = sampleWorkspaceSize(rows, cols);
  if (i.workspace.shape.length !== 1 || i.workspace.shape[0]! < need) throw new ShapeError({ op: 'sampleRows', what: 'workspace', expected: `[≥ ${need}] (sampleWorkspaceSize(${rows}, ${cols}))`, got: `[${i.workspace.shape.join(', ')}]` });
  const ids = DeviceTensor.empty('i32', [rows]);
  native('sampleRows', () =>
    addon().sample({ x: i.x.ptr, settings: i.settings.ptr, seenOffsets: i.seenOffsets.ptr, seen: i.seen.ptr, ids: ids.ptr, workspace: i.workspace.ptr, rows, cols, stream: stream?.handle }),
  );
  return ids;
}

/** Most candidates per row beamCandidateRows takes (kept in shared memory for the final sort). */
export const MAX_BEAM_CANDIDATES = 1024;

/**
 * i32 [R, 2n + 3] = ref-math beamCandidateRows(x, n): per row the first n candidates' ids and logit
 * bits in order, the max's bits and the exact weight sum S (low, high). `workspace`: i32
 * [≥ sampleWorkspaceSize(R, V)], owned by the caller as for sampleRows.
 */
export function beamCandidateRows(i: { readonly x: DeviceTensor; readonly workspace: DeviceTensor }, n: number, stream?: Stream): DeviceTensor<'i32'> {
  expectDType('beamCandidateRows', 'x', i.x, ['f32']);
  const [rows, cols] = expectShape('beamCandidateRows', 'x', i.x, ['R', 'V']) as [number, number];
  if (!Number.isInteger(n) || n < 1 || n > MAX_BEAM_CANDIDATES) throw new ShapeError({ op: 'beamCandidateRows', what: 'n', expected: `an integer in [1, ${MAX_BEAM_CANDIDATES}]`, got: String(n) });
  expectDType('beamCandidateRows', 'workspace', i.workspace, ['i32']);
  const need = sampleWorkspaceSize(rows, cols);
  if (i.workspace.shape.length !== 1 || i.workspace.shape[0]! < need) throw new ShapeError({ op: 'beamCandidateRows', what: 'workspace', expected: `[≥ ${need}] (sampleWorkspaceSize(${rows}, ${cols}))`, got: `[${i.workspace.shape.join(', ')}]` });
  const out = DeviceTensor.empty('i32', [rows, 2 * n + 3]);
  native('beamCandidateRows', () => addon().beamCandidates({ x: i.x.ptr, out: out.ptr, workspace: i.workspace.ptr, rows, cols, n, stream: stream?.handle }));
  return out;
}

/**
 * i32 [R, 4] = ref-math tokenLogProbRows(x, tokens): per row the bits of x[r, tokens[r]] (NaN for a
 * token outside [0, V)), the max's bits and the exact weight sum S (low, high); ref-math
 * tokenLogProbFromRow finishes a row on the host. Tier 1 (an exact integer sum; no workspace).
 */
export function tokenLogProbRows(i: { readonly x: DeviceTensor; readonly tokens: DeviceTensor }, stream?: Stream): DeviceTensor<'i32'> {
  expectDType('tokenLogProbRows', 'x', i.x, ['f32']);
  const [rows, cols] = expectShape('tokenLogProbRows', 'x', i.x, ['R', 'V']) as [number, number];
  expectDType('tokenLogProbRows', 'tokens', i.tokens, ['i32']);
  expectShape('tokenLogProbRows', 'tokens', i.tokens, [rows]);
  const out = DeviceTensor.empty('i32', [rows, TOKEN_LOG_PROB_WORDS]);
  native('tokenLogProbRows', () => addon().tokenLogProbs({ x: i.x.ptr, tokens: i.tokens.ptr, out: out.ptr, rows, cols, stream: stream?.handle }));
  return out;
}
