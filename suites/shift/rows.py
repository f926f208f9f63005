"""Rows of the shift suite's per-sample table: predictions of a batch, blocks joined in order.

Every condition's rows are built here from logits: label, prediction, correct, `label_tied` (the
argmax tie-break decides whether the label is predicted: harness.stats.tie_breaks), confidence and
the logit-based OOD score columns (`suites.shift.ood.scores`); `keep_logits` adds the top logits of
the rows that OOD metrics compare (`clean` and `ood=<set>`). Inputs are streamed through the
model in batches of the run's batch size (`predict`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from harness.core.adapter import ModelAdapter, check_logits
from harness.core.errors import ModelOutputError
from harness.core.sample_table import CLEAN
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.stats import tie_breaks
from harness.suites.shift.ood import scores


def step(ctx: RunContext) -> int:
    """Samples read, perturbed and kept in memory at a time (at least 256)."""
    return max(ctx.batch_size, 256)


def as_tensor(x: torch.Tensor | list[str]) -> torch.Tensor:
    assert isinstance(x, torch.Tensor), "image and tabular perturbations return tensors"
    return x


def join(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Row blocks with the same columns joined in order (numpy arrays, or lists)."""
    out: dict[str, Any] = {}
    for key, first in blocks[0].items():
        if isinstance(first, np.ndarray):
            out[key] = np.concatenate([b[key] for b in blocks])
        else:
            out[key] = [v for b in blocks for v in b[key]]
    return out


def take(column: Any, rows: np.ndarray) -> Any:
    """Rows of one joined column."""
    if isinstance(column, np.ndarray):
        return column[rows]
    return [column[i] for i in rows.tolist()]


def predict(
    adapter: ModelAdapter,
    task: Task,
    inputs: torch.Tensor | list[str],
    ctx: RunContext,
    stage: str,
) -> torch.Tensor:
    """Logits (float64, CPU) of inputs, in batches of ctx.batch_size; progress as `stage`."""
    out = []
    for start in range(0, len(inputs), ctx.batch_size):
        chunk = inputs[start : start + ctx.batch_size]
        if isinstance(chunk, torch.Tensor):
            chunk = chunk.to(adapter.device)
        logits = adapter.logits(chunk)
        try:
            check_logits(logits, num_classes=task.num_classes, model=adapter.name, task=task.name)
        except ModelOutputError as err:
            if type(err) is not ModelOutputError or stage == CLEAN:
                raise
            # NaN under a corruption only: say which, or it reads as a fault on the clean inputs
            raise ModelOutputError(f"{err} (under condition {stage})") from None
        out.append(logits.detach().double().cpu())
        if ctx.progress is not None:
            ctx.progress(len(chunk), stage)
    return torch.cat(out) if out else torch.zeros(0, task.num_classes, dtype=torch.float64)


def rows(
    ids: Sequence[str] | np.ndarray,
    labels: np.ndarray,
    logits: torch.Tensor,
    condition: str | np.ndarray,
    *,
    temperature: float,
    keep_logits: bool = False,
) -> dict[str, Any]:
    """One block of table rows; `keep_logits` adds the top logits (clean and OOD rows)."""
    probs = torch.softmax(logits, dim=1)
    prediction = probs.argmax(dim=1).numpy()
    labels = np.asarray(labels, dtype=np.int64)
    tied = np.zeros(len(labels), dtype=bool)  # unlabeled rows (OOD sets) tie nothing
    known = labels >= 0
    if known.any():
        tied[known] = tie_breaks.decided_by_tie(probs.numpy()[known], labels[known], 1)
    conditions = (
        np.full(len(ids), condition, dtype=object) if isinstance(condition, str) else condition
    )
    out: dict[str, Any] = {
        "sample_id": np.asarray(list(ids), dtype=object),
        "condition": conditions,
        "label": labels,
        "prediction": prediction,
        "correct": prediction == labels,
        tie_breaks.COLUMN: tied,
        "confidence": probs.max(dim=1).values.numpy(),
        **scores.score_columns(logits, temperature),
    }
    if keep_logits:
        top = scores.logit_columns(logits)
        out["top_logits"] = [v.tolist() for v in top["top_logits"]]
        out["top_classes"] = [v.tolist() for v in top["top_classes"]]
        out["logsumexp"] = top["logsumexp"]
    return out


def task_rows(
    adapter: ModelAdapter,
    task: Task,
    source: Task,
    condition: str,
    ctx: RunContext,
    *,
    temperature: float,
    keep_logits: bool = False,
) -> dict[str, Any]:
    """Rows of every sample of `source` (a shifted task or an OOD set), streamed in batches;
    the model is `task`'s (its classes)."""
    blocks = [
        rows(
            batch.sample_ids,
            batch.labels.numpy(),
            predict(adapter, task, batch.inputs, ctx, condition),
            condition,
            temperature=temperature,
            keep_logits=keep_logits,
        )
        for batch in source.batches(step(ctx))
    ]
    if blocks:
        return join(blocks)
    return empty_rows(task, condition, temperature=temperature, keep_logits=keep_logits)


def empty_rows(
    task: Task, condition: str, *, temperature: float, keep_logits: bool
) -> dict[str, Any]:
    empty = torch.zeros(0, task.num_classes, dtype=torch.float64)
    return rows(
        [],
        np.zeros(0, dtype=np.int64),
        empty,
        condition,
        temperature=temperature,
        keep_logits=keep_logits,
    )
