"""Reference tests: our accuracy and calibration numbers against scikit-learn and hand computation."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    top_k_accuracy_score,
)

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.stats import calibration, tie_breaks
from harness.suites.accuracy import AccuracySuite
from tests.fixture_models import linear_digits


@pytest.fixture(scope="module")
def result():
    task = digits().head(300)
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    res = AccuracySuite({}).run(
        adapter, task, RunContext(seed=5, batch_size=64, bootstrap_resamples=300)
    )
    logits = adapter.logits(task.all_inputs())
    probs = torch.softmax(logits.double(), 1).numpy()
    return res, probs, task.labels


def metric(res, name: str) -> MetricRecord:
    (m,) = [m for m in res.metrics if m.metric == name and not m.context.get("class")]
    return m


def test_against_sklearn(result) -> None:
    res, probs, labels = result
    pred = probs.argmax(1)
    assert metric(res, "top1_acc").value == pytest.approx(accuracy_score(labels, pred), abs=1e-12)
    assert metric(res, "balanced_acc").value == pytest.approx(
        balanced_accuracy_score(labels, pred), abs=1e-12
    )
    assert metric(res, "macro_f1").value == pytest.approx(
        f1_score(labels, pred, average="macro"), abs=1e-12
    )
    assert metric(res, "nll").value == pytest.approx(
        log_loss(labels, probs, labels=range(10)), rel=1e-9
    )
    assert metric(res, "top5_acc").value == pytest.approx(
        top_k_accuracy_score(labels, probs, k=5, labels=range(10)), abs=1e-12
    )


def test_brier_and_ece_by_hand(result) -> None:
    res, probs, labels = result
    onehot = np.eye(10)[labels]
    assert metric(res, "brier").value == pytest.approx(
        ((probs - onehot) ** 2).sum(1).mean(), rel=1e-12
    )
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    ece = 0.0
    for b in range(15):
        lo, hi = b / 15, (b + 1) / 15
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    assert metric(res, "ece").value == pytest.approx(ece, abs=1e-12)


def test_ece_hand_computed_small_case() -> None:
    conf = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, False, True, True])
    # bin (14/15, 1]: acc 0.5, conf 0.95 -> |0.45| * 2/4; bin (8/15, 9/15]: acc 1, conf .55 -> .45 * 2/4
    assert calibration.ece(conf, correct, np.arange(4)[None])[0] == pytest.approx(0.45)


def test_class_acc_matches_recall(result) -> None:
    res, probs, labels = result
    pred = probs.argmax(1)
    per_class = {m.context["class"]: m.value for m in res.metrics if m.metric == "class_acc"}
    for k in range(10):
        assert per_class[str(k)] == pytest.approx((pred[labels == k] == k).mean())


def test_intervals_contain_estimates_and_are_seeded(result) -> None:
    res, _, _ = result
    for name in ("top1_acc", "ece", "brier", "nll", "balanced_acc", "macro_f1"):
        m = metric(res, name)
        assert m.ci is not None and m.ci[0] <= m.value <= m.ci[1], name
        assert m.n == 300
    again = AccuracySuite({}).metrics_from_table(
        res.table, num_classes=10, class_names=tuple("0123456789"), seed=5, resamples=300
    )
    assert [m.ci for m in again] == [m.ci for m in res.metrics]


def test_table_has_required_columns(result) -> None:
    res, probs, labels = result
    frame = res.table.to_pandas()
    assert list(frame["label"]) == list(labels)
    assert (frame["confidence"] == probs.max(1)).all()
    assert frame["condition"].eq("clean").all()


def _run(module: torch.nn.Module) -> list[MetricRecord]:
    task = digits().head(120)
    adapter = TorchModuleAdapter.from_module(module, name="m", input_shape=(1, 8, 8))
    ctx = RunContext(seed=0, batch_size=50, bootstrap_resamples=0)
    return AccuracySuite({}).run(adapter, task, ctx).metrics


def test_calibration_of_a_model_that_returns_probabilities_is_flagged() -> None:
    """A module ending in a softmax hands the suite probabilities as logits: top-1 is right
    (softmax keeps the order), but NLL, ECE and Brier are those of softmax(probabilities), a
    flattened confidence (on digits: ECE 0.05 -> 0.68); they carry `probability_outputs`."""
    logits = _run(linear_digits())
    probs = _run(torch.nn.Sequential(linear_digits(), torch.nn.Softmax(dim=1)))
    by_name = {m.metric: m for m in probs if not m.context.get("class")}
    assert metric_value(logits, "top1_acc") == by_name["top1_acc"].value
    for name in ("nll", "ece", "brier"):
        assert by_name[name].flags == ("probability_outputs",), name
        assert metric_value(logits, name) != by_name[name].value
    for name in ("top1_acc", "top5_acc", "balanced_acc", "macro_f1"):
        assert by_name[name].flags == (), name
    assert all(m.flags == () for m in logits)
    # log-probabilities are logits: not flagged
    log_probs = _run(torch.nn.Sequential(linear_digits(), torch.nn.LogSoftmax(dim=1)))
    assert all(m.flags == () for m in log_probs)


def metric_value(records: list[MetricRecord], name: str) -> float | None:
    (m,) = [m for m in records if m.metric == name and not m.context.get("class")]
    return m.value


class _HalfSoftmax(torch.nn.Module):
    """A half-precision model ending in a softmax (`model.half()`, AMP inference): its
    probability rows sum to one only within the format's rounding (2.4e-4 for float16,
    2.0e-3 for bfloat16 here), and the adapter hands them on as float32."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.inner(x).to(self.dtype), dim=1)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_probabilities_are_flagged(dtype: torch.dtype) -> None:
    """float16 / bfloat16 probabilities are probabilities too: their rows miss a sum of one by
    the format's rounding, more than float32's tolerance, and went unflagged (ECE 0.68 shown
    as a plain number where the model's own is 0.05)."""
    records = _run(_HalfSoftmax(dtype))
    by_name = {m.metric: m for m in records if not m.context.get("class")}
    for name in ("nll", "ece", "brier"):
        assert by_name[name].flags == ("probability_outputs",), name
    # the same model's half-precision logits are not probabilities
    logits = _run(torch.nn.Sequential(linear_digits(), _Cast(dtype)))
    assert all(m.flags == () for m in logits)


