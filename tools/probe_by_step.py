#!/usr/bin/env python3
"""The probe's figures step by step: what variance.csv pools over a run's probes, split by the
step of the probe (at the start every run has the same weights; later, runs have moved apart).

Usage:
    python3 tools/probe_by_step.py results/reinforce_vs_rloo

For each probe step and each probed estimator, over the runs (one value per run, as the report
does): the variance ratio to RLOO at the same probe as a geometric mean with its 95 % geometric
t-interval (estimators with RLOO's expectation only; a run whose RLOO or estimator variance is
0 at that step — every reward of every batch equal, e.g. a run that saturated the reward — has
no ratio and is counted as left out), and the cosine to the held-out reference with its 95 %
t-interval. Standard library only.
"""

import csv
import math
import sys
from collections import defaultdict
from pathlib import Path

SAME_EXPECTATION = ("reinforce", "reinforce_ema", "rloo", "remax", "optimal_baseline")


def t95(df):
    """The 0.975 quantile of Student's t with `df` degrees of freedom (bisection on its CDF,
    the density integrated by Simpson's rule)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf_above_zero(x, n=2000):
        h = x / n
        f = lambda t: c * (1 + t * t / df) ** (-(df + 1) / 2)
        total = f(0) + f(x) + sum((4 if i % 2 else 2) * f(i * h) for i in range(1, n))
        return total * h / 3

    lo, hi = 0.0, 100.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf_above_zero(mid) < 0.475 else (lo, mid)
    return (lo + hi) / 2


def interval(values):
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, t95(n - 1) * std / math.sqrt(n)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    runs = sorted(Path(sys.argv[1], "runs").glob("*/probe.csv"))
    if not runs:
        sys.exit(f"{sys.argv[1]}: no runs/*/probe.csv")
    # (step, estimator) → per-run values
    ratios, cosines, left_out = defaultdict(list), defaultdict(list), defaultdict(int)
    for path in runs:
        by_step = defaultdict(dict)
        with open(path) as f:
            for row in csv.DictReader(f):
                by_step[int(row["step"])][row["estimator"]] = row
        for step, rows in by_step.items():
            rloo = float(rows["rloo"]["grad_var"]) if "rloo" in rows else None
            for estimator, row in rows.items():
                cos = float(row["cos_to_ref"]) if row["cos_to_ref"] else math.nan
                if math.isfinite(cos):
                    cosines[step, estimator].append(cos)
                if estimator in SAME_EXPECTATION and rloo is not None:
                    var = float(row["grad_var"])
                    if var > 0 and rloo > 0:
                        ratios[step, estimator].append(math.log(var / rloo))
                    else:
                        left_out[step, estimator] += 1
    steps = sorted({step for step, _ in cosines})
    print("step  estimator             var ratio to RLOO [95 %]        runs (left out)  cos to ref [95 %]")
    for step in steps:
        for estimator in sorted({e for s, e in cosines if s == step}, key=order):
            ratio = "–"
            runs_text = ""
            logs = ratios.get((step, estimator))
            if logs:
                mean, half = interval(logs)
                ratio = f"{math.exp(mean):.3g}×"
                if half is not None:
                    ratio += f" [{math.exp(mean - half):.3g}×, {math.exp(mean + half):.3g}×]"
                runs_text = f"{len(logs)} ({left_out[step, estimator]})"
            mean, half = interval(cosines[step, estimator])
            cos = f"{mean:.3f}" + (f" [{mean - half:.3f}, {mean + half:.3f}]" if half else "")
            print(f"{step:<5} {estimator:<21} {ratio:<31} {runs_text:<16} {cos}")


def order(estimator):
    known = ["reinforce", "reinforce_ema", "rloo", "grpo", "dr_grpo", "reinforce_pp",
             "reinforce_pp_baseline", "remax", "optimal_baseline"]
    return known.index(estimator) if estimator in known else len(known)


if __name__ == "__main__":
    main()
