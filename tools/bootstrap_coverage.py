#!/usr/bin/env python3
"""How often a 95 % interval for a difference of two means covers the true difference (0 here:
both samples from one distribution), by simulation: the percentile bootstrap the report prints
(2,000 resamples here), Welch's t-interval, and the two together (a difference "resolved" only
when both exclude 0: what the report's learning verdicts require). Normal data, and bimodal data
like this task's outcomes (each run 0 or 100 with probability 1/2).

    python3 tools/bootstrap_coverage.py        # about a minute; seeded

Standard library only."""

import math
import random
import statistics

T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def bootstrap(a, b, rng, resamples=2000):
    d = sorted(sum(rng.choices(a, k=len(a))) / len(a) - sum(rng.choices(b, k=len(b))) / len(b)
               for _ in range(resamples))
    return d[int(0.025 * resamples)], d[int(0.975 * resamples) - 1]


def welch(a, b):
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se2 = va + vb
    if se2 <= 0:
        return None
    df = se2 ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    t = T975[min(int(df + 1e-9), 30) - 1] if df < 31 else 1.96
    diff = statistics.mean(a) - statistics.mean(b)
    return diff - t * math.sqrt(se2), diff + t * math.sqrt(se2)


def covers(interval):
    return interval is None or interval[0] <= 0 <= interval[1]


def main():
    rng = random.Random(7)
    trials = 1000
    print("| n a side | data | bootstrap | Welch | both must exclude 0 |")
    print("|---|---|---|---|---|")
    for n in [3, 4, 6, 10, 20]:
        for kind in ["normal", "bimodal"]:
            counts = [0, 0, 0]
            for _ in range(trials):
                draw = (lambda: rng.gauss(0, 1)) if kind == "normal" else (lambda: 100.0 * (rng.random() < 0.5))
                a, b = [draw() for _ in range(n)], [draw() for _ in range(n)]
                boot, w = bootstrap(a, b, rng), welch(a, b)
                counts[0] += covers(boot)
                counts[1] += covers(w)
                counts[2] += covers(boot) or covers(w)
            print(f"| {n} | {kind} | " + " | ".join(f"{c / trials:.3f}" for c in counts) + " |")


if __name__ == "__main__":
    main()
