"""Coverage of every 95% interval family the harness reports, by seeded simulation.

Draws data sets from a known truth, computes the harness's interval on each, and prints the share
that contains the truth (nominal 0.95; the simulation error is about 0.005 at 2000 repetitions).
The numbers in docs/statistics.md and docs/ci-gate.md come from this script; the fast tests in
tests/analysis (test_interval_coverage.py, test_class_mean_intervals.py,
test_paired_intervals.py, test_gate_power.py) check the hardest cells of the same grids.

    python benchmarks/interval_coverage.py [--reps 2000] [--seed 0]        # every section
    python benchmarks/interval_coverage.py --class-means --ece --reps 2000   # some sections
    python benchmarks/interval_coverage.py --paired --reps 2000
    python benchmarks/interval_coverage.py --means --reps 2000
    python benchmarks/interval_coverage.py --families --reps 2000
    python benchmarks/interval_coverage.py --gate-power --reps 1000

Sections: the original families (proportions, disparities, OOD detection and its grid, timing
medians); `--ood-grid` only the OOD grid of AUROC and FPR@95 intervals; `--class-means` balanced accuracy and macro-F1 (n 30-1000, accuracy 0.5-0.99, 2 and 10 classes,
balanced and imbalanced); `--ece` ECE (calibrated to strongly overconfident); `--means` Brier
and NLL; `--families` a corruption family's mean over its severities; `--paired` the exact
McNemar interval of a paired difference and how often it excludes 0 when the models are equal;
`--gate-power` the gate's printed MDE and how often a regression of that size (and of 0.02 and
0.05) is caught. Truths: benchmarks/coverage_cases.py.
"""

from __future__ import annotations

import argparse

import numpy as np
from coverage_cases import (
    Calibration,
    Classes,
    Family,
    detection_rate,
    local_accuracy,
    paired_outcomes,
    printed_mde,
)
from scipy import stats

from harness.stats import detection, group_intervals
from harness.stats.calibration import ece_interval
from harness.stats.class_mean_intervals import class_mean
from harness.stats.intervals import (
    bootstrap_joint,
    bounded_mean_ci,
    cell_mean,
    mcnemar_difference,
    median_ci,
    wilson_bounds,
)
from harness.suites.accuracy import MIN_NLL_ERRORS


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


