/**
 * A worker rank on the cuda backend (parallel/tp-rank.ts's RankHandle), however it was started
 * (forked: tp-worker.ts; launched: launched-rank.ts): checks that its engine dir is rank 0's
 * (config.json digest), loads its rank's engine file on its GPU and sizes its KV cache as rank 0 said;
 * 'join' then creates the NCCL communicator with rank 0's unique id.
 */
import { hostname } from 'node:os';
import { loadKernels } from '../backends/kernels.js';
import { smoothQuantModeOf } from '../build-config.js';
import { engineConfigDigest, readEngineConfig } from '../engine-dir.js';
import { EngineError } from '../errors.js';
import { kvCacheSpec } from '../kvcache/kv-spec.js';
import { GptGraph } from '../models/gpt.js';
import { createBackend, loadRankWeights } from '../runtime/engine.js';
import { collectiveTimeoutMs, joinCollectives } from './collective-watch.js';
import type { WorkerInit } from './tp-group.js';
import type { RankHandle } from './tp-rank.js';

export async function cudaRank(o: WorkerInit): Promise<RankHandle> {
  const digest = engineConfigDigest(o.dir);
  if (digest !== o.configDigest) {
    throw new EngineError('config', { what: `${hostname()}: ${o.dir}/config.json`, expected: `rank 0's engine (config.json sha256 ${o.configDigest.slice(0, 12)}…)`, got: `another engine (sha256 ${digest.slice(0, 12)}…)`, hint: "each rank's engine dir must hold rank 0's engine: copy it to every host, or put it on a shared file system" });
  }
  const k = await loadKernels();
  const { build } = readEngineConfig(o.dir);
  if (build.worldSize !== o.worldSize) throw new EngineError('config', { what: `${o.dir}: tensor_parallel`, expected: String(o.worldSize), got: String(build.worldSize) });
  const backend = await createBackend('cuda', build, { kernels: o.kernels, cudaGraphs: false, ...(o.gemmAlgo ? { gemmAlgo: o.gemmAlgo } : {}) });
  const weights = loadRankWeights(o.dir, build, o.rank, backend);
  backend.createKvCache(kvCacheSpec(build, { numSlots: o.numSlots, layout: o.layout }));
  let allReduce: ((x: unknown) => unknown) | undefined;
  // SmoothQuant engines: the same INT8 mode as rank 0's graph (engine.ts)
  const graph = new GptGraph<unknown>([{ backend, weights }], build.model, { worldSize: o.worldSize, allReduce: (x) => allReduce!(x) }, smoothQuantModeOf(build));
  const timeoutMs = collectiveTimeoutMs(); // a bad TRTLLM_NCCL_TIMEOUT fails before this rank joins
  return {
    join: () => {
      allReduce = joinCollectives(backend, k.NcclCommunicator.init({ worldSize: o.worldSize, rank: o.rank, id: Uint8Array.from(o.ncclId) }), { rank: o.rank, worldSize: o.worldSize, timeoutMs });
    },
    assignBlocks: (slot, blocks) => backend.assignBlocks(slot, blocks),
    copyKvRows: (pairs) => backend.copyKvRows(pairs),
    upload: (table) => backend.upload(table),
    forward: (chunks, promptTable) => graph.forward(chunks, { logits: 'none', ...(promptTable !== undefined ? { promptTable } : {}) }),
    dispose: () => backend.dispose(),
  };
}
