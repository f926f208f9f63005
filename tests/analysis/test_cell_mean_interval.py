"""The interval of a mean over corruption cells (`intervals.cell_mean`) and of the relative drop
(`intervals.relative_drop`): seeded simulations of per-image outcomes correlated across cells.

The percentile bootstrap over source images said [1, 1] when every image was right in every cell
and undercovered near 1 (0.87 in the 1%-hard-images case below, 0.75 with 0.5% of the images
always wrong); Wilson's interval at Kish's effective n does not collapse and covers at least
about 95% down to truths of 0.99 and beyond. The measured coverages are in docs/shift.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from harness.stats.intervals import (
    bootstrap_joint,
    cell_mean,
    influence_correlation,
    mover_ratio,
    relative_drop,
    wilson_ci,
    z_value,
)

IMAGES, CELLS, REPS = 300, 15, 400
SPREAD = np.linspace(-1.0, 1.0, CELLS)  # cell difficulty (fixed: the cells are not sampled)
Draw = Callable[[np.random.Generator], tuple[float, np.ndarray]]  # -> (truth, outcomes)


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _logit_truth(a: float, sigma: float) -> float:
    """E over images (random effect N(0, sigma^2)) of the mean over cells of P(correct)."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    return float(np.mean([(w * _expit(a + sigma * x + d)).sum() for d in SPREAD]))


def _logit_draw(gen: np.random.Generator, a: float, sigma: float) -> np.ndarray:
    """(images, cells) outcomes: logit P = a + image effect + cell effect (correlated per image)."""
    b = gen.normal(0.0, sigma, IMAGES)
    return gen.random((IMAGES, CELLS)) < _expit(a + b[:, None] + SPREAD[None, :])


def _mixture(hard: float, hard_fail: float, easy_fail: float) -> tuple[float, Draw]:
    """A share h of the images fails each cell w.p. `hard_fail`, the others w.p. `easy_fail`.

    h is drawn within +-50% of `hard` for each data set (its own truth): a score interval of a
    nearly binomial count oscillates with p, so coverage is checked on average near the target,
    as for the Wilson interval in test_interval_coverage.py (Brown, Cai & DasGupta 2001)."""

    def draw(gen: np.random.Generator) -> tuple[float, np.ndarray]:
        h = gen.uniform(0.5 * hard, 1.5 * hard)
        fail = np.where(gen.random(IMAGES) < h, hard_fail, easy_fail)
        truth = 1.0 - (h * hard_fail + (1.0 - h) * easy_fail)
        return truth, gen.random((IMAGES, CELLS)) >= fail[:, None]

    return 1.0 - (hard * hard_fail + (1.0 - hard) * easy_fail), draw


def _logit(a: float, sigma: float) -> tuple[float, Draw]:
    truth = _logit_truth(a, sigma)
    return truth, lambda gen: (truth, _logit_draw(gen, a, sigma))