class _Cast(torch.nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype)


def test_nll_of_very_confident_mistakes_is_not_capped() -> None:
    """A wrong answer with a logit gap beyond ~745 has a label probability that underflows to 0
    in float64; the NLL was clipped at -log(1e-300) = 690.8 per sample, so logits x1000 of a
    digits model reported 39.1 where cross-entropy is 145.4. Now each sample's NLL is its
    cross-entropy (torch's, from the logits) wherever the probability underflows."""
    task = digits().head(120)
    module = torch.nn.Sequential(linear_digits(), _Scale(1000.0))
    adapter = TorchModuleAdapter.from_module(module, name="m", input_shape=(1, 8, 8))
    ctx = RunContext(seed=0, batch_size=50, bootstrap_resamples=0)
    res = AccuracySuite({}).run(adapter, task, ctx)
    logits = adapter.logits(task.all_inputs()).double()
    labels = torch.tensor(np.asarray(task.labels))
    per_sample = torch.nn.functional.cross_entropy(logits, labels, reduction="none").numpy()
    assert per_sample.max() > 1000  # some mistakes are far beyond the underflow
    frame = res.table.to_pandas()
    np.testing.assert_allclose(frame["nll"].to_numpy(), per_sample, rtol=1e-9, atol=1e-12)
    assert metric(res, "nll").value == pytest.approx(per_sample.mean(), rel=1e-9)


class _Scale(torch.nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class _Constant(torch.nn.Module):
    """Every class scores 0 on every input: every prediction is a tie."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 10) * x.flatten(1)[:, :1]


def test_a_constant_model_is_flagged_for_ties() -> None:
    """A constant model's top-1 is the share of class 0 (argmax gives ties to the lowest
    index): 0.0917 on these 120 digits, shown as a plain number before. Over every tie-break
    it lies in [0, 1]; the note says so and the numbers that rest on correctness are flagged."""
    by_name = {m.metric: m for m in _run(_Constant()) if not m.context.get("class")}
    top1 = by_name["top1_acc"]
    assert top1.note is not None and "120 of 120 samples tie" in top1.note
    assert "lies in [0, 1]" in top1.note
    for name in ("top1_acc", "top5_acc", "balanced_acc", "macro_f1", "ece"):
        assert tie_breaks.FLAG in by_name[name].flags, name
    for name in ("nll", "brier"):  # the same whatever the tie-break
        assert by_name[name].flags == (), name


class _OneTie(torch.nn.Module):
    """linear_digits, except that the first sample's label ties class 9 at the top."""

    def __init__(self, first: torch.Tensor, label: int) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.first = first
        self.label = label

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        hit = (x == self.first).flatten(1).all(1)
        tied = torch.zeros(10)
        tied[self.label] = tied[9] = 50.0
        return torch.where(hit[:, None], tied, out)


