"""A TorchScript or torch.export program whose forward returns its logits in a dict (a scripted
or exported transformers classifier) is read on the `logits` field, as the torch adapter reads
a module's: the same logits and input gradients as the program that returns the tensor."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.adapters.builders import build
from tests.adapters.conftest import digits_net


class _DictOut(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.inner(x)}


def _save(kind: str, module: nn.Module, path: Path) -> Path:
    example = torch.rand(2, 1, 8, 8)
    if kind == "torchscript":
        torch.jit.script(module).save(str(path))
    else:
        batch = torch.export.Dim("batch", min=1, max=1 << 16)
        program = torch.export.export(module, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
    return path


@pytest.mark.parametrize("kind", ["torchscript", "export"])
def test_a_program_returning_a_dict_is_read_on_its_logits(kind: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = digits_net().eval()
    suffix = ".pt" if kind == "torchscript" else ".pt2"
    plain = _save(kind, net, tmp_path / f"plain{suffix}")
    wrapped = _save(kind, _DictOut(net), tmp_path / f"dict{suffix}")
    config = {"input_shape": [1, 8, 8]}
    a = build("torchscript", {"path": str(plain), **config}, tmp_path)
    b = build("torchscript", {"path": str(wrapped), **config}, tmp_path)
    x = torch.rand(5, 1, 8, 8)
    assert torch.equal(a.logits(x), b.logits(x))
    grads = []
    for adapter in (a, b):
        xi = x.clone().requires_grad_(True)
        adapter.module()(xi)[:, 3].sum().backward()
        grads.append(xi.grad)
    assert grads[0] is not None and torch.equal(grads[0], grads[1])
