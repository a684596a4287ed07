/**
 * Ranks from the launcher a user already has. `mpirun -np 2 trtllm run …` (Open MPI), `mpiexec`
 * (MPICH / Intel MPI, Hydra's PMI variables), `srun` (Slurm) and torchrun-style `RANK` /
 * `WORLD_SIZE` each start every rank themselves and tell it who it is through environment variables;
 * `launchFromEnv` reads them into one `Launch`. Rank 0 runs the command (it schedules, samples and
 * writes the output); ranks 1 … W−1 serve it (parallel/rendezvous.ts). The local rank picks the GPU.
 *
 * Which launcher, in this order (the first whose variables are present wins): the innermost launcher
 * first, srun last — mpirun inside a Slurm allocation is mpirun, and under `srun torchrun …` or
 * Hydra's mpiexec under Slurm the processes inherit srun's variables of their *node's* task:
 *
 *   launcher  rank                  world size              local rank                local size
 *   mpirun    OMPI_COMM_WORLD_RANK  OMPI_COMM_WORLD_SIZE    OMPI_COMM_WORLD_LOCAL_RANK OMPI_COMM_WORLD_LOCAL_SIZE
 *   env       RANK                  WORLD_SIZE              LOCAL_RANK                LOCAL_WORLD_SIZE
 *   mpiexec   PMI_RANK              PMI_SIZE                MPI_LOCALRANKID           MPI_LOCALNRANKS
 *   srun      SLURM_PROCID          SLURM_STEP_NUM_TASKS    SLURM_LOCALID             (from SLURM_STEP_TASKS_PER_NODE)
 *
 * Slurm is read from the job *step* (SLURM_STEP_NUM_TASKS, set by srun), not SLURM_NTASKS: a batch
 * script's own shell also has SLURM_PROCID=0 and SLURM_NTASKS=N, and must not wait for N−1 ranks
 * that nobody started.
 *
 * Where rank 0 listens (MASTER_ADDR / MASTER_PORT, as torch.distributed names them): MASTER_ADDR if
 * set; else under srun the first host of SLURM_STEP_NODELIST (Slurm's block distribution puts task 0
 * there); else 127.0.0.1 when every rank is on this host; else it is an error that says to set it.
 * TRTLLM_MASTER_PORT if set; else MASTER_PORT (under torchrun, MASTER_PORT + 1: torchrun's own store
 * holds MASTER_PORT on rank 0's host); else 29500 + (a hash of the job's id mod 2000), so two jobs on
 * one host rarely meet on a port. The job key (TRTLLM_JOB_KEY, else Open MPI's PMIx namespace or job
 * id, Slurm's job.step, Hydra's KVS name) is checked when a rank joins, so a rank of another job is
 * refused; exporting a random TRTLLM_JOB_KEY to every rank makes it a shared secret.
 */
import { EngineError } from '../errors.js';

export type LauncherName = 'mpirun' | 'srun' | 'mpiexec' | 'env';

/** One process's place in a launched job. */
export interface Launch {
  readonly launcher: LauncherName;
  readonly rank: number;
  readonly worldSize: number;
  /** This process's index among the ranks on its host: it picks the GPU. */
  readonly localRank: number;
  /** Ranks on this host, where the launcher says. */
  readonly localSize?: number;
  /** Where rank 0 listens for the other ranks. */
  readonly masterAddr: string;
  readonly masterPort: number;
  /** The launcher's id of this job ('' where it gives none): ranks of different jobs never join. */
  readonly jobKey: string;
}

type Env = Readonly<Record<string, string | undefined>>;

interface LauncherVars {
  readonly name: LauncherName;
  readonly rank: string;
  readonly size: string;
  readonly localRank: string;
  readonly localSize?: string;
}

const LAUNCHERS: readonly LauncherVars[] = [
  { name: 'mpirun', rank: 'OMPI_COMM_WORLD_RANK', size: 'OMPI_COMM_WORLD_SIZE', localRank: 'OMPI_COMM_WORLD_LOCAL_RANK', localSize: 'OMPI_COMM_WORLD_LOCAL_SIZE' },
  { name: 'env', rank: 'RANK', size: 'WORLD_SIZE', localRank: 'LOCAL_RANK', localSize: 'LOCAL_WORLD_SIZE' },
  { name: 'mpiexec', rank: 'PMI_RANK', size: 'PMI_SIZE', localRank: 'MPI_LOCALRANKID', localSize: 'MPI_LOCALNRANKS' },
  { name: 'srun', rank: 'SLURM_PROCID', size: 'SLURM_STEP_NUM_TASKS', localRank: 'SLURM_LOCALID' },
];

export const DEFAULT_MASTER_PORT = 29500;

