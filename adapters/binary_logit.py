"""A binary classifier with one output per input: the logit z of the second class.

A model trained with `BCEWithLogitsLoss` returns one score per input, shape (N, 1) or (N,),
where every suite reads one score per class. Declared with `outputs: binary_logit`, the torch
adapter runs it behind `BinaryLogit`, which returns the pair (0, z): its softmax is (1 -
sigmoid(z), sigmoid(z)), the model's own probabilities, and the attacks' gradients flow through
z. The black-box adapters (`callable`, `onnx`) read the same declaration in
`harness.adapters.score_outputs.to_logits`.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.core.errors import ModelLoadError, ModelOutputError

BINARY_LOGIT = "binary_logit"


def logit_pair(z: torch.Tensor, *, model: str) -> torch.Tensor:
    """(N, 2) logits (0, z) of one score per input, given as (N,) or (N, 1); any other shape is
    one line naming the model."""
    if z.ndim == 2 and z.shape[1] == 1:
        z = z[:, 0]
    if z.ndim != 1:
        raise ModelOutputError(
            f"model {model!r} declares outputs: {BINARY_LOGIT} (one logit per input) but "
            f"returned scores of shape {tuple(z.shape)}; return shape (batch,) or (batch, 1), "
            "or remove outputs: to read one score per class"
        )
    return torch.stack([torch.zeros_like(z), z], dim=1)


VALUE_KEEPING = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout)
"""Modules that reshape or pass values on (a Dropout, in eval mode): a Sigmoid before them
still ends the network."""


def final_sigmoid(net: nn.Module) -> str | None:
    """The name of an `nn.Sigmoid` that ends `net` as a chain of `nn.Sequential` (the last
    element, descending into a last element that is itself one; trailing `VALUE_KEEPING`
    modules skipped), else None: its output is a probability, which read as a logit would put
    every input in the second class."""
    name, module = "", net
    while isinstance(module, nn.Sequential) and len(module) > 0:
        i = len(module) - 1
        while i > 0 and isinstance(module[i], VALUE_KEEPING):
            i -= 1
        name, module = f"{name}.{i}" if name else str(i), module[i]
    return name if isinstance(module, nn.Sigmoid) else None


def refuse_final_sigmoid(net: nn.Module, *, model: str) -> None:
    """A network declared `outputs: binary_logit` that ends in an `nn.Sigmoid`: one line."""
    name = final_sigmoid(net)
    if name is not None:
        raise ModelLoadError(
            f"model {model!r} declares outputs: {BINARY_LOGIT} but ends in nn.Sigmoid "
            f"({name!r}): it returns a probability, which read as a logit puts every input in "
            "the second class; evaluate the network without its final Sigmoid (the logit)"
        )


class BinaryLogit(nn.Module):
    """Runs `inner` and returns (0, z) of its one logit per input (module docstring)."""

    def __init__(self, inner: nn.Module, *, model: str) -> None:
        super().__init__()
        self.inner = inner
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return logit_pair(self.inner(x), model=self.model)
