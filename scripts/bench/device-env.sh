# Sourced on the GPU machine (device tool) from the repository root: Node from .device, the built
# packages from .device/bundle.tar.xz, and cuBLASLt / NCCL from the image's Python wheels when the
# loader path lacks them. See README "GPU machine".
source .device/activate.sh
[ -f .device/bundle.tar.xz ] && tar -xJf .device/bundle.tar.xz
source scripts/gpu/env.sh
