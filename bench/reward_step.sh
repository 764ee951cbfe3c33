#!/usr/bin/env bash
# One run of the default experiment (RLOO, lr 3e-3, seed 0, 10 steps, probe off), scored by the
# built-in a_words and by experiments/rewards/a_words.py, twice each in turn: prints each run's
# wall time and mean step time (from metrics.csv), and whether the metrics are identical apart
# from the wall-clock columns (BENCHMARKS.md, "Reward commands"). Needs models/default
# (`just pretrain`). PGLAB=path/to/pglab to use a built binary.
set -euo pipefail
cd "$(dirname "$0")/.."
PGLAB=${PGLAB:-target/release/pglab}
[ -x "$PGLAB" ] || cargo build --release -p pglab-runner
out=$(mktemp -d)
trap 'rm -rf "$out" experiments/_reward_step_*.toml' EXIT
python3 - <<'PY'
s = open("experiments/reinforce_vs_rloo.toml").read()
s = s[: s.index("[grid]")].replace("lr = 1e-4", "lr = 3e-3").replace("generations = 320", "generations = 80")
s = s.replace("[probe]\nevery = 20", "[probe]\nevery = 0")
open("experiments/_reward_step_builtin.toml", "w").write(s)
open("experiments/_reward_step_command.toml", "w").write(
    s.replace('kind = "a_words"', 'kind = "command"\ncommand = ["python3", "rewards/a_words.py"]'))
PY
for i in 1 2; do
  for v in builtin command; do
    start=$EPOCHREALTIME
    "$PGLAB" sweep "experiments/_reward_step_$v.toml" --out "$out/$v-$i" --jobs 1 2>/dev/null
    awk -v a="$start" -v b="$EPOCHREALTIME" -v run="$v $i" 'BEGIN { printf "%s: %.2f s\n", run, b - a }'
  done
done
python3 - "$out" <<'PY'
import csv, glob, sys
runs = {}
for path in sorted(glob.glob(f"{sys.argv[1]}/*/*/runs/*/metrics.csv")):
    rows = list(csv.DictReader(open(path)))
    t = [float(r["elapsed_s"]) for r in rows]
    name = path[len(sys.argv[1]) + 1:].split("/")[0]
    print(f"{name}: mean step {sum(b - a for a, b in zip(t, t[1:])) / (len(t) - 1):.3f} s")
    runs[name] = [{k: v for k, v in r.items() if k not in ("elapsed_s", "tokens_per_s")} for r in rows]
print("metrics identical apart from wall clock:", all(r == next(iter(runs.values())) for r in runs.values()))
PY
