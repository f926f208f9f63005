"""Argmax ties in the fairness suite: a constant model's group accuracy was the share of class 0
in each group (and its selection rates 0) as plain numbers; every number a tied row moves now
notes its range over the tie-breaks, checked here against every tie-break of small cases."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

import harness
from harness.analysis.stored_groups import with_clean_reference
from harness.stats import tie_breaks
from harness.stats.group_statistics import Columns, disparity_values, point_values
from harness.stats.group_ties import disparity_moved, metric_spans
from harness.stats.groups import group_breakdown

BINS = 5


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _frame(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    probs = _softmax(scores.astype(np.float64))
    prediction = probs.argmax(axis=1)
    return pd.DataFrame(
        {
            "sample_id": [f"s{i}" for i in range(len(labels))],
            "condition": "clean",
            "label": labels,
            "prediction": prediction,
            "correct": prediction == labels,
            "confidence": probs.max(axis=1),
            "label_tied": tie_breaks.decided_by_tie(probs, labels, 1),
            "group:g": groups,
        }
    )


def _coarse_case(classes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer scores (ties at the top are common) with 5 to 8 rows whose top class is tied."""
    gen = np.random.default_rng(seed)
    while True:
        scores = gen.integers(0, 3, size=(22, classes))
        top = (scores == scores.max(axis=1, keepdims=True)).sum(axis=1) > 1
        if 5 <= top.sum() <= 8:
            labels = gen.integers(0, classes, size=22)
            groups = np.array(list("aaaaaaabbbbbbbbccccccc"))
            return scores, labels, groups


def _every_tie_break(frame: pd.DataFrame, scores: np.ndarray, binary: bool) -> dict:
    """Each metric's values over every tie-break: each row whose top score is shared picks any
    of its top classes (the row's own prediction and correctness follow)."""
    codes = pd.Index(sorted(frame["group:g"].unique())).get_indexer(frame["group:g"])
    g = int(codes.max()) + 1
    tops = [np.flatnonzero(row == row.max()) for row in scores]
    free = [i for i, t in enumerate(tops) if len(t) > 1]
    seen: dict[str, list[np.ndarray]] = {}
    for choice in itertools.product(*(tops[i] for i in free)):
        prediction = frame["prediction"].to_numpy().copy()
        prediction[free] = choice
        c = Columns(
            label=frame["label"].to_numpy(),
            prediction=prediction,
            correct=prediction == frame["label"].to_numpy(),
            confidence=frame["confidence"].to_numpy(),
            clean_correct=None,
            positive=1,
        )
        point = point_values(c, codes, g, binary, BINS)
        for k, v in point.items():
            seen.setdefault(k, []).append(v[0])
        for k, v in disparity_values(point, binary).items():
            seen.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in seen.items()}


@pytest.mark.parametrize(("classes", "seed"), [(2, 0), (2, 1), (3, 2), (4, 3)])
def test_ranges_are_those_of_every_tie_break(classes: int, seed: int) -> None:
    scores, labels, groups = _coarse_case(classes, seed)
    frame = _frame(scores, labels, groups)
    binary = classes == 2
    brute = _every_tie_break(frame, scores, binary)
    codes = pd.Index(["a", "b", "c"]).get_indexer(frame["group:g"])
    spans = metric_spans(Columns.of(frame, 1), codes, 3, binary=binary, nbins=BINS)
    assert spans is not None
    for metric, s in spans.items():
        values = brute[metric]
        for i in range(3):
            column = values[:, i]
            if np.isnan(column).all():
                assert np.isnan(s.low[i])
                continue
            assert s.low[i] == pytest.approx(column.min(), abs=1e-12), (metric, i)
            assert s.high[i] == pytest.approx(column.max(), abs=1e-12), (metric, i)
    active = np.ones(3, bool)
    disparities = [k for k in brute if k not in spans and k != "n"]
    assert ("demographic_parity_ratio" in disparities) == binary
    for metric in disparities:
        moved = disparity_moved(spans, metric, active)
        values = brute[metric]
        defined = values[~np.isnan(values)]
        if moved is None:
            assert len(defined) == 0, metric
            continue
        assert moved.undefined_somewhere == bool(np.isnan(values).any()), metric
        assert moved.ties.high == pytest.approx(defined.max(), abs=1e-12), metric
        if metric == "group_ece_gap":  # the groups' ranges taken as intervals: sound, not exact
            assert moved.ties.low <= defined.min() + 1e-12
        else:
            assert moved.ties.low == pytest.approx(defined.min(), abs=1e-12), metric


def test_an_untied_table_breaks_down_as_without_the_column() -> None:
    gen = np.random.default_rng(5)
    scores = gen.normal(size=(60, 2))
    frame = _frame(scores, gen.integers(0, 2, 60), np.array(list("ab") * 30))
    assert not frame["label_tied"].any()
    kw = {"num_classes": 2, "seed": 0, "condition": "clean", "resamples": 50}
    with_column = group_breakdown(frame, [("g",)], **kw).to_dict()
    without = group_breakdown(frame.drop(columns="label_tied"), [("g",)], **kw).to_dict()
    assert with_column == without


