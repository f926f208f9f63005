"""What a `torchscript` model's file really is, said in one line naming the model and the file:
a `torch.save` state dict, a truncated archive, a TorchScript program named `.pt2` (and the
other way round); and a program whose weights are float64 runs on the float32 inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()


def _export(net: nn.Module, path: Path) -> Path:
    batch = torch.export.Dim("batch", min=2, max=1 << 16)
    program = torch.export.export(net, (torch.rand(2, 1, 8, 8),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(path))
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(ModelLoadError) as err:
        build("torchscript", {"path": str(path)}, path.parent, name="m")
    text = str(err.value)
    assert text.startswith("model 'm': ") and path.name in text and "\n" not in text
    return text.replace(str(path), "<path>")


def test_a_state_dict_is_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(_net().state_dict(), path)
    text = _refusal(path)
    assert "torch.save" in text and "adapter: torch" in text
    assert "corrupted" not in text


@pytest.mark.parametrize("suffix", [".pt", ".pt2"])
def test_a_truncated_file_is_named_as_one(suffix: str, tmp_path: Path) -> None:
    whole = tmp_path / f"whole{suffix}"
    if suffix == ".pt":
        torch.jit.script(_net()).save(str(whole))
    else:
        _export(_net(), whole)
    path = tmp_path / f"m{suffix}"
    path.write_bytes(whole.read_bytes()[:3000])
    assert "truncated" in _refusal(path)


def test_a_torchscript_file_named_pt2_says_which_format(tmp_path: Path) -> None:
    path = tmp_path / "m.pt2"
    torch.jit.script(_net()).save(str(path))
    assert "format: torchscript" in _refusal(path)


def test_an_exported_program_named_pt_says_which_format(tmp_path: Path) -> None:
    path = _export(_net(), tmp_path / "m.pt")
    assert "format: export" in _refusal(path)


@pytest.mark.parametrize("kind", ["script", "export"])
def test_a_float64_program_runs_on_float32_inputs(kind: str, tmp_path: Path) -> None:
    net = _net().double()
    if kind == "script":
        path = tmp_path / "m.pt"
        torch.jit.script(net).save(str(path))
    else:
        batch = torch.export.Dim("batch", min=2, max=1 << 16)
        example = torch.rand(2, 1, 8, 8, dtype=torch.float64)
        torch.export.save(
            torch.export.export(net, (example,), dynamic_shapes=({0: batch},)),
            str(path := tmp_path / "m.pt2"),
        )
    adapter = build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(4, 1, 8, 8)
    out = adapter.logits(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out, net(x.double()).float(), atol=1e-6)


@pytest.mark.parametrize("size", [1, 3])
def test_an_export_with_a_fixed_batch_runs_in_chunks_of_it(size: int, tmp_path: Path) -> None:
    """torch.export without dynamic_shapes fixes the batch at the example's size: every batch
    of another size failed ("Guard failed: x.size()[0] == 2"). It is fed in chunks of that
    size, the last one padded, as a fixed-batch ONNX graph is; gradients flow."""
    net = _net()
    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(net, (torch.rand(size, 1, 8, 8),)), str(path))
    adapter = build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(7, 1, 8, 8, requires_grad=True)
    torch.testing.assert_close(adapter.logits(x), net(x).detach(), atol=1e-6, rtol=1e-6)
    adapter.module()(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert adapter.describe()["batch"] == size


def test_throughput_says_a_fixed_batch_export_runs_in_chunks(tmp_path: Path) -> None:
    """A program exported at batch 4 times a batch of 8 as two forward passes of 4; the
    throughput record said "batched: one forward pass of the torch module per call", a
    samples/s that reads as the model's at batch 8."""
    import harness

    path = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(_net(), (torch.rand(4, 1, 8, 8),)), str(path))
    spec = {"name": "m", "adapter": "torchscript", "path": str(path), "modality": "image"}
    x = torch.rand(16, 1, 8, 8)
    y = torch.arange(16) % 2
    suites = {"throughput": {"batch_sizes": [8], "warmup_iters": 1, "timed_iters": 2}}
    result = harness.evaluate(spec, data=(x, y), suites=suites, device="cpu")
    (timed,) = [m for m in result.metrics if m.metric == "throughput_samples_per_s"]
    note = timed.note or ""
    assert "batch of 8 inputs executed in chunks of 4" in note
    assert "adapter.logits" not in note
