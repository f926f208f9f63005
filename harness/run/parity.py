"""Parity: the same model through two adapters (e.g. torch vs its ONNX export) must agree.

Compares predictions sample by sample and reports the number of disagreements, the largest
absolute logit difference and the largest absolute difference in log-probabilities (which ignores
a per-row constant shift, so probability outputs compare fairly against logits).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from harness.core.adapter import ModelAdapter, check_logits
from harness.core.task import Task


@dataclass(frozen=True)
class ParityReport:
    """Outcome of comparing two adapters on one task."""

    model_a: str
    model_b: str
    task: str
    n: int
    disagreements: int
    max_abs_logit_diff: float
    max_abs_log_prob_diff: float
    atol: float
    first_disagreements: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.disagreements == 0 and self.max_abs_log_prob_diff <= self.atol

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "passed": self.passed}


def compare(
    a: ModelAdapter, b: ModelAdapter, task: Task, *, atol: float = 1e-4, batch_size: int = 256
) -> ParityReport:
    """Run both adapters over `task` and compare their outputs."""
    n = disagreements = 0
    logit_diff = log_prob_diff = 0.0
    first: list[str] = []
    for batch in task.batches(batch_size):
        la = a.logits(batch.inputs).detach().cpu().double()
        lb = b.logits(batch.inputs).detach().cpu().double()
        check_logits(la, num_classes=task.num_classes, model=a.name, task=task.name)
        check_logits(lb, num_classes=task.num_classes, model=b.name, task=task.name)
        logit_diff = max(logit_diff, float((la - lb).abs().max()))
        lp = torch.log_softmax(la, 1) - torch.log_softmax(lb, 1)
        log_prob_diff = max(log_prob_diff, float(lp.abs().max()))
        differ = (la.argmax(1) != lb.argmax(1)).nonzero().flatten().tolist()
        disagreements += len(differ)
        first.extend(batch.sample_ids[i] for i in differ[: max(0, 10 - len(first))])
        n += len(batch)
    return ParityReport(
        model_a=a.name,
        model_b=b.name,
        task=task.name,
        n=n,
        disagreements=disagreements,
        max_abs_logit_diff=logit_diff,
        max_abs_log_prob_diff=log_prob_diff,
        atol=atol,
        first_disagreements=tuple(first),
    )
