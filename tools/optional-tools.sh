#!/usr/bin/env bash
# The optional tools some tests need, and one check per tool: the tests ask this script before
# they start, so a machine without a tool skips exactly the tests that need it, and `just test`
# ends by printing this script's table (cargo hides a passing test's own "skipped" line).
#
#   tools/optional-tools.sh               one line per tool: present, or what is missing
#   tools/optional-tools.sh check TOOL    exit 0 when TOOL is usable here; else one line on
#                                         stdout saying what is missing, exit 1
#
#   tools/optional-tools.sh chromium-binary   the browser's path (for the report test)
#
# PGLAB_REQUIRE_<TOOL>=1 (TENSORBOARD, SLURM, WGPU, TMPFS, CHROMIUM) turns a skip into a failure:
# CI sets them after installing the tools, so a test cannot pass there by skipping.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

tools=(tensorboard slurm wgpu tmpfs chromium torch)

# What each tool enables (printed in the table, kept in step with README's "Optional tools").
enables() {
    case $1 in
    tensorboard) echo "crates/runner/tests/tensorboard.rs" ;;
    slurm) echo "crates/runner/tests/slurm.rs (apt-get install slurm-wlm munge; run as root)" ;;
    wgpu) echo "crates/runner/tests/wgpu.rs, gpu_script.rs in just test-optional, which builds the wgpu feature just test leaves out (a Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1)" ;;
    tmpfs) echo "crates/runner/tests/reliability.rs' full-disk and read-only tests (unshare -rm and a tmpfs mount)" ;;
    chromium) echo "crates/runner/tests/sweep.rs' report-in-a-browser test (apt-get install chromium)" ;;
    torch) echo "no test: tools/make_fixtures.py, tools/check_saved_model.py, the PyTorch side of just bench (pip install torch transformers)" ;;
    esac
}

# The headless browser the report test drives: its path, or nothing (exit 1).
chromium_binary() {
    local name
    for name in chromium chromium-browser google-chrome; do
        command -v "$name" && return 0
    done
    return 1
}

# Prints what is missing and returns 1, or returns 0.
check() {
    case $1 in
    tensorboard)
        local said
        said=$(python3 "$root/tools/read_tensorboard.py" --check 2>&1) || {
            echo "${said:-python3 tools/read_tensorboard.py --check failed}"
            return 1
        }
        ;;
    slurm)
        local tool
        for tool in munged slurmctld slurmd sinfo sbatch squeue scontrol; do
            command -v "$tool" >/dev/null || {
                echo "$tool not installed"
                return 1
            }
        done
        [ "$(id -u)" = 0 ] || {
            echo "not root (tools/slurm-up.sh starts munged, slurmctld and slurmd)"
            return 1
        }
        ;;
    wgpu)
        # wgpu finds a GPU (or the software llvmpipe) through the Vulkan loader and a driver's
        # ICD file; without both there is no adapter to test on (macOS has Metal instead).
        [ "$(uname -s)" = Darwin ] && return 0
        if ! { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; }; then
            echo "no Vulkan loader (libvulkan.so.1)"
            return 1
        fi
        local files=${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}
        if [ -n "$files" ]; then
            local file
            IFS=: read -ra listed <<<"$files"
            for file in "${listed[@]}"; do [ -e "$file" ] && return 0; done
            echo "no Vulkan driver at VK_DRIVER_FILES/VK_ICD_FILENAMES ($files)"
            return 1
        fi
        local dir
        for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d; do
            compgen -G "$dir/*.json" >/dev/null && return 0
        done
        echo "no Vulkan driver (no ICD file in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d)"
        return 1
        ;;
    tmpfs)
        local mnt
        mnt=$(mktemp -d)
        if ! unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs "$1"' sh "$mnt" 2>/dev/null; then
            rmdir "$mnt"
            echo "cannot mount a tmpfs in a user namespace here (unshare -rm)"
            return 1
        fi
        rmdir "$mnt"
        ;;
    chromium)
        chromium_binary >/dev/null || {
            echo "no chromium, chromium-browser or google-chrome on PATH"
            return 1
        }
        ;;
    torch)
        local said
        said=$(python3 -c 'import torch, transformers' 2>&1) || {
            echo "$(tail -n1 <<<"$said")"
            return 1
        }
        ;;
    *)
        echo "unknown optional tool '$1' (one of: ${tools[*]})"
        return 2
        ;;
    esac
}

if [ "${1:-}" = chromium-binary ]; then
    chromium_binary
    exit $?
fi
if [ "${1:-}" = check ]; then
    check "${2:?usage: tools/optional-tools.sh check TOOL}"
    exit $?
fi

echo "Optional tools (a test that needs a missing one skips; PGLAB_REQUIRE_<TOOL>=1 makes it fail):"
for tool in "${tools[@]}"; do
    if said=$(check "$tool"); then
        printf '  %-12s present: runs %s\n' "$tool" "$(enables "$tool")"
    else
        printf '  %-12s missing (%s): skipped %s\n' "$tool" "$said" "$(enables "$tool")"
    fi
done
