"""Coverage of every 95% interval family the harness reports, by seeded simulation.

Draws data sets from a known truth, computes the harness's interval on each, and prints the share
that contains the truth (nominal 0.95; the simulation error is about 0.005 at 2000 repetitions).
The numbers in docs/ci-gate.md ("Intervals and their coverage") come from this script; the fast
tests in tests/analysis/test_interval_coverage.py check a subset of the same cells.

    python benchmarks/interval_coverage.py [--reps 2000] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from harness.analysis import detection, group_intervals
from harness.analysis.intervals import median_ci, wilson_bounds


def proportions(gen: np.random.Generator, reps: int) -> list[str]:
    """Wilson; p drawn within +-50% of its distance to the nearer boundary (local average)."""
    rows = []
    for n in (20, 50, 200):
        cells = []
        for p in (0.02, 0.1, 0.5, 0.9, 0.98):
            near = min(p, 1 - p)
            truth = gen.uniform(0.5 * near, 1.5 * near, reps * 10)
            truth = truth if p < 0.5 else 1 - truth
            lo, hi = wilson_bounds(gen.binomial(n, truth), n)
            cells.append(f"{np.mean((lo <= truth) & (truth <= hi)):.3f}")
        rows.append(
            f"| proportion (Wilson), n={n} | p=0.02/0.1/0.5/0.9/0.98 | {' / '.join(cells)} |"
        )
    return rows


def _pair(
    gen: np.random.Generator, sizes: tuple[int, ...], rates: np.ndarray
) -> group_intervals.Rate:
    k = np.array([gen.binomial(s, r) for s, r in zip(sizes, rates, strict=True)])
    return group_intervals.Rate(k, np.asarray(sizes, dtype=float))


def disparities(gen: np.random.Generator, reps: int) -> list[str]:
    rows = []
    active2 = np.ones(2, dtype=bool)
    cells = []
    for gap in (0.0, 0.05, 0.1, 0.2):
        truth = np.array([0.4 + gap, 0.4])
        hits = 0
        for _ in range(reps):
            rate = _pair(gen, (93, 84), truth)
            ci = group_intervals.rate_gap_ci(rate, active2)
            hi, lo = group_intervals.extreme_pair(rate.successes / rate.trials, active2)
            hits += ci is not None and ci[0] <= truth[hi] - truth[lo] <= ci[1]
        cells.append(f"{hits / reps:.3f}")
    rows.append(
        "| demographic parity gap, groups of 93 and 84 | true gap 0/0.05/0.1/0.2 | "
        + " / ".join(cells)
        + " |"
    )
    cells = []
    for tpr_gap, fpr_gap in ((0.0, 0.0), (0.1, 0.0), (0.05, 0.05)):
        tpr_t, fpr_t = np.array([0.7 + tpr_gap, 0.7]), np.array([0.2 + fpr_gap, 0.2])
        hits = 0
        for _ in range(reps):
            t, f = _pair(gen, (37, 34), tpr_t), _pair(gen, (56, 50), fpr_t)
            ci = group_intervals.two_rate_gap_ci(t, f, active2)
            gaps = []
            for rate, truth in ((t, tpr_t), (f, fpr_t)):
                hi, lo = group_intervals.extreme_pair(rate.successes / rate.trials, active2)
                gaps.append((np.ptp(rate.successes / rate.trials), truth[hi] - truth[lo]))
            target = max(gaps, key=lambda g: g[0])[1]
            hits += ci is not None and ci[0] <= target <= ci[1]
        cells.append(f"{hits / reps:.3f}")
    rows.append(
        "| equalized odds, groups of 93 and 84 | TPR/FPR gaps 0/0, 0.1/0, 0.05/0.05 | "
        + " / ".join(cells)
        + " |"
    )
    cells = []
    for rates in ((0.6, 0.6), (0.6, 0.63), (0.95, 0.98)):
        hits = 0
        for _ in range(reps):
            ci = group_intervals.extreme_rate_ci(
                _pair(gen, (93, 84), np.array(rates)), active2, largest=False
            )
            hits += ci is not None and ci[0] <= min(rates) <= ci[1]
        cells.append(f"{hits / reps:.3f}")
    rows.append(
        "| worst-group accuracy, groups of 93 and 84 | accuracies .6/.6, .6/.63, .95/.98 | "
        + " / ".join(cells)
        + " |"
    )
    hits = 0
    sizes = (60, 45, 30, 25)
    for _ in range(reps):
        ci = group_intervals.rate_gap_ci(_pair(gen, sizes, np.full(4, 0.3)), np.ones(4, dtype=bool))
        hits += ci is not None and ci[0] <= 0.0 <= ci[1]
    rows.append(
        f"| demographic parity gap, 4 groups (60/45/30/25) | no disparity | {hits / reps:.3f} |"
    )
    return rows


def _binormal(
    gen: np.random.Generator, m: int, n: int, auc: float
) -> tuple[np.ndarray, np.ndarray]:
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    return gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)


def detection_rows(gen: np.random.Generator, reps: int) -> list[str]:
    rows = []
    for m, n in ((30, 30), (100, 100), (719, 300)):
        cells = []
        for auc in (0.5, 0.8, 0.95, 0.99):
            hits = 0
            for _ in range(reps):
                ci = detection.auroc_ci(*_binormal(gen, m, n, auc))
                hits += ci is not None and ci[0] <= auc <= ci[1]
            cells.append(f"{hits / reps:.3f}")
        rows.append(
            f"| OOD AUROC (DeLong t hull score), {m} ID / {n} OOD | AUROC 0.5/0.8/0.95/0.99 | {' / '.join(cells)} |"
        )
    for m, n in ((50, 50), (100, 100), (719, 300)):
        cells = []
        for fpr in (0.5, 0.2, 0.05, 0.01):
            shift = stats.norm.ppf(1 - fpr) - stats.norm.ppf(0.05)
            hits = 0
            for _ in range(reps):
                s_in, s_out = gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)
                lo, hi = detection.fpr_ci(s_in, s_out)
                hits += lo <= fpr <= hi
            cells.append(f"{hits / reps:.3f}")
        rows.append(
            f"| OOD FPR at 95% TPR, {m} ID / {n} OOD | FPR 0.5/0.2/0.05/0.01 | {' / '.join(cells)} |"
        )
    for m, n in ((30, 30), (50, 50), (100, 100), (300, 200), (50, 200), (200, 50), (719, 300)):
        cells = []
        for auc in (0.6, 0.8, 0.95, 0.99):
            big_in, big_out = _binormal(gen, 200_000, 200_000 * n // m, auc)
            truth = detection.aupr(big_in, big_out)
            hits = 0
            for _ in range(reps):
                ci = detection.aupr_ci(*_binormal(gen, m, n, auc))
                hits += ci is not None and ci[0] <= truth <= ci[1]
            cells.append(f"{hits / reps:.3f}")
        rows.append(
            f"| OOD AUPR, {m} ID / {n} OOD | binormal AUROC 0.6/0.8/0.95/0.99 | {' / '.join(cells)} |"
        )
    return rows


def ood_grid(gen: np.random.Generator, reps: int) -> list[str]:
    """Issue 34's grid: AUROC 0.6-0.99 and 100-5,000 samples in each set; each row gives the
    AUROC interval's coverage and the FPR@95 interval's (of the true FPR at the true threshold)."""
    rows = []
    for auc in (0.6, 0.75, 0.9, 0.99):
        shift = np.sqrt(2) * stats.norm.ppf(auc)
        fpr_truth = float(stats.norm.sf(stats.norm.ppf(0.05) + shift))
        for m in (100, 1000, 5000):
            cells = []
            for n in (100, 1000, 5000):
                a = f = 0
                for _ in range(reps):
                    s_in, s_out = gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)
                    lo, hi = detection.auroc_ci(s_in, s_out) or (0.0, 1.0)
                    a += lo <= auc <= hi
                    lo, hi = detection.fpr_ci(s_in, s_out)
                    f += lo <= fpr_truth <= hi
                cells.append(f"{a / reps:.3f} / {f / reps:.3f}")
            rows.append(
                f"| OOD AUROC / FPR@95, AUROC {auc}, {m} ID | 100 / 1,000 / 5,000 OOD | "
                f"{' · '.join(cells)} |"
            )
    return rows


def _shaped(
    gen: np.random.Generator, shape: str, m: int, n: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Score shapes other than the equal-variance binormal: a wide OOD set whose tail reaches the
    top of the ranking, MSP-like scores in float16 (ties), and exponential scores."""
    if shape == "unequal variance":
        return gen.normal(level, 0.6, m), gen.normal(0.0, 1.5, n)
    if shape == "MSP-like, float16":
        s_in = 1.0 - gen.beta(1.0, 8.0 * level, m)
        s_out = 1.0 - gen.beta(1.0, 2.0, n)
        return s_in.astype(np.float16).astype(float), s_out.astype(np.float16).astype(float)
    return gen.exponential(level, m), gen.exponential(1.0, n)


