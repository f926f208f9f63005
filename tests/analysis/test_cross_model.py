"""Cross-model shift metrics (CE, mCE, relative mCE, effective robustness) against hand values."""

from __future__ import annotations

import math

import pytest

from harness.analysis import cross_model
from harness.core.metric_record import MetricRecord


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


def test_baseline_without_degradation_is_left_out_and_named() -> None:
    flat = _model(0.9, {("fog", 1): 0.8, ("saturate", 1): 0.95})
    records, _ = cross_model.board_records({"b": flat, "m": flat}, baseline="b")
    rel = next(r for r in records["m"] if r.metric == "relative_mce")
    assert rel.value == pytest.approx(1.0) and "saturate" in (rel.note or "")


def test_missing_baseline_is_a_note() -> None:
    records, notes = cross_model.board_records({"good": GOOD}, baseline="alexnet")
    assert records == {"good": []}
    assert "alexnet" in notes[0]


def test_effective_robustness_by_hand() -> None:
    clean = {"a": 0.6, "b": 0.8, "c": 0.9}
    shifted = {"a": 0.5, "b": 0.7, "c": 0.85}
    rho = cross_model.effective_robustness(clean, shifted)
    assert rho is not None
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    xs, ys = [logit(clean[m]) for m in "abc"], [logit(shifted[m]) for m in "abc"]
    mx, my = sum(xs) / 3, sum(ys) / 3
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    for m, x in zip("abc", xs, strict=True):
        fit = 1 / (1 + math.exp(-(slope * x + my - slope * mx)))
        assert rho[m] == pytest.approx(shifted[m] - fit)
    # residuals of a least-squares fit sum to zero in logit space; on the line means rho = 0
    on_line = cross_model.effective_robustness(
        {"a": 0.6, "b": 0.7, "c": 0.8}, {"a": 0.6, "b": 0.7, "c": 0.8}
    )
    assert on_line is not None and all(abs(v) < 1e-12 for v in on_line.values())
    assert cross_model.effective_robustness({"a": 0.6, "b": 0.7}, {"a": 0.5, "b": 0.6}) is None


def test_board_records_effective_robustness_needs_three_models() -> None:
    two = {"a": _model(0.9, {}, 0.8), "b": _model(0.8, {}, 0.6)}
    records, notes = cross_model.board_records(two, baseline=None)
    assert records == {"a": [], "b": []} and "at least 3" in notes[0]
    three = {**two, "c": _model(0.7, {}, 0.55)}
    records, notes = cross_model.board_records(three, baseline=None)
    assert notes == [] and all(r[0].metric == "effective_robustness" for r in records.values())
    assert records["a"][0].key == "effective_robustness[shifted=other]"
