"""DeLong's paired AUROC comparison, the interval of a mean AUROC over sets, and the AUROC /
FPR@95 intervals at the sizes OOD sets come in (a small grid here; the full grid, AUROC
0.6-0.99 and n_id, n_ood 100-5,000: benchmarks/interval_coverage.py --ood-grid)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from harness.stats import detection


def _brute_delong(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """The paired variance from the O(mn) kernel (psi = 1, 1/2, 0), written independently."""

    def components(s_in: np.ndarray, s_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        psi = (s_in[:, None] > s_out[None, :]) + 0.5 * (s_in[:, None] == s_out[None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    a10, a01 = components(*a)
    b10, b01 = components(*b)
    s10 = np.cov(np.vstack([a10, b10]))
    s01 = np.cov(np.vstack([a01, b01]))
    contrast = np.array([1.0, -1.0])
    return float(contrast @ s10 @ contrast / len(a10) + contrast @ s01 @ contrast / len(a01))


def test_delong_paired_matches_the_kernel_form_with_ties() -> None:
    gen = np.random.default_rng(0)
    m, n = 80, 60
    base_in, base_out = gen.normal(1, 1, m), gen.normal(0, 1, n)
    a = (np.round(base_in, 1), np.round(base_out, 1))  # ties within and across sets
    b = (base_in + gen.normal(0, 0.7, m), base_out + gen.normal(0, 0.7, n))
    diff, ci, p = detection.delong_paired(a, b)
    assert diff == pytest.approx(detection.auroc(*a) - detection.auroc(*b), abs=1e-12)
    sd = np.sqrt(_brute_delong(a, b))
    assert ci is not None and p is not None
    assert (ci[1] - ci[0]) / 2 == pytest.approx(1.959963984540054 * sd, rel=1e-9)
    assert p == pytest.approx(2 * stats.norm.sf(abs(diff) / sd), rel=1e-9)


def test_identical_scorings_have_no_variance() -> None:
    gen = np.random.default_rng(1)
    a = (gen.normal(1, 1, 30), gen.normal(0, 1, 30))
    assert detection.delong_paired(a, a) == (0.0, None, None)


def test_delong_paired_holds_its_level_and_finds_a_real_difference() -> None:
    """Two noisy views of one latent score (equal AUROCs, correlated): rejections at 0.05 stay
    near 5%; a view with less noise is found better."""
    gen = np.random.default_rng(2)
    m, n, reps = 150, 150, 600
    false, found = 0, 0
    for _ in range(reps):
        z_in, z_out = gen.normal(1.0, 1, m), gen.normal(0, 1, n)
        a = (z_in + gen.normal(0, 1, m), z_out + gen.normal(0, 1, n))
        b = (z_in + gen.normal(0, 1, m), z_out + gen.normal(0, 1, n))
        c = (z_in + gen.normal(0, 0.2, m), z_out + gen.normal(0, 0.2, n))
        false += (detection.delong_paired(a, b)[2] or 1.0) < 0.05
        found += (detection.delong_paired(c, a)[2] or 1.0) < 0.05
    assert 0.025 <= false / reps <= 0.08
    assert found / reps > 0.7


def test_mean_auroc_interval_covers_the_mean_of_the_truths() -> None:
    gen = np.random.default_rng(3)
    truths = (0.7, 0.9)
    shifts = [np.sqrt(2) * stats.norm.ppf(t) for t in truths]
    reps, hits = 800, 0
    for _ in range(reps):
        s_in = gen.normal(0, 1, 200)
        outs = [gen.normal(-s, 1, 150) for s in shifts]
        ci = detection.mean_auroc_ci(s_in, outs)
        assert ci is not None
        hits += ci[0] <= np.mean(truths) <= ci[1]
    assert 0.93 <= hits / reps <= 0.975


def test_the_mean_over_one_set_has_the_sets_interval() -> None:
    """A tag with one OOD set shows the set's AUROC twice (`ood=<set>` and `ood_mean=<tag>`):
    the mean's interval was DeLong's normal one, narrower than the set's own (digits' far mean
    [0.992, 0.998] beside the set's [0.987, 0.999]) and short of 0.95 near 1 (below)."""
    gen = np.random.default_rng(4)
    for m, n, auc in [(5000, 100, 0.99), (30, 40, 0.7), (200, 20, 0.999)]:
        s_in, s_out = _binormal(gen, m, n, auc)
        assert detection.mean_auroc_ci(s_in, [s_out]) == detection.auroc_ci(s_in, s_out)
    tied_in, tied_out = np.ones(10), np.zeros(12)  # a perfect ranking: the score interval
    assert detection.mean_auroc_ci(tied_in, [tied_out]) == detection.auroc_ci(tied_in, tied_out)


