"""`harness.stats.distributions` computes what scipy.stats computes, bit for bit, without
importing it, and a command's start-up does not import scipy.stats."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness.stats import distributions


def _same(got: object, want: object) -> bool:
    """The same float64 values (bits, NaNs alike), shape and kind (array or numpy float)."""
    if type(got) is not type(want):
        return False
    a, b = np.asarray(got), np.asarray(want)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_binomial_cdf_is_scipy_stats_bit_for_bit() -> None:
    gen = np.random.default_rng(0)
    n = gen.integers(1, 2000, size=5000)
    k = gen.integers(-3, n + 3)  # below, across and past the support
    for p in (0.5, 0.0, 1.0, 0.37):
        assert _same(distributions.binom_cdf(k, n, p), scipy_stats.binom.cdf(k, n, p))
    b, c = gen.integers(0, 400, size=3000), gen.integers(0, 400, size=3000)
    m, big = np.minimum(b, c), np.maximum(b + c, 1)  # the McNemar p-values' call
    assert _same(distributions.binom_cdf(m, big, 0.5), scipy_stats.binom.cdf(m, big, 0.5))
    for k1, n1 in [(0, 1), (3, 10), (10, 10), (-1, 5), (499_999, 1_000_000), (7, 0)]:
        assert _same(distributions.binom_cdf(k1, n1, 0.5), scipy_stats.binom.cdf(k1, n1, 0.5))
    assert _same(distributions.binom_cdf(2.7, 9, 0.5), scipy_stats.binom.cdf(2.7, 9, 0.5))


def test_binomial_sf_pmf_isf_are_scipy_stats_bit_for_bit() -> None:
    gen = np.random.default_rng(2)
    n = gen.integers(0, 2000, size=5000)
    k = gen.integers(-3, n + 3)  # below, across and past the support
    for p in (0.5, 0.0, 1.0, 0.37, gen.uniform(0, 1, size=5000)):
        assert _same(distributions.binom_sf(k, n, p), scipy_stats.binom.sf(k, n, p))
        assert _same(distributions.binom_sf(k - 0.5, n, p), scipy_stats.binom.sf(k - 0.5, n, p))
        assert _same(distributions.binom_pmf(k, n, p), scipy_stats.binom.pmf(k, n, p))
        assert _same(distributions.binom_pmf(k + 0.5, n, p), scipy_stats.binom.pmf(k + 0.5, n, p))
    d = np.arange(720)  # the power's critical counts: every discordant count of 719 samples
    for q in (0.025, 0.5 / 400, 1e-9, 0.0, 1.0, 0.5):
        assert _same(distributions.binom_isf(q, d, 0.5), scipy_stats.binom.isf(q, d, 0.5))
    qs = gen.uniform(0, 1, size=2000)
    assert _same(
        distributions.binom_isf(qs, n[:2000], 0.3), scipy_stats.binom.isf(qs, n[:2000], 0.3)
    )
    for k1, n1, p1 in [(0, 1, 0.5), (3, 10, 0.2), (10, 10, 0.9), (-1, 5, 0.5), (7, 0, 0.5)]:
        for f in ("sf", "pmf"):
            mine = getattr(distributions, f"binom_{f}")(k1, n1, p1)
            assert _same(mine, getattr(scipy_stats.binom, f)(k1, n1, p1))
    assert _same(distributions.binom_isf(0.05, 9, 0.5), scipy_stats.binom.isf(0.05, 9, 0.5))


def test_beta_quantile_is_scipy_stats_bit_for_bit() -> None:
    gen = np.random.default_rng(1)
    d = gen.integers(1, 3000, size=5000)
    b = gen.integers(0, d + 1)
    some, not_all = b > 0, b < d
    for q in (0.025, 0.975, 0.5, 1e-12, 1 - 1e-12):
        a1, b1 = np.where(some, b, 1), d - b + 1  # Clopper-Pearson's lower bound's call
        assert _same(distributions.beta_ppf(q, a1, b1), scipy_stats.beta.ppf(q, a1, b1))
        a2, b2 = b + 1, np.where(not_all, d - b, 1)
        assert _same(distributions.beta_ppf(q, a2, b2), scipy_stats.beta.ppf(q, a2, b2))
    shapes = gen.uniform(0.01, 50, size=(2, 2000))
    qs = gen.uniform(0, 1, size=2000)
    got = distributions.beta_ppf(qs, shapes[0], shapes[1])
    assert _same(got, scipy_stats.beta.ppf(qs, shapes[0], shapes[1]))
    assert _same(distributions.beta_ppf(0.025, 3, 8), scipy_stats.beta.ppf(0.025, 3, 8))


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("binom_cdf", (np.array([1.0, np.nan]), 5, 0.5)),
        ("binom_cdf", (1, 5.5, 0.5)),
        ("binom_cdf", (1, 5, 1.5)),
        ("binom_cdf", (np.array([1, 2], dtype=np.int32), 5, 0.5)),
        ("binom_cdf", (-np.inf, 5, 0.5)),
        ("binom_sf", (np.array([1.0, np.nan]), 5, 0.5)),
        ("binom_sf", (1, 5, -0.5)),
        ("binom_pmf", (1, 5.5, 0.5)),
        ("binom_pmf", (np.array([1, 2], dtype=np.int32), 5, 0.5)),
        ("binom_isf", (1.5, 5, 0.5)),
        ("binom_isf", (0.5, -1, 0.5)),
        ("beta_ppf", (np.array([0.0, 0.5, 1.0]), 2, 3)),
        ("beta_ppf", (0.5, 0, 3)),
        ("beta_ppf", (0.5, np.inf, 3)),
        ("beta_ppf", (np.float32(0.3), 2, 3)),
    ],
)
def test_other_arguments_go_to_scipy_stats(function: str, args: tuple[object, ...]) -> None:
    mine = getattr(distributions, function)(*args)
    family, method = function.split("_")
    theirs = getattr(getattr(scipy_stats, family), method)(*args)
    assert _same(mine, theirs)


def test_the_analysis_commands_start_without_scipy_stats() -> None:
    code = (
        "import sys, harness.cli.main, harness.analysis.leaderboard, harness.analysis.check, "
        "harness.stats.groups, harness.present.site; "
        "print(sorted(m for m in sys.modules if m in ('scipy.stats', 'scipy.optimize')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_gates_power_search_runs_without_scipy_stats() -> None:
    code = (
        "import sys; from harness.analysis import power; "
        "print(power.mcnemar_mdes(719, [0.05, 0.1, 0.3], 0.05 / 400)); "
        "print(sorted(m for m in sys.modules if m in ('scipy.stats', 'scipy.optimize')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