def test_a_robustness_breakdown_reads_the_clean_rows_ties() -> None:
    """`harness groups` on a shifted condition: the accuracy drop moves with the clean rows'
    ties as well as the condition's."""
    clean = _frame(np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.array(list("aabb")))
    shifted = clean.assign(
        condition="shifted", label_tied=False, correct=[True, False, True, False]
    )
    rows = with_clean_reference(pd.concat([clean, shifted]), "shifted")
    assert rows["clean_label_tied"].all()
    out = group_breakdown(
        rows, [("g",)], num_classes=2, seed=0, condition="shifted", resamples=0
    ).to_dict()
    drop = next(g for g in out["groups"] if g["group"] == "a")["metrics"]["acc_drop"]
    assert "over every tie-break its accuracy drop lies in [-0.5, 0.5]" in drop["note"]
    assert "2 of its 4 clean and condition rows" in drop["note"]
    assert "tied_scores" in drop["flags"]


class _Constant(torch.nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), self.classes)


class _PartlyTied(torch.nn.Module):
    """Confident (class by the first feature's sign) except where the second feature is
    positive: there both scores tie."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        confident = torch.stack([-x[:, 0], x[:, 0]], dim=1) * 5
        return torch.where(x[:, 1:2] > 0, torch.zeros_like(confident), confident)


def _task(classes: int) -> pd.DataFrame:
    gen = np.random.default_rng(7)
    n = 120
    x = gen.normal(size=(n, 2)).astype(np.float32)
    label = (x[:, 0] > 0).astype(int) if classes == 2 else gen.integers(0, classes, n)
    return pd.DataFrame(
        {
            "f0": x[:, 0],
            "f1": x[:, 1],
            "label": label,
            "site": np.where(gen.random(n) < 0.4, "p", "q"),
        }
    )


def _fairness(model: torch.nn.Module, frame: pd.DataFrame, **config: object):  # noqa: ANN202
    result = harness.evaluate(
        model,
        data=frame,
        groups=["site"],
        name="toy",
        suites={"fairness": {"group_by": ["site"], "bootstrap_resamples": 50, **config}},
        device="cpu",
    )
    return result.results["fairness"]


def _records(result) -> dict:  # noqa: ANN001
    return {(r.metric, r.context.get("group")): r for r in result.metrics}


def test_a_constant_binary_model_notes_and_flags_every_number() -> None:
    """Before: group accuracy was the share of class 0 in each group and every selection rate 0
    (demographic parity 'perfect'), plain numbers."""
    frame = _task(2)
    result = _fairness(_Constant(2), frame, positive_label=1)
    table = result.table.frame
    assert table["label_tied"].all()
    records = _records(result)
    for (metric, _group), record in records.items():
        assert "tied_scores" in record.flags, metric
        assert record.note and "over every tie-break" in record.note, metric
    acc = records[("group_acc", "p")]
    share = float((frame.loc[frame.site == "p", "label"] == 0).mean())
    assert acc.value == pytest.approx(share)
    n_p = int((frame.site == "p").sum())
    assert f"{n_p} of its {n_p} rows tie" in acc.note
    assert "its accuracy lies in [0, 1]" in acc.note
    assert "its selection rate lies in [0, 1]" in records[("group_selection_rate", "p")].note
    dp = records[("demographic_parity_difference", None)]
    assert dp.value == 0 and "demographic parity difference lies in [0, 1]" in dp.note
    ratio = records[("demographic_parity_ratio", None)]
    assert ratio.value is None and "undefined, every group at 0, under some" in ratio.note


def test_a_constant_multiclass_model_notes_accuracy_and_calibration() -> None:
    result = _fairness(_Constant(3), _task(3))
    records = _records(result)
    assert {m for m, _ in records} == {"group_acc", "group_ece", "worst_group_acc",
                                       "group_acc_gap", "group_ece_gap"}  # fmt: skip
    assert all("tied_scores" in r.flags for r in records.values())
    assert "worst-group accuracy lies in [0, 1]" in records[("worst_group_acc", None)].note


def test_a_partly_tied_model_gets_the_range_of_its_tied_rows() -> None:
    frame = _task(2)
    result = _fairness(_PartlyTied(), frame)
    table = result.table.frame.set_index("sample_id")
    tied = frame["f1"].to_numpy() > 0
    assert table["label_tied"].to_numpy().sum() == tied.sum()
    records = _records(result)
    for site in ("p", "q"):
        rows = (frame.site == site).to_numpy()
        correct = table.loc[table["group:site"] == site, "correct"].to_numpy()
        t = int((tied & rows).sum())
        n = int(rows.sum())
        low = (correct.sum() - (correct & tied[rows]).sum()) / n
        acc = records[("group_acc", site)]
        assert f"{t} of its {n} rows tie" in acc.note
        assert f"lies in [{low:.4g}, {low + t / n:.4g}]" in acc.note


def test_an_untied_model_gets_no_tie_note_or_flag() -> None:
    class Confident(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([-x[:, 0], x[:, 0] + 0.01], dim=1)

    result = _fairness(Confident(), _task(2))
    assert not result.table.frame["label_tied"].any()
    for record in result.metrics:
        assert "tied_scores" not in record.flags
        assert "tie-break" not in (record.note or "")
