"""A model ending in a softmax hands the shift suite probabilities as logits: its OOD scores that
are functions of those outputs (msp, energy, max_logit, neg_entropy, gen, odin) are distorted and
carry `probability_outputs`, on every set and tag mean; feature detectors and every accuracy are
not (and equal the logit model's); the flag reaches the board as UNRELIABLE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.analysis.ood_board import ood_board
from harness.cli.main import main
from harness.core.metric_record import MetricRecord
from harness.core.suite import RunContext, SuiteResult
from harness.data.builtin import digits
from harness.store.run_store import load_jobs
from harness.suites.shift import ShiftSuite

FLAG = "probability_outputs"
OUTPUT_SCORES = {"msp", "energy", "max_logit", "neg_entropy", "gen", "odin"}
FEATURE_SCORES = {"mahalanobis", "rmd", "knn", "she"}
HEAD_SCORES = {"vim", "react", "ash", "dice"}
CONFIG = {
    "corruptions": ["contrast"],
    "severities": [1, 3],
    "max_samples": 60,
    "shifted_tasks": ["digits-shifted"],
    "ood_sets": [
        {"generated": "uniform_noise", "n": 40},
        {"task": "digits-shifted", "tag": "near"},
    ],
    "ood": {"detectors": "all", "fit_samples": 100},
    "gallery_samples": 0,
}


def net(seed: int = 0, head: str = "logits") -> torch.nn.Module:
    """A small digits network: features of 32 units, a linear classifier, and optionally a final
    softmax (`head: probabilities`) or log-softmax (`head: log_probabilities`)."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[torch.nn.Module] = [
        torch.nn.Flatten(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    ]
    with torch.no_grad():
        for layer in layers:
            for p in layer.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    if head == "probabilities":
        layers.append(torch.nn.Softmax(dim=1))
    elif head == "log_probabilities":
        layers.append(torch.nn.LogSoftmax(dim=1))
    return torch.nn.Sequential(*layers)


def _run(head: str) -> SuiteResult:
    adapter = TorchModuleAdapter.from_module(net(head=head), name=head, input_shape=(1, 8, 8))
    return ShiftSuite(CONFIG).run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=0))


@pytest.fixture(scope="module")
def logits() -> SuiteResult:
    return _run("logits")


@pytest.fixture(scope="module")
def probabilities() -> SuiteResult:
    return _run("probabilities")


def _key(m: MetricRecord) -> tuple[str, str, str]:
    return (m.metric, m.condition, str(m.context.get("score", "")))


def test_output_scores_of_a_model_that_returns_probabilities_are_flagged(
    logits: SuiteResult, probabilities: SuiteResult
) -> None:
    base = {_key(m): m for m in logits.metrics}
    ood = [m for m in probabilities.metrics if m.metric.startswith("ood_")]
    conditions = {m.condition for m in ood}
    assert {
        "ood=uniform_noise",
        "ood=digits-shifted",
        "ood_mean=near",
        "ood_mean=far",
    } <= conditions
    scores = {m.context["score"] for m in ood}
    assert scores == OUTPUT_SCORES | FEATURE_SCORES, scores
    for m in ood:
        expected = (FLAG,) if m.context["score"] in OUTPUT_SCORES else ()
        assert m.flags == expected, _key(m)
        if m.context["score"] in FEATURE_SCORES:
            # the features are the same: so are these detectors' numbers
            assert m.value == base[_key(m)].value, _key(m)
    # the flagged numbers are those of softmax(probabilities): not the logit model's
    for score in OUTPUT_SCORES:
        key = ("ood_auroc", "ood=uniform_noise", score)
        assert probabilities_value(probabilities, key) != base[key].value, score
    # the detectors that rebuild logits through the last layer are left out (the softmax runs
    # after it), so none of their numbers is a softmax of probabilities
    assert set(probabilities.artifacts["ood"]["absent"]) == HEAD_SCORES
    # accuracy-type numbers (argmax) are unaffected and unflagged
    accuracy = [m for m in probabilities.metrics if not m.metric.startswith("ood_")]
    assert {m.metric for m in accuracy} >= {
        "clean_acc", "corruption_acc", "corruption_error", "mean_corruption_acc",
        "relative_corruption_drop", "shift_acc", "shift_acc_gap",
    }  # fmt: skip
    for m in accuracy:
        assert m.flags == (), _key(m)
        assert m.value == base[_key(m)].value, _key(m)
    (check,) = probabilities.artifacts["checks"]
    assert check["flag"] == FLAG and "probabilities" in check["description"]
    assert any(FLAG in n for n in probabilities.notes)


