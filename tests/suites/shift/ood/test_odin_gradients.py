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
