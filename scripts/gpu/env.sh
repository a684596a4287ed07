# Sourced by the GPU scripts from the repository root: Node (from .device/ on the device machine,
# which has none of its own; else PATH), and cuBLASLt and NCCL, which are dlopened by soname — where
# the loader path lacks them, the copies in the Python wheels of the machine's PyTorch
# (nvidia-cublas, nvidia-nccl).
[ -f .device/activate.sh ] && source .device/activate.sh
command -v node >/dev/null || { echo "$(basename "$0"): node is not on PATH (Node >= 20.19 is needed)" >&2; exit 2; }
for lib in cublas:libcublasLt.so:TRTLLM_CUBLASLT_PATH nccl:libnccl.so:TRTLLM_NCCL_PATH; do
  IFS=: read -r pkg so var <<<"$lib"
  if ! ldconfig -p 2>/dev/null | grep -q "$so" && [ -z "${!var:-}" ]; then
    path=$(python3 -c "import glob, os, nvidia.$pkg as m; print((sorted(glob.glob(os.path.join(list(m.__path__)[0], 'lib', '$so*'))) or [''])[-1])" 2>/dev/null)
    [ -n "$path" ] && export "$var=$path" && echo "$var=$path"
  fi
done
