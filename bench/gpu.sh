#!/usr/bin/env bash
# bench/gpu.sh OUT_DIR — the GPU check, one command on a machine with a GPU:
#   1. builds pglab with the wgpu feature (release) and its wgpu parity test;
#   2. runs the parity test (wgpu against flex on the HF fixtures: log-probs, one SGD step,
#      greedy sampling) — on a machine with a GPU it must run, not skip;
#   3. `pglab bench --backend wgpu` at small, medium and chapter size, beside the PyTorch
#      reference on CUDA when torch sees a GPU (else on the CPU), through bench/compare.py;
# and writes OUT_DIR/bench.md (one markdown table), OUT_DIR/bench.jsonl (every record, appended
# as it is measured: a run cut short keeps what it finished), OUT_DIR/parity.log and
# OUT_DIR/machine.txt (GPU, driver, CPU).
#
# Prebuilt binaries (e.g. built on another machine of the same OS) skip the build:
#   PGLAB_BIN=path/to/pglab PGLAB_WGPU_TEST=path/to/wgpu-test bench/gpu.sh out/
# PGLAB_GPU_CONFIGS (default "small medium chapter") and PGLAB_GPU_REPEATS (default 5) size it;
# PGLAB_GPU_PYTHON is the interpreter with torch (default python3). With PGLAB_GPU_CONFIGS=tiny
# it runs end to end in seconds on the software Vulkan driver: crates/runner/tests/gpu_script.rs
# does that in every CI run, so the script is known to work before a GPU is at hand.
set -euo pipefail

out=${1:?usage: bench/gpu.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
configs=${PGLAB_GPU_CONFIGS:-small medium chapter}
repeats=${PGLAB_GPU_REPEATS:-5}
python=${PGLAB_GPU_PYTHON:-python3}
mkdir -p "$out"
cd "$root"

{
    date -u +"date: %Y-%m-%dT%H:%M:%SZ"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) threads"
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader |
            sed 's/^/gpu: /'
    else
        echo "gpu: nvidia-smi not found"
    fi
} | tee "$out/machine.txt"

if [[ -z ${PGLAB_BIN:-} ]]; then
    cargo build --release -p pglab-runner --features wgpu
    PGLAB_BIN=${CARGO_TARGET_DIR:-target}/release/pglab
fi

# The test reads its fixtures relative to CARGO_MANIFEST_DIR, which cargo sets when it runs it.
# PGLAB_REQUIRE_WGPU=1 turns "no Vulkan driver" from a skip into a failure.
echo "== wgpu parity test" | tee "$out/parity.log"
if [[ -n ${PGLAB_WGPU_TEST:-} ]]; then
    PGLAB_REQUIRE_WGPU=1 CARGO_MANIFEST_DIR="$root/crates/runner" "$PGLAB_WGPU_TEST" --nocapture 2>&1 |
        tee -a "$out/parity.log"
else
    PGLAB_REQUIRE_WGPU=1 cargo test --release --workspace --test wgpu -- --nocapture 2>&1 | tee -a "$out/parity.log"
fi

device=cpu
if "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    device=cuda
fi
rm -f "$out/bench.jsonl"
status=0
for config in $configs; do
    echo "== $config: pglab wgpu vs torch $device"
    # One config failing still leaves the others' figures.
    python3 bench/compare.py --pglab "$PGLAB_BIN" --backend wgpu --python "$python" \
        --device "$device" --repeats "$repeats" --configs "$config" \
        --jsonl "$out/bench.jsonl" || status=1
done
python3 bench/compare.py --table-from "$out/bench.jsonl" --markdown "$out/bench.md"
exit $status
