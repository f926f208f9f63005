"""The cheaper forms of a group breakdown's parts (`harness groups` at 400 models) give the
numbers of the forms they replaced, bit for bit, on seeded random group layouts: empty groups,
single-sample groups, groups of one class, confidences on the bin edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.stats import calibration
from harness.stats.group_intervals import Rate
from harness.stats.group_statistics import Columns, _nanmax, _nanmin, point_values
from harness.stats.groups import group_breakdown
from harness.stats.intervals import wilson_bounds, z_value


def _layout(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """(labels, correct, confidence, codes, groups): a random table whose groups include an
    empty one, a single-sample one and one whose samples are all of one class."""
    gen = np.random.default_rng(seed)
    n, g = int(gen.integers(3, 400)), int(gen.integers(3, 12))
    codes = gen.integers(0, g - 2, n)
    codes[0] = g - 1  # a single-sample group; group g - 2 is empty
    labels = gen.integers(0, 3, n)
    labels[codes == 0] = 1  # one class
    predictions = np.where(gen.random(n) < gen.random(), labels, gen.integers(0, 3, n))
    confidence = gen.random(n)
    if seed % 2:
        confidence = np.maximum(np.round(confidence * 15) / 15, 1e-9)  # on the bin edges
    return labels, labels == predictions, confidence, codes, g


@pytest.mark.parametrize("seed", range(40))
def test_point_ece_is_each_groups_own_sum_over_its_size(seed: int) -> None:
    labels, correct, confidence, codes, g = _layout(seed)
    c = Columns(labels, labels, correct, confidence, None, 1)
    got = point_values(c, codes, g, False, 15)["ece"][0]
    gaps = np.bincount(
        codes * 15 + calibration.confidence_bins(confidence, 15),
        weights=correct.astype(np.float64) - confidence,
        minlength=g * 15,
    ).reshape(g, 15)
    n = np.bincount(codes, minlength=g)
    want = np.full(g, np.nan)
    for i in np.flatnonzero(n > 0):  # the form replaced: one group at a time
        want[i] = float(np.abs(gaps[i]).sum() / int(n[i]))
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("seed", range(20))
def test_bin_sums_give_each_groups_own_ece_interval_at_every_level(seed: int) -> None:
    _, correct, confidence, codes, g = _layout(seed)
    sums = calibration.GroupBinSums.of(confidence, correct, codes, g, 15)
    for alpha in (0.05, 0.05 / 3, 0.05 / 45):
        want = [
            calibration.ece_interval(confidence[codes == i], correct[codes == i], alpha=alpha)
            for i in range(g)
        ]
        assert repr(sums.intervals(alpha)) == repr(want)  # -0.0 too
        assert calibration.ece_intervals(confidence, correct, codes, g, alpha=alpha) == want


def test_row_nanmax_and_nanmin_are_numpys_bit_for_bit() -> None:
    gen = np.random.default_rng(0)
    values = gen.choice([np.nan, -0.0, 0.0, 0.25, 1.0, -1.0, np.inf], size=(500, 6))
    values[0] = np.nan  # a row of NaN
    with pytest.warns(RuntimeWarning):
        want_max = np.nanmax(values, axis=1)
    with pytest.warns(RuntimeWarning):
        want_min = np.nanmin(values, axis=1)
    assert _nanmax(values).tobytes() == want_max.tobytes()
    assert _nanmin(values).tobytes() == want_min.tobytes()


def test_wilson_bounds_are_those_of_the_clipped_form() -> None:
    gen = np.random.default_rng(1)
    trials = gen.integers(0, 60, 3000).astype(np.float64)
    successes = np.floor(gen.random(3000) * (trials + 1))
    for alpha in (0.05, 0.005, 0.05 / 45):
        z = z_value(alpha)
        k, m = successes, trials
        with np.errstate(divide="ignore", invalid="ignore"):  # the form replaced
            p = k / m
            denom = 1.0 + z * z / m
            centre = (p + z * z / (2.0 * m)) / denom
            half = (
                z * np.sqrt(np.clip(p * (1.0 - p), 0.0, None) / m + z * z / (4.0 * m * m)) / denom
            )
        lo = np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
        hi = np.where(k >= m, 1.0, np.clip(centre + half, 0.0, 1.0))
        lo, hi = np.where(m > 0, lo, np.nan), np.where(m > 0, hi, np.nan)
        got = wilson_bounds(successes, trials, alpha=alpha)
        assert got[0].tobytes() == lo.tobytes() and got[1].tobytes() == hi.tobytes()


def test_a_rates_bounds_are_computed_once_a_level_and_read_only() -> None:
    rate = Rate(np.array([0.0, 3.0, 5.0]), np.array([0.0, 5.0, 5.0]))
    first = rate.bounds()
    assert rate.bounds() is first
    assert [b.tobytes() for b in first] == [
        b.tobytes() for b in wilson_bounds([0, 3, 5], [0, 5, 5])
    ]
    assert rate.bounds(0.01) is not first
    with pytest.raises(ValueError):
        first[0][1] = 0.5


def _frame(clean: bool) -> pd.DataFrame:
    gen = np.random.default_rng(3)
    n = 120
    f = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "condition": "clean"})
    f["label"] = gen.integers(0, 2, n)
    f["prediction"] = np.where(gen.random(n) < 0.8, f["label"], 1 - f["label"])
    f["correct"] = f["label"] == f["prediction"]
    f["confidence"] = gen.random(n)
    f["group:a"] = gen.choice(["x", "y"], n)
    if not clean:
        f["clean_correct"] = gen.random(n) < 0.9
    return f


def test_a_clean_breakdown_runs_no_check_of_the_resampled_statistic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check that the resampled statistic agrees with the point values guards resamples;
    a clean table draws none, so it is not run (a third of a breakdown's cost at 400 models)."""

    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("group_stats called")

    monkeypatch.setattr("harness.stats.groups.group_stats", unused)
    b = group_breakdown(_frame(True), [("a",)], num_classes=2, seed=0, condition="clean")
    assert {g.group for g in b.groups} == {"x", "y"}


