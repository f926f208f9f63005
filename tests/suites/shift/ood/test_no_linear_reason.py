"""A torch module without an nn.Linear layer (a 1x1-convolution head) gets the logit detectors
only, and the reason names the model once: it read "model 'conv': model 'conv': the network
has no nn.Linear layer ..." on the board."""

from __future__ import annotations

import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift import ShiftSuite


class _ConvHead(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.head = torch.nn.Conv2d(8, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(x))).mean(dim=(2, 3))


def test_no_linear_layer_reason_names_the_model_once() -> None:
    from harness.adapters.torch_module import TorchModuleAdapter

    adapter = TorchModuleAdapter.from_module(_ConvHead(), name="conv", input_shape=(1, 8, 8))
    config = {
        "corruptions": [],
        "max_samples": 30,
        "ood_sets": [{"generated": "uniform_noise", "n": 10}],
        "ood": {"fit_samples": 20, "detectors": ["energy", "knn"]},
    }
    result = ShiftSuite(config).run(adapter, digits(), RunContext(seed=0))
    reason = result.artifacts["ood"]["absent"]["knn"]
    assert "no nn.Linear layer" in reason
    assert reason.count("model 'conv'") == 1, reason


def test_a_headline_detector_that_did_not_run_falls_back_to_one_that_did() -> None:
    """`detectors: [knn, msp], headline: knn` on a model without features: knn is left out, the
    headline fell back to energy, which was not configured, so no record was headline and the
    board showed the model with no column at all, though msp had values. It now falls back to
    a detector that ran, and a board note says so."""
    from harness.adapters.torch_module import TorchModuleAdapter

    adapter = TorchModuleAdapter.from_module(_ConvHead(), name="conv", input_shape=(1, 8, 8))
    config = {
        "corruptions": [],
        "max_samples": 30,
        "ood_sets": [{"generated": "uniform_noise", "n": 10}],
        "ood": {"fit_samples": 20, "detectors": ["knn", "msp"], "headline": "knn"},
    }
    result = ShiftSuite(config).run(adapter, digits(), RunContext(seed=0))
    headline = {r.context["score"] for r in result.metrics if r.headline}
    assert headline == {"msp"}
    assert result.artifacts["ood"]["headline"] == "msp"
    said = [n for n in result.notes if "headline detector knn did not run" in n]
    assert len(said) == 1 and said[0].startswith("caveat: ") and "shows msp" in said[0], said
