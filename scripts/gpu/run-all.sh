#!/usr/bin/env bash
# Every GPU proof from a fresh clone, in one command (README: `npm run test:gpu`), on a machine with an
# NVIDIA GPU, its driver and the CUDA toolkit (nvcc, cmake):
#   1. install (npm ci, if node_modules is missing) and build everything, the CUDA addon included
#      (TRTLLM_REQUIRE_CUDA=1: a missing toolkit is an error here);
#   2. vitest, the whole suite: on a GPU the kernel parity cases (tier 1/2 exact, tier 3 within their
#      bounds), the engine tests on the cuda backends (prompt tuning, batch invariance, CUDA graphs,
#      tensor parallelism) run instead of being skipped;
#   3. the kernel suite (packages/cuda-kernels/scripts/gpu-run.sh → gpu-suite.mjs): parity report, typed
#      errors, perf against ceilings measured in the same run (and torch's cuBLAS peak where python3 has it);
#      then 1,000 seeded sampled requests on the device against the oracle (sampling-check.mjs);
#   4. the engine suite (packages/engine/scripts/gpu-engine-suite.mjs): the stages that need no outside
#      data, with reference kernels (bit-exact claims) and with production kernels; tpnccl too where
#      two GPUs are present;
#   5. with two GPUs, the CLI's tensor-parallel ranks as launchers start them (tp-launch-check.mjs);
# and exits non-zero if any of them failed. Reports go to $OUT (default gpu-report/).
#
#   npm run test:gpu                    # or: OUT=dir bash scripts/gpu/run-all.sh
#   SKIP_PERF=1 … (no kernel timings)   PREBUILT=1 … (use the dist/ and addon already there; no npm)
#   GPT2_LAYER0=dir … (the real GPT-2 layer-0 tensors for extra kernel cases; default shared/data's)
#
# The device machine of this project has no Node: shared/device/bundle.sh --modules packs one into
# .device/, which this script activates when present (see README, "GPU machine").
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(mkdir -p "${OUT:-$root/gpu-report}" && cd "${OUT:-$root/gpu-report}" && pwd)
cd "$root"
export NO_COLOR=1 # plain logs
source scripts/gpu/env.sh

status=0
step() { # name, command...: run, log to $out/<name>.log, remember a failure
  local name=$1; shift
  echo "== $name: $*"
  "$@" > >(tee "$out/$name.log") 2>&1
  local rc=$?
  echo "== $name: exit $rc" | tee -a "$out/summary.txt"
  [ "$rc" -eq 0 ] || status=1
}

gpus=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | wc -l)
[ "$gpus" -ge 1 ] || { echo "run-all: no NVIDIA GPU visible (nvidia-smi lists none); the CPU tests are npm test" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/nvidia-smi.csv"
: > "$out/summary.txt"
if [ -z "${PREBUILT:-}" ]; then
  [ -d node_modules ] || step install npm ci --no-audit --no-fund
  step build env TRTLLM_REQUIRE_CUDA=1 npm run build
fi
step vitest env VITEST_VERBOSE=1 node node_modules/vitest/vitest.mjs run # no npx: the device machine has node alone
step kernels env OUT="$out/kernels" bash packages/cuda-kernels/scripts/gpu-run.sh ${SKIP_PERF:+--no-perf}
step sampling node packages/cuda-kernels/scripts/sampling-check.mjs --out "$out/sampling"
# ifb runs with production kernels only: 200 requests alone and batched on the reference kernels take
# ~5 minutes (run it by hand: gpu-engine-suite.mjs --stages ifb --kernels reference)
stages=tiny,gpt2ref,beamtp
[ "$gpus" -ge 2 ] && stages+=,tpnccl
step engine-reference node packages/engine/scripts/gpu-engine-suite.mjs --out "$out/engine-reference" --stages "$stages" --kernels reference
step engine-production node packages/engine/scripts/gpu-engine-suite.mjs --out "$out/engine-production" --stages tiny,ifb,production --kernels production
# the CLI's ranks as launchers start them: --world_size, launcher variables over TCP, two "hosts" on NCCL's sockets, mpirun, faults
[ "$gpus" -ge 2 ] && step tp-launch node scripts/gpu/tp-launch-check.mjs --out "$out/tp-launch"
echo "run-all: $(grep -c 'exit 0' "$out/summary.txt") of $(wc -l < "$out/summary.txt") steps passed; reports in $out"
exit $status
