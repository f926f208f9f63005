"""Intersection names of a fairness grouping at scale: the row-wise join the paired forms,
variant deltas and the fairness suite's train/test check used against `intersection_keys`.

The closing board of `harness run` builds each intersection disparity's paired form; with the
row-wise join that took 20 s of a 200,000-row tabular run (25 s wall in all, 12.5 s after).

Run (from the repository root):
    python benchmarks/bench_intersection_keys.py --rows 100000,200000,400000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from harness.stats.groups import INTERSECTION, intersection_keys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="100000,200000")
    args = parser.parse_args()
    gen = np.random.default_rng(0)
    for n in (int(v) for v in args.rows.split(",")):
        frame = pd.DataFrame(
            {
                "region": gen.integers(0, 500, n).astype(str),
                "sex": gen.choice(["F", "M"], n),
            }
        )
        cols = ["region", "sex"]
        t0 = time.perf_counter()
        old = frame[cols].astype(str).agg(INTERSECTION.join, axis=1)
        t1 = time.perf_counter()
        new = intersection_keys(frame, cols)
        t2 = time.perf_counter()
        assert list(old) == list(new)
        print(
            f"n={n}: row-wise {t1 - t0:.2f} s, whole columns {t2 - t1:.3f} s, {(t1 - t0) / (t2 - t1):.0f}x"
        )


if __name__ == "__main__":
    main()