def test_one_tie_gets_a_note_and_no_flag() -> None:
    """One tied sample of 120 moves top-1 by 1/120, well inside its interval: a note, no flag."""
    task = digits().head(120)
    first = task.all_inputs()[:1]
    label = int(task.labels[0])
    assert label != 9
    records = _run(_OneTie(first, label))
    top1 = next(m for m in records if m.metric == "top1_acc")
    assert top1.note is not None and "1 of 120 samples tie" in top1.note
    assert all(tie_breaks.FLAG not in m.flags for m in records)


def test_tables_stored_without_the_tie_column_are_read_as_untied() -> None:
    task = digits().head(120)
    adapter = TorchModuleAdapter.from_module(_Constant(), name="m", input_shape=(1, 8, 8))
    ctx = RunContext(seed=0, batch_size=50, bootstrap_resamples=0)
    table = AccuracySuite({}).run(adapter, task, ctx).table
    old = table.to_pandas().drop(columns=[tie_breaks.COLUMN, tie_breaks.TOP5_COLUMN])
    records = AccuracySuite({}).metrics_from_table(
        SampleTable(old),
        num_classes=10,
        class_names=tuple("0123456789"),
        seed=0,
        resamples=0,
    )
    assert all(tie_breaks.FLAG not in m.flags for m in records)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_decided_by_tie_against_every_tie_break(k: int) -> None:
    """Brute force: with 4 classes, break ties by each of the 24 class orders in turn; a sample
    is decided by the tie exactly when its top-k membership differs between some two orders,
    and the accuracy range is the sum of per-sample extremes."""
    rng = np.random.default_rng(k)
    scores = rng.integers(0, 3, size=(400, 4)).astype(np.float64)  # coarse: many ties
    labels = rng.integers(0, 4, size=400)
    members = []
    for order in itertools.permutations(range(4)):
        priority = np.array(order)
        ranked = np.lexsort((np.broadcast_to(priority, scores.shape), -scores), axis=1)
        members.append((ranked[:, :k] == labels[:, None]).any(axis=1))
    stacked = np.stack(members)
    varies = stacked.any(axis=0) & ~stacked.all(axis=0)
    decided = tie_breaks.decided_by_tie(scores, labels, k)
    np.testing.assert_array_equal(decided, varies)
    lowest_index_first = stacked[0]  # the identity order: numpy's argmax rule
    found = tie_breaks.tie_range(lowest_index_first, decided)
    assert found.low == stacked.all(axis=0).mean()
    assert found.high == stacked.any(axis=0).mean()