def test_the_clean_rows_record_whether_each_output_was_a_probability_vector(
    logits: SuiteResult, probabilities: SuiteResult
) -> None:
    for result, expected in ((probabilities, True), (logits, False)):
        frame = result.table.frame
        clean = frame[frame.condition == "clean"]
        assert len(clean) == 60
        assert clean["probability_output"].to_numpy(bool).tolist() == [expected] * 60


def test_a_model_that_returns_logits_or_log_probabilities_is_not_flagged(
    logits: SuiteResult,
) -> None:
    for result in (logits, _run("log_probabilities")):
        assert all(m.flags == () for m in result.metrics)
        assert "checks" not in result.artifacts
        assert not any(FLAG in n for n in result.notes)
    assert not logits.artifacts["ood"]["absent"]


def probabilities_value(result: SuiteResult, key: tuple[str, str, str]) -> float | None:
    (m,) = [m for m in result.metrics if _key(m) == key]
    return m.value


SPEC = """
name: shift-probabilities
seed: 0
device: cpu
bootstrap_resamples: 0
tasks: [digits]
models:
  - {name: honest, adapter: torch, factory: "tests.suites.shift.ood.test_probability_outputs:net", input_shape: [1, 8, 8]}
  - {name: softmaxed, adapter: torch, factory: "tests.suites.shift.ood.test_probability_outputs:net", factory_args: {head: probabilities}, input_shape: [1, 8, 8]}
suites:
  shift:
    corruptions: [contrast]
    severities: [1]
    max_samples: 50
    gallery_samples: 0
    ood_sets: [{generated: uniform_noise, n: 30}]
    ood: {detectors: [energy, msp, knn], fit_samples: 60}
"""


def test_the_board_marks_the_flagged_detection_numbers_unreliable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--width", "0"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "out"), "--width", "0"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    softmaxed = [line for line in lines if "softmaxed" in line]
    honest = [line for line in lines if "honest" in line]
    assert softmaxed and honest, out
    # the headline detector's (energy) AUROCs, on the set and the far mean, are flagged; the
    # mean corruption accuracy is not
    assert softmaxed[0].count("UNRELIABLE(probability_outputs)") == 2, out
    assert softmaxed[0].count("UNRELIABLE") == 2, out
    assert "UNRELIABLE" not in honest[0], out
    # the stored table keeps the column through parquet
    tables = list((tmp_path / "out").rglob("*.parquet"))
    frames = [pd.read_parquet(t) for t in tables]
    shift = [f for f in frames if "probability_output" in f.columns]
    assert len(shift) == 2, [t.name for t in tables]
    flagged = sorted(bool(f[f.condition == "clean"]["probability_output"].all()) for f in shift)
    assert flagged == [False, True]
    assert np.all([f[f.condition != "clean"]["probability_output"].isna().all() for f in shift])
    # the report's paired detection tests leave the flagged scores out: the honest model's
    # detectors are compared, no pair touches the softmaxed model's flagged energy scores
    board = ood_board("digits", load_jobs(tmp_path / "out"), {"shift"})
    assert board is not None
    pairs = {(c.kind, c.a, c.b, c.model) for c in board.comparisons}
    assert ("detectors", "energy", "msp", "honest") in pairs, pairs
    assert ("detectors", "energy", "knn", "honest") in pairs, pairs
    assert not [c for c in board.comparisons if "softmaxed" in (c.a, c.b, c.model)], pairs
