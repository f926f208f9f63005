"""The global generators (torch's, numpy's legacy one, Python's `random`), seeded for one job
and put back after it.

A randomised model (dropout left on, noise injected in `forward`) draws from a global generator,
which nothing else in the harness reads: its numbers would depend on the jobs that ran before it
in the process and on which of them came from the cache. Every suite runs inside
`seeded_global_rng`, keyed by the run seed, the suite, the model and the task, so the same job
gives the same numbers wherever it runs, and the caller's generators are where they were
afterwards. Deterministic models do not read the generators: their numbers do not depend on
them. numpy's and Python's were left unseeded before: a callable adding `np.random.normal`
noise to its logits scored top-1 0.110, then 0.114, on two runs of the same spec.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from harness.core.forward_repeats import kept_global_rngs
from harness.core.seeding import derive_seed


@contextmanager
def seeded_global_rng(
    run_seed: int, suite: str, model: str, task: str, device: torch.device
) -> Iterator[None]:
    """Within: torch's global generator (and a CUDA device's), numpy's legacy global one and
    Python's `random` seeded from the job; after: the caller's states restored."""
    seed = derive_seed(run_seed, suite, "model-rng", model, task)
    with kept_global_rngs(device):
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        yield
