"""torch's global generator, seeded for one job and put back after it.

A randomised model (dropout left on, noise injected in `forward`) draws from torch's global
generator, which nothing else in the harness reads: its numbers would depend on the jobs that ran
before it in the process and on which of them came from the cache. Every suite runs inside
`seeded_global_rng`, keyed by the run seed, the suite, the model and the task, so the same job
gives the same numbers wherever it runs, and the caller's generator is where it was afterwards.
Deterministic models do not read the generator: their numbers do not depend on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from harness.core.seeding import derive_seed


@contextmanager
def seeded_global_rng(
    run_seed: int, suite: str, model: str, task: str, device: torch.device
) -> Iterator[None]:
    """Within: torch's global generator (and a CUDA device's) seeded from the job; after: the
    caller's state restored."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(derive_seed(run_seed, suite, "model-rng", model, task))
        yield
