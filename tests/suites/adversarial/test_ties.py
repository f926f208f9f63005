"""Argmax ties in the adversarial suite: a constant model's clean and robust accuracy were the
share of class 0 (the tie-break's class), plain numbers. A sample whose clean label ties another
class at the top is now never robust, and clean accuracy notes its range over the tie-breaks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.data import builtin as builtin_tasks
from harness.run.api import evaluate
from tests.suites.adversarial import models as M

FAST = {"preset": "fast", "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}


@pytest.fixture(scope="module")
def digits():  # noqa: ANN201
    return builtin_tasks.digits().head(60)


def run(model: torch.nn.Module, task):  # noqa: ANN001, ANN201
    out = evaluate(
        model, task=task, suites={"adversarial": FAST}, device="cpu", bootstrap_resamples=0
    )
    return out.results["adversarial"]


class _Constant(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), 10) * self.w


class _PartlyTied(torch.nn.Module):
    """The control model, except on images whose top-left pixel is lit: every class ties."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = M.control_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        lit = x.flatten(1)[:, 2:3] > 0.3
        return torch.where(lit, torch.zeros_like(out), out)


def _labels(task) -> np.ndarray:  # noqa: ANN001
    return np.concatenate([b.labels.numpy() for b in task.batches(64)])


def test_a_constant_model_is_never_robust_and_its_clean_accuracy_is_noted(digits) -> None:  # noqa: ANN001
    res = run(_Constant(), digits)
    labels = _labels(digits)
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    assert clean.value == pytest.approx(float((labels == 0).mean()))  # the tie-break's class
    assert "tied_scores" in clean.flags
    assert "60 of 60 samples tie their label's score" in clean.note
    assert "accuracy lies in [0, 1]" in clean.note
    assert "robust accuracy counts these samples as not robust" in clean.note
    robust = [r for r in res.metrics if r.metric == "robust_acc"]
    assert robust and all(r.value == 0 for r in robust)
    tied_right = int((labels == 0).sum())
    assert all(f"{tied_right} of these 60 samples count as not robust" in r.note for r in robust)
    frame = res.table.frame
    assert not frame.loc[frame.condition != "clean", "correct"].any()
    assert "zero_gradients" in res.artifacts["flags"]  # the checks still see the model


def test_a_partly_tied_model_counts_only_its_tied_samples_out(digits) -> None:  # noqa: ANN001
    model = _PartlyTied()
    res = run(model, digits)
    x = torch.cat([b.inputs for b in digits.batches(64)])
    labels = _labels(digits)
    with torch.no_grad():
        tied = (x.flatten(1)[:, 2] > 0.3).numpy()
        right = model(x).argmax(1).numpy() == labels
    assert 0 < tied.sum() < len(tied)
    clean = next(r for r in res.metrics if r.metric == "clean_acc")
    low = (right & ~tied).mean()
    high = (right | tied).mean()
    assert f"{int(tied.sum())} of 60 samples tie" in clean.note
    assert f"lies in [{low:.4g}, {high:.4g}]" in clean.note
    frame = res.table.frame
    ids = np.array([s for b in digits.batches(64) for s in b.sample_ids])
    tied_ids = set(ids[tied])
    attacked = frame[frame.condition != "clean"]
    assert not attacked.loc[attacked.sample_id.isin(tied_ids), "correct"].any()
    headline = next(r for r in res.metrics if r.metric == "robust_acc" and r.headline)
    assert headline.value <= low


def test_an_untied_model_gets_no_tie_note(digits) -> None:  # noqa: ANN001
    res = run(M.control_digits(), digits)
    for record in res.metrics:
        assert "tie" not in (record.note or "")
        assert "tied_scores" not in record.flags
