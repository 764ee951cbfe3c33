#!/usr/bin/env python3
"""Per-group summaries of the update columns of a sweep's metrics.csv files (clip fractions,
importance ratios, KL to the sampling policy, dynamic sampling's drops), which report.csv does
not carry: each run's mean over its steps first, then the mean over the group's runs (a group:
the runs whose id differs only in its `-s<seed>` suffix) with a 95 % Student-t interval
(unclipped: a fraction's interval can reach below 0 with few runs).

With `--against GROUP`, each group's mean reward over training (the AUC as report.csv computes
it: the trapezoid area under reward_mean against generations, divided by the generations
spanned) minus GROUP's, with a 95 % percentile-bootstrap interval over runs (10,000 resamples,
seeded) and whether it is resolved by the report's rule (the bootstrap interval and Welch's
t-interval both exclude 0): the comparisons the report's head-to-head makes between
estimators, here between any two grid points.

With `--reductions`, the probe's token reductions (`probe.token_reductions`) paired within each
run: per probed estimator and reduction, the run's SNR and cosine to the reference under that
reduction minus under `sum` (or the run's own when the sum was not probed), with a 95 %
t-interval over the runs that probed (the same samples on both sides of each difference).

    python3 tools/update_stats.py results/sample_reuse
    python3 tools/update_stats.py results/sample_reuse --against <group>

Standard library only."""

import csv
import math
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

COLUMNS = ["clip_low_frac", "clip_high_frac", "ratio_max", "kl_old", "groups_dropped"]
# t quantiles (0.975) for 1..30 degrees of freedom; 1.96 beyond.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def run_means(metrics: Path) -> dict:
    sums, counts = defaultdict(float), defaultdict(int)
    with metrics.open() as f:
        for row in csv.DictReader(f):
            for c in COLUMNS:
                if row.get(c):
                    sums[c] += float(row[c])
                    counts[c] += 1
    return {c: sums[c] / counts[c] for c in COLUMNS if counts[c]}


def run_auc(metrics: Path) -> float:
    with metrics.open() as f:
        curve = [(int(r["generations"]), float(r["reward_mean"])) for r in csv.DictReader(f)]
    area = sum((g1 - g0) * (r0 + r1) / 2 for (g0, r0), (g1, r1) in zip(curve, curve[1:]))
    return area / (curve[-1][0] - curve[0][0])


def bootstrap_difference(a: list, b: list, resamples: int = 10_000) -> tuple:
    rng = random.Random(0)
    diffs = sorted(
        sum(rng.choices(a, k=len(a))) / len(a) - sum(rng.choices(b, k=len(b))) / len(b)
        for _ in range(resamples)
    )
    return diffs[int(0.025 * resamples)], diffs[int(0.975 * resamples) - 1]


def welch_excludes_zero(a: list, b: list) -> bool:
    """Whether Welch's 95 % t-interval of mean(a) − mean(b) excludes 0 (the report's learning
    verdicts require it beside the bootstrap's)."""
    va, vb = sample_var(a) / len(a), sample_var(b) / len(b)
    se2 = va + vb
    if se2 <= 0:
        return False
    df = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = T975[int(df + 1e-9) - 1] if df < 31 else 1.96
    diff = sum(a) / len(a) - sum(b) / len(b)
    return abs(diff) > t * math.sqrt(se2)


def sample_var(v: list) -> float:
    m = sum(v) / len(v)
    return sum((x - m) ** 2 for x in v) / (len(v) - 1)


def interval(values: list) -> str:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return f"{mean:.4g}"
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = (T975[n - 2] if n - 1 <= 30 else 1.96) * sd / math.sqrt(n)
    return f"{mean:.4g} [{mean - half:.4g}, {mean + half:.4g}]"


def main(sweep: Path, against: str = None) -> None:
    groups, aucs = defaultdict(list), defaultdict(list)
    for run in sorted((sweep / "runs").iterdir()):
        metrics = run / "metrics.csv"
        if (run / "done.json").exists():
            group = re.sub(r"-s\d+$", "", run.name)
            groups[group].append(run_means(metrics))
            aucs[group].append(run_auc(metrics))
    if against is not None:
        if against not in aucs:
            sys.exit(f"no group {against} in {sweep}: {', '.join(aucs)}")
        print(f"| group | runs | AUC | AUC − {against}'s [95 % bootstrap] | resolved |")
        print("|---|---|---|---|---|")
        base = aucs[against]
        for group, values in aucs.items():
            diff = sum(values) / len(values) - sum(base) / len(base)
            low, high = bootstrap_difference(values, base)
            excluded = low > 0 or high < 0
            resolved = "yes" if excluded and welch_excludes_zero(values, base) else "no"
            print(f"| {group} | {len(values)} | {interval(values)} | {diff:.4g} [{low:.4g}, {high:.4g}] | {resolved} |")
        return
    print("| group | runs | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for group, runs in groups.items():
        cells = []
        for c in COLUMNS:
            values = [r[c] for r in runs if c in r]
            cells.append(interval(values) if values else "")
        print(f"| {group} | {len(runs)} | " + " | ".join(cells) + " |")


def reductions(sweep: Path) -> None:
    diffs = defaultdict(lambda: defaultdict(list))
    for run in sorted((sweep / "runs").iterdir()):
        probe = run / "probe.csv"
        if not probe.exists():
            continue
        with probe.open() as f:
            rows = list(csv.DictReader(f))
        if not rows:
            continue
        # Against the sum when probed (the cosines' reference is the sum's then), else the
        # run's own.
        probed = {r["token_reduction"] for r in rows}
        own = "sum" if "sum" in probed else rows[0]["token_reduction"]
        by = {(r["step"], r["estimator"], r["token_reduction"]): r for r in rows}
        for (step, estimator, reduction), r in by.items():
            base = by.get((step, estimator, own))
            if reduction == own or base is None:
                continue
            for figure in ["snr", "cos_to_ref"]:
                d = float(r[figure]) - float(base[figure])
                if math.isfinite(d):
                    diffs[(step, estimator, reduction, own)][figure].append(d)
    print("| step | estimator | reduction − own | runs | SNR difference | cosine difference |")
    print("|---|---|---|---|---|---|")
    for (step, estimator, reduction, own), figures in diffs.items():
        n = len(figures["snr"])
        print(f"| {step} | {estimator} | {reduction} − {own} | {n} | {interval(figures['snr'])} | "
              f"{interval(figures['cos_to_ref'])} |")


if __name__ == "__main__":
    if len(sys.argv) == 2:
        main(Path(sys.argv[1]))
    elif len(sys.argv) == 3 and sys.argv[2] == "--reductions":
        reductions(Path(sys.argv[1]))
    elif len(sys.argv) == 4 and sys.argv[2] == "--against":
        main(Path(sys.argv[1]), sys.argv[3])
    else:
        sys.exit("usage: update_stats.py results/<sweep> [--against GROUP | --reductions]")
