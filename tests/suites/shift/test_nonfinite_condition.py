"""A model that returns NaN only on corrupted inputs failed the shift job with the line the
clean inputs would give ("returned NaN or inf logits for 20 sample(s) of task 'n'"), which
reads as a fault on the task's own inputs. The line names the condition."""

from __future__ import annotations

import pytest
import torch

from harness.core.errors import ModelOutputError
from harness.run.api import evaluate


class NanWhenBright(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc(x.mean(dim=(2, 3)))
        bright = x.amax(dim=(1, 2, 3))[:, None] > 0.55
        return torch.where(bright, torch.full_like(out, float("nan")), out)


def test_nan_logits_under_a_corruption_name_the_condition() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(20, 3, 8, 8, generator=gen) * 0.5  # clean inputs: finite logits
    y = torch.arange(20) % 2
    with pytest.raises(
        ModelOutputError,
        match=r"returned NaN or inf logits .*\(under condition corruption=gaussian_noise/severity=5\)$",
    ):
        evaluate(
            NanWhenBright(),
            data=(x, y),
            name="n",
            suites={"shift": {"corruptions": ["gaussian_noise"], "severities": [5]}},
            device="cpu",
            bootstrap_resamples=0,
        )
