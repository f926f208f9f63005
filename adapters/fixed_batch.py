"""A `torch.export` program exported without dynamic shapes takes one batch size only (its guard
refuses any other): it is fed in chunks of that size, from a `.pt2` file (`torchscript` adapter)
or in memory (`torch.export.export(...).module()` given to `harness.evaluate`)."""

from __future__ import annotations

import torch


def fixed_batch(program: torch.nn.Module) -> int | None:
    """The batch size a torch.export program was exported at when its batch dimension is static
    (exported without `dynamic_shapes`: its guard refuses any other size); None when dynamic,
    or for a TorchScript program (a trace runs at any batch size unless its code fixes one)."""
    graph = getattr(program, "graph", None)
    if not isinstance(graph, torch.fx.Graph):
        return None
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    value = inputs[0].meta.get("val") if len(inputs) == 1 else None
    shape = getattr(value, "shape", None)
    if shape is None or len(shape) == 0 or type(shape[0]) is not int:
        return None
    return int(shape[0])


class FixedBatch(torch.nn.Module):
    """Feeds a program fixed at batch `size` in chunks of that size, the last one padded by
    repeating its last row (a valid input); the padding's outputs are dropped. Slicing and
    concatenation keep gradients flowing to every input row."""

    def __init__(self, inner: torch.nn.Module, size: int) -> None:
        super().__init__()
        self.inner = inner
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) == self.size:
            return self.inner(x)
        if len(x) == 0:  # no rows: those of a batch of zeros (a valid shape), none kept
            return self.inner(x.new_zeros(self.size, *x.shape[1:]))[:0]
        outs = []
        for start in range(0, len(x), self.size):
            chunk = x[start : start + self.size]
            short = self.size - len(chunk)
            if short:
                chunk = torch.cat([chunk, chunk[-1:].expand(short, *chunk.shape[1:])])
            outs.append(self.inner(chunk)[: self.size - short])
        return torch.cat(outs)
