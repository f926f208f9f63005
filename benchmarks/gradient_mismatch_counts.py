"""How many samples the `gradient_mismatch` check counts, per finite-difference step.

On the first 300 digits test samples (the clean-correct ones), at L-inf 0.1: honest models (the
tests' linear control and its x1000 logits, the zoo's three digits networks, digits-cnn in
float16 and bfloat16), and models whose gradient comes from another network (BPDA with a wrong
surrogate). For each model: the samples off at each step alone (a fraction of eps) and the
check's own count (off at every step), against the check's threshold. docs/adversarial.md
("Validity checks") quotes the output.

Usage: python benchmarks/gradient_mismatch_counts.py
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data.builtin import digits
from harness.suites.adversarial import validity_checks as vc
from harness.suites.adversarial.forward import Forward
from tests.suites.adversarial import models as M

EPS = 0.1
N = 300


class Cast(torch.nn.Module):
    """A network run in another float dtype (model.half(), model.to(torch.bfloat16))."""

    def __init__(self, inner: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner, self.dtype = inner.to(dtype), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.to(self.dtype))


MODELS: dict[str, Callable[[], torch.nn.Module]] = {
    "control (linear)": M.control_digits,
    "control x1000 logits": M.saturated_digits,
    "digits-mlp": lambda: M.zoo_network("digits-mlp"),
    "digits-cnn": lambda: M.zoo_network("digits-cnn"),
    "digits-cnn-adv": lambda: M.zoo_network("digits-cnn-adv"),
    "digits-cnn float16": lambda: Cast(M.zoo_network("digits-cnn"), torch.float16),
    "digits-cnn bfloat16": lambda: Cast(M.zoo_network("digits-cnn"), torch.bfloat16),
    "digits-cnn-adv bfloat16": lambda: Cast(M.zoo_network("digits-cnn-adv"), torch.bfloat16),
    "digits-cnn <- digits-mlp": lambda: M.zoo_surrogate("digits-cnn", "digits-mlp"),
    "digits-cnn-adv <- digits-cnn": lambda: M.zoo_surrogate("digits-cnn-adv", "digits-cnn"),
    "control <- rolled linear (tests)": M.wrong_surrogate_digits,
}


def main() -> None:
    torch.set_num_threads(1)
    task = digits().head(N)
    batch = next(task.batches(N))
    assert isinstance(batch.inputs, torch.Tensor)
    x_all = batch.inputs
    y_all = torch.tensor(task.labels)
    steps = vc.FINITE_DIFFERENCE_STEPS
    print(f"L-inf eps {EPS}, first {N} digits test samples; off at each step (fraction of eps)")
    print("| model | " + " | ".join(f"{s:g} alone" for s in steps) + " | check (all) | threshold |")
    for name, build in MODELS.items():
        model = build().eval().requires_grad_(False)
        adapter = TorchModuleAdapter.from_module(model, name=name, input_shape=(1, 8, 8))
        fwd = Forward(adapter=adapter, module=model, num_classes=10)
        keep = fwd.logits(x_all).argmax(1) == y_all
        x, y = x_all[keep], y_all[keep]
        grad = vc.margin_gradient(fwd, x, y)
        alone = [
            vc.gradient_mismatch(fwd, x, y, grad, eps=EPS, box=(0.0, 1.0), steps=(s,))
            for s in steps
        ]
        full = vc.gradient_mismatch(fwd, x, y, grad, eps=EPS, box=(0.0, 1.0))
        cells = " | ".join(f"{r.bad} / {r.n}" for r in alone)
        print(f"| {name} | {cells} | {full.bad} / {full.n} | {full.critical} |", flush=True)


if __name__ == "__main__":
    main()