/**
 * This process's rank, world size, local rank and rank 0's address from the launcher's variables,
 * or undefined when no launcher started it (or `TRTLLM_LAUNCHER=none`). A set but malformed
 * variable is an error naming it.
 */
export function launchFromEnv(env: Env = process.env): Launch | undefined {
  if (env.TRTLLM_LAUNCHER === 'none') return undefined;
  const vars = LAUNCHERS.find((l) => env[l.rank] !== undefined && env[l.size] !== undefined);
  if (!vars) return undefined;
  const worldSize = intVar(env, vars.size, 1);
  const rank = intVar(env, vars.rank, 0);
  if (rank >= worldSize) throw new EngineError('config', { what: vars.rank, expected: `a rank below ${vars.size} (${worldSize})`, got: String(rank), hint: `check how ${vars.name} was started` });
  const localRank = env[vars.localRank] !== undefined ? intVar(env, vars.localRank, 0) : 0;
  const localSize = vars.name === 'srun' ? slurmLocalSize(env) : vars.localSize && env[vars.localSize] !== undefined ? intVar(env, vars.localSize, 1) : undefined;
  const jobKey = env.TRTLLM_JOB_KEY ?? jobKeyOf(vars.name, env);
  return {
    launcher: vars.name,
    rank,
    worldSize,
    localRank,
    ...(localSize !== undefined ? { localSize } : {}),
    masterAddr: masterAddr(vars.name, env, worldSize, localSize),
    masterPort: masterPort(vars.name, env, jobKey),
    jobKey,
  };
}

/**
 * The CUDA_VISIBLE_DEVICES this rank should run with: the local rank's entry of a list the launcher
 * (or the user) set, the one device of a one-entry list (Slurm's `--gpus-per-task 1` binds each
 * task to its own), or the local rank itself.
 */
export function deviceForRank(launch: Pick<Launch, 'localRank'> & Partial<Pick<Launch, 'launcher' | 'localSize'>>, visible: string | undefined): string {
  const list = visible?.split(',').map((s) => s.trim()).filter((s) => s !== '') ?? [];
  if (list.length === 0) return String(launch.localRank);
  if (list.length === 1) {
    // srun binds a task to its own GPU (--gpus-per-task); anywhere else one device for several local ranks would be shared
    if (launch.launcher !== undefined && launch.launcher !== 'srun' && (launch.localSize ?? 1) > 1) {
      throw new EngineError('config', { what: 'CUDA_VISIBLE_DEVICES', expected: `a device for each of the ${launch.localSize} ranks on this host`, got: `'${visible}' (one device)`, hint: 'unset it (each local rank then takes the GPU of its number), or list one device per local rank' });
    }
    return list[0]!;
  }
  const mine = list[launch.localRank];
  if (mine === undefined) throw new EngineError('config', { what: 'CUDA_VISIBLE_DEVICES', expected: `an entry for local rank ${launch.localRank}`, got: `'${visible}' (${list.length} devices)`, hint: 'start at most one rank per visible GPU on each host' });
  return mine;
}

/**
 * Set CUDA_VISIBLE_DEVICES to this rank's GPU (deviceForRank) and return it. It must run before
 * anything in this process touches CUDA (the CUDA runtime reads the variable once).
 */
export function bindRankDevice(launch: Pick<Launch, 'localRank'> & Partial<Pick<Launch, 'launcher' | 'localSize'>>, env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRTLLM_RANK_DEVICE !== undefined && env.TRTLLM_RANK_DEVICE === env.CUDA_VISIBLE_DEVICES) return env.TRTLLM_RANK_DEVICE; // bound already
  const device = deviceForRank(launch, env.CUDA_VISIBLE_DEVICES);
  env.CUDA_VISIBLE_DEVICES = device;
  env.TRTLLM_RANK_DEVICE = device;
  return device;
}

/**
 * Slurm's compact host list, expanded: `gpu[01-03,7],login` → gpu01, gpu02, gpu03, gpu7, login.
 * Several bracket groups in one name multiply (`r[1-2]n[1-2]` → r1n1, r1n2, r2n1, r2n2); a range
 * keeps the zero padding of its lower bound.
 */
export function expandHostlist(list: string): string[] {
  const hosts: string[] = [];
  for (const item of splitTopLevel(list)) {
    let names = [''];
    for (let i = 0; i < item.length; ) {
      if (item[i] === '[') {
        const close = item.indexOf(']', i);
        const alternatives = expandRanges(item.slice(i + 1, close), list);
        names = names.flatMap((n) => alternatives.map((a) => n + a));
        i = close + 1;
      } else {
        const open = item.indexOf('[', i);
        const literal = item.slice(i, open < 0 ? item.length : open);
        names = names.map((n) => n + literal);
        i += literal.length;
      }
    }
    hosts.push(...names);
  }
  return hosts;
}

