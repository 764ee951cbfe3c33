#!/usr/bin/env python3
"""Per-group summaries of the update columns of a sweep's metrics.csv files (clip fractions,
importance ratios, KL to the sampling policy, dynamic sampling's drops), which report.csv does
not carry: each run's mean over its steps first, then the mean over the group's runs (a group:
the runs whose id differs only in its `-s<seed>` suffix) with a 95 % t-interval.

    python3 tools/update_stats.py results/sample_reuse

Standard library only."""

import csv
import math
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


def interval(values: list) -> str:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return f"{mean:.4g}"
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = (T975[n - 2] if n - 1 <= 30 else 1.96) * sd / math.sqrt(n)
    return f"{mean:.4g} [{mean - half:.4g}, {mean + half:.4g}]"


def main(sweep: Path) -> None:
    groups = defaultdict(list)
    for run in sorted((sweep / "runs").iterdir()):
        metrics = run / "metrics.csv"
        if metrics.exists():
            groups[re.sub(r"-s\d+$", "", run.name)].append(run_means(metrics))
    print("| group | runs | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for group, runs in groups.items():
        cells = []
        for c in COLUMNS:
            values = [r[c] for r in runs if c in r]
            cells.append(interval(values) if values else "")
        print(f"| {group} | {len(runs)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: update_stats.py results/<sweep>")
    main(Path(sys.argv[1]))
