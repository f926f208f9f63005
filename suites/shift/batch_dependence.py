"""A model whose outputs for an input change with the other inputs of its batch (BatchNorm with
batch statistics, `track_running_stats=False`, test-time normalisation of the batch): every
number of the shift suite then depends on how the suite batches samples (a corrupted batch is
normalised by its own corrupted statistics, a test-time adaptation the model does not have
alone), not on the model. Such a model (a BatchNorm without running statistics on 60 images)
scored clean 0.70 and mean corruption accuracy 0.722 at batch size 256, 0.40 and 0.418 at 7,
with nothing said. The suite probes it as the adversarial suite does (`batch_dependent_forward`)
and flags every record of the job."""

from __future__ import annotations

from dataclasses import replace

import torch

from harness.core.adapter import ModelAdapter
from harness.core.forward_repeats import changed_rows
from harness.core.metric_record import MetricRecord

FLAG = "batch_dependent_forward"
PROBE_SAMPLES = 64


def _logits(adapter: ModelAdapter, inputs: torch.Tensor | list[str]) -> torch.Tensor:
    if isinstance(inputs, torch.Tensor):
        inputs = inputs.clone().to(adapter.device)
    return adapter.logits(inputs).detach().double().cpu()


def _joined(a: torch.Tensor | list[str], b: torch.Tensor | list[str]) -> torch.Tensor | list[str]:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return torch.cat([a, b])
    return [*a, *b]


def dependent_rows(
    adapter: ModelAdapter, inputs: torch.Tensor | list[str] | None
) -> tuple[int, int]:
    """(rows whose logits changed, rows probed): the first half of `inputs` (the task's first
    `PROBE_SAMPLES` clean inputs, `Parts.probe`) scored beside the second half, then beside
    itself, at the same batch size (so a batch-independent network computes each row alike). A
    forward pass that differs between two identical calls is randomised, not batch-dependent:
    (0, 0)."""
    half = len(inputs) // 2 if inputs is not None else 0
    if inputs is None or half == 0:
        return 0, 0
    first, rest = inputs[:half], inputs[half : 2 * half]
    beside_self = _logits(adapter, _joined(first, first))[:half]
    again = _logits(adapter, _joined(first, first))[:half]
    # the jobs' caveat's comparison (forward_repeats): a change beyond 1e-4 of the logits' own
    # unit; an absolute 1e-4 floor here passed a batch-statistics net x1e-6 unflagged
    if bool(changed_rows(beside_self, again).any()):
        return 0, 0
    beside_rest = _logits(adapter, _joined(first, rest))[:half]
    return int(changed_rows(beside_self, beside_rest).sum()), half


def reason(model: str, bad: int, n: int) -> str:
    return (
        f"the logits of {model!r} for an input change with the other inputs of its batch "
        f"({bad} of {n} probed inputs; e.g. BatchNorm with batch statistics, "
        "track_running_stats=False): clean, corrupted and shifted batches are each normalised by "
        "their own statistics, so every shift number depends on the batching (batch_size, which "
        "samples share a batch), not on the model alone; evaluate it with running statistics"
    )


def flag_all(records: list[MetricRecord]) -> list[MetricRecord]:
    return [r if FLAG in r.flags else replace(r, flags=(*r.flags, FLAG)) for r in records]