SCENARIOS: dict[str, tuple[float, Draw]] = {
    "logit p~0.80": _logit(2.0, 1.5),
    "logit p~0.98": _logit(5.0, 1.5),
    "logit p~0.50, weak correlation": _logit(0.0, 0.3),
    # errors only on ~1% of the images (half their cells): truth ~0.995, ~5% of the draws all right
    "1% hard images": _mixture(0.01, 0.5, 0.0),
    # ~0.5% of the images always wrong: truth ~0.995, ~20% of the draws all right
    "0.5% always-wrong images": _mixture(0.005, 1.0, 0.0),
    # ~2% hard images and rare independent errors elsewhere: truth ~0.989
    "2% hard images + rare errors": _mixture(0.02, 0.5, 0.001),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_cell_mean_covers_about_95_percent(name: str) -> None:
    _, draw = SCENARIOS[name]
    gen = np.random.default_rng(sorted(SCENARIOS).index(name) + 11)
    hits = perfect = 0
    for _ in range(REPS):
        truth, y = draw(gen)
        mean = cell_mean(list(y.T))
        assert mean.ci is not None
        assert mean.value == pytest.approx(y.mean())
        perfect += mean.value == 1.0
        hits += mean.ci[0] <= truth <= mean.ci[1]
    assert hits / REPS >= 0.93, f"{name}: coverage {hits / REPS:.3f}"
    assert hits / REPS <= 0.995  # not vacuous
    if name == "0.5% always-wrong images":
        assert perfect > REPS // 10  # the p = 1 case is exercised


def _bootstrap_ci(
    statistic: Callable[[np.ndarray], np.ndarray], n: int, *, seed: int, name: str
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of `statistic(indices)` over n samples, as the shift
    suite computed its mean corruption accuracy's until version 8 (the reference here)."""
    return bootstrap_joint(lambda idx: {"_": statistic(idx)}, n, seed=seed, name=name).get("_")


def test_all_right_is_not_certain_where_the_bootstrap_said_so() -> None:
    """300 images right in every cell: the percentile bootstrap over images gives [1, 1]; the
    effective n is then the number of images (the conservative end), as for 300 trials."""
    y = np.ones((IMAGES, CELLS), dtype=bool)
    per_image = y.mean(axis=1)
    old = _bootstrap_ci(  # the bootstrap of the per-image means used until shift suite version 8
        lambda idx: per_image[idx].mean(axis=1), IMAGES, seed=0, name="shift/mean_corruption_acc"
    )
    assert old == (1.0, 1.0)
    mean = cell_mean(list(y.T))
    assert mean.value == 1.0 and mean.n_eff == IMAGES
    assert mean.ci == pytest.approx(wilson_ci(IMAGES, IMAGES))
    assert mean.ci is not None and mean.ci[1] == 1.0
    z2 = z_value() ** 2
    assert mean.ci[0] == pytest.approx(IMAGES / (IMAGES + z2))  # 0.987
    assert mean.ci[0] < 0.99
    # and at the other extreme
    none = cell_mean(list(np.zeros((IMAGES, CELLS), dtype=bool).T))
    assert none.ci is not None and none.ci[0] == 0.0 and none.ci[1] > 0.01


def test_effective_n_lies_between_the_images_and_the_rows() -> None:
    gen = np.random.default_rng(5)
    # every image the same in every cell: the cells add nothing (n_eff = images)
    same = np.repeat(gen.random(IMAGES)[:, None] < 0.8, CELLS, axis=1)
    assert cell_mean(list(same.T)).n_eff == pytest.approx(IMAGES)
    # independent cells: n_eff near the rows (clamped at them)
    free = gen.random((IMAGES, CELLS)) < 0.8
    assert cell_mean(list(free.T)).n_eff > 0.5 * IMAGES * CELLS
    assert cell_mean(list(free.T)).n_eff <= IMAGES * CELLS


def test_balanced_variance_is_that_of_the_per_image_means() -> None:
    y = _logit_draw(np.random.default_rng(3), 2.0, 1.5)
    mean = cell_mean(list(y.T))
    per_image = y.mean(axis=1)
    assert mean.variance == pytest.approx(per_image.var(ddof=1) / IMAGES)
    assert mean.clusters == IMAGES and mean.observations == IMAGES * CELLS


def test_ids_pair_rows_whatever_their_order() -> None:
    gen = np.random.default_rng(7)
    y = _logit_draw(gen, 1.0, 1.0)
    ids = np.array([f"img{i}" for i in range(IMAGES)], dtype=object)
    orders = [gen.permutation(IMAGES) for _ in range(CELLS)]
    shuffled = cell_mean([y[o, c] for c, o in enumerate(orders)], [ids[o] for o in orders])
    plain = cell_mean(list(y.T))
    assert shuffled.value == pytest.approx(plain.value)
    assert shuffled.variance == pytest.approx(plain.variance)
    assert shuffled.ci == pytest.approx(plain.ci)


def test_unequal_cells_use_the_metric_and_its_own_design_bounds() -> None:
    """The metric is the mean of the cells' accuracies (not of the pooled rows); with a cell of
    2 images beside one of 200 the 2 images weigh half, and the conservative n is ~4, not 200."""
    small = np.array([1.0, 0.0])
    big = np.r_[np.ones(150), np.zeros(50)]
    ids_small = ["a", "b"]
    ids_big = [f"x{i}" for i in range(200)]
    mean = cell_mean([small, big], [ids_small, ids_big])
    assert mean.value == pytest.approx((0.5 + 0.75) / 2)
    assert mean.clusters == 202 and mean.observations == 202
    # image i adds u_i = (1/K) (y_i - acc of its cell) / n_cell; var = m/(m-1) sum u_i^2
    by_hand = (
        2 * (0.5 * 0.5 / 2) ** 2 + 150 * (0.5 * 0.25 / 200) ** 2 + 50 * (0.5 * 0.75 / 200) ** 2
    )
    assert mean.variance == pytest.approx(202 / 201 * by_hand, rel=1e-12)
    # each image in one cell, the 2 small-cell images weighing 1/4 each: n_lo = n_hi = 7.9
    assert mean.n_eff == pytest.approx(1 / (2 * 0.25**2 + 200 * 0.0025**2))
    with pytest.raises(ValueError, match="source ids"):
        cell_mean([small, big])


def test_relative_drop_of_an_all_right_model_is_not_zero_width() -> None:
    y = np.ones((IMAGES, CELLS), dtype=bool)
    value, ci = relative_drop(cell_mean(list(y.T)), np.ones(IMAGES))
    assert value == 0.0 and ci is not None
    assert ci[0] < -0.005 and ci[1] > 0.005 and ci[1] - ci[0] < 0.05
    # no clean accuracy: no drop
    assert relative_drop(cell_mean(list(y.T)), np.zeros(IMAGES)) == (None, None)


def test_relative_drop_without_any_change_is_not_zero_width() -> None:
    """Every image right under every corruption exactly where it is right when clean (rho = 1):
    the MOVER interval was [0, 0] on 50 images, and on 2 images inverted by float noise,
    (4.4e-16, -2.2e-16). With the continuity adjustment of `cell_mean_difference` it holds 0
    and has the width those images allow."""
    for m in (2, 50, 300):
        clean = np.r_[np.ones(m // 2), np.zeros(m - m // 2)]
        value, ci = relative_drop(cell_mean([clean.copy() for _ in range(3)]), clean)
        assert value == 0.0 and ci is not None
        assert ci[0] < -0.005 and ci[1] > 0.005, (m, ci)
    # a real drop keeps its interval bit for bit (the adjustment is for no width only)
    gen = np.random.default_rng(2)
    clean = gen.random(300) < 0.9
    y = clean[:, None] & (gen.random((300, 5)) < 0.9)
    mean = cell_mean(list(y.T.astype(np.float64)))
    rho = influence_correlation(mean, cell_mean([clean.astype(np.float64)], [mean.ids]))
    ratio = mover_ratio(mean.value, mean.ci, clean.mean(), wilson_ci(clean.sum(), 300), rho)
    assert ratio is not None
    assert relative_drop(mean, clean)[1] == (1.0 - ratio[1], 1.0 - ratio[0])


def test_mover_ratio_of_equal_estimates_brackets_one() -> None:
    lo, hi = mover_ratio(0.9, (0.85, 0.94), 0.9, (0.85, 0.94)) or (0.0, 0.0)
    assert lo < 1.0 < hi
    tight = mover_ratio(0.9, (0.85, 0.94), 0.9, (0.85, 0.94), rho=0.9) or (0.0, 0.0)
    assert lo < tight[0] < 1.0 < tight[1] < hi  # positive correlation narrows it
    assert mover_ratio(0.5, (0.4, 0.6), 0.01, (0.0, 0.05)) is None  # unbounded


def test_relative_drop_covers_about_95_percent() -> None:
    """Clean and corrupted outcomes share each image's difficulty (logit P = a + b_i + d)."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    gen = np.random.default_rng(17)
    for a_clean, a_corrupt in ((4.0, 2.0), (6.0, 5.0), (4.0, 4.0)):
        clean_truth = float((w * _expit(a_clean + 1.5 * x)).sum())
        truth = 1.0 - _logit_truth(a_corrupt, 1.5) / clean_truth
        hits = 0
        for _ in range(300):
            b = gen.normal(0.0, 1.5, IMAGES)
            clean = gen.random(IMAGES) < _expit(a_clean + b)
            y = gen.random((IMAGES, CELLS)) < _expit(a_corrupt + b[:, None] + SPREAD[None, :])
            _, ci = relative_drop(cell_mean(list(y.T)), clean)
            assert ci is not None
            hits += ci[0] <= truth <= ci[1]
        assert hits / 300 >= 0.93, f"drop at a = {a_clean}, {a_corrupt}: {hits / 300:.3f}"


FAMILY_CASES = [  # (shape, images, accuracy): the hardest cells of the benchmark's grid
    ("errors on few images", 1000, 0.9),  # 20% of the images fail half their severities
    ("errors on few images", 30, 0.98),  # most draws are right everywhere
    ("image effect sd 1.5", 200, 0.5),
    ("image effect sd 0.3", 200, 0.9),
]


@pytest.mark.parametrize(("shape", "images", "accuracy"), FAMILY_CASES)
def test_a_family_over_its_severities_covers(shape: str, images: int, accuracy: float) -> None:
    """Per-family corruption error (and a tabular / text family's accuracy) is `cell_mean` over
    the family's 5 severities of the same images; accuracies drawn +-50% around the target
    (`python benchmarks/interval_coverage.py --families` prints the whole grid)."""
    from benchmarks.coverage_cases import Family, local_accuracy

    gen = np.random.default_rng(FAMILY_CASES.index((shape, images, accuracy)) + 31)
    hits, reps, blocks = 0, 1000, 20
    for _ in range(blocks):
        target = local_accuracy(gen, accuracy)
        family = Family.few_hard(target) if "few" in shape else Family.at(target, float(shape[-3:]))
        truth = family.truth()
        for _ in range(reps // blocks):
            ci = cell_mean(list(family.draw(gen, images))).ci
            assert ci is not None and ci[1] - ci[0] > 0.0  # never zero-width
            hits += ci[0] <= truth <= ci[1]
    assert 0.93 <= hits / reps <= 0.995, f"{shape}, {images} images: {hits / reps:.3f}"