def test_balanced_accuracy_and_macro_f1_ranges_over_every_per_sample_tie_break() -> None:
    """Brute force against scikit-learn: 8 samples whose label ties one other class, each broken
    either way (256 tie-breaks). Balanced accuracy's range and macro-F1's highest value (every
    tie broken toward the label) are what the notes give."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, size=40)
    predictions = np.where(rng.random(40) < 0.6, labels, rng.integers(0, 4, size=40))
    tied = np.zeros(40, dtype=bool)
    tied[rng.choice(40, size=8, replace=False)] = True
    rivals = (labels + 1 + rng.integers(0, 3, size=40)) % 4  # the other class in each tie
    idx = np.flatnonzero(tied)
    predictions[idx] = np.minimum(labels[idx], rivals[idx])  # argmax: the lowest index wins
    balanced, macro = [], []
    for choice in itertools.product((False, True), repeat=len(idx)):
        p = predictions.copy()
        p[idx] = np.where(choice, labels[idx], rivals[idx])
        balanced.append(balanced_accuracy_score(labels, p))
        macro.append(f1_score(labels, p, average="macro"))
    correct = predictions == labels
    found = tie_breaks.balanced_tie_range(correct, tied, labels, 4)
    assert found.low == pytest.approx(min(balanced), abs=1e-12)
    assert found.high == pytest.approx(max(balanced), abs=1e-12)
    assert tie_breaks.best_macro_f1(labels, predictions, tied, 4) == pytest.approx(
        max(macro), abs=1e-12
    )


def test_a_constant_models_balanced_accuracy_and_macro_f1_notes_say_what_ties_move() -> None:
    """They carry tied_scores like top-1, and now say by how much: balanced accuracy over every
    tie-break lies in [0, 1]; macro-F1 with every tie broken toward the label is 1."""
    by_name = {m.metric: m for m in _run(_Constant()) if not m.context.get("class")}
    balanced = by_name["balanced_acc"].note
    assert balanced is not None and "balanced accuracy lies in [0, 1]" in balanced
    macro = by_name["macro_f1"].note
    assert macro is not None and "broken toward the label, macro-F1 would be 1" in macro


def _sklearn_run(estimator: object, tmp_path: Path, method: str = "auto") -> list[MetricRecord]:
    """`estimator` fitted on digits after the first 300, saved with joblib and read by the
    sklearn adapter; the accuracy suite on the first 300."""
    import joblib

    from harness.adapters.sklearn_model import SklearnAdapter, SklearnConfig

    task = digits()
    x = task.all_inputs().reshape(len(task), -1).numpy()
    y = np.asarray(task.labels)
    estimator.fit(x[300:], y[300:])  # type: ignore[attr-defined]
    joblib.dump(estimator, tmp_path / "model.joblib")
    config = SklearnConfig(path=Path("model.joblib"), allow_pickle=True, method=method)  # type: ignore[arg-type]
    adapter = SklearnAdapter.build(
        name="sk", config=config, device=torch.device("cpu"), base_dir=tmp_path
    )
    ctx = RunContext(seed=0, batch_size=100, bootstrap_resamples=0)
    return AccuracySuite({}).run(adapter, task.head(300), ctx).metrics


def test_calibration_of_decision_margins_is_flagged(tmp_path: Path) -> None:
    """A classifier read through decision_function (LinearSVC: no predict_proba) gives margins,
    not logits: its NLL, ECE and Brier are those of softmax(margins), a probability the model
    never states (here ECE 0.28 beside top-1 0.94; a logistic regression on the same data: 0.12),
    and went out with intervals and no flag. They carry `decision_scores`; accuracy stays
    unflagged. A logistic regression, read through predict_proba, is not flagged."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    svm = {m.metric: m for m in _sklearn_run(LinearSVC(), tmp_path) if not m.context.get("class")}
    for name in ("nll", "ece", "brier"):
        assert svm[name].flags == ("decision_scores",), name
    for name in ("top1_acc", "top5_acc", "balanced_acc", "macro_f1"):
        assert svm[name].flags == (), name
    assert svm["top1_acc"].value is not None and svm["top1_acc"].value > 0.8
    logistic = _sklearn_run(LogisticRegression(max_iter=2000), tmp_path)
    assert all(m.flags == () for m in logistic)
    # the choice is the adapter's reading, not the estimator: the same logistic model read
    # through its decision_function is flagged (its softmax is not asked of the model)
    margins = _sklearn_run(LogisticRegression(max_iter=2000), tmp_path, "decision_function")
    assert {m.flags for m in margins if m.metric in ("nll", "ece", "brier")} == {
        ("decision_scores",)
    }


def test_a_table_stored_before_the_decision_column_is_not_flagged(result) -> None:
    res, _, _ = result
    frame = res.table.to_pandas()
    assert not frame["decision_score"].any()
    old = SampleTable.build(
        {c: frame[c].to_numpy() for c in frame.columns if c != "decision_score"}
    )
    records = AccuracySuite({}).metrics_from_table(
        old, num_classes=10, class_names=tuple("0123456789"), seed=5, resamples=0
    )
    assert all("decision_scores" not in m.flags for m in records)


def test_calibration_flags_need_every_row_and_read_nulls_as_false() -> None:
    """Both calibration columns are read alike: a null (a row another condition left empty) is
    not True, so NaN in `decision_score` does not flag the rows as margins."""
    import pandas as pd

    from harness.core.calibration_flags import calibration_flags

    assert calibration_flags(pd.DataFrame({"decision_score": [True, True]})) == ("decision_scores",)
    assert calibration_flags(pd.DataFrame({"decision_score": [True, np.nan]})) == ()
    assert calibration_flags(pd.DataFrame({"probability_output": [True, None]})) == ()
    assert calibration_flags(pd.DataFrame({"label": [0]})) == ()