def aupr_other_shapes(gen: np.random.Generator, reps: int) -> list[str]:
    rows = []
    levels = {
        "unequal variance": (0.5, 1.5, 3.0),
        "MSP-like, float16": (0.5, 2.0, 8.0),
        "exponential": (2.0, 6.0, 20.0),
    }
    for shape, steps in levels.items():
        for m, n in ((40, 40), (100, 100), (200, 50), (50, 200)):
            cells = []
            for level in steps:
                big_in, big_out = _shaped(gen, shape, 200_000, 200_000 * n // m, level)
                truth = detection.aupr(big_in, big_out)
                hits = 0
                for _ in range(reps):
                    ci = detection.aupr_ci(*_shaped(gen, shape, m, n, level))
                    hits += ci is not None and ci[0] <= truth <= ci[1]
                cells.append(f"{hits / reps:.3f} (AUPR {truth:.3f})")
            rows.append(f"| OOD AUPR, {shape}, {m} ID / {n} OOD | {' / '.join(cells)} |")
    return rows


def medians(gen: np.random.Generator, reps: int) -> list[str]:
    cells = []
    for rounds in (6, 10, 20):
        values = gen.lognormal(0.0, 0.5, size=(reps, rounds))
        hits = 0
        for r in range(reps):
            ci = median_ci(values[r])
            hits += ci is not None and ci[0] <= 1.0 <= ci[1]
        cells.append(f"{hits / reps:.3f}")
    return [f"| median of timing rounds (lognormal) | 6/10/20 rounds | {' / '.join(cells)} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ood-grid", action="store_true", help="only the OOD grid of AUROC and FPR@95 intervals"
    )
    args = parser.parse_args()
    gen = np.random.default_rng(args.seed)
    print("| interval | truth | coverage |")
    print("|---|---|---|")
    if args.ood_grid:
        for line in ood_grid(gen, args.reps):
            print(line, flush=True)
        return
    for part in (proportions, disparities, detection_rows, ood_grid, medians):
        for line in part(gen, args.reps):
            print(line, flush=True)
    print(
        "\n| AUPR interval, other score shapes | coverage (population AUPR) at three separations |"
    )
    print("|---|---|")
    for line in aupr_other_shapes(gen, args.reps):
        print(line, flush=True)


if __name__ == "__main__":
    main()
