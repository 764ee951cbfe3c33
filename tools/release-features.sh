#!/usr/bin/env bash
# The cargo feature flags `just` builds pglab's release binary with.
#
# - burn's GPU backend (the default `wgpu` feature, so `backend = "auto"` finds the GPU) only where
#   a GPU driver is present, else `--no-default-features` (the flex CPU backend alone): on a
#   machine without a GPU the wgpu stack was two thirds of a build from nothing (27 min 38 s
#   against 9 min 01 s, BENCHMARKS.md) and would never run, as `auto` falls back to flex. A GPU
#   driver means NVIDIA's (nvidia-smi), a Linux DRM render node (/dev/dri/renderD*: AMD, Intel),
#   or macOS (Metal).
# - On x86-64, burn's `x86-v4` (gemm's AVX-512 kernels, chosen at run time: an AVX2 machine
#   keeps its AVX2 kernels, with the same results and speed, BENCHMARKS.md).
features=""
if ! command -v nvidia-smi >/dev/null 2>&1 \
    && ! compgen -G "/dev/dri/renderD*" >/dev/null \
    && [ "$(uname -s)" != Darwin ]; then
    features="--no-default-features"
fi
if [ "$(uname -m)" = x86_64 ]; then
    features="$features --features burn/x86-v4"
fi
echo "$features"
