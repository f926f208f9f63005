"""A model whose outputs depend on the other inputs of its batch (BatchNorm without running
statistics): the shift suite's numbers moved with the batch size (clean 0.70 and mean
corruption accuracy 0.722 at batch size 256, 0.40 and 0.418 at 7, on 60 images) and nothing
said so. Probed as the adversarial suite does: every record is flagged
`batch_dependent_forward`, with a note and a `checks` artifact entry."""

from __future__ import annotations

import torch

from harness.run.api import evaluate


class Net(torch.nn.Module):
    def __init__(self, batch_stats: bool) -> None:
        super().__init__()
        self.norm = torch.nn.BatchNorm2d(3, affine=False, track_running_stats=not batch_stats)
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(x).mean(dim=(2, 3)))


def _shift(batch_stats: bool):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(24, 3, 8, 8, generator=gen)
    y = torch.arange(24) % 2
    torch.manual_seed(0)
    out = evaluate(
        Net(batch_stats),
        data=(x, y),
        name="small",
        suites={"shift": {"corruptions": ["contrast"], "severities": [1]}},
        device="cpu",
        bootstrap_resamples=0,
    )
    return out.results["shift"]


def test_a_batch_dependent_model_is_flagged_in_the_shift_suite() -> None:
    res = _shift(batch_stats=True)
    assert res.metrics and all("batch_dependent_forward" in r.flags for r in res.metrics)
    assert any(
        n.startswith("shift numbers UNRELIABLE (batch_dependent_forward)") for n in res.notes
    )
    assert [c["flag"] for c in res.artifacts["checks"]] == ["batch_dependent_forward"]
    plain = _shift(batch_stats=False)  # running statistics in eval mode: independent rows
    assert not any("batch_dependent_forward" in r.flags for r in plain.metrics)
    assert "checks" not in plain.artifacts
