"""Freeze a module's parameters while an attack runs, restoring them afterwards.

Attacks need gradients with respect to the input only. When parameters still require gradients,
every backward pass also computes weight gradients: foolbox's LinfPGD ran 1.45x a hand-written
loop for that reason alone (1.01x with parameters frozen). Adapters should hand out frozen modules; this
guard makes the suite independent of that promise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def frozen_parameters(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Set requires_grad False on every parameter that has it, and restore those on exit."""
    thawed = [p for p in module.parameters() if p.requires_grad]
    for p in thawed:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p in thawed:
            p.requires_grad_(True)
