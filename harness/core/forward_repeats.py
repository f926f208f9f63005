"""Whether a model's outputs are a function of its input: the same inputs passed again, and
beside other inputs, at the same batch size.

A randomised model (noise added to its logits, numpy's or Python's generator read in `forward`,
dropout switched on inside `forward`) gives each job one draw of its numbers, and a model whose
rows depend on the rest of their batch (BatchNorm with batch statistics) gives numbers that move
with `batch_size`. Before, the accuracy suite published either as exact, with nothing said: a
callable adding N(0, 3) noise to its logits scored top-1 0.110, then 0.114 on a rerun of the same
spec, and the result cache handed the first draw back unchanged. The adversarial suite flags
both (`nondeterministic_forward`, `batch_dependent_forward`) and the shift suite the second; every
job now carries a caveat note that says so, whatever its suite (`CheckedAdapter.input_notes`).

The passes leave the global generators as they found them (`kept_global_rngs`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from harness.core.board_notes import BATCH_DEPENDENT_MARK, RANDOMISED_MARK

LOOK = 32
"""Inputs of the probe: the task's first ones, at most the run's batch size."""
ATOL = 1e-4
"""Logits differ beyond this, relative to each row's largest logit (`row_scales`), as the
adversarial suite's probes (`suites/adversarial/validity_checks.py`)."""

Inputs = torch.Tensor | list[str]


@contextmanager
def kept_global_rngs(device: torch.device) -> Iterator[None]:
    """Model passes outside a job's seeded generators (harness/run/model_rng.py) draw from
    torch's (and a CUDA device's), numpy's legacy and Python's global generators as they are;
    afterwards each is where it was."""
    devices = [device] if device.type == "cuda" else []
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _joined(a: Inputs, b: Inputs) -> Inputs:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return torch.cat([a, b])
    return [*a, *b]  # type: ignore[list-item]


def row_scales(magnitudes: torch.Tensor) -> torch.Tensor:
    """What a change of each row is measured against, from each row's largest |logit|: that
    magnitude, at least the smaller of 1 and the largest over the batch. The floor keeps rows
    whose logits are near 0 beside larger ones from calling rounding a change; taken from the
    batch below 1, it follows the logits' unit, so a model whose logits are all small (x1e-5:
    the same decisions) is judged as its x1 copy. A floor of 1 made the tolerance an absolute
    1e-4 for such a model, and a batch-standardising MLP flagged at x1 passed at x1e-5."""
    finite = magnitudes[torch.isfinite(magnitudes)]  # a NaN row set no floor for the others
    return magnitudes.clamp_min(min(1.0, float(finite.max())) if len(finite) else 1.0)


def _differ(a: torch.Tensor, b: torch.Tensor) -> int:
    return int(changed_rows(a, b).sum())


def changed_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Which rows of two passes' float64 logits differ (`ATOL` x `row_scales`, non-finite
    logits apart); the shift suite's batch probe compares alike."""
    finite = torch.isfinite(a) & torch.isfinite(b)
    zero = torch.zeros((), dtype=a.dtype)
    # finite logits only: an inf scale, or the NaN of -inf - -inf, hid every change of the row
    # (a noisy model with one class masked to -inf was called a function of its input)
    scale = row_scales(torch.where(finite, a.abs(), zero).amax(1))
    gap = torch.where(finite, (a - b).abs(), zero).amax(1)
    # a logit not finite in one pass only differs too, as does an inf of the other sign; NaN,
    # or the same inf, in both is the model's own output
    alike = finite | (a == b) | (torch.isnan(a) & torch.isnan(b))
    return (gap > ATOL * scale) | ~alike.all(1)


def unstable_rows(
    logits: Callable[[Inputs], torch.Tensor], inputs: Inputs, device: torch.device
) -> tuple[int, int, int]:
    """(rows that changed when passed again, rows that changed beside other inputs, rows
    probed). `inputs` are passed twice as they are; then the first half is passed beside the
    second half and beside itself, at the same batch size (a batch-independent network computes
    each row alike whatever the other rows hold). A randomised model is not tested for batch
    dependence: its rows change anyway."""

    def scores(x: Inputs) -> torch.Tensor:
        return logits(x).detach().double().cpu()

    with kept_global_rngs(device), torch.no_grad():  # no graph: the outputs are only compared
        first = scores(inputs)
        repeated = _differ(first, scores(inputs))
        half = len(inputs) // 2
        if repeated or half == 0:
            return repeated, 0, len(inputs)
        head, rest = inputs[:half], inputs[half : 2 * half]
        beside_self = scores(_joined(head, head))[:half]
        beside_rest = scores(_joined(head, rest))[:half]
    return 0, _differ(beside_self, beside_rest), len(inputs)


def note_text(model: str, task: str, repeated: int, batch_dependent: int, n: int) -> str | None:
    """What a job's caveat says of its model's outputs; None when they are a function of the
    input."""
    if repeated:
        return (
            f"model {model!r}{RANDOMISED_MARK}{n} first inputs of task {task!r} "
            f"twice, it returned different logits for {repeated} of them, so every number of "
            "this job computed from its outputs is one draw: the job seeds torch's, numpy's and "
            "Python's global generators, so a rerun with the same seed, batch_size and shards "
            "draws the same numbers (--no-cache too), another seed or batching other ones, and a "
            "generator of the model's own need not repeat at all; switch the model's randomness "
            "off for numbers of the model itself"
        )
    if batch_dependent:
        half = n // 2
        return (
            f"the logits of model {model!r}{BATCH_DEPENDENT_MARK}"
            f"{batch_dependent} of {half} first inputs of task {task!r}; e.g. BatchNorm "
            "with batch statistics, track_running_stats=False): its numbers depend on batch_size "
            "and on which samples share a batch, not on the model alone; evaluate it with "
            "running statistics"
        )
    return None
