// Rank discovery from each launcher's variables (as Open MPI 4/5, Slurm's srun, MPICH/Intel MPI Hydra
// and torchrun set them), rank 0's address and port, the GPU a local rank gets, and Slurm host lists.
import { describe, expect, it } from 'vitest';
import { bindRankDevice, DEFAULT_MASTER_PORT, deviceForRank, expandHostlist, launchFromEnv } from './launch.js';

// `mpirun -np 4` on one host, rank 2 (Open MPI 5 also sets PMIX_NAMESPACE)
const OMPI = { OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '2', OMPI_COMM_WORLD_LOCAL_SIZE: '4', PMIX_NAMESPACE: 'prterun-node1-1234@1', PMIX_RANK: '2' };
// `srun -N 2 --ntasks-per-node 8` inside `sbatch`, task 9 (the second node's second task)
const SLURM_STEP = {
  SLURM_JOB_ID: '4242', SLURM_STEP_ID: '0', SLURM_PROCID: '9', SLURM_LOCALID: '1', SLURM_NODEID: '1',
  SLURM_STEP_NUM_TASKS: '16', SLURM_NTASKS: '16', SLURM_STEP_NODELIST: 'gpu[007-008]', SLURM_STEP_TASKS_PER_NODE: '8(x2)',
};
// the batch script's own shell: one process, although SLURM_NTASKS says 16
const SBATCH_SHELL = { SLURM_JOB_ID: '4242', SLURM_PROCID: '0', SLURM_LOCALID: '0', SLURM_NTASKS: '16', SLURM_NODELIST: 'gpu[007-008]' };

