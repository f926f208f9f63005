"""The adversarial suite on randomised models: robust accuracy and the masking checks' counts.

On the first 100 digits test samples at L-inf 0.1, 8 EOT draws, no escalation, over run seeds 0
to 3 (each job seeds torch's global generator from the run seed, so the seed picks the models'
draws and the attacks' starts): Square alone and FAB-T alone on the tests' logit-noise model
against its deterministic twin (the tests' linear control); then the fast preset with the
validity checks on the logit-noise model, MC dropout 0.5 on a small MLP (honest randomised
models) and the logit-noise model with a wrong surrogate gradient (a masked one), with the
counts of the checks a randomised model's noise can fool (bad / critical, `!` when raised).
docs/adversarial.md ("Randomised models") quotes the output.

Usage: OMP_NUM_THREADS=1 python benchmarks/randomised_models.py
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data.builtin import digits, digits_arrays
from harness.run.api import evaluate
from tests.suites.adversarial import models as M

SEEDS = range(4)
N = 100
DRAWS = 8
CHECKS = ("noise_beats_gradient", "stronger_attack_lowers_acc", "gradient_obfuscation")


class MCDropout(nn.Module):
    """A small digits MLP (64 hidden units, trained here) with dropout 0.5 left on."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        x, y = digits_arrays("train")
        xs = torch.as_tensor(np.asarray(x, np.float32)).reshape(len(x), 64)
        self.hidden, self.out = nn.Linear(64, 64), nn.Linear(64, 10)
        opt = torch.optim.Adam(self.parameters(), 1e-2)
        for _ in range(300):
            opt.zero_grad()
            logits = self.out(torch.relu(self.hidden(xs)))
            nn.functional.cross_entropy(logits, torch.as_tensor(y)).backward()
            opt.step()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.hidden(x.flatten(1)))
        return self.out(nn.functional.dropout(h, 0.5, training=True))


def run(factory: Callable[[], nn.Module], config: dict, seed: int):  # noqa: ANN201
    out = evaluate(
        TorchModuleAdapter.from_module(factory(), name="m", input_shape=(1, 8, 8)),
        task=digits().head(N),
        suites={"adversarial": {"epsilons": {"linf": [0.1]}, "escalation_rounds": 0, **config}},
        device="cpu",
        bootstrap_resamples=0,
        seed=seed,
    )
    res = out.results["adversarial"]
    head = next(m for m in res.metrics if m.key == "robust_acc[attack=ensemble/norm=linf/eps=0.1]")
    return res, head


def alone() -> None:
    for attack in ("linf_square", "linf_fab_t"):
        config = {"attacks": [attack], "checks": False}
        noisy = [
            run(M.randomized_digits, {**config, "eot_draws": DRAWS}, s)[1].value for s in SEEDS
        ]
        twin = run(M.control_digits, config, 0)[1].value
        print(
            f"{attack} alone: logit-noise model {', '.join(f'{v:.2f}' for v in noisy)}; "
            f"deterministic twin {twin:.2f}"
        )


def checks() -> None:
    models = {
        "logit noise": M.randomized_digits,
        "MC dropout 0.5": MCDropout,
        "logit noise, wrong surrogate": M.randomized_surrogate_digits,
    }
    for name, factory in models.items():
        for seed in SEEDS:
            res, head = run(factory, {"preset": "fast", "eot_draws": DRAWS}, seed)
            counts = []
            for c in res.artifacts["checks"]:
                if c["flag"] in CHECKS:
                    mark = "!" if c["raised"] else ""
                    counts.append(f"{c['flag']} {c['bad']}/{c['n']} ({c['critical']}){mark}")
            print(f"{name}, seed {seed}: robust {head.value:.2f}; {'; '.join(counts)}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    alone()
    checks()
