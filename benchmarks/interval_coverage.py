"""Coverage of the OOD detection intervals over the full grid of issue 34.

    python benchmarks/interval_coverage.py [--reps 1000]

Binormal scores (ID ~ N(d, 1), OOD ~ N(0, 1), d = sqrt(2) Phi^-1(AUROC)), AUROC in
{0.6, 0.75, 0.9, 0.99} and n_id, n_ood in {100, 1,000, 5,000}: for each cell, the share of
seeded data sets whose 95% interval holds the true AUROC (`detection.auroc_ci`) and the true
FPR at 95% TPR (`detection.fpr_ci`). With 1,000 data sets a cell's coverage is read within
about +-0.014 (2 standard errors). The default test run checks a small grid
(tests/analysis/test_ood_comparisons.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness.analysis import detection  # noqa: E402

AUROCS = (0.6, 0.75, 0.9, 0.99)
SIZES = (100, 1000, 5000)


def cell(auc: float, m: int, n: int, reps: int) -> tuple[float, float]:
    gen = np.random.default_rng([m, n, int(auc * 1000)])
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    fpr_truth = float(stats.norm.sf(stats.norm.ppf(0.05) + shift))
    auroc_hits = fpr_hits = 0
    for _ in range(reps):
        s_in, s_out = gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)
        lo, hi = detection.auroc_ci(s_in, s_out) or (0.0, 1.0)
        auroc_hits += lo <= auc <= hi
        lo, hi = detection.fpr_ci(s_in, s_out)
        fpr_hits += lo <= fpr_truth <= hi
    return auroc_hits / reps, fpr_hits / reps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    worst = [1.0, 1.0]
    print(f"{'auroc':>6} {'n_id':>5} {'n_ood':>5} {'auroc_cov':>9} {'fpr_cov':>8}")
    for auc in AUROCS:
        for m in SIZES:
            for n in SIZES:
                a, f = cell(auc, m, n, args.reps)
                worst = [min(worst[0], a), min(worst[1], f)]
                print(f"{auc:>6} {m:>5} {n:>5} {a:>9.3f} {f:>8.3f}", flush=True)
    print(f"lowest coverage: auroc {worst[0]:.3f}, fpr@95 {worst[1]:.3f}")
    print(f"{args.reps} data sets per cell, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
