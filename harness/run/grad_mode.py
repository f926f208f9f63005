"""Autograd on for an in-process evaluation, whatever the caller's grad mode.

`harness.evaluate` and `harness.run_spec` are called from training scripts and notebooks, often
inside a validation step under `torch.inference_mode()` or `torch.no_grad()`. Gradient attacks
need input gradients: under inference mode `torch.enable_grad()` alone does not bring them back
(every tensor made there is an inference tensor), and APGD-CE on a digits model reported a
robust accuracy of 0.963 where the attack, with gradients, finds 0.78. The suites run inside
`autograd_on()`; the caller's mode is back on exit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def autograd_on() -> Iterator[None]:
    """Inference mode off and gradients enabled inside; the caller's modes restored after."""
    with torch.inference_mode(False), torch.enable_grad():
        yield
