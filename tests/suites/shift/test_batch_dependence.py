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


class _Scaled(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, scale: float) -> None:
        super().__init__()
        self.net, self.scale = net, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.scale  # type: ignore[no-any-return]


def test_small_logits_are_probed_as_their_unit_copy() -> None:
    """The shift probe kept 1e-4 x each row's largest logit clamped to at least 1 after the
    adversarial probe and the jobs' caveat moved to the logits' own unit: the same batch-
    statistics net x1e-6 (the same decisions) was published unflagged by the shift suite alone."""
    from types import SimpleNamespace

    from harness.suites.shift import batch_dependence

    def wrap(net: torch.nn.Module, device: str) -> SimpleNamespace:
        return SimpleNamespace(device=torch.device(device), logits=net)

    torch.manual_seed(0)
    net = Net(batch_stats=True)
    x = torch.rand(24, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    x[12:] *= 3  # the second half moves the batch statistics
    for scale in (1.0, 1e-6):
        adapter = wrap(_Scaled(net, scale), device="cpu")
        assert batch_dependence.dependent_rows(adapter, x) == (12, 12), scale  # type: ignore[arg-type]
        plain = wrap(_Scaled(Net(batch_stats=False).eval(), scale), device="cpu")
        assert batch_dependence.dependent_rows(plain, x) == (0, 12), scale  # type: ignore[arg-type]
