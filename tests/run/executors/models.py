"""Models for executor tests (importable by Ray workers as `tests.run.executors.models:<factory>`)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import torch
from torch import nn

from tests.fixture_models import linear_digits


class _Sleepy(nn.Module):
    """linear_digits that sleeps per batch and leaves `<pid_dir>/<pid>` behind when it runs."""

    def __init__(self, pid_dir: str, sleep: float) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.pid_dir = pid_dir
        self.sleep = sleep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        Path(self.pid_dir, str(os.getpid())).touch()
        time.sleep(self.sleep)
        return self.inner(x)


def sleepy_digits(pid_dir: str, sleep: float = 0.1) -> nn.Module:
    return _Sleepy(pid_dir, sleep)


class _Doomed(nn.Module):
    """Kills its own process on the first forward (a worker that always dies mid-job)."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = linear_digits()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        os.kill(os.getpid(), signal.SIGKILL)
        return self.inner(x)


def doomed_digits() -> nn.Module:
    return _Doomed()