def class_means(gen: np.random.Generator, reps: int) -> list[str]:
    """Balanced accuracy and macro-F1 at accuracies drawn +-50% around each grid value."""
    rows = []
    for metric in ("balanced_acc", "macro_f1"):
        for k in (2, 10):
            for imbalanced in (False, True):
                for n in (30, 50, 200, 1000):
                    cells = []
                    for accuracy in (0.5, 0.9, 0.98, 0.99):
                        hits = 0
                        blocks = 20
                        for _ in range(blocks):
                            cl = Classes.at(k, local_accuracy(gen, accuracy), imbalanced=imbalanced)
                            truth = cl.truth(metric)
                            for c in cl.confusions(gen, n, reps // blocks):
                                ci = class_mean(c, metric).ci  # type: ignore[arg-type]
                                hits += ci is not None and ci[0] <= truth <= ci[1]
                        cells.append(f"{hits / (blocks * (reps // blocks)):.3f}")
                    shape = "imbalanced" if imbalanced else "balanced"
                    rows.append(
                        f"| {metric}, {k} classes {shape}, n={n} | accuracy 0.5/0.9/0.98/0.99 | "
                        + " / ".join(cells)
                        + " |"
                    )
    return rows


def ece_rows(gen: np.random.Generator, reps: int) -> list[str]:
    rows = []
    for confidence in (0.5, 0.9, 0.975, 0.988):
        for slope in (1.0, 0.8, 0.5):
            cal = Calibration.at(confidence, slope)
            truth, accuracy = cal.truth(gen)
            cells = []
            for n in (30, 50, 200, 1000):
                hits = 0
                for _ in range(reps):
                    c, y = cal.draw(gen, n)
                    ci = ece_interval(c, y)
                    hits += ci is not None and ci[0] <= truth <= ci[1]
                cells.append(f"{hits / reps:.3f}")
            rows.append(
                f"| ECE, accuracy {accuracy:.3f}, true ECE {truth:.4f} | n=30/50/200/1000 | "
                + " / ".join(cells)
                + " |"
            )
    return rows


def mean_rows(gen: np.random.Generator, reps: int) -> list[str]:
    """Brier (bounded mean) and NLL. NLL's percentile bootstrap is reported only with at least
    MIN_NLL_ERRORS wrong samples; three rows show why and what that gives: the bootstrap's
    coverage on every sample (as if always reported), the share of samples that get an
    interval and its coverage there (conditional on enough errors: where few samples reach them,
    those are the unlucky ones), and the share of all samples given an interval that misses
    (the rule's error rate, at most 0.05 for a valid report that sometimes abstains)."""
    rows = []
    for confidence in (0.5, 0.9, 0.975, 0.988):
        for slope in (1.0, 0.5):
            cal = Calibration.at(confidence, slope)
            c, y = cal.draw(gen, 2_000_000)
            nll_all, brier_all = cal.losses(c, y)
            t_nll, t_brier = float(nll_all.mean()), float(brier_all.mean())
            shape = "calibrated" if slope == 1.0 else "overconfident"
            what = f"accuracy {float(y.mean()):.2f}, {shape}"
            brier_cells, boot_cells, given_cells, miss_cells = [], [], [], []
            for n in (30, 50, 200, 1000):
                hb = covered = given = given_covered = 0
                for r in range(reps):
                    c, y = cal.draw(gen, n)
                    nll, brier = cal.losses(c, y)
                    ci = bounded_mean_ci(brier, 0.0, 2.0)
                    hb += ci is not None and ci[0] <= t_brier <= ci[1]
                    cis = bootstrap_joint(
                        lambda idx, v=nll: {"nll": v[idx].mean(axis=1)},
                        n,
                        seed=r,
                        name="nll",
                        resamples=1000,
                    )
                    lo, hi = cis["nll"] or (np.nan, np.nan)
                    hit = bool(lo <= t_nll <= hi)
                    covered += hit
                    if int((~y).sum()) >= MIN_NLL_ERRORS:
                        given += 1
                        given_covered += hit
                brier_cells.append(f"{hb / reps:.3f}")
                boot_cells.append(f"{covered / reps:.3f}")
                given_cells.append(
                    f"{given / reps:.1%}: {given_covered / given:.3f}" if given else "none"
                )
                miss_cells.append(f"{(given - given_covered) / reps:.3f}")
            grid = "n=30/50/200/1000"
            rows += [
                f"| Brier (bounded mean), {what} | {grid} | {' / '.join(brier_cells)} |",
                f"| NLL bootstrap on every sample, {what} | {grid} | {' / '.join(boot_cells)} |",
                f"| NLL as reported (>= {MIN_NLL_ERRORS} errors): share given: coverage there, "
                f"{what} | {grid} | {' / '.join(given_cells)} |",
                f"| NLL as reported: share of samples given an interval that misses, {what} | "
                f"{grid} | {' / '.join(miss_cells)} |",
            ]
    return rows


def family_rows(gen: np.random.Generator, reps: int) -> list[str]:
    """A corruption family's mean over its 5 severities (`intervals.cell_mean`: the interval of
    per-family corruption error, 1 minus it, and of a tabular / text family's accuracy), at
    accuracies drawn +-50% around each grid value. Each severity's own accuracy is a proportion
    (Wilson: the proportion rows)."""
    shapes = {
        "image effect sd 0.3": lambda acc: Family.at(acc, 0.3),
        "image effect sd 1.5": lambda acc: Family.at(acc, 1.5),
        "errors on few images": Family.few_hard,
    }
    rows = []
    for shape, make in shapes.items():
        for n in (30, 50, 200, 1000):
            cells = []
            for accuracy in (0.5, 0.9, 0.98, 0.99):
                if shape == "errors on few images" and accuracy == 0.5:
                    cells.append("—")  # half the images hard: not "few"
                    continue
                hits = 0
                blocks = 20
                for _ in range(blocks):
                    family = make(local_accuracy(gen, accuracy))
                    truth = family.truth()
                    for _ in range(reps // blocks):
                        ci = cell_mean(list(family.draw(gen, n))).ci
                        hits += ci is not None and ci[0] <= truth <= ci[1]
                cells.append(f"{hits / (blocks * (reps // blocks)):.3f}")
            rows.append(
                f"| corruption family (5 severities), {shape}, n={n} | "
                f"accuracy 0.5/0.9/0.98/0.99 | {' / '.join(cells)} |"
            )
    return rows


def paired_rows(gen: np.random.Generator, reps: int) -> list[str]:
    """The exact McNemar interval; the models disagree on their error rate (at least on diff).
    Beside the coverage: how often the interval excludes 0 when the models are equal (the
    test's false rejections; the interval excludes 0 exactly when McNemar's p < 0.05)."""
    rows = []
    for n in (30, 50, 200, 1000):
        for accuracy in (0.5, 0.9, 0.98, 0.99):
            cells = []
            rejected = 0
            for diff in (0.0, 0.01, 0.03):
                churn = max(min(accuracy, 1 - accuracy), diff)
                hits = 0
                for _ in range(reps):
                    a, b = paired_outcomes(gen, n, accuracy, accuracy - diff, churn)
                    ci = mcnemar_difference(int((a & ~b).sum()), int((~a & b).sum()), n)
                    hits += ci is not None and ci[0] <= diff <= ci[1]
                    rejected += diff == 0.0 and ci is not None and not ci[0] <= 0.0 <= ci[1]
                cells.append(f"{hits / reps:.3f}")
            rows.append(
                f"| paired accuracy difference (exact McNemar), n={n}, accuracy {accuracy} | "
                f"difference 0/0.01/0.03 | {' / '.join(cells)} (excludes 0 at no difference: "
                f"{rejected / reps:.3f}) |"
            )
    return rows


def gate_power_rows(reps: int) -> list[str]:
    rows = [
        "",
        "| top-1 gate, n | accuracy | checked metrics | printed MDE | assumed churn | caught at "
        "the MDE | caught, drop 0.02 | caught, drop 0.05 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in (177, 300, 719, 1000):
        for accuracy in (0.75, 0.9, 0.98):
            for tests in (6, 98):
                mde, churn = printed_mde(n, accuracy, tests)
                rates = [
                    detection_rate(n, accuracy, tests, drop, churn, reps)
                    if accuracy - churn / 2 - drop >= 0
                    else float("nan")
                    for drop in (mde, 0.02, 0.05)
                ]
                rows.append(
                    f"| {n} | {accuracy} | {tests} | {mde:.3f} | {churn:.3f} | "
                    + " | ".join(f"{r:.3f}" for r in rates)
                    + " |"
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    sections = ("ood_grid", "class_means", "ece", "means", "families", "paired", "gate_power")
    for name in sections:
        parser.add_argument(f"--{name.replace('_', '-')}", action="store_true")
    args = parser.parse_args()
    chosen = [name for name in sections if getattr(args, name)]
    gen = np.random.default_rng(args.seed)
    print("| interval | truth | coverage |")
    print("|---|---|---|")
    if not chosen:
        for part in (proportions, disparities, detection_rows, ood_grid, medians):
            for line in part(gen, args.reps):
                print(line, flush=True)
    parts = (
        ("ood_grid", ood_grid),
        ("class_means", class_means),
        ("ece", ece_rows),
        ("means", mean_rows),
        ("families", family_rows),
        ("paired", paired_rows),
    )
    for name, part in parts:
        if name in chosen or (not chosen and name != "ood_grid"):  # ran above by default
            for line in part(gen, args.reps):
                print(line, flush=True)
    if not chosen:
        print(
            "\n| AUPR interval, other score shapes | coverage (population AUPR) at three "
            "separations |"
        )
        print("|---|---|")
        for line in aupr_other_shapes(gen, args.reps):
            print(line, flush=True)
    if not chosen or "gate_power" in chosen:
        for line in gate_power_rows(args.reps):
            print(line, flush=True)


if __name__ == "__main__":
    main()
