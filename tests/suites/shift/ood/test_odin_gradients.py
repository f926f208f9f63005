"""ODIN on a model whose outputs do not depend on its input: the gradient is zero, so no input
moves and the score is the MSP at T of the outputs, not a failed job.

A model that ignores its input (a constant head, a broken pipeline) failed the whole shift job
with torch's bare "element 0 of tensors does not require grad and does not have a grad_fn"
(frozen weights, as the adapters hand them out) or "One of the differentiated Tensors appears to
not have been used in the graph" (trainable weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.suites.shift.ood.odin import odin_inputs, odin_scores


class Ignores(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.ones(x.shape[0], 4, dtype=x.dtype))


@pytest.mark.parametrize("frozen", [True, False])
def test_a_model_that_ignores_its_input_moves_nothing(frozen: bool) -> None:
    torch.manual_seed(0)
    net = Ignores().requires_grad_(not frozen)
    x = torch.rand(5, 1, 8, 8)
    moved = odin_inputs(net, x, temperature=1000.0, epsilon=0.0014, bounds=(0.0, 1.0))
    assert torch.equal(moved, x)
    scores = odin_scores(net, x, temperature=1000.0, epsilon=0.0014, bounds=(0.0, 1.0))
    with torch.no_grad():
        expected = torch.softmax(net(x).double() / 1000.0, dim=1).max(dim=1).values.numpy()
    np.testing.assert_allclose(scores, expected, rtol=0, atol=0)


class _Steered(torch.nn.Module):
    """A digits classifier whose forward pass gives its input a gradient (`how` "grad"), none
    (`detach`: torch's autograd never sees the input) or a zero one everywhere (`round`)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.fc = torch.nn.Linear(64, 10)
        with torch.no_grad():
            self.fc.weight.copy_(torch.randn(10, 64, generator=gen))
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "detach":
            x = x.detach()
        elif self.how == "round":
            x = (x * 4).round() / 4
        return self.fc(x.flatten(1))


def _odin_job(how: str, epsilon: float = 0.0014):  # noqa: ANN202
    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.core.suite import RunContext
    from harness.data.builtin import digits
    from harness.suites.shift import ShiftSuite

    adapter = TorchModuleAdapter.from_module(_Steered(how), name="net", input_shape=(1, 8, 8))
    config = {
        "corruptions": [],
        "max_samples": 60,
        "ood_sets": [{"generated": "uniform_noise", "n": 30}],
        "ood": {"detectors": ["msp", "odin"], "headline": "msp", "odin_epsilon": epsilon},
    }
    return ShiftSuite(config).run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=20))


@pytest.mark.parametrize("how", ["detach", "round"])
def test_odin_is_left_out_where_no_test_input_has_a_gradient(how: str) -> None:
    """A model whose outputs depend on its input through no gradient (detached, rounded, or
    computed outside autograd) moved no input: its 'odin' records were the MSP at T = 1000
    under ODIN's name, with no note (/tmp/p89/t5.py: AUROC 0.7758 on noise, where ODIN of the
    same model without the detach gave 0.7710)."""
    result = _odin_job(how)
    scored = {r.context.get("score") for r in result.metrics if r.metric == "ood_auroc"}
    assert scored == {"msp"}
    reason = result.artifacts["ood"]["absent"]["odin"]
    assert "no gradient" in reason and "'net'" in reason and "60 test inputs" in reason
    assert any(n.startswith("OOD detector odin not run: ") for n in result.notes)
    assert "score_odin" not in result.table.to_pandas().columns


@pytest.mark.parametrize("epsilon", [0.0014, 0.0])
def test_odin_runs_on_a_model_whose_input_has_a_gradient(epsilon: float) -> None:
    """Epsilon 0 moves nothing by choice (temperature scaling alone): still ODIN as asked."""
    result = _odin_job("grad", epsilon)
    scored = {r.context.get("score") for r in result.metrics if r.metric == "ood_auroc"}
    assert scored == {"msp", "odin"}
    assert "odin" not in result.artifacts["ood"]["absent"]