function splitTopLevel(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '[') depth++;
    else if (ch === ']') depth--;
    if (depth < 0 || depth > 1) throw hostlistError(list);
    if (ch === ',' && depth === 0) {
      items.push(list.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw hostlistError(list);
  items.push(list.slice(start));
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

function expandRanges(spec: string, list: string): string[] {
  return spec.split(',').flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw hostlistError(list);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo || hi - lo > 100_000) throw hostlistError(list);
    const width = m[1]!.length;
    return Array.from({ length: hi - lo + 1 }, (_, i) => String(lo + i).padStart(width, '0'));
  });
}

const hostlistError = (list: string): EngineError =>
  new EngineError('config', { what: 'SLURM_STEP_NODELIST', expected: "a Slurm host list ('gpu[01-04],login')", got: `'${list}'`, hint: 'set MASTER_ADDR to the host of rank 0' });

function masterAddr(launcher: LauncherName, env: Env, worldSize: number, localSize: number | undefined): string {
  if (env.MASTER_ADDR) return env.MASTER_ADDR;
  if (launcher === 'srun' && env.SLURM_STEP_NODELIST) return expandHostlist(env.SLURM_STEP_NODELIST)[0]!;
  if (localSize === worldSize) return '127.0.0.1';
  throw new EngineError('config', {
    what: 'MASTER_ADDR',
    expected: `the host of rank 0 (${launcher} gives no address${localSize === undefined ? '' : `, and ${worldSize - localSize} of ${worldSize} ranks run on other hosts`})`,
    got: 'unset',
    hint: launcher === 'mpirun' ? 'mpirun -x MASTER_ADDR=<host of rank 0> [-x MASTER_PORT=<port>] …' : 'export MASTER_ADDR=<host of rank 0> to every rank',
  });
}

/** Ranks on this node under srun: SLURM_STEP_TASKS_PER_NODE is e.g. '8(x2),4', in SLURM_NODEID's order. */
function slurmLocalSize(env: Env): number | undefined {
  const perNode = env.SLURM_STEP_TASKS_PER_NODE;
  const node = env.SLURM_NODEID !== undefined ? Number(env.SLURM_NODEID) : undefined;
  if (!perNode || node === undefined || !Number.isInteger(node)) return undefined;
  const counts: number[] = [];
  for (const g of perNode.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(g.trim());
    const times = m?.[2] !== undefined ? Number(m[2]) : 1;
    if (!m || times > 100_000) throw new EngineError('config', { what: 'SLURM_STEP_TASKS_PER_NODE', expected: "Slurm's tasks per node ('8(x2),4')", got: `'${perNode}'` });
    for (let i = 0; i < times && counts.length <= node; i++) counts.push(Number(m[1]));
  }
  return counts[node];
}

function masterPort(launcher: LauncherName, env: Env, jobKey: string): number {
  if (env.TRTLLM_MASTER_PORT !== undefined) return portVar(env.TRTLLM_MASTER_PORT, 'TRTLLM_MASTER_PORT');
  if (env.MASTER_PORT !== undefined) {
    const port = portVar(env.MASTER_PORT, 'MASTER_PORT');
    // torchrun's agent keeps its TCPStore on MASTER_PORT of rank 0's host
    return launcher === 'env' && env.TORCHELASTIC_RUN_ID !== undefined ? portVar(String(port + 1), 'MASTER_PORT + 1') : port;
  }
  return DEFAULT_MASTER_PORT + (jobKey ? fnv1a(jobKey) % 2000 : 0);
}

function jobKeyOf(launcher: LauncherName, env: Env): string {
  if (launcher === 'mpirun') return env.PMIX_NAMESPACE ?? env.OMPI_MCA_ess_base_jobid ?? env.OMPI_MCA_orte_ess_jobid ?? '';
  if (launcher === 'srun') return env.SLURM_JOB_ID !== undefined ? `${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID ?? ''}` : '';
  if (launcher === 'mpiexec') return env.PMI_KVSNAME ?? '';
  return '';
}

function intVar(env: Env, name: string, min: number): number {
  const s = env[name]!;
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(n) || n < min) throw new EngineError('config', { what: name, expected: `an integer ≥ ${min}`, got: `'${s}'`, hint: 'this variable is set by the launcher (mpirun, srun, torchrun); unset it to run a single process' });
  return n;
}

function portVar(s: string, name: string): number {
  const n = Number(s);
  if (!/^\d+$/.test(s.trim()) || n < 1 || n > 65535) throw new EngineError('config', { what: name, expected: 'a TCP port 1 … 65535', got: `'${s}'` });
  return n;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable small hash for the default port. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