def test_top5_ties_go_to_the_lowest_class_index_with_many_classes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The note says ties go to the lowest class index; numpy's default argsort keeps that only
    up to 16 classes (insertion sort). With 20 classes this row put class 10 in the top five
    before class 4 (both score 0.8): a label of 4 counted wrong where the rule says right."""
    from types import SimpleNamespace

    import harness.suites.accuracy as accuracy

    row = [0.6, 0.3, 0.0, 0.0, 0.8, 0.9, 0.6, 0.7, 0.5, 0.9]
    row += [0.8, 0.0, 0.9, 0.0, 0.7, 0.2, 0.9, 0.5, 0.3, 0.4]
    logits = torch.tensor([row] * 4, dtype=torch.float64)
    labels = np.array([4, 4, 5, 10])
    out = {
        "sample_id": np.array([f"s{i}" for i in range(4)], dtype=object),
        "label": labels,
        "probs": torch.softmax(logits, 1).numpy(),
        "label_log_prob": torch.log_softmax(logits, 1).numpy()[np.arange(4), labels],
        "probability_output": np.zeros(4, dtype=bool),
        "decision_score": np.zeros(4, dtype=bool),
    }
    monkeypatch.setattr(accuracy, "predict", lambda *args, **kwargs: out)
    task = SimpleNamespace(num_classes=20, class_names=tuple(map(str, range(20))), name="t20")
    ctx = RunContext(seed=0, batch_size=4, bootstrap_resamples=50)
    res = AccuracySuite({}).run(None, task, ctx)  # type: ignore[arg-type]
    frame = res.table.to_pandas()
    assert frame["top5_correct"].tolist() == [True, True, True, False]
    assert frame[tie_breaks.TOP5_COLUMN].tolist() == [True, True, False, True]


def test_nll_says_when_a_label_probability_of_zero_was_floored() -> None:
    # a probability of exactly 0 for the label is raised to 1e-12 before the logarithm: that
    # sample counts NLL 27.63 where the model's own NLL is infinite; the record must say so
    import harness

    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.5, 0.5, 0.0], [0.2, 0.2, 0.6]])
    x = np.arange(4, dtype=np.float32)[:, None]
    model = harness.callable_model(
        lambda v: probs[v[:, 0].astype(int)], outputs="probabilities", name="zero"
    )
    got = harness.evaluate(
        model, data=(x, np.array([0, 1, 2, 2])), device="cpu", bootstrap_resamples=0, name="toy"
    )
    nll = got.metric("nll")
    assert nll.value == pytest.approx((-np.log([0.7, 0.8, 1e-12, 0.6])).mean(), rel=1e-6)
    assert nll.note is not None and "1 sample(s)" in nll.note and "infinite" in nll.note
    fine = harness.evaluate(
        model,
        data=(x[:2], np.array([0, 1])),
        device="cpu",
        bootstrap_resamples=0,
        name="toy2",
        num_classes=3,
    )
    assert "infinite" not in (fine.metric("nll").note or "")


def test_a_declared_probability_on_a_bin_edge_stays_in_its_bin() -> None:
    # 0.6 = 9/15 belongs to bin (8/15, 9/15]; read back through float32 log-probabilities it is
    # 0.600000004 and fell into (9/15, 10/15] with the 0.65s: ECE 0.125 instead of 0.225
    import harness

    probs = np.array([[0.6, 0.4], [0.6, 0.4], [0.65, 0.35], [0.65, 0.35]])
    x = np.arange(4, dtype=np.float32)[:, None]
    model = harness.callable_model(
        lambda v: probs[v[:, 0].astype(int)], outputs="probabilities", name="edge"
    )
    got = harness.evaluate(
        model, data=(x, np.array([0, 1, 0, 0])), device="cpu", bootstrap_resamples=0, name="toy"
    )
    by_hand = (abs(0.5 - 0.6) * 2 + abs(1.0 - 0.65) * 2) / 4
    assert got.metric("ece").value == pytest.approx(by_hand, abs=1e-6)
    assert calibration.confidence_bins(np.array([0.6 + 4e-9, 0.6 + 1e-3, 1.0, 0.0])).tolist() == [
        8,
        9,
        14,
        0,
    ]
