# Sourced on the GPU machine (device tool) from the repository root: Node from .device, the built
# packages from .device/bundle.tar.xz, and cuBLASLt / NCCL from the image's Python wheels when the
# loader path lacks them. See README "GPU machine".
source .device/activate.sh
[ -f .device/bundle.tar.xz ] && tar -xJf .device/bundle.tar.xz
for lib in cublas:libcublasLt.so:TRTLLM_CUBLASLT_PATH nccl:libnccl.so:TRTLLM_NCCL_PATH; do
  IFS=: read -r pkg so var <<<"$lib"
  if ! ldconfig -p | grep -q "$so" && [ -z "${!var:-}" ]; then
    path=$(python3 -c "import glob, os, nvidia.$pkg as m; print((sorted(glob.glob(os.path.join(list(m.__path__)[0], 'lib', '$so*'))) or [''])[-1])" 2>/dev/null)
    [ -n "$path" ] && export "$var=$path"
  fi
done
