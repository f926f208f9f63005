"""Coverage of the fairness suite's `group_ece_gap` interval, against the percentile bootstrap it
replaced (fairness v7): two groups, group B overconfident by `gap` (its accuracy is its
confidence less `gap`), so the true signed ECE gap of the extreme pair is +-gap.

    python benchmarks/ece_gap_coverage.py                 # the grid of docs/statistics.md
    python benchmarks/ece_gap_coverage.py 200 20 0 --reps 100

Prints, per case, where the truth falls (below / inside / above the interval) for both methods
and how often each interval excludes 0 (says a gap exists).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from harness.stats import groups as G
from harness.stats.group_intervals import bootstrap_gap_ci, ece_gap_ci

GRID = [(100, 100, 0.0), (200, 20, 0.0), (500, 10, 0.0), (20, 20, 0.0), (200, 100, 0.15),
        (200, 100, 0.3), (500, 500, 0.1), (1000, 1000, 0.05)]  # fmt: skip


def two_groups(rng: np.random.Generator, n_a: int, n_b: int, gap: float) -> pd.DataFrame:
    """A binary model's per-sample rows in groups A (n_a) and B (n_b): calibrated in A
    (accuracy = confidence), overconfident by `gap` in B; `gap` 0: calibrated everywhere."""
    n = n_a + n_b
    conf = rng.uniform(0.6, 1.0, n) if gap else rng.uniform(0.5, 1.0, n)
    p = conf.copy()
    p[n_a:] -= gap
    correct = rng.random(n) < p
    label = rng.integers(0, 2, n)
    return pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "label": label,
            "prediction": np.where(correct, label, 1 - label),
            "correct": correct,
            "confidence": conf,
            "group:g": ["A"] * n_a + ["B"] * n_b,
        }
    )


def case(n_a: int, n_b: int, gap: float, reps: int, resamples: int) -> str:
    rng = np.random.default_rng(1)
    where = {"bootstrap": [0, 0, 0], "mover": [0, 0, 0]}
    excludes = {"bootstrap": 0, "mover": 0}
    for r in range(reps):
        frame = two_groups(rng, n_a, n_b, gap)
        options = G._Options(resamples=resamples)
        comp = G._compute(frame, ("g",), binary=True, seed=r, condition="clean", options=options)
        point = comp.point["ece"][0]
        truth = gap if point[1] >= point[0] else -gap  # the extreme pair: highest minus lowest
        for name, ci in (
            ("bootstrap", bootstrap_gap_ci(comp.boot["ece"], point, comp.active)),
            ("mover", ece_gap_ci(point, comp.ece_cis_at, comp.active)),
        ):
            assert ci is not None
            where[name][0 if truth < ci[0] else 2 if truth > ci[1] else 1] += 1
            excludes[name] += ci[0] > 0 or ci[1] < 0
    return (
        f"groups {n_a}/{n_b}, gap {gap}: truth below/inside/above: bootstrap {where['bootstrap']}, "
        f"mover {where['mover']}; excludes 0: bootstrap {excludes['bootstrap']}/{reps}, "
        f"mover {excludes['mover']}/{reps}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", nargs="*", type=float, help="n_a n_b gap (default: the grid)")
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--resamples", type=int, default=500)
    args = parser.parse_args()
    cases = [(int(args.case[0]), int(args.case[1]), args.case[2])] if args.case else GRID
    for n_a, n_b, gap in cases:
        print(case(n_a, n_b, gap, args.reps, args.resamples), flush=True)


if __name__ == "__main__":
    main()
