"""Cross-model shift metrics (CE, mCE, relative mCE, effective robustness) against hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis import cross_model
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable


def _rec(metric: str, value: float, condition: str = "clean") -> MetricRecord:
    return MetricRecord(
        suite="shift",
        metric=metric,
        value=value,
        unit="fraction",
        higher_is_better=True,
        n=100,
        condition=condition,
    )


def _model(
    clean: float, cells: dict[tuple[str, int], float], shifted: float | None = None
) -> list[MetricRecord]:
    recs = [_rec("clean_acc", clean)]
    recs += [
        _rec("corruption_acc", acc, f"corruption={c}/severity={s}") for (c, s), acc in cells.items()
    ]
    if shifted is not None:
        recs.append(_rec("shift_acc", shifted, "shifted=other"))
    return recs


BASE = _model(0.9, {("fog", 1): 0.8, ("fog", 2): 0.6, ("snow", 1): 0.7, ("snow", 2): 0.5})
GOOD = _model(0.95, {("fog", 1): 0.9, ("fog", 2): 0.8, ("snow", 1): 0.85, ("snow", 2): 0.75})


def test_ce_and_mce_by_hand() -> None:
    base = cross_model.ShiftRecords.from_records(BASE)
    good = cross_model.ShiftRecords.from_records(GOOD)
    ce = cross_model.corruption_errors(good, base)
    # fog: (0.1 + 0.2) / (0.2 + 0.4) = 0.5; snow: (0.15 + 0.25) / (0.3 + 0.5) = 0.5
    assert ce == pytest.approx({"fog": 0.5, "snow": 0.5})
    rel = cross_model.relative_corruption_errors(good, base)
    # fog: (0.05 + 0.15) / (0.1 + 0.3) = 0.5; snow: (0.1 + 0.2) / (0.2 + 0.4) = 0.5
    assert rel == pytest.approx({"fog": 0.5, "snow": 0.5})
    records, notes = cross_model.board_records({"base": BASE, "good": GOOD}, baseline="base")
    values = {(m, r.metric): r.value for m, rs in records.items() for r in rs}
    assert values[("base", "mce")] == pytest.approx(1.0)
    assert values[("good", "mce")] == pytest.approx(0.5)
    assert values[("good", "relative_mce")] == pytest.approx(0.5)
    assert notes == []


def test_baseline_without_degradation_makes_relative_mce_undefined() -> None:
    flat = _model(0.9, {("fog", 1): 0.8, ("saturate", 1): 0.95})
    config = cross_model.ShiftBoardConfig(mce_baseline="b", mce_corruptions="all")
    records, _ = cross_model.board_records({"b": flat, "m": flat}, baseline="b", config=config)
    rel = next(r for r in records["m"] if r.metric == "relative_mce")
    assert rel.value is None and "undefined" in (rel.note or "") and "saturate" in rel.note
    # The default set is the 15 benchmark corruptions: saturate is held out, fog is defined.
    records, _ = cross_model.board_records({"b": flat, "m": flat}, baseline="b")
    rel = next(r for r in records["m"] if r.metric == "relative_mce")
    mce = next(r for r in records["m"] if r.metric == "mce")
    assert rel.value == pytest.approx(1.0)
    assert "15 ImageNet-C benchmark corruptions" in (mce.note or "") and "1 of the" in mce.note


def test_missing_baseline_is_a_note() -> None:
    records, notes = cross_model.board_records({"good": GOOD}, baseline="alexnet")
    assert records == {"good": []}
    assert "alexnet" in notes[0]
    records, notes = cross_model.board_records({"good": GOOD}, baseline=None)
    assert records == {"good": []} and "no mCE" in notes[0] and "mce_baseline" in notes[0]


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_effective_robustness_by_hand_fits_the_testbed_without_the_scored_model() -> None:
    clean = {"a": 0.6, "b": 0.8, "c": 0.9, "d": 0.7}
    shifted = {"a": 0.5, "b": 0.7, "c": 0.85, "d": 0.65}
    rho = cross_model.effective_robustness(clean, shifted)
    assert rho is not None
    for m in "abcd":
        bed = [t for t in "abcd" if t != m]
        xs, ys = [_logit(clean[t]) for t in bed], [_logit(shifted[t]) for t in bed]
        mx, my = sum(xs) / 3, sum(ys) / 3
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
        fit = 1 / (1 + math.exp(-(slope * (_logit(clean[m]) - mx) + my)))
        assert rho[m] == pytest.approx(shifted[m] - fit)
    on_line = cross_model.effective_robustness(
        {"a": 0.6, "b": 0.7, "c": 0.8}, {"a": 0.6, "b": 0.7, "c": 0.8}
    )
    assert on_line is not None and all(abs(v) < 1e-12 for v in on_line.values())
    assert cross_model.effective_robustness({"a": 0.6, "b": 0.7}, {"a": 0.5, "b": 0.6}) is None
    # A named testbed: only b and c carry the line, for every scored model.
    named = cross_model.effective_robustness(clean, shifted, testbed={"b", "c"})
    assert named is not None and set(named) == {"a", "d"}  # b and c lack a second testbed model


def test_board_records_effective_robustness_needs_a_testbed_of_two() -> None:
    two = {"a": _model(0.9, {}, 0.8), "b": _model(0.8, {}, 0.6)}
    records, notes = cross_model.board_records(two, baseline=None)
    assert records == {"a": [], "b": []} and "at least 2" in notes[0]
    three = {**two, "c": _model(0.7, {}, 0.55)}
    records, notes = cross_model.board_records(three, baseline=None)
    assert notes == [] and all(r[0].metric == "effective_robustness" for r in records.values())
    assert records["a"][0].key == "effective_robustness[shifted=other]"
    assert "b, c" in (records["a"][0].note or "")  # the scored model is not in its testbed
    # Variants stay out of the default testbed: with c a variant, a's testbed is b alone.
    records, notes = cross_model.board_records(three, baseline=None, variants={"c"})
    assert records["a"] == [] and records["c"] != [] and "without variants" in notes[0]


# ---------------------------------------------------------------------------------------------
# Intervals from per-sample tables (paired bootstrap over sample ids)
# ---------------------------------------------------------------------------------------------


def _table(correct: dict[str, np.ndarray], ids: list[str]) -> SampleTable:
    frames = []
    for cond, values in correct.items():
        frames.append(
            {
                "sample_id": ids if not cond.startswith("shifted=") else [f"s{i}" for i in ids],
                "condition": [cond] * len(ids),
                "label": np.zeros(len(ids), dtype=np.int64),
                "prediction": np.where(values, 0, 1),
                "correct": values.astype(bool),
                "confidence": np.ones(len(ids)),
            }
        )
    return SampleTable.concat([SampleTable.build(f) for f in frames])


def _simulated(
    n: int, clean: float, cells: dict[tuple[str, int], float], seed: int, shifted: float = 0.5
) -> tuple[list[MetricRecord], SampleTable]:
    gen = np.random.default_rng(seed)
    ids = [f"x{i:04d}" for i in range(n)]
    correct = {"clean": gen.random(n) < clean, "shifted=other": gen.random(n) < shifted}
    correct |= {
        f"corruption={c}/severity={s}": gen.random(n) < acc for (c, s), acc in cells.items()
    }
    recs = [_rec("clean_acc", float(correct["clean"].mean()))]
    recs += [
        _rec("corruption_acc", float(v.mean()), k)
        for k, v in correct.items()
        if k.startswith("corruption=")
    ]
    recs.append(_rec("shift_acc", float(correct["shifted=other"].mean()), "shifted=other"))
    return recs, _table(correct, ids)


def test_mce_interval_is_paired_and_covers_the_value() -> None:
    cells = {("fog", 1): 0.7, ("fog", 3): 0.5, ("snow", 1): 0.6, ("snow", 3): 0.4}
    base, base_t = _simulated(400, 0.9, cells, seed=1)
    good, good_t = _simulated(400, 0.95, {k: v + 0.2 for k, v in cells.items()}, seed=2)
    records, _ = cross_model.board_records(
        {"base": base, "good": good},
        baseline="base",
        tables={"base": lambda: base_t, "good": lambda: good_t},
        resamples=300,
    )
    mce = {m: next(r for r in rs if r.metric == "mce") for m, rs in records.items()}
    assert mce["base"].ci == pytest.approx((1.0, 1.0))  # the baseline against itself
    lo, hi = mce["good"].ci
    assert lo < mce["good"].value < hi < 1.0 and "paired" in (mce["good"].ci_method or "")
    assert "severities 1, 3" in (mce["good"].note or "")
    rel = next(r for r in records["good"] if r.metric == "relative_mce")
    assert rel.value is not None and rel.ci is not None


def test_relative_mce_is_undefined_when_the_baseline_barely_degrades() -> None:
    # The baseline's corrupted accuracy equals its clean accuracy up to sampling noise: the old
    # interval ran from -6e12 to 1e13. Now: undefined, with the reason.
    base, base_t = _simulated(300, 0.8, {("fog", 1): 0.795, ("snow", 1): 0.6}, seed=3)
    other, other_t = _simulated(300, 0.85, {("fog", 1): 0.7, ("snow", 1): 0.7}, seed=4)
    records, _ = cross_model.board_records(
        {"base": base, "m": other},
        baseline="base",
        tables={"base": lambda: base_t, "m": lambda: other_t},
        resamples=200,
    )
    rel = next(r for r in records["m"] if r.metric == "relative_mce")
    assert rel.value is None and rel.ci is None
    assert "undefined" in (rel.note or "") and "fog" in rel.note and "snow" not in rel.note


def test_not_applicable_corruptions_are_left_out_and_named() -> None:
    na = MetricRecord(
        suite="shift",
        metric="corruption_error",
        value=None,
        unit="fraction",
        higher_is_better=False,
        n=100,
        condition="corruption=defocus_blur",
        note="not applicable: changes the inputs by at most 0.000/255",
    )
    records, _ = cross_model.board_records(
        {"base": [*BASE, na], "good": [*GOOD, na]}, baseline="base"
    )
    mce = next(r for r in records["good"] if r.metric == "mce")
    assert mce.value == pytest.approx(0.5)
    assert "not applicable on this task: defocus_blur" in (mce.note or "")


def test_effective_robustness_interval_from_tables() -> None:
    models = {}
    tables = {}
    for i, (c, s) in enumerate([(0.6, 0.4), (0.7, 0.5), (0.8, 0.62), (0.9, 0.8)]):
        recs, table = _simulated(300, c, {}, seed=10 + i, shifted=s)
        models[f"m{i}"] = recs
        tables[f"m{i}"] = (lambda t: lambda: t)(table)
    records, notes = cross_model.board_records(models, baseline=None, tables=tables, resamples=200)
    assert notes == []
    for rs in records.values():
        (er,) = rs
        assert er.ci is not None and er.ci[0] <= er.value <= er.ci[1]
