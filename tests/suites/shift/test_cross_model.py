"""Cross-model shift metrics (CE, mCE, relative mCE, effective robustness) against hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.suites.shift.cross_model import columns as cross_model
from harness.suites.shift.cross_model import (
    corruption_error,
    effective_robustness,
    shift_records,
    shift_resampling,
)


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
    base = shift_records.ShiftRecords.from_records(BASE)
    good = shift_records.ShiftRecords.from_records(GOOD)
    ce = corruption_error.corruption_errors(good, base)
    # fog: (0.1 + 0.2) / (0.2 + 0.4) = 0.5; snow: (0.15 + 0.25) / (0.3 + 0.5) = 0.5
    assert ce == pytest.approx({"fog": 0.5, "snow": 0.5})
    rel = corruption_error.relative_corruption_errors(good, base)
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
    config = shift_records.ShiftBoardConfig(mce_baseline="b", mce_corruptions="all")
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
    rho = effective_robustness.effective_robustness(clean, shifted)
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
    on_line = effective_robustness.effective_robustness(
        {"a": 0.6, "b": 0.7, "c": 0.8}, {"a": 0.6, "b": 0.7, "c": 0.8}
    )
    assert on_line is not None and all(abs(v) < 1e-12 for v in on_line.values())
    assert (
        effective_robustness.effective_robustness({"a": 0.6, "b": 0.7}, {"a": 0.5, "b": 0.6})
        is None
    )
    # A named testbed: only b and c carry the line, for every scored model.
    named = effective_robustness.effective_robustness(clean, shifted, testbed={"b", "c"})
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
    # Variants stay out of the default testbed: with c a variant, a's testbed is b alone. c
    # gets a value, so a's cell is there too: undefined, saying why (not "not measured").
    records, notes = cross_model.board_records(three, baseline=None, variants={"c"})
    assert records["c"][0].value is not None and notes == []
    (a,) = records["a"]
    assert a.value is None and a.ci is None
    assert (a.note or "").startswith("undefined: the line needs a testbed of at least 2")
    assert "testbed of 1 model (the board's models without variants" in a.note


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
    for metric in ("mce", "relative_mce"):  # the baseline against itself: 1 by definition
        own = next(r for r in records["base"] if r.metric == metric)
        assert own.value == 1.0 and own.ci is None and own.ci_method is None
        assert "1 by definition" in (own.note or "") and "no interval" in (own.note or "")
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


# ---------------------------------------------------------------------------------------------
# Audit fixes: undefined CE, published sets, the edges of effective robustness, config messages
# ---------------------------------------------------------------------------------------------


def _records_and_table(
    outcomes: dict[str, np.ndarray], ids: dict[str, list[str]] | None = None
) -> tuple[list[MetricRecord], SampleTable]:
    """Records and a per-sample table from correctness per condition (each with its own n).

    Cells and clean share the ids x0000...; `shifted=` conditions get s0000... unless `ids`
    names them.
    """
    frames, recs = [], []
    for cond, values in outcomes.items():
        default = "s" if cond.startswith("shifted=") else "x"
        cond_ids = (ids or {}).get(cond) or [f"{default}{i:04d}" for i in range(len(values))]
        frames.append(
            SampleTable.build(
                {
                    "sample_id": cond_ids,
                    "condition": [cond] * len(values),
                    "label": np.zeros(len(values), dtype=np.int64),
                    "prediction": np.where(values, 0, 1),
                    "correct": values.astype(bool),
                    "confidence": np.ones(len(values)),
                }
            )
        )
        metric = (
            "clean_acc"
            if cond == "clean"
            else "shift_acc"
            if cond.startswith("shifted=")
            else "corruption_acc"
        )
        recs.append(
            MetricRecord(
                suite="shift",
                metric=metric,
                value=float(values.mean()),
                unit="fraction",
                higher_is_better=True,
                n=len(values),
                condition=cond,
            )
        )
    return recs, SampleTable.concat(frames)


def _ones(n: int, errors: int = 0) -> np.ndarray:
    """n outcomes, the first `errors` of them wrong."""
    return np.arange(n) >= errors


def _board(
    models: dict[str, dict[str, np.ndarray]], **kwargs: object
) -> tuple[dict[str, list[MetricRecord]], list[str]]:
    built = {m: _records_and_table(o) for m, o in models.items()}
    return cross_model.board_records(
        {m: recs for m, (recs, _) in built.items()},
        tables={m: (lambda t: lambda: t)(table) for m, (_, table) in built.items()},
        **kwargs,  # type: ignore[arg-type]
    )


def _cell(records: dict[str, list[MetricRecord]], model: str, metric: str) -> MetricRecord:
    return next(r for r in records[model] if r.metric == metric)


def test_mce_is_undefined_and_says_why_when_the_baseline_makes_no_errors_on_a_corruption() -> None:
    # The audit's s1b: the baseline is perfect on fog, so CE_fog divides by 0. The old mCE was
    # CE_snow alone while the note claimed both corruptions were averaged.
    base = {"clean": _ones(40), "corruption=fog/severity=1": _ones(40)}
    base["corruption=snow/severity=1"] = _ones(40, errors=10)
    model = {"clean": _ones(40, 2), "corruption=fog/severity=1": _ones(40, 5)}
    model["corruption=snow/severity=1"] = _ones(40, errors=20)
    records, _ = _board({"base": base, "m": model}, baseline="base")
    for m in ("base", "m"):
        mce = _cell(records, m, "mce")
        assert mce.value is None and mce.ci is None
        assert "undefined: the baseline model 'base' makes no errors on fog" in (mce.note or "")
        assert "snow" not in (mce.note or "").split(";")[0]  # only fog is named as undefined
    # Averaging only snow is possible, but only when the config says so; the note says it.
    config = shift_records.ShiftBoardConfig(mce_baseline="base", mce_corruptions=["snow"])
    records, _ = _board({"base": base, "m": model}, baseline="base", config=config)
    mce = _cell(records, "m", "mce")
    assert mce.value == pytest.approx(20 / 10)
    assert "over 1 of the 1 configured corruptions" in (mce.note or "")


def test_mce_undefined_names_every_corruption_the_baseline_gets_all_right() -> None:
    # The audit's m_z: "undefined" with no reason at all.
    base = {"clean": _ones(24), "corruption=fog/severity=3": _ones(24)}
    base["corruption=contrast/severity=3"] = _ones(24)
    model = {k: _ones(24, 6) for k in base}
    records, _ = _board({"base": base, "m": model}, baseline="base")
    note = _cell(records, "m", "mce").note or ""
    assert "makes no errors on fog, contrast" in note
    assert "CE (which divides by the baseline's error) is undefined" in note


def test_published_set_without_clean_rows_has_a_paired_mce_interval_and_says_why_no_relative() -> (
    None
):
    # CIFAR-10-C / ImageNet-C cells: no clean condition, the same source ids in every cell.
    gen = np.random.default_rng(5)
    cells = [f"corruption={c}/severity={s}" for c in ("fog", "contrast") for s in (1, 2)]
    base = {c: gen.random(200) < 0.5 for c in cells}
    model = {c: base[c] | (gen.random(200) < 0.5) for c in cells}  # strictly fewer errors
    records, _ = _board({"base": base, "m": model}, baseline="base", resamples=400)
    mce = _cell(records, "m", "mce")
    ce = [
        sum(int((~model[k]).sum()) for k in cells if k.startswith(f"corruption={c}/"))
        / sum(int((~base[k]).sum()) for k in cells if k.startswith(f"corruption={c}/"))
        for c in ("fog", "contrast")
    ]
    assert mce.value == pytest.approx(sum(ce) / 2)
    assert mce.value is not None and mce.ci is not None
    assert mce.ci[0] < mce.value < mce.ci[1] < 1.0
    assert "paired" in (mce.ci_method or "")
    rel = _cell(records, "m", "relative_mce")
    assert rel.value is None and "no clean accuracy on this task" in (rel.note or "")
    assert "does not rise" not in (rel.note or "")


def test_mce_interval_is_not_given_when_resamples_leave_the_baseline_without_errors() -> None:
    # One baseline error on fog in 50 samples: (49/50)^50 = 36% of resamples miss it, where CE
    # is infinite. Leaving those resamples out (as before) narrows the interval to a fiction.
    base = {"corruption=fog/severity=1": _ones(50, 1), "corruption=snow/severity=1": _ones(50, 20)}
    model = {k: _ones(50, 5) for k in base}
    records, _ = _board({"base": base, "m": model}, baseline="base", resamples=300)
    mce = _cell(records, "m", "mce")
    assert mce.value == pytest.approx((5 / 1 + 5 / 20) / 2)
    assert mce.ci is None
    assert "no interval" in (mce.note or "") and "makes no errors on fog" in (mce.note or "")


def test_mce_of_a_model_without_errors_has_no_zero_width_interval() -> None:
    base = {"corruption=fog/severity=1": _ones(30, 10), "corruption=snow/severity=1": _ones(30, 9)}
    perfect = {k: _ones(30) for k in base}
    records, _ = _board({"base": base, "m": perfect}, baseline="base")
    mce = _cell(records, "m", "mce")
    assert mce.value == 0.0 and mce.ci is None and "no interval" in (mce.note or "")
    own = _cell(records, "base", "mce")  # itself: exactly 1, by definition, not a [1, 1]
    assert own.value == 1.0 and own.ci is None and "1 by definition" in (own.note or "")


def test_mce_configuration_that_selects_nothing_says_so_in_plain_words() -> None:
    run = {"corruption=fog/severity=1": _ones(20, 5), "corruption=contrast/severity=1": _ones(20)}
    models = {"base": run, "m": run}
    config = shift_records.ShiftBoardConfig(mce_baseline="base", mce_corruptions=["snow"])
    records, _ = _board(models, baseline="base", config=config)
    for metric in ("mce", "relative_mce"):
        cell = _cell(records, "m", metric)
        assert cell.value is None
        assert cell.note == (
            "undefined: none of the configured mCE corruptions (snow) was run on this task "
            "(measured on this task: fog, contrast)"
        )
    config = shift_records.ShiftBoardConfig(mce_baseline="base", mce_corruptions=[])
    records, _ = _board(models, baseline="base", config=config)
    note = _cell(records, "m", "mce").note or ""
    assert note.startswith("undefined: the mCE corruption set is empty") and "0 of" not in note


def _logit_clipped(p: float, n: int) -> float:
    q = min(max(p, 0.5 / n), 1 - 0.5 / n)
    return math.log(q / (1 - q))


def test_effective_robustness_of_a_model_on_the_line_at_100_percent_is_zero() -> None:
    # The audit's s3: the scored model and two testbed models are 100% right, clean and
    # shifted. The line passes through their (clipped) point; the old residual subtracted the
    # clipped line from the raw accuracy and gave +0.5/n (0.021 at n = 24, 0.042 at n = 12).
    for n in (24, 12):
        clean = {"a": 1.0, "b": 20 / 24, "c": 1.0, "d": 1.0}
        shifted = {"a": 1.0, "b": 16 / 24, "c": 1.0, "d": 1.0}
        sizes = dict.fromkeys(clean, n)
        rho = effective_robustness.effective_robustness(
            clean, shifted, sizes, testbed={"b", "c", "d"}
        )
        assert rho is not None and abs(rho["a"]) < 1e-12
    # Through the board, with tables: the value is 0 and there is no [x, x] interval.
    top = {"clean": _ones(24), "shifted=sh": _ones(24)}
    low = {"clean": _ones(24, 4), "shifted=sh": _ones(24, 8)}
    config = shift_records.ShiftBoardConfig(effective_robustness_testbed=["b", "c", "d"])
    records, _ = _board(
        {"a": top, "b": low, "c": top, "d": top}, baseline=None, config=config, resamples=100
    )
    er = _cell(records, "a", "effective_robustness")
    assert er.value is not None and abs(er.value) < 1e-12
    assert er.ci is None and "no interval: an accuracy of 0 or 1" in (er.note or "")


def test_effective_robustness_clips_each_set_with_its_own_n() -> None:
    # Clean sets of 24, shifted sets of 12: t1's shifted 0 moves to 0.5/12, t3's clean 1 to
    # 1 - 0.5/24 (the old code used the smaller n, 12, for both).
    n_c, n_s = 24, 12
    outcomes = {
        "t1": {"clean": _ones(n_c, 12), "shifted=sh": _ones(n_s, 12)},
        "t2": {"clean": _ones(n_c, 6), "shifted=sh": _ones(n_s, 6)},
        "t3": {"clean": _ones(n_c), "shifted=sh": _ones(n_s, 3)},
        "m": {"clean": _ones(n_c, 3), "shifted=sh": _ones(n_s, 4)},
    }
    config = shift_records.ShiftBoardConfig(effective_robustness_testbed=["t1", "t2", "t3"])
    records, _ = _board(outcomes, baseline=None, config=config, resamples=50)
    xs = [_logit_clipped(a, n_c) for a in (0.5, 0.75, 1.0)]
    ys = [_logit_clipped(a, n_s) for a in (0.0, 0.5, 0.75)]
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    fit = 1 / (1 + math.exp(-(slope * (_logit_clipped(21 / 24, n_c) - mx) + my)))
    er = _cell(records, "m", "effective_robustness")
    assert er.value == pytest.approx(8 / 12 - fit, abs=1e-12)
    assert "clean n=24, shifted n=12" in (er.note or "")


def test_effective_robustness_interval_is_not_given_when_resamples_have_no_line() -> None:
    # Two testbed models one clean sample apart on n = 20: many resamples tie their clean
    # accuracies, where no line exists. The old interval silently left those resamples out.
    outcomes = {
        "t1": {"clean": _ones(20, 4), "shifted=sh": _ones(20, 8)},
        "t2": {"clean": _ones(20, 5), "shifted=sh": _ones(20, 10)},
        "m": {"clean": _ones(20, 3), "shifted=sh": _ones(20, 5)},
    }
    config = shift_records.ShiftBoardConfig(effective_robustness_testbed=["t1", "t2"])
    records, _ = _board(outcomes, baseline=None, config=config, resamples=300)
    er = _cell(records, "m", "effective_robustness")
    assert er.value is not None and er.ci is None
    note = er.note or ""
    assert "testbed's clean accuracies are all equal" in note and "no interval" in note
    # and why, in words: the accuracies and how many samples separate them (the quickstart's
    # three non-variant models are in this case: each one's testbed is the two others)
    assert (
        "the testbed's clean accuracies are close (t1 0.800, t2 0.750): its models disagree "
        "on 1 of 20 clean samples" in note
    )
    assert "the data do not pin down the line's slope, nor this value" in note


def test_interval_counts_undefined_draws_at_the_worst_end() -> None:
    draws = np.linspace(0.0, 1.0, 1000)
    assert shift_resampling.bootstrap_interval(draws) == pytest.approx(
        tuple(np.quantile(draws, [0.025, 0.975]))
    )
    few = draws.copy()
    few[500:505] = np.nan  # 0.5%: the bounds move outwards, never inwards
    lo, hi = shift_resampling.bootstrap_interval(few) or (np.nan, np.nan)
    assert lo <= np.quantile(draws, 0.025) and hi >= np.quantile(draws, 0.975)
    many = draws.copy()
    many[::20] = np.nan  # 5%: more than a 95% interval can take at either end
    assert shift_resampling.bootstrap_interval(many) is None


def test_testbed_models_without_results_on_the_board_are_named() -> None:
    two = {"a": _model(0.9, {}, 0.8), "b": _model(0.8, {}, 0.6), "c": _model(0.7, {}, 0.55)}
    config = shift_records.ShiftBoardConfig(effective_robustness_testbed=["b", "c", "zz"])
    records, notes = cross_model.board_records(two, baseline=None, config=config)
    er = _cell(records, "a", "effective_robustness")
    assert "no shift results on this board: zz" in (er.note or "")
    assert any("zz" in n for n in notes)


# ---------------------------------------------------------------------------------------------
# Second audit: one set of resamples per board, undefined is not "not measured", inputs that
# did not run
# ---------------------------------------------------------------------------------------------


def _spread(n: int, errors: int, seed: int) -> np.ndarray:
    """n outcomes with `errors` wrong ones at seeded places (models disagree sample by sample)."""
    out = np.ones(n, dtype=bool)
    out[np.random.default_rng(seed).choice(n, errors, replace=False)] = False
    return out


def _testbed_outcomes(n: int = 60) -> dict[str, dict[str, np.ndarray]]:
    return {
        f"t{i}": {"clean": _spread(n, e, i), "shifted=sh": _spread(n, e + 8, 10 + i)}
        for i, e in enumerate((10, 16, 22, 28))
    }


def test_effective_robustness_intervals_are_the_same_for_models_with_the_same_results() -> None:
    # The audit's m5 and m5@fp16: the same per-sample results, scored on a named testbed, got
    # the same value but different intervals ([-0.105, 0.143] vs [-0.155, 0.165]): the draws
    # were seeded with the scored model's name, though the testbed is resampled once for all.
    same = {"clean": _spread(60, 14, 7), "shifted=sh": _spread(60, 20, 8)}
    outcomes = {**_testbed_outcomes(), "m": same, "m@fp16": same}
    config = shift_records.ShiftBoardConfig(effective_robustness_testbed=["t0", "t1", "t2", "t3"])
    records, _ = _board(outcomes, baseline=None, config=config, resamples=300)
    a, b = (
        _cell(records, "m", "effective_robustness"),
        _cell(records, "m@fp16", "effective_robustness"),
    )
    assert a.value == b.value and a.ci is not None
    assert a.ci == b.ci
    # The default testbed (the board's models without variants): two variants with the same
    # results share the testbed, and so the interval.
    records, _ = _board(outcomes, baseline=None, variants={"m", "m@fp16"}, resamples=300)
    a, b = (
        _cell(records, "m", "effective_robustness"),
        _cell(records, "m@fp16", "effective_robustness"),
    )
    assert a.ci is not None and a.ci == b.ci


def test_effective_robustness_draws_do_not_depend_on_the_table_order() -> None:
    # The same samples in another row order are the same data: the same interval.
    outcomes = {
        **_testbed_outcomes(),
        "m": {"clean": _spread(60, 14, 7), "shifted=sh": _spread(60, 20, 8)},
    }
    config = shift_records.ShiftBoardConfig(effective_robustness_testbed=["t0", "t1", "t2", "t3"])
    built = {m: _records_and_table(o) for m, o in outcomes.items()}
    tables = {m: (lambda t: lambda: t)(table) for m, (_, table) in built.items()}
    reversed_first = dict(tables)
    frame = built["t0"][1].frame.iloc[::-1].reset_index(drop=True)
    reversed_first["t0"] = (lambda t: lambda: t)(SampleTable.build(frame.to_dict("list")))
    recs = {m: r for m, (r, _) in built.items()}
    kwargs = {"baseline": None, "config": config, "resamples": 200}
    one, _ = cross_model.board_records(recs, tables=tables, **kwargs)  # type: ignore[arg-type]
    two, _ = cross_model.board_records(recs, tables=reversed_first, **kwargs)  # type: ignore[arg-type]
    assert _cell(one, "m", "effective_robustness").ci == _cell(two, "m", "effective_robustness").ci


def test_mce_intervals_are_the_same_for_models_with_the_same_errors() -> None:
    base = {f"corruption=fog/severity={s}": _spread(80, 20 + 5 * s, s) for s in (1, 2)}
    base |= {f"corruption=snow/severity={s}": _spread(80, 25 + 5 * s, 10 + s) for s in (1, 2)}
    model = {k: _spread(80, 12 + i, 20 + i) for i, k in enumerate(base)}
    records, _ = _board({"b": base, "m": model, "m@int8": model}, baseline="b", resamples=300)
    for metric in ("mce",):
        a, b = _cell(records, "m", metric), _cell(records, "m@int8", metric)
        assert a.value == b.value and a.ci is not None and a.ci == b.ci


def test_effective_robustness_undefined_for_a_model_is_a_record_that_says_why() -> None:
    # The audit's digits board: the two CNNs are 100% right on clean, so the MLP's testbed (the
    # two CNNs) has equal clean accuracies and no line. The MLP's cell said "not measured" in
    # the report ("—" on the leaderboard, with a board note naming no model); it is undefined.
    outcomes = {
        "cnn": {"clean": _ones(40), "shifted=sh": _ones(40, 12)},
        "cnn-adv": {"clean": _ones(40), "shifted=sh": _ones(40, 15)},
        "mlp": {"clean": _ones(40, 3), "shifted=sh": _ones(40, 6)},
    }
    records, notes = _board(outcomes, baseline=None, resamples=50)
    er = _cell(records, "mlp", "effective_robustness")
    assert er.value is None and er.ci is None and er.key == "effective_robustness[shifted=sh]"
    assert (er.note or "").startswith(
        "undefined: the testbed's clean accuracies are all equal (cnn 1.000, cnn-adv 1.000), "
        "so no line can be fitted"
    )
    assert _cell(records, "cnn", "effective_robustness").value is not None
    assert not any("no value" in n for n in notes)  # the cell says it, where it belongs
    # No model with a value: no column, and the board note says why, per model.
    tie = {"clean": _ones(40), "shifted=sh": _ones(40, 5)}
    records, notes = _board({"a": tie, "b": tie, "c": tie}, baseline=None, resamples=50)
    assert records == {"a": [], "b": [], "c": []}
    (note,) = notes
    assert note.startswith("effective robustness on shifted=sh: no model has a value")
    assert "; c: the testbed's clean accuracies are all equal (a 1.000, b 1.000)" in note


def _shift_job(conditions: list[str], *notes: str) -> tuple[list[MetricRecord], list[str]]:
    return [
        _rec("shift_acc" if c.startswith("shifted=") else "ood_auroc", 0.5, c) for c in conditions
    ], list(notes)


NOT_APPLY = "OOD set 'diabetes' (tabular) does not apply to image task 'colours'"


def test_configured_inputs_that_gave_no_results_get_a_board_note_with_the_jobs_reason() -> None:
    config = shift_records.ShiftBoardConfig(
        ood_sets=["diabetes", {"generated": "uniform_noise", "n": 500}],
        shifted_tasks={"colours": [{"name": "colours-shifted", "source": "x"}], "other": ["o"]},
    )
    ran = ["ood=uniform_noise", "shifted=colours-shifted"]
    jobs = {"a": _shift_job(ran, NOT_APPLY), "b": _shift_job(ran, NOT_APPLY)}
    assert cross_model.not_run_notes("colours", config, jobs) == [
        f"suites.shift.ood_sets: 'diabetes' has no results on this board (every model): {NOT_APPLY}"
    ]
    # Only some models: they are named; no reason recorded: said so, not guessed.
    jobs["c"] = _shift_job([*ran, "ood=diabetes"])
    jobs["d"] = _shift_job(ran)
    notes = cross_model.not_run_notes("colours", config, jobs)
    assert notes[0].endswith(f"(a, b): {NOT_APPLY}")
    assert "(d): the shift job recorded no reason" in notes[1]
    # Everything ran: nothing to say. A mapping entry of another task is not this board's.
    assert cross_model.not_run_notes("colours", config, {"c": jobs["c"]}) == []


def test_a_published_set_names_every_configured_input_it_did_not_run() -> None:
    published = (
        "shifted tasks and OOD sets compare with clean rows: not run on a published corrupted set"
    )
    config = shift_records.ShiftBoardConfig(shifted_tasks=["s"], ood_sets=["o"])
    notes = cross_model.not_run_notes("cifar10-c", config, {"m": _shift_job([], published)})
    assert [n.split(":")[1].strip() for n in notes] == [
        "'s' has no results on this board (every model)",
        "'o' has no results on this board (every model)",
    ]
    assert all(n.endswith(published) for n in notes)


def _er_board(shared: int, n: int = 300) -> MetricRecord:
    """Four models whose shifted outcome on an id follows their clean outcome on it (a shifted
    copy of the same images); `shared` of the n shifted ids are the clean ones."""
    gen = np.random.default_rng(5)
    shifted_ids = [f"x{i:04d}" for i in range(shared)] + [f"s{i:04d}" for i in range(n - shared)]
    built = {}
    for i, acc in enumerate((0.6, 0.7, 0.8, 0.9)):
        clean = gen.random(n) < acc
        shifted = clean & (gen.random(n) < 0.85 + 0.03 * i)
        built[f"m{i}"] = _records_and_table(
            {"clean": clean, "shifted=t": shifted}, ids={"shifted=t": shifted_ids}
        )
    records, _notes = cross_model.board_records(
        {m: r for m, (r, _) in built.items()},
        baseline=None,
        tables={m: (lambda t: lambda: t)(table) for m, (_, table) in built.items()},
        resamples=400,
    )
    return _cell(records, "m3", "effective_robustness")


def test_effective_robustness_is_paired_on_shared_ids() -> None:
    """A shifted copy of the clean images: the two accuracies move together under resampling,
    so the paired interval is narrower than resampling them independently, and says so."""
    paired, unpaired = _er_board(300), _er_board(0)
    assert paired.value == pytest.approx(unpaired.value)  # the same outcomes, other ids
    assert paired.ci is not None and unpaired.ci is not None
    assert paired.ci[0] <= paired.value <= paired.ci[1]
    assert "paired on the 300 sample ids" in (paired.note or "")
    assert "paired" not in (unpaired.note or "")
    assert paired.ci[1] - paired.ci[0] < 0.9 * (unpaired.ci[1] - unpaired.ci[0])
    partial = _er_board(120)
    assert "paired on the 120 sample ids" in (partial.note or "")
    assert "180 clean-only and 180 shifted-only" in (partial.note or "")
