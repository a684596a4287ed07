# Sourced by the sotu accuracy reports (smoothquant-report.sh, kv-cache-report.sh) with REPORT set to the
# report's name: the repository root as the working directory, Node and the GPU libraries (env.sh),
# the model and data folders (MODEL, DATA; default the shared ones), the output folder (OUT, default
# gpu-report/), a scratch folder, and `run`, which logs a trtllm command and its output to
# $out/$REPORT.log.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source scripts/gpu/env.sh
model=${MODEL:-$root/../shared/models/sotu-gpt2-16m}
data=${DATA:-$root/../shared/data}
out=$(mkdir -p "${OUT:-$root/gpu-report}" && cd "${OUT:-$root/gpu-report}" && pwd)
work=$(mktemp -d)
trtllm() { node tools/bin/trtllm.js "$@"; }
log="$out/$REPORT.log"
: > "$log"
run() { echo "+ trtllm $*" >> "$log"; trtllm "$@" >> "$log" 2>&1; }
