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
  return {
    qkv: { q: [[rank * qCols, qCols]], k: [[qkvOffset.k + kvFirst, kvCols]], v: [[qkvOffset.v + kvFirst, kvCols]] },
    qkvOffset,
    cols: (t) => {
      const n = t.shape[t.shape.length - 1]! / worldSize;
      return gatherColumns(t, [[rank * n, n]]);
    },
    rows: (t) => sliceRows(t, (rank * t.shape[0]!) / worldSize, t.shape[0]! / worldSize),
  };
}

