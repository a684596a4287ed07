#!/usr/bin/env bash
# The README's two commands on a machine without the CUDA toolkit, made from this one: a clean clone of
# HEAD (with ../shared beside it, as CI has it), then `npm ci && npm start` and `npm test` in a private
# mount namespace where every /usr/local/cuda* directory and /usr/local/bin (nvcc's wrapper) are empty.
# Passes when both commands succeed, the addon build was skipped with its one line, and no test
# failed. Needs root and unshare (util-linux), and node outside /usr/local/bin; about as long as CI
# (≈ 10 min on 2 cores).
#   bash scripts/no-cuda-check.sh [WORK_DIR]     (default: a temporary directory; the log is WORK_DIR/no-cuda.log)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:-$(mktemp -d)}
[ "$(id -u)" = 0 ] && command -v unshare > /dev/null || { echo "no-cuda-check: needs root and unshare (a private mount namespace hides the toolkit)" >&2; exit 2; }
rm -rf "$work/clone" && git clone -q "$root" "$work/clone"
# the shared models and data beside the clone, as CI has them
[ -e "$root/../shared" ] && ln -sfn "$(cd "$root/../shared" && pwd)" "$work/shared"
log=$work/no-cuda.log
hide=''
for d in /usr/local/cuda*; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then hide+="mount -t tmpfs none $d; "; fi
done
set +e
unshare -m bash -c "set -e; $hide [ -d /usr/local/bin ] && mount -t tmpfs none /usr/local/bin
  cd '$work/clone'
  if command -v nvcc > /dev/null || [ -e /usr/local/cuda/bin/nvcc ]; then echo 'no-cuda-check: nvcc is still visible' >&2; exit 3; fi
  echo 'no-cuda-check: no nvcc on PATH, /usr/local/cuda* empty'
  export CI=true NX_SKIP_NX_CACHE=true NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NO_COLOR=1 FORCE_COLOR=0
  unset CUDACXX CUDA_HOME CUDA_PATH
  npm ci --no-audit --no-fund && npm start && npm test" > "$log" 2>&1
status=$?
set -e
grep -m1 'build-native: the CUDA addon is not built' "$log" || { echo "no-cuda-check: the addon-skip line is missing ($log)"; status=1; }
grep -E '^ *Tests ' "$log" | tail -1 || true
echo "no-cuda-check: $([ $status = 0 ] && echo ok || echo "FAILED (exit $status)") — $log"
exit $status
