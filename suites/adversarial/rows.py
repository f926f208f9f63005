"""Inputs of arbitrary task rows, for attacks that run stage by stage on the samples still unbroken.

The clean pass reads the task batch by batch and keeps the inputs in one CPU tensor when they fit
in `CACHE_BYTES` (digits: 180 kB); larger tasks read the rows an attack stage needs from Arrow
(a streamed task's rows through its decoder, as its batches are).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from harness.core.task import SAMPLE_ID, Task

CACHE_BYTES = 512 * 2**20


class TaskRows:
    """Row-indexed access to a task's inputs, on the attack device."""

    def __init__(self, task: Task, device: torch.device) -> None:
        self.task, self.device = task, device
        size = len(task) * math.prod(task.input_shape) * 4
        self._cache: list[torch.Tensor] | None = [] if size <= CACHE_BYTES else None
        self._all: torch.Tensor | None = None

    def keep(self, x: torch.Tensor) -> None:
        """Called by the clean pass with each batch, in order."""
        if self._cache is not None:
            self._cache.append(x.detach().cpu())

    def inputs(self, rows: np.ndarray) -> torch.Tensor:
        """The inputs of `rows` (task row indices), in that order, on the device."""
        if self._cache is not None:
            if self._all is None:
                self._all = torch.cat(self._cache) if self._cache else torch.zeros(0)
                self._cache = []
            return self._all[torch.as_tensor(rows, dtype=torch.long)].to(self.device)
        return read_rows(self.task, rows, self.device)


def read_rows(task: Task, rows: np.ndarray, device: torch.device) -> torch.Tensor:
    """The inputs of `rows` read from Arrow (no cache), on `device`: stored inputs as they are,
    a streamed task's through its decoder (as `Task.batches` reads them for the clean pass)."""
    if len(rows) == 0:
        return torch.zeros(0, *task.input_shape, device=device)
    if task.decoder is not None:
        picked = task.data.with_format("arrow")[[int(r) for r in rows]]
        ids = [str(s) for s in picked.column(SAMPLE_ID).to_pylist()]
        x = task.decoder.decode(picked.column(task.input_column), ids)
        return x.to(torch.float32).reshape(-1, *task.input_shape).to(device)
    view = task.data.with_format("torch", columns=[task.input_column], dtype=torch.float32)
    x = view[[int(r) for r in rows]][task.input_column]
    return x.to(torch.float32).reshape(-1, *task.input_shape).to(device)
