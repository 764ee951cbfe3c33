#!/usr/bin/env bash
# What each estimator's training step costs on the default model: one run each of RLOO, ReMax
# and the optimal baseline (the default experiment's settings, lr 3e-3, seed 0, 10 steps, probe
# off), twice in turn, `--jobs 1`. Prints each run's median step time (from metrics.csv) and
# its ratio to RLOO's (BENCHMARKS.md, "What remax and optimal_baseline cost"). Needs
# models/default (`just pretrain`). PGLAB=path/to/pglab to use a built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
PGLAB=${PGLAB:-target/release/pglab}
[ -x "$PGLAB" ] || cargo build --release -p pglab-runner
out=$(mktemp -d)
trap 'rm -rf "$out" experiments/_estimator_step_*.toml' EXIT
python3 - <<'PY'
s = open("experiments/reinforce_vs_rloo.toml").read()
s = s[: s.index("[grid]")].replace("lr = 1e-4", "lr = 3e-3").replace("generations = 320", "steps = 10")
s = s.replace("[probe]\nevery = 20", "[probe]\nevery = 0")
for e in ["rloo", "remax", "optimal_baseline"]:
    t = s.replace('estimator = "rloo"', f'estimator = "{e}"').replace('name = "reinforce_vs_rloo"', f'name = "{e}"')
    open(f"experiments/_estimator_step_{e}.toml", "w").write(t)
PY
for i in 1 2; do
  for e in rloo remax optimal_baseline; do
    "$PGLAB" sweep "experiments/_estimator_step_$e.toml" --out "$out/$i" --jobs 1 2>/dev/null
  done
done
python3 - "$out" <<'PY'
import csv, glob, statistics, sys
steps = {}
for path in sorted(glob.glob(f"{sys.argv[1]}/*/*/runs/*/metrics.csv")):
    t = [float(r["elapsed_s"]) for r in csv.DictReader(open(path))]
    e = path.split("/")[-4]
    steps.setdefault(e, []).extend(b - a for a, b in zip(t, t[1:]))
rloo = statistics.median(steps["rloo"])
for e, s in steps.items():
    m = statistics.median(s)
    print(f"{e}: median step {m:.3f} s over {len(s)} steps ({min(s):.3f}–{max(s):.3f}), {m / rloo:.2f}× RLOO")
PY