@pytest.mark.parametrize(
    ("truths", "m", "n"), [((0.99,), 5000, 100), ((0.98, 0.995), 2000, 100), ((0.6, 0.9), 100, 60)]
)
def test_mean_auroc_interval_covers_near_one(truths: tuple[float, ...], m: int, n: int) -> None:
    """Near an AUROC of 1 a few OOD samples carry the variance: the mean's interval is built as
    the one set's (the hull of DeLong's with a Student t and the Hanley-McNeil score interval at
    the sets' effective size). DeLong's normal interval alone covered 0.87 and 0.93 in the
    first two cases; conservative near 1, as the one set's interval is."""
    gen = np.random.default_rng(int(m + 1000 * truths[0]))
    shifts = [np.sqrt(2) * stats.norm.ppf(t) for t in truths]
    reps, hits = 300, 0
    for _ in range(reps):
        s_in = gen.normal(0, 1, m)
        ci = detection.mean_auroc_ci(s_in, [gen.normal(-s, 1, n) for s in shifts])
        assert ci is not None
        hits += ci[0] <= np.mean(truths) <= ci[1]
    # 300 data sets: coverage read within about +-0.025 (2 se)
    assert 0.93 <= hits / reps <= (1.0 if max(truths) > 0.95 else 0.99)


def _binormal(gen: np.random.Generator, m: int, n: int, auc: float) -> tuple[np.ndarray, ...]:
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    return gen.normal(shift, 1.0, m), gen.normal(0.0, 1.0, n)


@pytest.mark.parametrize(("m", "n", "auc"), [(100, 5000, 0.6), (5000, 100, 0.99), (500, 500, 0.75)])
def test_auroc_and_fpr_intervals_cover_at_unbalanced_sizes(m: int, n: int, auc: float) -> None:
    gen = np.random.default_rng(m * 7 + n + int(auc * 100))
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    fpr_truth = float(stats.norm.sf(stats.norm.ppf(0.05) + shift))  # OOD above the 5% ID quantile
    reps, auroc_hits, fpr_hits = 300, 0, 0
    for _ in range(reps):
        s_in, s_out = _binormal(gen, m, n, auc)
        lo, hi = detection.auroc_ci(s_in, s_out) or (0.0, 1.0)
        auroc_hits += lo <= auc <= hi
        lo, hi = detection.fpr_ci(s_in, s_out)
        fpr_hits += lo <= fpr_truth <= hi
    # 300 data sets: a 95% interval's coverage is read within about +-0.025 (2 se); the AUROC's
    # is conservative near 1 by design (the hull with the score interval)
    assert 0.92 <= auroc_hits / reps <= 1.0
    assert 0.92 <= fpr_hits / reps <= 0.99


def test_the_boards_paired_test_on_a_set_of_copies_works_over_its_inputs() -> None:
    """The task page's DeLong test of two detectors on a set whose rows carry their input
    (`ood_input`: 12 inputs, 5 copies each) is the clustered one, equal to the test on the 12
    inputs alone; a set without the column is tested row by row as before."""
    import pandas as pd

    from harness.analysis.ood_board import _pair

    gen = np.random.default_rng(2)
    msp_in, energy_in = gen.uniform(0.5, 1.0, 40), gen.normal(3.0, 1.0, 40)
    msp_out, energy_out = gen.uniform(0.3, 0.9, 12), gen.normal(2.0, 1.0, 12)
    clean = pd.DataFrame(
        {"sample_id": [f"t{i}" for i in range(40)], "condition": "clean",
         "msp": msp_in, "energy": energy_in}
    )  # fmt: skip
    ood = pd.DataFrame(
        {"sample_id": [f"o{i}" for i in range(60)], "condition": "ood=rep",
         "msp": np.repeat(msp_out, 5), "energy": np.repeat(energy_out, 5),
         detection.OOD_INPUT: np.repeat(np.arange(12), 5)}
    )  # fmt: skip
    frame = pd.concat([clean, ood], ignore_index=True)
    got = _pair(frame, frame, "ood=rep", "msp", "energy")
    alone = detection.delong_paired((msp_in, msp_out), (energy_in, energy_out))
    assert got is not None and got[1] is not None and alone[1] is not None
    assert got[0] == pytest.approx(alone[0]) and got[2] == pytest.approx(alone[2])
    assert got[1] == pytest.approx(alone[1])
    rows = _pair(frame.drop(columns=[detection.OOD_INPUT]), frame, "ood=rep", "msp", "energy")
    naive = detection.delong_paired(
        (msp_in, np.repeat(msp_out, 5)), (energy_in, np.repeat(energy_out, 5))
    )
    assert rows == naive
