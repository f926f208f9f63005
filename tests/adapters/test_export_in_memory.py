"""A `torch.export` program held in memory goes to `harness.evaluate` as it is (an
`ExportedProgram`, which is not callable: "Unable to call ExportedProgram directly") or as its
`.module()`; one exported without dynamic shapes takes only its example's batch size (its guard
failed every batch of another size: "Guard failed: input.size()[0] == 4") and is fed in chunks
of that size, as the `torchscript` adapter feeds such a `.pt2` file."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import harness
from harness.adapters.torch_module import TorchModuleAdapter


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)).eval()


def _program(net: nn.Module, batch: int) -> torch.export.ExportedProgram:
    return torch.export.export(net, (torch.rand(batch, 1, 8, 8),))


@pytest.mark.parametrize("given", ["program", "module"])
def test_evaluate_takes_a_program_exported_at_one_batch_size(given: str) -> None:
    net = _net()
    program = _program(net, 4)
    model = program if given == "program" else program.module()
    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 10
    result = harness.evaluate(model, data=(x, y), num_classes=10, device="cpu")
    expected = (net(x).argmax(1) == y).float().mean().item()
    assert result.metric("top1_acc").value == pytest.approx(expected)


def test_the_chunks_keep_outputs_and_gradients_of_every_row() -> None:
    net = _net()
    adapter = TorchModuleAdapter.from_module(_program(net, 3).module(), name="m")
    assert adapter.describe()["batch"] == 3
    x = torch.rand(7, 1, 8, 8, requires_grad=True)
    torch.testing.assert_close(adapter.logits(x), net(x).detach(), atol=1e-6, rtol=1e-6)
    adapter.module()(x).sum().backward()
    assert x.grad is not None and bool((x.grad.flatten(1).abs().sum(1) > 0).all())


def test_an_empty_batch_gives_no_rows_of_the_programs_width() -> None:
    """`torch.cat([])` raised on a batch of no inputs (a suite's call after every sample was
    already decided): it gives no rows, as the module itself would."""
    adapter = TorchModuleAdapter.from_module(_program(_net(), 3).module(), name="m")
    assert adapter.logits(torch.rand(0, 1, 8, 8)).shape == (0, 10)


def test_a_dynamic_batch_program_is_not_chunked() -> None:
    batch = torch.export.Dim("batch", min=2, max=1 << 16)
    program = torch.export.export(_net(), (torch.rand(4, 1, 8, 8),), dynamic_shapes=({0: batch},))
    adapter = TorchModuleAdapter.from_module(program.module(), name="m")
    assert "batch" not in adapter.describe()


def test_throughput_says_an_in_memory_fixed_batch_program_runs_in_chunks() -> None:
    x, y = torch.rand(16, 1, 8, 8), torch.arange(16) % 10
    suites = {"throughput": {"batch_sizes": [8], "warmup_iters": 1, "timed_iters": 2}}
    result = harness.evaluate(
        _program(_net(), 4), data=(x, y), num_classes=10, suites=suites, device="cpu"
    )
    (timed,) = [m for m in result.metrics if m.metric == "throughput_samples_per_s"]
    assert "batch of 8 inputs executed in chunks of 4" in (timed.note or "")


def test_flops_per_sample_of_a_fixed_batch_program_leave_out_the_padding() -> None:
    """FLOPs are counted on a batch of 4: a program fixed at batch 32 pads it to 32 rows, and
    their FLOPs divided by 4 gave 8x the model's FLOPs per sample (and FLOP/s, % of peak)."""
    x, y = torch.rand(40, 1, 8, 8), torch.arange(40) % 10
    suites = {"throughput": {"batch_sizes": [1], "warmup_iters": 1, "timed_iters": 2}}

    def flops(model: object) -> float:
        result = harness.evaluate(model, data=(x, y), num_classes=10, suites=suites, device="cpu")
        (record,) = [m for m in result.metrics if m.metric == "flops_per_sample"]
        assert record.value is not None
        return float(record.value)

    net = _net()
    assert flops(_program(net, 32)) == pytest.approx(flops(net))
    assert flops(_program(net, 3)) == pytest.approx(flops(net))
