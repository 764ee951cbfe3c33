#!/usr/bin/env python3
"""How many seeds a side resolve a difference of mean rewards over training (the AUC), from a
sweep's measured spread: `python3 tools/power.py results/reinforce_vs_rloo [--seeds 4 8 12]`.

For each estimator at the learning rate with the highest mean AUC over all of the sweep's
seeds, it reads every run's AUC from its metrics.csv (the report's definition: trapezoids of the
step mean reward over generations, divided by the generations spanned) and prints, for each
pair, the observed difference, the standard deviations, and the smallest difference that n
seeds a side resolve with 80 % power at a two-sided 5 % level under the normal approximation,
delta = (z_0.975 + z_0.8) * sqrt(s_a^2 / n + s_b^2 / n), and the n a side the observed
difference would need. The normal approximation understates what bimodal outcomes need at small
n; read it as a lower bound. Only the Python standard library is used.
"""
import argparse
import csv
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

Z = 1.959964 + 0.841621  # z_0.975 + z_0.80


def auc(metrics: Path) -> float:
    rows = list(csv.DictReader(metrics.open()))
    points = [(float(r["generations"]), float(r["reward_mean"])) for r in rows]
    if len(points) < 2:
        return points[0][1]
    area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(points, points[1:]))
    return area / (points[-1][0] - points[0][0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[4, 8, 12, 16])
    args = parser.parse_args()
    summary = args.sweep / "summary.csv"
    if not summary.exists():
        print(f"{summary}: no such file (is {args.sweep} a sweep directory?)", file=sys.stderr)
        return 2
    aucs = defaultdict(list)
    for run in csv.DictReader(summary.open()):
        if run["status"] != "done":
            continue
        metrics = args.sweep / "runs" / run["run_id"] / "metrics.csv"
        aucs[(run["train.estimator"], float(run["train.lr"]))].append(auc(metrics))
    best = {}
    for (estimator, lr), values in aucs.items():
        if estimator not in best or statistics.mean(values) > statistics.mean(best[estimator][1]):
            best[estimator] = (lr, values)
    print(f"{args.sweep}: each estimator at its best rate by mean AUC over all seeds\n")
    for estimator, (lr, values) in best.items():
        print(f"  {estimator} (lr {lr:g}): {len(values)} runs, mean {statistics.mean(values):.1f}, "
              f"std {statistics.stdev(values):.1f}")
    header = " | ".join(f"n = {n}" for n in args.seeds)
    print(f"\n| pair | difference | smallest resolved at 80 % power: {header} | n a side for "
          f"the difference |")
    print("|---|---|" + "---|" * len(args.seeds) + "---|")
    names = list(best)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sa, sb = statistics.stdev(best[a][1]), statistics.stdev(best[b][1])
            diff = statistics.mean(best[a][1]) - statistics.mean(best[b][1])
            cells = " | ".join(f"{Z * math.sqrt((sa**2 + sb**2) / n):.1f}" for n in args.seeds)
            need = math.ceil((Z / diff) ** 2 * (sa**2 + sb**2)) if diff else "∞"
            print(f"| {a} − {b} | {diff:+.1f} | {cells} | {need} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
