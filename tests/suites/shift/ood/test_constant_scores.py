"""A detector that gives every sample the same score up to rounding ranks nothing: its OOD
numbers have no value, with a note, instead of an AUROC drawn from float round-off.

The case that matters: a model that returns log-probabilities (a final log_softmax, scikit-learn's
`predict_proba` and a callable's or ONNX graph's probabilities, which the adapters hand on as
log-probabilities) has energy logsumexp(log p) = log(1) = 0 for every input. A logistic
regression on breast cancer got energy AUROC 0.529 (unflagged) through the sklearn adapter and
0.436 through a callable computing the same probabilities: both were the order of 1e-8 noise."""

from __future__ import annotations

import numpy as np
import pytest

from harness.core.suite import RunContext, SuiteResult
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics, tag_means
from tests.suites.shift.ood.test_probability_outputs import _run


def test_scores_equal_up_to_rounding_give_no_value() -> None:
    gen = np.random.default_rng(0)
    clean = {"sample_id": np.arange(50).astype(str), "energy": gen.normal(0, 3e-8, 50)}
    noise = {"sample_id": np.arange(40).astype(str), "energy": gen.normal(1e-8, 3e-8, 40)}
    scored = ScoredSet("uniform_noise", "far", noise)
    records = set_metrics(scored, clean, ["energy"], RunContext(seed=0), "energy")
    assert {r.metric for r in records} == {
        "ood_auroc",
        "ood_aupr",
        "ood_aupr_out",
        "ood_fpr_at_95_tpr",
    }
    for r in records:
        assert r.value is None and r.ci is None
        assert r.note is not None and "the same score" in r.note, r.note
        assert "log-probabilities" in r.note  # energy near 0 everywhere: says the likely cause
    means = tag_means([scored], clean, ["energy"], records, "energy")
    assert means and all(m.value is None for m in means)


def test_scores_that_vary_keep_their_value() -> None:
    gen = np.random.default_rng(1)
    clean = {"sample_id": np.arange(50).astype(str), "energy": gen.normal(5, 1, 50)}
    noise = {"sample_id": np.arange(40).astype(str), "energy": gen.normal(4, 1, 40)}
    records = set_metrics(
        ScoredSet("uniform_noise", "far", noise), clean, ["energy"], RunContext(seed=0), "energy"
    )
    auroc = next(r for r in records if r.metric == "ood_auroc")
    assert auroc.value is not None and auroc.value > 0.5 and auroc.note is None


@pytest.fixture(scope="module")
def log_probabilities() -> SuiteResult:
    return _run("log_probabilities")


def test_energy_of_a_log_softmax_model_has_no_value(log_probabilities: SuiteResult) -> None:
    logits = _run("logits")
    energy = [
        m
        for m in log_probabilities.metrics
        if m.metric.startswith("ood_") and m.context.get("score") == "energy"
    ]
    assert energy and all(m.value is None for m in energy)
    # MSP of log-probabilities is the network's own MSP: same numbers as the logit model's
    for result in (log_probabilities, logits):
        assert any(
            m.metric == "ood_auroc" and m.context.get("score") == "msp" and m.value is not None
            for m in result.metrics
        )
    msp = {
        (m.metric, m.condition): m.value
        for m in log_probabilities.metrics
        if m.metric.startswith("ood_") and m.context.get("score") == "msp"
    }
    msp_logits = {
        (m.metric, m.condition): m.value
        for m in logits.metrics
        if m.metric.startswith("ood_") and m.context.get("score") == "msp"
    }
    assert msp.keys() == msp_logits.keys()
    for key, value in msp.items():
        assert value == pytest.approx(msp_logits[key], abs=1e-6), key
    # the logit model's energy is a real score
    assert all(
        m.value is not None
        for m in logits.metrics
        if m.metric == "ood_auroc" and m.context.get("score") == "energy"
    )
