# pglab tasks. `just --list` shows them.

# Run an experiment grid (default: REINFORCE vs RLOO on the embedded model) into results/.
# Pretrains the default model first when it is missing (a no-op when it is there).
sweep FILE="experiments/reinforce_vs_rloo.toml" *ARGS:
    cargo run --release -p pglab-runner -- pretrain
    cargo run --release -p pglab-runner -- sweep {{FILE}} {{ARGS}}

# Run every test of the workspace, then clippy (warnings are errors) and rustfmt.
test:
    cargo test --workspace
    cargo clippy --workspace --all-targets -- -D warnings
    cargo fmt --all -- --check

# Time sampling and a training step on random weights (`just bench --config medium`, `--json`).
bench *ARGS:
    cargo run --release -p pglab-runner -- bench {{ARGS}}

# Score a text under a model directory: `just score models/x "Once upon a time"`.
score MODEL TEXT:
    cargo run --release -p pglab-runner -- score --model {{MODEL}} --text "{{TEXT}}"

# Sample from a model directory: `just sample models/x "Once upon a time"`.
sample MODEL PROMPT *ARGS:
    cargo run --release -p pglab-runner -- sample --model {{MODEL}} --prompt "{{PROMPT}}" {{ARGS}}

# Pretrain the default model into models/default/ (a no-op when it is already there):
# `just pretrain`, `just pretrain --corpus my.txt --out models/mine`, `just pretrain --force`.
pretrain *ARGS:
    cargo run --release -p pglab-runner -- pretrain {{ARGS}}
