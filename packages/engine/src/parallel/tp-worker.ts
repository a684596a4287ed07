/**
 * A forked tensor-parallel worker rank (parallel/tp-group.ts, forkRank): serves rank 0's messages
 * over Node IPC with a cuda rank (cuda-rank.ts) on GPU `rank` until told to stop. Any failure is
 * reported to rank 0 and ends the process; so does losing rank 0 (the IPC channel closes when rank 0
 * exits or crashes), so no worker outlives it.
 */
import { cudaRank } from './cuda-rank.js';
import type { WorkerReply } from './tp-group.js';
import { serveRank } from './tp-rank.js';

process.on('disconnect', () => process.exit(1));
serveRank(
  {
    on: (event, f) => process.on(event, f as (m: unknown) => void),
    send: (m: WorkerReply) => process.send!(m),
    exit: (code) => process.exit(code),
  },
  cudaRank,
);