describe('launchFromEnv', () => {
  it('reads Open MPI: rank, size, local rank; one host → rank 0 on 127.0.0.1; the job key from PMIx', () => {
    const l = launchFromEnv(OMPI)!;
    expect(l).toMatchObject({ launcher: 'mpirun', rank: 2, worldSize: 4, localRank: 2, localSize: 4, masterAddr: '127.0.0.1', jobKey: 'prterun-node1-1234@1' });
    expect(l.masterPort).toBeGreaterThanOrEqual(DEFAULT_MASTER_PORT);
    expect(l.masterPort).toBeLessThan(DEFAULT_MASTER_PORT + 2000);
    expect(launchFromEnv({ ...OMPI, PMIX_RANK: '0' })!.masterPort).toBe(l.masterPort); // every rank of a job agrees
    expect(launchFromEnv({ ...OMPI, PMIX_NAMESPACE: 'prterun-node1-1299@1' })!.masterPort).not.toBe(l.masterPort); // another job: most likely another port
  });

  it('reads srun from the job step: rank 0 is on the first host of the step, local size from the tasks per node', () => {
    expect(launchFromEnv(SLURM_STEP)).toMatchObject({ launcher: 'srun', rank: 9, worldSize: 16, localRank: 1, localSize: 8, masterAddr: 'gpu007', jobKey: '4242.0' });
    expect(launchFromEnv({ ...SLURM_STEP, SLURM_STEP_TASKS_PER_NODE: '8,4', SLURM_NODEID: '1', SLURM_STEP_NUM_TASKS: '12' })!.localSize).toBe(4);
  });

  it("is not fooled by a batch script's shell (SLURM_NTASKS without a step)", () => {
    expect(launchFromEnv(SBATCH_SHELL)).toBeUndefined();
  });

  it('the innermost launcher wins: mpirun, torchrun or Hydra inside a Slurm step (srun starts one agent per node)', () => {
    expect(launchFromEnv({ ...SLURM_STEP, ...OMPI })!.launcher).toBe('mpirun');
    // `srun -N 2 --ntasks-per-node 1 torchrun --nproc-per-node 8 …`: SLURM_PROCID is the node's index
    const torchrun = { RANK: '9', WORLD_SIZE: '16', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '8', TORCHELASTIC_RUN_ID: 'r1', MASTER_ADDR: 'gpu007', MASTER_PORT: '29400' };
    expect(launchFromEnv({ ...SLURM_STEP, SLURM_PROCID: '1', SLURM_STEP_NUM_TASKS: '2', ...torchrun })).toMatchObject({ launcher: 'env', rank: 9, worldSize: 16, localRank: 1, masterPort: 29401 });
    expect(launchFromEnv({ ...SLURM_STEP, SLURM_PROCID: '1', SLURM_STEP_NUM_TASKS: '2', PMI_RANK: '9', PMI_SIZE: '16', MPI_LOCALRANKID: '1', MASTER_ADDR: 'gpu007' })).toMatchObject({ launcher: 'mpiexec', rank: 9, worldSize: 16 });
  });

  it('ports: TRTLLM_MASTER_PORT wins; under torchrun MASTER_PORT + 1 (its agent store holds MASTER_PORT)', () => {
    expect(launchFromEnv({ ...OMPI, MASTER_PORT: '6000', TRTLLM_MASTER_PORT: '7000' })!.masterPort).toBe(7000);
    expect(launchFromEnv({ RANK: '0', WORLD_SIZE: '2', LOCAL_WORLD_SIZE: '2', MASTER_PORT: '6000' })!.masterPort).toBe(6000); // not torchrun: as given
  });

  it('reads MPICH / Intel MPI (Hydra) and torchrun-style variables', () => {
    expect(launchFromEnv({ PMI_RANK: '1', PMI_SIZE: '2', MPI_LOCALRANKID: '1', MPI_LOCALNRANKS: '2', PMI_KVSNAME: 'kvs_77_0' })).toMatchObject({ launcher: 'mpiexec', rank: 1, worldSize: 2, localRank: 1, masterAddr: '127.0.0.1', jobKey: 'kvs_77_0' });
    expect(launchFromEnv({ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '2' })).toMatchObject({ launcher: 'env', rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: DEFAULT_MASTER_PORT, jobKey: '' });
  });

  it('MASTER_ADDR / MASTER_PORT / TRTLLM_JOB_KEY win; TRTLLM_LAUNCHER=none and no variables mean no launch', () => {
    expect(launchFromEnv({ ...SLURM_STEP, MASTER_ADDR: '10.0.0.7', MASTER_PORT: '6000', TRTLLM_JOB_KEY: 'k' })).toMatchObject({ masterAddr: '10.0.0.7', masterPort: 6000, jobKey: 'k' });
    expect(launchFromEnv({ ...OMPI, TRTLLM_LAUNCHER: 'none' })).toBeUndefined();
    expect(launchFromEnv({ PATH: '/usr/bin' })).toBeUndefined();
  });

  it('ranks on several hosts without an address to meet at: an error that says how to give it', () => {
    expect(() => launchFromEnv({ ...OMPI, OMPI_COMM_WORLD_LOCAL_SIZE: '2' })).toThrow(/MASTER_ADDR: expected the host of rank 0 \(mpirun gives no address, and 2 of 4 ranks run on other hosts\), got unset \(mpirun -x MASTER_ADDR=<host of rank 0>/);
    expect(() => launchFromEnv({ RANK: '1', WORLD_SIZE: '2' })).toThrow(/MASTER_ADDR: expected the host of rank 0 \(env gives no address\)/);
  });

  it('malformed variables are refused by name', () => {
    expect(() => launchFromEnv({ ...OMPI, OMPI_COMM_WORLD_RANK: '4' })).toThrow(/OMPI_COMM_WORLD_RANK: expected a rank below OMPI_COMM_WORLD_SIZE \(4\), got 4/);
    expect(() => launchFromEnv({ ...OMPI, OMPI_COMM_WORLD_SIZE: 'two' })).toThrow(/OMPI_COMM_WORLD_SIZE: expected an integer ≥ 1, got 'two'/);
    expect(() => launchFromEnv({ ...SLURM_STEP, SLURM_LOCALID: '-1' })).toThrow(/SLURM_LOCALID: expected an integer ≥ 0/);
    expect(() => launchFromEnv({ ...OMPI, MASTER_PORT: '70000' })).toThrow(/MASTER_PORT: expected a TCP port 1 … 65535, got '70000'/);
    expect(() => launchFromEnv({ ...SLURM_STEP, SLURM_STEP_TASKS_PER_NODE: '8(2)' })).toThrow(/SLURM_STEP_TASKS_PER_NODE: expected Slurm's tasks per node \('8\(x2\),4'\), got '8\(2\)'/);
  });
});

describe('deviceForRank / bindRankDevice', () => {
  it('the local rank, or its entry of a visible list, or the single device a launcher bound', () => {
    expect(deviceForRank({ localRank: 3 }, undefined)).toBe('3');
    expect(deviceForRank({ localRank: 1 }, '4,5,6')).toBe('5');
    expect(deviceForRank({ localRank: 1 }, 'GPU-1a2b')).toBe('GPU-1a2b');
    expect(() => deviceForRank({ localRank: 2 }, '0,1')).toThrow(/CUDA_VISIBLE_DEVICES: expected an entry for local rank 2, got '0,1' \(2 devices\)/);
  });

  it('binds once: a second call keeps the device', () => {
    const env: NodeJS.ProcessEnv = { CUDA_VISIBLE_DEVICES: '2,3' };
    const rank = { localRank: 1, launcher: 'mpirun', localSize: 2 } as const;
    expect(bindRankDevice(rank, env)).toBe('3');
    expect(bindRankDevice(rank, env)).toBe('3');
    expect(env.CUDA_VISIBLE_DEVICES).toBe('3');
  });

  it('one device for several local ranks is shared by all of them: refused, except under srun (a task bound to its GPU)', () => {
    expect(() => deviceForRank({ localRank: 1, launcher: 'mpirun', localSize: 2 }, '0')).toThrow(/CUDA_VISIBLE_DEVICES: expected a device for each of the 2 ranks on this host, got '0' \(one device\)/);
    expect(deviceForRank({ localRank: 1, launcher: 'srun', localSize: 8 }, '5')).toBe('5');
  });
});

describe('expandHostlist (Slurm)', () => {
  it('ranges keep their zero padding; lists, several groups and plain names', () => {
    expect(expandHostlist('gpu[01-03,7],login')).toEqual(['gpu01', 'gpu02', 'gpu03', 'gpu7', 'login']);
    expect(expandHostlist('r[1-2]n[08-09]')).toEqual(['r1n08', 'r1n09', 'r2n08', 'r2n09']);
    expect(expandHostlist('node-a,node-b')).toEqual(['node-a', 'node-b']);
    expect(expandHostlist('dgx[098-101].cluster')).toEqual(['dgx098.cluster', 'dgx099.cluster', 'dgx100.cluster', 'dgx101.cluster']);
  });

  it('a malformed list is an error naming it', () => {
    for (const bad of ['gpu[1-', 'gpu[3-1]', 'gpu[a-b]', 'gpu[[1]]']) expect(() => expandHostlist(bad)).toThrow(/SLURM_STEP_NODELIST: expected a Slurm host list/);
  });
});