def test_a_resampled_statistic_that_disagrees_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.stats import group_statistics

    def shifted(*args: object, **kwargs: object) -> dict[str, np.ndarray]:
        stats = group_statistics.group_stats(*args, **kwargs)  # type: ignore[arg-type]
        return {**stats, "acc": stats["acc"] + 1e-3}

    monkeypatch.setattr("harness.stats.groups.group_stats", shifted)
    with pytest.raises(AssertionError, match="group statistic acc disagrees"):
        group_breakdown(
            _frame(False), [("a",)], num_classes=2, seed=0, condition="attack", resamples=20
        )


@pytest.mark.parametrize(
    "values",
    [
        [True, True],
        [True, False],
        [],
        pd.array([True, True], dtype="boolean"),
        pd.array([True, None], dtype="boolean"),
        [True, None],
        [1, 1],
        np.array([True, True]),
    ],
)
def test_calibration_flags_read_every_kind_of_column_as_before(values: object) -> None:
    """A pandas column of numpy booleans is read by `to_numpy` (the rest as before): the same
    answer as `np.asarray`'s for every kind of column a table can hold."""
    from harness.core.calibration_flags import COLUMN, FLAG, calibration_flags, every_row_true

    column = pd.Series(
        values, dtype=object if isinstance(values, list) and None in values else None
    )
    want = len(column) > 0 and (
        bool(np.asarray(column).all())
        if np.asarray(column).dtype == np.bool_
        else all(v is True for v in np.asarray(column).tolist())
    )
    assert every_row_true(column) is want
    assert every_row_true(np.asarray(column)) is want
    frame = pd.DataFrame({COLUMN: column}) if len(column) else pd.DataFrame({"x": []})
    assert calibration_flags(frame) == ((FLAG,) if want else ())


@pytest.mark.parametrize("seed", range(12))
def test_a_breakdowns_python_numbers_are_its_arrays_read_one_by_one(seed: int) -> None:
    """`_Computed.numbers` (each array's `tolist`) holds what reading every group's numpy
    scalar gave: the same ints and floats, -0.0 and NaN included (reprs compared)."""
    from harness.stats.groups import _compute, _Options

    labels, correct, confidence, codes, _g = _layout(seed)
    frame = pd.DataFrame(
        {
            "label": labels % 2,
            "prediction": np.where(correct, labels % 2, 1 - labels % 2),
            "correct": correct,
            "confidence": confidence,
            "group:a": codes,
        }
    )
    comp = _compute(
        frame, ("a",), binary=True, seed=0, condition="clean", options=_Options(min_group_size=5)
    )
    numbers = comp.numbers
    for metric, values in comp.point.items():
        got = numbers.values[metric]
        assert all(type(v) in (int, float) for v in got)
        assert [repr(float(v)) for v in values[0]] == [repr(float(v)) for v in got]
    for metric, rate in comp.rates.items():
        assert [int(t) for t in rate.trials] == [int(t) for t in numbers.trials[metric]]
        low, high = comp.wilson[metric]
        assert [repr(float(v)) for v in low] == [repr(v) for v in numbers.wilson[metric][0]]
        assert [repr(float(v)) for v in high] == [repr(v) for v in numbers.wilson[metric][1]]


@pytest.mark.parametrize("alpha", [0.05, 0.05 / 3, 0.01])
def test_rates_bounds_made_together_are_each_rates_own(alpha: float) -> None:
    """`bounds_together`: one `wilson_bounds` call over several rates gives each rate the
    bounds its own call gives (repr: -0.0 and NaN too), kept read-only in its memo; a rate
    that has its bounds already keeps them."""
    from harness.stats.group_intervals import bounds_together

    gen = np.random.default_rng(7)
    made = []
    for size in (1, 4, 9, 30):
        trials = gen.integers(0, 40, size)
        trials[0] = 0  # an empty group: NaN
        successes = np.minimum(gen.integers(0, 40, size), trials)
        made.append((successes, trials))
    made.append((np.array([0.0, 3.5, 7.0]), np.array([7.0, 7.0, 7.0])))  # fractional n
    together = [Rate(k, n) for k, n in made]
    held = together[1].bounds(alpha)
    bounds_together(together, alpha)
    assert together[1].bounds(alpha) is held
    for rate, (k, n) in zip(together, made, strict=True):
        want = wilson_bounds(k, n, alpha=alpha)
        got = rate.bounds(alpha)
        for a, b in zip(got, want, strict=True):
            assert [repr(float(v)) for v in a] == [repr(float(v)) for v in b]
            assert not a.flags.writeable
