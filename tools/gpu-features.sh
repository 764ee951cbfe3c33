#!/usr/bin/env bash
# The cargo feature flags `just` builds pglab's release binary with: the default features (burn's
# wgpu backend, so `backend = "auto"` finds the GPU) where a GPU driver is present, else
# `--no-default-features` (the flex CPU backend alone). On a machine without a GPU the wgpu stack
# is most of a build from nothing and would never run: `auto` falls back to flex either way.
# A GPU driver means: NVIDIA's (nvidia-smi), a Linux DRM render node (/dev/dri/renderD*: AMD,
# Intel), or macOS (Metal).
if command -v nvidia-smi >/dev/null 2>&1 \
    || compgen -G "/dev/dri/renderD*" >/dev/null \
    || [ "$(uname -s)" = Darwin ]; then
    echo ""
else
    echo "--no-default-features"
fi
