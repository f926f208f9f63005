"""A spec's `adapter: callable` that leaves `outputs` out is read as returning logits: rows that
are probability vectors are refused, as they are for a function passed to harness.evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.core.errors import ModelOutputError
from tests.adapters.builders import build

PROBS = {"callable": "tests.adapters.callables:tabular_probabilities", "input_shape": [10]}


def test_undeclared_probabilities_are_refused_naming_the_key(tmp_path: Path) -> None:
    """softmax(probabilities) keeps the argmax but squeezes every row towards uniform: ECE, NLL
    and Brier were computed on it without a word."""
    adapter = build("callable", PROBS, tmp_path, name="rule")
    with pytest.raises(ModelOutputError, match=r"^model 'rule': .*probability vectors") as err:
        adapter.logits(torch.rand(4, 10))
    assert "outputs: probabilities" in str(err.value)
    assert "harness.evaluate" not in str(err.value)  # a spec's key, not the Python API's


@pytest.mark.parametrize("outputs", ["probabilities", "logits"])
def test_declared_outputs_are_taken_as_said(tmp_path: Path, outputs: str) -> None:
    adapter = build("callable", {**PROBS, "outputs": outputs}, tmp_path, name="rule")
    assert adapter.logits(torch.rand(4, 10)).shape == (4, 2)


def test_undeclared_zero_one_rule_scores_stay_logits(tmp_path: Path) -> None:
    """A rule scoring 0 or 1 per class (one-hot rows) was read as logits by a spec entry without
    outputs before probability rows were refused; it still is."""
    fields = {"callable": "tests.adapters.callables:input_kind", "input_shape": [3]}
    adapter = build("callable", fields, tmp_path, name="rule")
    assert adapter.logits(torch.zeros(4, 3)).argmax(dim=1).tolist() == [0] * 4
