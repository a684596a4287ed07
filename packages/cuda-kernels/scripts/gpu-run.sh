#!/usr/bin/env bash
# Runs the GPU suite on the GPU machine (device tool), from the repository root, with what `carry`
# brought: .device (Node, from shared/device/bundle.sh), packages/*/dist and the addon's build/Release.
# Also measures a cuBLAS matmul peak with torch in the same call, for the perf ceilings.
#   OUT=<dir> bash packages/cuda-kernels/scripts/gpu-run.sh
set -uo pipefail
out=${OUT:-gpu-report}
mkdir -p "$out"
source .device/activate.sh
mkdir -p node_modules/@trtllm
ln -sfn ../../packages/ref-math node_modules/@trtllm/ref-math
ln -sfn ../../packages/cuda-kernels node_modules/@trtllm/cuda-kernels
# cuBLASLt / NCCL: found by soname on the loader path; else use the copies in the image's Python wheels.
for lib in cublas:libcublasLt.so:TRTLLM_CUBLASLT_PATH nccl:libnccl.so:TRTLLM_NCCL_PATH; do
  IFS=: read -r pkg so var <<<"$lib"
  if ! ldconfig -p | grep -q "$so" && [ -z "${!var:-}" ]; then
    path=$(python3 -c "import glob, os, nvidia.$pkg as m; print((sorted(glob.glob(os.path.join(list(m.__path__)[0], 'lib', '$so*'))) or [''])[-1])" 2>/dev/null)
    [ -n "$path" ] && export "$var=$path" && echo "$var=$path"
  fi
done
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
[ -d .device/gpt2-layer0 ] && args+=(--gpt2-layer0 .device/gpt2-layer0)
[ -n "$tflops" ] && args+=(--matmul-tflops "$tflops")
node packages/cuda-kernels/scripts/gpu-suite.mjs "${args[@]}" 2>&1 | tee "$out/gpu-suite.log"
exit "${PIPESTATUS[0]}"
