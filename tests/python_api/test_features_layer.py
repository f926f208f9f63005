"""`harness.evaluate(module, ..., features_layer=...)` names the layer whose input is the
penultimate features of an in-memory module, as a spec's `features_layer` key does. An MLP whose
last registered nn.Linear is a head its forward never calls got the OOD feature detectors left
out with "set features_layer to the module that reads them", which evaluate() had no way to set.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import harness
from harness.core.errors import HarnessError

SHIFT = {
    "shift": {
        "corruptions": [],
        "max_samples": 40,
        "ood_sets": [{"generated": "uniform_noise", "n": 20}],
        "ood": {"fit_samples": 60, "detectors": ["msp", "knn"], "headline": "msp"},
    }
}


class _WithSpareHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
        self.fc = nn.Linear(16, 10)
        self.spare = nn.Linear(16, 3)  # registered last, never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))


def _ood(result: harness.EvaluationResult) -> dict:  # type: ignore[name-defined]
    return result.results["shift"].artifacts["ood"]


def test_a_named_layer_gives_the_feature_detectors_their_features() -> None:
    net = _WithSpareHead()
    plain = harness.evaluate(net, task="digits", suites=SHIFT, bootstrap_resamples=0)
    assert "knn" in _ood(plain)["absent"]  # the default layer is the spare head
    named = harness.evaluate(
        net, task="digits", suites=SHIFT, bootstrap_resamples=0, features_layer="fc"
    )
    assert "knn" in _ood(named)["detectors"] and _ood(named)["fit"]["features"] == 16


def test_features_layer_goes_with_a_plain_module_only() -> None:
    with pytest.raises(HarnessError, match="features_layer"):
        harness.evaluate(lambda x: x, task="digits", features_layer="fc")
    with pytest.raises(HarnessError, match="features_layer 'nope' is not a module"):
        harness.evaluate(_WithSpareHead(), task="digits", suites=SHIFT, features_layer="nope")


@pytest.mark.parametrize("layer", [3, ["fc"]])
def test_a_features_layer_that_is_not_text_is_named(layer: object) -> None:
    """`features_layer=3` raised "TypeError: 'int' object is not iterable" from difflib, and a
    list was quoted as a layer name; the argument is now refused by name, as `name` is."""
    with pytest.raises(HarnessError, match=r"^features_layer: expected a string, got "):
        harness.evaluate(_WithSpareHead(), task="digits", features_layer=layer)
