"""FLOPs per sample, counted with `torch.utils.flop_counter.FlopCounterMode`.

The counter knows matmuls, convolutions and attention (the ops that dominate a classifier);
elementwise ops are not counted, so achieved FLOP/s is a slight underestimate. A model whose
forward runs no torch ops (ONNX, scikit-learn) counts zero: reported as unknown.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> int:
    """Total FLOPs of one call of `fn` (a forward pass)."""
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        fn()
    return int(counter.get_total_flops())


def flops_per_sample(fn: Callable[[], object], batch_size: int) -> float | None:
    """FLOPs of one forward of a batch of `batch_size`, divided by the batch size."""
    total = count_flops(fn)
    return total / batch_size if total > 0 else None
