/**
 * A tensor-parallel worker rank (runtime/tp-group.ts): loads its rank's engine file on its GPU, joins
 * the NCCL communicator, then applies rank 0's messages in order — KV-cache operations and forward
 * steps (no logits) — until told to stop. Any failure is reported to rank 0 and ends the process.
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import { headSize, type ActDType } from '@trtllm/ref-math';
import type { Backend } from '../backends/backend.js';
import { GptGraph } from '../models/gpt.js';
import { readEngineConfig } from '../engine-dir.js';
import { createBackend, loadRankWeights } from './engine.js';
import type { RankOp, WorkerInit } from './tp-group.js';

const parent = process;
let handle: { graph: GptGraph<unknown>; backend: Backend<unknown>; comm: Cuda.NcclCommunicator } | undefined;

async function init(o: WorkerInit): Promise<void> {
  const k = await import('@trtllm/cuda-kernels');
  const { build } = readEngineConfig(o.dir);
  const c = build.model;
  const backend = await createBackend('cuda', build, { kernels: o.kernels, cudaGraphs: false, ...(o.gemmAlgo ? { gemmAlgo: o.gemmAlgo } : {}) });
  const weights = loadRankWeights(o.dir, build, o.rank, backend);
  backend.createKvCache({ numLayers: c.nLayer, numSlots: o.numSlots, numKvHeads: c.nKvHead === 1 ? 1 : c.nKvHead / o.worldSize, headSize: headSize(c), dtype: c.dtype, layout: o.layout });
  const comm = k.NcclCommunicator.init({ worldSize: o.worldSize, rank: o.rank, id: Uint8Array.from(o.ncclId) });
  const graph = new GptGraph<unknown>([{ backend, weights }], c, { worldSize: o.worldSize, allReduce: (x) => comm.allReduceSum(x as Cuda.DeviceTensor<ActDType>) });
  handle = { graph, backend, comm };
}

let promptTable: unknown;

function apply(ops: readonly RankOp[]): void {
  const h = handle!;
  for (const op of ops) {
    if (op.op === 'assign') h.backend.assignBlocks(op.slot, op.blocks);
    else if (op.op === 'copyKv') h.backend.copyKv(op);
    else if (op.op === 'promptTable') promptTable = h.backend.upload(op.table);
    else h.graph.forward(op.chunks, { logits: 'none', ...(promptTable !== undefined ? { promptTable } : {}) });
  }
}

parent.on('message', (m: WorkerInit | readonly RankOp[] | 'dispose') => {
  try {
    if (m === 'dispose') {
      // no ncclCommDestroy: it can wait on ranks that are already gone; the exit releases it
      handle?.backend.dispose();
      process.exit(0);
    } else if (Array.isArray(m)) apply(m);
    else {
      void init(m as WorkerInit).then(
        () => parent.send!({ ready: (m as WorkerInit).rank }),
        (e: Error) => {
          parent.send!({ error: `rank ${(m as WorkerInit).rank}: ${e.message}` });
          process.exit(1);
        },
      );
    }
  } catch (e) {
    parent.send!({ error: (e as Error).message });
    process.exit(1);
  }
});
