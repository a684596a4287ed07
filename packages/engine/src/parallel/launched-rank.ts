/**
 * A rank a launcher started (mpirun, srun: parallel/launch.ts). Rank 0 loads the engine with
 * `Engine.load(dir, { backend: 'cuda', launch })` and runs the command; every other rank calls
 * `serveLaunchedRank(launch)`, which joins rank 0 over TCP (rendezvous.ts) and serves it with a cuda
 * rank (cuda-rank.ts) until rank 0 disposes the engine or goes away. Call launch.ts `bindRankDevice`
 * first: it gives each rank its GPU by local rank, before anything in the process touches CUDA.
 */
import { resolve } from 'node:path';
import { EngineError } from '../errors.js';
import { cudaRank } from './cuda-rank.js';
import type { Launch } from './launch.js';
import { joinRankZero } from './rendezvous.js';
import type { WorkerInit } from './tp-group.js';
import { serveRank, type RankHandle } from './tp-rank.js';

export interface ServeRankOptions {
  /** How long to wait for rank 0 to listen (default 300 s; the CLI reads TRTLLM_RENDEZVOUS_TIMEOUT). */
  readonly timeoutMs?: number;
  /** How the rank is made (default: a cuda rank on this process's GPU); tests record instead. */
  readonly init?: (o: WorkerInit) => Promise<RankHandle>;
  /** Where this rank's own messages go (default stderr). */
  readonly log?: (line: string) => void;
  /**
   * This rank's engine dir (the CLI: its own `--engine_dir`, resolved on this host), else rank 0's
   * path. Either way it must hold rank 0's engine: its config.json digest is compared first.
   */
  readonly engineDir?: string;
}

/** Serve rank 0 as rank `launch.rank`; resolves with the exit code once done (0 after rank 0's dispose). */
export async function serveLaunchedRank(launch: Launch, o: ServeRankOptions = {}): Promise<number> {
  if (launch.rank === 0) throw new EngineError('config', { what: `${launch.launcher} rank 0`, expected: 'a rank ≥ 1 (rank 0 loads the engine)', got: 'rank 0', hint: "rank 0 calls Engine.load(dir, { backend: 'cuda', launch })" });
  let done!: (code: number) => void;
  const ended = new Promise<number>((ok) => (done = ok));
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const port = await joinRankZero(launch, { ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}), log, onEnd: done });
  // a failure goes to rank 0, and to this rank's own log (on another host it is the only trace there)
  const init = o.init ?? cudaRank;
  const dir = o.engineDir !== undefined ? resolve(o.engineDir) : undefined;
  serveRank({ on: port.on, exit: port.exit, send: (m) => ('error' in m && log(`trtllm: ${m.error}`), port.send(m)) }, (w) => init(dir !== undefined ? { ...w, dir } : w));
  return ended;
}
