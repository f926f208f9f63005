"""Parity: the same model through two adapters (e.g. torch vs its ONNX export) must agree.

Compares sample by sample in probability space (the softmax of each adapter's logits): the
number of disagreements on the predicted class and the largest absolute difference in any class
probability. Probabilities are where outputs of different kinds meet (a scikit-learn model's
`predict_proba`, its ONNX conversion's probability output, a torch model's logits) and where a
float32 round-off stays as small as it is: log-probabilities blow up an exact zero on one side
and 2e-7 on the other into a difference of 9 or more (each adapter clamps zeros differently),
and logits are only defined up to a per-row shift. A disagreement between two classes whose
probabilities are within `atol` on both sides is a tie broken differently, counted apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from harness.core.adapter import ModelAdapter, check_logits
from harness.core.model_calls import calling_model, private_inputs
from harness.core.task import Task


@dataclass(frozen=True)
class ParityReport:
    """Outcome of comparing two adapters on one task."""

    model_a: str
    model_b: str
    task: str
    n: int
    disagreements: int  # predicted classes differ, and not as a tie within atol
    ties: int  # predicted classes differ between two classes within atol of each other
    max_abs_prob_diff: float
    max_abs_logit_diff: float  # informational: logits of different kinds are not comparable
    atol: float
    first_disagreements: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.disagreements == 0 and self.max_abs_prob_diff <= self.atol

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "passed": self.passed}


def compare(
    a: ModelAdapter, b: ModelAdapter, task: Task, *, atol: float = 1e-4, batch_size: int = 256
) -> ParityReport:
    """Run both adapters over `task` and compare their outputs."""
    n = disagreements = ties = 0
    logit_diff = prob_diff = 0.0
    first: list[str] = []
    for batch in task.batches(batch_size):
        # each model reads its own copy: one writing into its input cannot change the other's
        la, lb = (_logits(m, batch.inputs, task) for m in (a, b))
        check_logits(la, num_classes=task.num_classes, model=a.name, task=task.name)
        check_logits(lb, num_classes=task.num_classes, model=b.name, task=task.name)
        logit_diff = max(logit_diff, float((la - lb).abs().max()))
        pa, pb = torch.softmax(la, 1), torch.softmax(lb, 1)
        prob_diff = max(prob_diff, float((pa - pb).abs().max()))
        ya, yb = pa.argmax(1), pb.argmax(1)
        rows = torch.arange(len(ya))
        gap_a = pa[rows, ya] - pa[rows, yb]  # how far apart each side puts the two classes
        gap_b = pb[rows, yb] - pb[rows, ya]
        differ = ya != yb
        tie = differ & (gap_a <= atol) & (gap_b <= atol)
        real = (differ & ~tie).nonzero().flatten().tolist()
        ties += int(tie.sum())
        disagreements += len(real)
        first.extend(batch.sample_ids[i] for i in real[: max(0, 10 - len(first))])
        n += len(batch)
    return ParityReport(
        model_a=a.name,
        model_b=b.name,
        task=task.name,
        n=n,
        disagreements=disagreements,
        ties=ties,
        max_abs_prob_diff=prob_diff,
        max_abs_logit_diff=logit_diff,
        atol=atol,
        first_disagreements=tuple(first),
    )


def _logits(model: ModelAdapter, inputs: torch.Tensor | list[str], task: Task) -> torch.Tensor:
    """One adapter's logits of a batch, on its own copy of the inputs (one writing into its
    input cannot change the other's); its code raising is a one-line error naming it."""
    with calling_model(model.name, f"its forward pass on task {task.name!r}"):
        return model.logits(private_inputs(inputs)).detach().cpu().double()
