# pglab tasks. `just --list` shows them.

# The release build's cargo features: burn's GPU backend (`wgpu`, most of a build from nothing)
# only on a machine with a GPU driver, else flex alone; on x86-64 gemm's AVX-512 kernels, chosen
# at run time (tools/release-features.sh says how it decides). PGLAB_FEATURES overrides it:
# `PGLAB_FEATURES="--features wgpu" just sweep`.
features := env_var_or_default("PGLAB_FEATURES", `bash tools/release-features.sh`)
pglab := "cargo run --release -p pglab-runner " + features + " --"

# Run an experiment grid (default: REINFORCE vs RLOO on the embedded model) into results/.
# Pretrains the default model first when it is missing (a no-op when it is there).
sweep FILE="experiments/reinforce_vs_rloo.toml" *ARGS:
    {{pglab}} pretrain
    {{pglab}} sweep {{FILE}} {{ARGS}}

# The powered version of the default sweep, whose two replicates the README reports
# (experiments/reinforce_vs_rloo_study.toml): `just study`, then the second replicate with other
# seeds, `just study --grid seed=100..124 --out results/replicate`, and `just compare`.
study *ARGS:
    {{pglab}} pretrain
    {{pglab}} sweep experiments/reinforce_vs_rloo_study.toml {{ARGS}}

# Run every test of the workspace on the CPU backend; the last lines say which optional tools are
# missing here and so which tests skipped (tools/optional-tools.sh). Built without the `wgpu`
# feature: burn's GPU stack was half of the build from nothing, and its tests need a Vulkan
# driver anyway (`just test-optional` builds and runs them).
test:
    cargo test --workspace --no-default-features
    @bash tools/optional-tools.sh

# The tests that need an optional tool, each required (a missing tool fails instead of skipping):
# what CI runs after installing them all. The wgpu tests build the runner with its default
# `wgpu` feature.
test-optional:
    PGLAB_REQUIRE_TENSORBOARD=1 PGLAB_REQUIRE_SLURM=1 \
        cargo test --workspace --no-default-features --test tensorboard --test slurm
    PGLAB_REQUIRE_TMPFS=1 cargo test --workspace --no-default-features --test reliability -- a_full_disk a_read_only
    PGLAB_REQUIRE_CHROMIUM=1 cargo test --workspace --no-default-features --test sweep -- the_report_renders
    PGLAB_REQUIRE_WGPU=1 cargo test --workspace --test wgpu --test gpu_script

# Clippy (warnings are errors) and rustfmt --check, which CI runs after the tests. Kept out of
# `just test`: clippy checks every dependency again (its own build, 7 minutes from nothing).
lint:
    cargo clippy --workspace --all-targets --all-features -- -D warnings
    cargo fmt --all -- --check

# Time pglab's RL step (sampling, then a training step) on random weights for the small and
# medium configs, side by side with the PyTorch reference when it is installed (BENCHMARKS.md):
# `just bench`, `just bench --configs small --repeats 3 --backend flex`.
bench *ARGS:
    cargo build --release -p pglab-runner {{features}}
    python3 bench/compare.py {{ARGS}}

# What a reward command costs per batch: the built-in A-word reward against the same reward in
# Python (experiments/rewards/a_words.py), median of 200 batches (BENCHMARKS.md).
bench-reward:
    cargo run --release -p pglab-reward --example reward_overhead

# The PyTorch reference alone (needs torch and transformers; never run by CI):
# `just bench-torch --config small --flavour generate`.
bench-torch *ARGS:
    {{env_var_or_default("PGLAB_TORCH_PYTHON", "python3")}} bench/torch_reference.py {{ARGS}}

# Where a sweep stands (while it runs too): every run's state, step and final reward.
status DIR="results/reinforce_vs_rloo" *ARGS:
    {{pglab}} status {{DIR}} {{ARGS}}

# Figures and tables of a sweep directory, rebuilt from its CSV files (`just sweep` writes them
# too): `just report results/reinforce_vs_rloo`, then open its index.html.
report DIR="results/reinforce_vs_rloo":
    {{pglab}} report {{DIR}}

# Two sweeps of one experiment, claim by claim: held, not held, or not resolved in either
# (`just compare results/reinforce_vs_rloo results/seeds100/reinforce_vs_rloo`).
compare A B OUT="results/compare":
    {{pglab}} compare {{A}} {{B}} --out {{OUT}}

# Score a text under a model directory: `just score models/x "Once upon a time"`.
score MODEL TEXT:
    {{pglab}} score --model {{MODEL}} --text "{{TEXT}}"

# Sample from a model directory: `just sample models/x "Once upon a time"`.
sample MODEL PROMPT *ARGS:
    {{pglab}} sample --model {{MODEL}} --prompt "{{PROMPT}}" {{ARGS}}

# Pretrain the default model into models/default/ (a no-op when it is already there):
# `just pretrain`, `just pretrain --corpus my.txt --out models/mine`, `just pretrain --force`.
pretrain *ARGS:
    {{pglab}} pretrain {{ARGS}}
