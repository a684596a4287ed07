#!/usr/bin/env bash
# The kernel suite on a GPU machine (`npm run gpu:suite -w @trtllm/cuda-kernels`, from any folder of a
# built clone): parity of every case, typed errors, then perf against ceilings measured in the same run,
# with a cuBLAS matmul peak from torch for comparison where python3 has it. Reports go to $OUT
# (default gpu-report/ in the repository root). Needs `npm run build` first (the whole GPU run, build
# included: `npm run test:gpu`). Node comes from PATH, or from .device/ on the device machine.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
out=$(mkdir -p "${OUT:-$root/gpu-report}" && cd "${OUT:-$root/gpu-report}" && pwd)
cd "$root"
[ -f packages/cuda-kernels/dist/index.js ] || { echo "gpu-run: packages/cuda-kernels/dist is missing: run npm run build first (or npm run test:gpu, which builds)" >&2; exit 2; }
source scripts/gpu/env.sh
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv"
tflops=$(python3 - <<'PY' 2>/dev/null
import torch
a = torch.randn(8192, 8192, device='cuda', dtype=torch.float16); b = torch.randn_like(a)
for _ in range(3): a @ b
torch.cuda.synchronize()
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
s.record()
for _ in range(10): a @ b
e.record(); torch.cuda.synchronize()
print(f"{2 * 8192**3 * 10 / (s.elapsed_time(e) * 1e-3) / 1e12:.1f}")
PY
)
echo "cuBLAS fp16 matmul peak (torch, 8192^3): ${tflops:-unmeasured} TFLOP/s"
args=(--out "$out")
layer0=${GPT2_LAYER0:-${TRTLLM_SHARED_DIR:-$root/../shared}/data/gpt2-124M-layer0}
[ -d "$layer0" ] && args+=(--gpt2-layer0 "$layer0")
[ -n "$tflops" ] && args+=(--matmul-tflops "$tflops")
node packages/cuda-kernels/scripts/gpu-suite.mjs "${args[@]}" "$@" 2>&1 | tee "$out/gpu-suite.log"
exit "${PIPESTATUS[0]}"
