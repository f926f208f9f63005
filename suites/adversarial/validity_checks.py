"""Automatic checks that an attack evaluation can be trusted (gradient masking, attack failure).

Drawn from Carlini et al. 2019 ("On Evaluating Adversarial Robustness"), Croce & Hein 2020
(AutoAttack's flags) and Pintor et al. 2022 ("Indicators of Attack Failure"). Each check counts
the samples that look wrong and compares the count with a small allowed rate through a one-sided
binomial test (raise only when P(Binomial(n, rate) >= bad) < ALPHA), so sampling noise on an
ordinary undefended model raises nothing. Exact checks (non-determinism, probability outputs) need
no tolerance. A raised check becomes a reliability flag on every robust_acc record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from scipy import stats

from harness.core.adapter import ModelAdapter

ALPHA = 1e-3
ZERO_GRAD_RATE = 0.01  # samples whose input gradient is exactly zero
UNBOUNDED_FAIL_RATE = 0.01  # samples an unbounded attack fails to break
NOISE_ONLY_RATE = 0.01  # samples random noise breaks but the gradient ensemble does not
STRONGER_ONLY_RATE = 0.02  # samples only a 2x steps / 2x restarts PGD breaks
LOSS_FLAT_RATE = 0.10  # samples whose attack loss never rose above its starting value
NONDETERMINISM_ATOL = 1e-4
PROBABILITY_ATOL = 1e-4


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One check: its flag name, whether it fired, the counts and the test behind it."""

    flag: str
    raised: bool
    bad: int
    n: int
    allowed_rate: float | None
    p_value: float | None
    description: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def binomial_check(flag: str, bad: int, n: int, rate: float, description: str) -> CheckResult:
    """Raise when `bad` of `n` is significantly more than `rate` (one-sided, ALPHA)."""
    p = float(stats.binom.sf(bad - 1, n, rate)) if n > 0 and bad > 0 else 1.0
    return CheckResult(
        flag=flag,
        raised=n > 0 and p < ALPHA,
        bad=int(bad),
        n=int(n),
        allowed_rate=rate,
        p_value=p,
        description=description,
    )


def zero_gradients(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> CheckResult:
    """Samples whose logit-margin gradient w.r.t. the input is exactly zero (masked gradients).

    The margin (true logit minus best other logit) is used instead of the cross-entropy so that
    a confidently correct float32 softmax cannot produce a zero gradient on an honest model.
    """
    xa = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = module(xa)
        true = logits.gather(1, y[:, None]).squeeze(1)
        other = logits.masked_fill(
            torch.nn.functional.one_hot(y, logits.shape[1]).bool(), -torch.inf
        )
        margin = true - other.amax(1)
        grad = torch.autograd.grad(margin.sum(), xa)[0]
    zero = (torch.nan_to_num(grad, nan=0.0).flatten(1) == 0).all(dim=1)
    return binomial_check(
        "zero_gradients",
        int(zero.sum()),
        len(x),
        ZERO_GRAD_RATE,
        "input gradient of the logit margin is exactly zero",
    )


def nondeterministic(adapter: ModelAdapter, x: torch.Tensor, repeats: int = 3) -> CheckResult:
    """Repeated forward passes on the same inputs differ (randomised defence or dropout on)."""
    first = adapter.logits(x).double().cpu()
    differ = torch.zeros(len(x), dtype=torch.bool)
    for _ in range(repeats - 1):
        again = adapter.logits(x).double().cpu()
        scale = first.abs().amax(1).clamp_min(1.0)
        differ |= (again - first).abs().amax(1) > NONDETERMINISM_ATOL * scale
    bad = int(differ.sum())
    return CheckResult(
        flag="nondeterministic_forward",
        raised=bad > 0,
        bad=bad,
        n=len(x),
        allowed_rate=None,
        p_value=None,
        description="repeated forward passes on the same input give different logits",
    )


def probability_outputs(logits: torch.Tensor) -> CheckResult:
    """Every output row is non-negative and sums to one: the model returns probabilities."""
    out = logits.double().cpu()
    rows = (out >= -PROBABILITY_ATOL).all(1) & ((out.sum(1) - 1).abs() <= PROBABILITY_ATOL)
    raised = bool(len(out) > 0 and rows.all())
    return CheckResult(
        flag="probability_outputs",
        raised=raised,
        bad=int(rows.sum()),
        n=len(out),
        allowed_rate=None,
        p_value=None,
        description="outputs are probabilities, not logits (softmax saturates gradients)",
    )


def unbounded_attack_fails(broken: torch.Tensor, correct: torch.Tensor) -> CheckResult:
    """An attack with a budget spanning the whole input range leaves samples unbroken."""
    n = int(correct.sum())
    bad = int((correct & ~broken).sum())
    return binomial_check(
        "unbounded_attack_fails",
        bad,
        n,
        UNBOUNDED_FAIL_RATE,
        "PGD with eps = the whole input range does not reach ~100% success",
    )


def noise_beats_gradient(
    noise_broken: torch.Tensor, ensemble_broken: torch.Tensor, correct: torch.Tensor
) -> CheckResult:
    """Random noise in the eps ball breaks samples that every gradient attack left standing."""
    n = int(correct.sum())
    bad = int((correct & noise_broken & ~ensemble_broken).sum())
    return binomial_check(
        "noise_beats_gradient",
        bad,
        n,
        NOISE_ONLY_RATE,
        "random noise within eps breaks samples the gradient attacks did not",
    )


def stronger_attack_lowers(
    strong_broken: torch.Tensor, ensemble_broken: torch.Tensor, correct: torch.Tensor
) -> CheckResult:
    """PGD with twice the steps and restarts breaks samples the configured ensemble missed."""
    n = int(correct.sum())
    bad = int((correct & strong_broken & ~ensemble_broken).sum())
    return binomial_check(
        "stronger_attack_lowers_acc",
        bad,
        n,
        STRONGER_ONLY_RATE,
        "doubling PGD steps and restarts lowers robust accuracy by more than noise",
    )


def loss_not_increasing(
    loss_start: torch.Tensor, loss_best: torch.Tensor, correct: torch.Tensor
) -> CheckResult:
    """The PGD loss never rose above its starting value for too many samples."""
    n = int(correct.sum())
    flat = ~(loss_best > loss_start + 1e-6)
    bad = int((correct.cpu() & flat.cpu()).sum())
    return binomial_check(
        "loss_not_increasing",
        bad,
        n,
        LOSS_FLAT_RATE,
        "the PGD attack loss does not increase over the steps",
    )


def noise_attack(
    classify: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    noise: Callable[[int], torch.Tensor],
    eps: float,
    bounds: tuple[float, float],
    draws: int,
) -> torch.Tensor:
    """Per sample: did any of `draws` seeded random points in the eps ball get misclassified?"""
    broken = torch.zeros(len(x), dtype=torch.bool)
    for d in range(draws):
        xn = (x + eps * noise(d)).clamp(*bounds)
        pred = classify(xn).cpu()
        broken |= pred != y.cpu()
    return broken
