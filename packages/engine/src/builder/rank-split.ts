/**
 * Per-rank layout of the engine's tensors (tensor parallelism; builder/build.ts describes it): which
 * columns of the fused QKV weight are q, k and v on a rank, and the column / row split of the
 * column- and row-parallel linears.
 */
import { gatherColumns, sliceRows, type ColumnRange } from '@trtllm/loader';
import { headSize, type DType, type GptConfig, type Tensor } from '@trtllm/ref-math';

/**
 * How rank `rank` of `worldSize` takes its share of each tensor (the layout in build.ts's header): the
 * q, k and v column ranges of the fused QKV weight (K/V whole on every rank for multi-query), the
 * column split of column-parallel tensors and the row split of row-parallel ones. The float weights
 * (rankTensors) and the quantized ones (builder/smoothquant.ts) are split by this one rule.
 */
export interface RankSplit {
  /** Column ranges of q, k and v in the fused QKV width [H, (NH + 2·NKV)·HS]. */
  readonly qkv: Readonly<Record<'q' | 'k' | 'v', ColumnRange[]>>;
  /** Where q, k and v start in the fused QKV width. */
  readonly qkvOffset: Readonly<Record<'q' | 'k' | 'v', number>>;
  /** The share of a column-parallel width n (the last axis) / row-parallel height n. */
  colsOf(n: number): Take;
  rowsOf(n: number): Take;
  cols<D extends DType>(t: Tensor<D>): Tensor<D>;
  rows<D extends DType>(t: Tensor<D>): Tensor<D>;
}

export function rankSplit(c: GptConfig, rank: number, worldSize: number): RankSplit {
  const hs = headSize(c);
  const qCols = (c.nHead / worldSize) * hs;
  const kvWhole = c.nKvHead === 1;
  const kvCols = kvWhole ? hs : (c.nKvHead / worldSize) * hs;
  const kvFirst = kvWhole ? 0 : rank * kvCols;
  const qkvOffset = { q: 0, k: c.nHead * hs, v: (c.nHead + c.nKvHead) * hs };
  const colsOf = (n: number): Take => ({ kind: 'cols', ranges: [[(rank * n) / worldSize, n / worldSize]] });
  const rowsOf = (n: number): Take => ({ kind: 'rows', start: (rank * n) / worldSize, count: n / worldSize });
  return {
    qkv: { q: [[rank * qCols, qCols]], k: [[qkvOffset.k + kvFirst, kvCols]], v: [[qkvOffset.v + kvFirst, kvCols]] },
    qkvOffset,
    colsOf,
    rowsOf,
    cols: (t) => takeFrom(t, colsOf(t.shape[t.shape.length - 1]!)),
    rows: (t) => takeFrom(t, rowsOf(t.shape[0]!)),
  };
}

/** How a rank takes its tensor from the whole one: all of it, some columns (last axis), or some rows. */
export type Take = { readonly kind: 'whole' } | { readonly kind: 'cols'; readonly ranges: readonly ColumnRange[] } | { readonly kind: 'rows'; readonly start: number; readonly count: number };

/** One tensor of a rank's engine file: its name there, the canonical weight it comes from (gptWeightAt's path), and how. */
export interface RankTensorPlan {
  readonly name: string;
  readonly source: string;
  readonly take: Take;
}

/**
 * The tensors of rank `rank` of `worldSize` in engine-file order, as plans (no data): what
 * rankTensors computes, for builders that fetch each source tensor once and write every rank's share
 * (builder/stream-build.ts). `has(path)` says which optional weights (biases, β, wpe, gate, lmHead) exist.
 */
export function rankPlan(c: GptConfig, rank: number, worldSize: number, has: (path: string) => boolean): RankTensorPlan[] {
  const split = rankSplit(c, rank, worldSize);
  const whole: Take = { kind: 'whole' };
  const { colsOf: cols, rowsOf: rows } = split;
  const out: RankTensorPlan[] = [];
  const add = (name: string, source: string, take: Take = whole): void => {
    if (has(source)) out.push({ name, source, take });
  };
  const i = c.intermediateSize;
  add('wte', 'wte');
  add('wpe', 'wpe');
  for (let n = 0; n < c.nLayer; n++) {
    const p = `layers.${n}`;
    add(`${p}.ln1.gamma`, `${p}.ln1.gamma`);
    add(`${p}.ln1.beta`, `${p}.ln1.beta`);
    for (const part of ['q', 'k', 'v'] as const) {
      add(`${p}.${part}.weight`, `${p}.qkv.weight`, { kind: 'cols', ranges: split.qkv[part] });
      add(`${p}.${part}.bias`, `${p}.qkv.bias`, { kind: 'cols', ranges: split.qkv[part] });
    }
    add(`${p}.attnOut.weight`, `${p}.attnOut.weight`, rows(c.nHead * headSize(c)));
    add(`${p}.attnOut.bias`, `${p}.attnOut.bias`);
    add(`${p}.ln2.gamma`, `${p}.ln2.gamma`);
    add(`${p}.ln2.beta`, `${p}.ln2.beta`);
    add(`${p}.fc.weight`, `${p}.fc.weight`, cols(i));
    add(`${p}.fc.bias`, `${p}.fc.bias`, cols(i));
    add(`${p}.gate.weight`, `${p}.gate.weight`, cols(i));
    add(`${p}.gate.bias`, `${p}.gate.bias`, cols(i));
    add(`${p}.proj.weight`, `${p}.proj.weight`, rows(i));
    add(`${p}.proj.bias`, `${p}.proj.bias`);
  }
  add('lnF.gamma', 'lnF.gamma');
  add('lnF.beta', 'lnF.beta');
  add('lmHead', 'lmHead');
  return out;
}

/** A rank's share of a whole tensor. */
export function takeFrom<D extends DType>(t: Tensor<D>, take: Take): Tensor<D> {
  if (take.kind === 'whole') return t;
  if (take.kind === 'cols') return gatherColumns(t, take.ranges);
  return sliceRows(t, take.start, take.count);
}

/** The shape of a rank's share of a tensor of `shape`. */
export function takeShape(shape: readonly number[], take: Take): number[] {
  if (take.kind === 'whole') return [...shape];
  if (take.kind === 'cols') return [...shape.slice(0, -1), take.ranges.reduce((a, [, n]) => a + n, 0)];
  return [take.count, ...shape.slice(1)];
}
