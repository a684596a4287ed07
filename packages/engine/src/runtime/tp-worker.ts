/**
 * A tensor-parallel worker rank (runtime/tp-group.ts), forked by rank 0 on GPU `rank`: loads its
 * rank's engine file on its GPU, joins the NCCL communicator, then serves rank 0's messages
 * (tp-rank.ts) until told to stop. Any failure is reported to rank 0 and ends the process.
 */
import type * as Cuda from '@trtllm/cuda-kernels';
import type { ActDType } from '@trtllm/ref-math';
import { loadKernels } from '../backends/kernels.js';
import { kvCacheSpec } from '../kvcache/kv-spec.js';
import { GptGraph } from '../models/gpt.js';
import { readEngineConfig } from '../engine-dir.js';
import { smoothQuantModeOf } from '../build-config.js';
import { createBackend, loadRankWeights } from './engine.js';
import type { WorkerInit, WorkerReply } from './tp-group.js';
import { serveRank, type RankHandle } from './tp-rank.js';

async function cudaRank(o: WorkerInit): Promise<RankHandle> {
  const k = await loadKernels();
  const { build } = readEngineConfig(o.dir);
  const c = build.model;
  const backend = await createBackend('cuda', build, { kernels: o.kernels, cudaGraphs: false, ...(o.gemmAlgo ? { gemmAlgo: o.gemmAlgo } : {}) });
  const weights = loadRankWeights(o.dir, build, o.rank, backend);
  backend.createKvCache(kvCacheSpec(build, { numSlots: o.numSlots, layout: o.layout }));
  const comm = k.NcclCommunicator.init({ worldSize: o.worldSize, rank: o.rank, id: Uint8Array.from(o.ncclId) });
  // SmoothQuant engines: the same INT8 mode as rank 0's graph (engine.ts)
  const graph = new GptGraph<unknown>([{ backend, weights }], c, { worldSize: o.worldSize, allReduce: (x) => comm.allReduceSum(x as Cuda.DeviceTensor<ActDType>) }, smoothQuantModeOf(build));
  return {
    assignBlocks: (slot, blocks) => backend.assignBlocks(slot, blocks),
    copyKv: (op) => backend.copyKv(op),
    upload: (table) => backend.upload(table),
    forward: (chunks, promptTable) => graph.forward(chunks, { logits: 'none', ...(promptTable !== undefined ? { promptTable } : {}) }),
    dispose: () => backend.dispose(),
  };
}

serveRank(
  {
    on: (event, f) => process.on(event, f as (m: unknown) => void),
    send: (m: WorkerReply) => process.send!(m),
    exit: (code) => process.exit(code),
  },
  cudaRank,
);

