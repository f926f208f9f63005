"""Automatic checks that an attack evaluation can be trusted (gradient masking, attack failure).

Drawn from Carlini et al. 2019 ("On Evaluating Adversarial Robustness"), Croce & Hein 2020
(AutoAttack's flags and its Square check) and Pintor et al. 2022 ("Indicators of Attack
Failure"). Each count-based check counts the samples that look wrong and compares the count with a
small allowed rate through a one-sided binomial test (raise only when P(Binomial(n, rate) >= bad)
< ALPHA), so sampling noise on an ordinary model raises nothing; every result states the smallest
true rate it detects with 80% power at its n (`min_detectable_rate`). Exact checks
(non-determinism, probability outputs) need no tolerance. A raised check becomes a reliability
flag on every robust_acc record.

The allowed rates are small because an honest evaluation shows these events almost never (an
exactly zero input gradient, noise or Square beating APGD, an unbounded attack failing): at the
default 500 check samples (about 490 clean-correct on digits) partial masking of 1.6% (allowed
rate 0.2%) to 5% (loss trace, 2%) of the samples is caught with 80% power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from scipy import stats

from harness.core.forward_repeats import changed_rows
from harness.core.probability_outputs import FLAG as PROBABILITY_FLAG
from harness.core.probability_outputs import probability_rows
from harness.suites.adversarial.forward import Forward, margin_loss
from harness.suites.adversarial.pgd import loss_rose

ALPHA = 1e-3
POWER = 0.8  # for the minimum detectable rate each result states
ZERO_GRAD_RATE = 0.002  # samples whose input gradient is exactly zero
NONFINITE_GRAD_RATE = 0.002  # samples with a NaN or inf coordinate in their input gradient
UNBOUNDED_FAIL_RATE = 0.002  # samples an unbounded attack fails to break
NOISE_ONLY_RATE = 0.002  # samples random noise breaks but the attack ensemble does not
SQUARE_ONLY_RATE = 0.002  # samples Square breaks after every gradient attack failed
STRONGER_ONLY_RATE = 0.005  # samples only the 2x steps / 2x restarts attack breaks
LOSS_FLAT_RATE = 0.02  # samples whose attack loss never rose above its starting value
GRADIENT_MISMATCH_RATE = 0.005  # samples whose gradient disagrees with finite differences
MISMATCH_TOLERANCE = 0.5  # |finite difference / gradient prediction - 1| above this: disagrees
# the steps of the finite differences, as fractions of eps: a sample disagrees at all of them
FINITE_DIFFERENCE_STEPS = (0.01, 0.1, 0.25)
# A randomised model: a check sample counted because an extra attack (noise, the stronger attack)
# broke it where the ensemble did not counts only when this many fresh verifications of its
# candidate all call it misclassified (one verification is a coin flip near the boundary)
CONFIRMATIONS = 5


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
    min_detectable_rate: float | None = None  # true rate caught with POWER at this n
    critical: int | None = None  # the smallest count that raises at this n (the threshold)

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
        min_detectable_rate=min_detectable_rate(n, rate),
        critical=critical_count(n, rate),
    )


def critical_count(n: int, rate: float, alpha: float = ALPHA) -> int | None:
    """The smallest count k with P(Binomial(n, rate) >= k) < alpha (None: no count raises)."""
    if n <= 0:
        return None
    k = int(stats.binom.isf(alpha, n, rate)) + 1
    while k > 1 and stats.binom.sf(k - 2, n, rate) < alpha:
        k -= 1
    while k <= n and stats.binom.sf(k - 1, n, rate) >= alpha:
        k += 1
    return k if k <= n else None


def min_detectable_rate(
    n: int, rate: float, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The smallest true rate the binomial check raises on with probability `power` at this n
    (None when n is too small for the check to ever raise)."""
    critical = critical_count(n, rate, alpha)
    if critical is None:
        return None
    lo, hi = rate, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if stats.binom.sf(critical - 1, n, mid) >= power:
            hi = mid
        else:
            lo = mid
    return round(hi, 4)


def margin_gradient(
    fwd: Forward, x: torch.Tensor, y: torch.Tensor, *, finite: bool = True
) -> torch.Tensor:
    """The input gradient of the logit margin (best other logit minus true logit).

    The margin is used instead of the cross-entropy so that a confidently correct float32
    softmax cannot produce a zero gradient on an honest model. A gradient autograd does not
    return at all (the output ignores the input) counts as zero; NaN and inf are read as zero,
    as the attacks read them, unless `finite` is False.
    """
    return fwd.loss_grad(x, margin_loss(y), finite=finite)[2]


def zero_gradients(grad: torch.Tensor) -> CheckResult:
    """Samples whose logit-margin gradient w.r.t. the input is exactly zero (masked gradients)
    once NaN and inf are read as zero, as the attacks read them; the description says how many
    of them were not finite (a backward pass that divides by zero, not a detached input)."""
    flat = grad.flatten(1)
    zero = (torch.nan_to_num(flat, nan=0.0, posinf=0.0, neginf=0.0) == 0).all(dim=1).cpu()
    nonfinite = int((zero & (~torch.isfinite(flat)).any(dim=1).cpu()).sum())
    description = "input gradient of the logit margin is exactly zero"
    if nonfinite:
        description += (
            f", or not finite (NaN or inf, which the attacks read as zero: {nonfinite} of "
            "the samples counted)"
        )
    return binomial_check("zero_gradients", int(zero.sum()), len(grad), ZERO_GRAD_RATE, description)


def nonfinite_gradients(grad: torch.Tensor) -> CheckResult:
    """Samples with a NaN or inf coordinate in their logit-margin input gradient. The attacks
    read those coordinates as zero, so they never move them: a backward pass that is NaN at
    some inputs only (sqrt(x) ** 2 at the zero pixels) masks part of the input while the rest of
    the gradient is honest, which neither zero_gradients (the whole gradient zero) nor
    gradient_mismatch (along the finite coordinates) sees. An honestly differentiable model's
    gradient is finite everywhere."""
    nonfinite = ~torch.isfinite(grad.flatten(1))
    bad = nonfinite.any(dim=1).cpu()
    coords = int(nonfinite.sum())
    description = "input gradient of the logit margin has NaN or inf coordinates"
    if coords:
        description += (
            f" ({coords} coordinates in all; the attacks read them as zero and never move "
            "those inputs)"
        )
    return binomial_check(
        "nonfinite_gradients", int(bad.sum()), len(grad), NONFINITE_GRAD_RATE, description
    )


def gradient_mismatch(
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    grad: torch.Tensor,
    *,
    eps: float,
    box: tuple[torch.Tensor | float, torch.Tensor | float],
    steps: tuple[float, ...] = FINITE_DIFFERENCE_STEPS,
) -> CheckResult:
    """Samples whose input gradient disagrees with the forward pass itself (a wrong surrogate,
    a straight-through or BPDA-style estimator, shattered gradients).

    Along the gradient's own direction d (unit L2; coordinates that would leave the box left
    out), the central finite difference of the logit margin must match the gradient's
    prediction: on an honest network (piecewise linear for ReLU nets) their ratio is 1 up to
    float error (measured: 1.00 on every digits sample of the zoo's models); a gradient from
    another network, or one that ignores a quantisation, gives ratios near 0 or below. A sample
    counts only when it disagrees at every step of `steps` (fractions of eps; by default 1%,
    then 10% and 25%): a float16 or bfloat16 forward pass rounds a 1% step away (its difference is
    rounding noise), a wrong gradient stays wrong at every step. The prediction uses the points
    as represented in the inputs' dtype (a step can round away on raw-unit features); samples
    whose predicted change at the first step is lost in float error, or whose gradient is zero
    (zero_gradients' business), are left out.
    """
    loss = margin_loss(y)
    at = loss(fwd.logits(x)).double()
    usable = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    bad = usable
    for i, step in enumerate(steps):
        rows = torch.arange(len(x), device=x.device) if i == 0 else bad.nonzero().squeeze(1)
        if len(rows) == 0:
            break
        predicted, change = _finite_difference(
            fwd, x[rows], y[rows], grad[rows], h=step * eps, box=box
        )
        resolved = predicted > 1e-5 * (1 + at[rows].abs())  # a change float32 logits resolve
        ratio = change / predicted.clamp_min(1e-300)
        off = ~((ratio - 1).abs() <= MISMATCH_TOLERANCE)
        if i == 0:
            usable, bad = resolved, resolved & off
        else:  # a larger step that resolves the change and agrees clears the sample
            bad = bad.clone()
            bad[rows] = ~resolved | off
    return binomial_check(
        "gradient_mismatch",
        int(bad.sum()),
        int(usable.sum()),
        GRADIENT_MISMATCH_RATE,
        "the input gradient disagrees with finite differences of the forward pass along it "
        "(a gradient from another network or an estimator: gradient attacks are misled)",
    )


def _finite_difference(
    fwd: Forward,
    x: torch.Tensor,
    y: torch.Tensor,
    grad: torch.Tensor,
    *,
    h: float,
    box: tuple[torch.Tensor | float, torch.Tensor | float],
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the gradient's predicted change of the logit margin, the central finite difference) over
    a step of L2 length 2h along the gradient's direction, both float64."""
    loss = margin_loss(y)
    g = grad.flatten(1)
    xf = x.flatten(1)
    low = torch.as_tensor(box[0], dtype=x.dtype, device=x.device).flatten()
    high = torch.as_tensor(box[1], dtype=x.dtype, device=x.device).flatten()
    d = g / g.norm(dim=1, keepdim=True).clamp_min(1e-30)
    inside = (xf - h * d.abs() >= low) & (xf + h * d.abs() <= high)
    d = torch.where(inside, d, torch.zeros_like(d))
    up_x, down_x = xf + h * d, xf - h * d
    predicted = (g.double() * (up_x.double() - down_x.double())).sum(1)
    up = loss(fwd.logits(up_x.view_as(x))).double()
    down = loss(fwd.logits(down_x.view_as(x))).double()
    return predicted, up - down


def nondeterministic(
    logits: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, repeats: int = 3
) -> CheckResult:
    """Repeated forward passes on the same inputs differ (randomised defence or dropout on)."""
    first = logits(x).double().cpu()
    differ = torch.zeros(len(x), dtype=torch.bool)
    for _ in range(repeats - 1):
        # finite logits only, as the shift and text probes compare: a -inf (masked) class gave
        # the row an inf scale that hid every change of its other logits
        differ |= changed_rows(first, logits(x).double().cpu())
    bad = int(differ.sum())
    return CheckResult(
        flag="nondeterministic_forward",
        raised=bad > 0,
        bad=bad,
        n=len(x),
        allowed_rate=None,
        p_value=None,
        description=(
            "repeated forward passes on the same input give different logits (the robust "
            "accuracy is then the expectation-over-transformation result)"
        ),
    )


def batch_dependent(logits: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> CheckResult:
    """An input's logits depend on the other inputs of its batch (BatchNorm with batch
    statistics, `track_running_stats=False`, test-time normalisation of the batch).

    The first half of `x` is passed twice at the same batch size: beside the second half, then
    beside itself. Rows of a batch-independent network are computed alike whatever the other
    rows hold (the same kernels at the same shape), so only a real dependence moves them; a
    different batch size could change the kernels' float rounding instead.
    """
    half = len(x) // 2
    if half == 0:
        return _batch_result(0, 0)
    first = x[:half]
    beside_rest = logits(torch.cat([first, x[half : 2 * half]])).double().cpu()[:half]
    beside_self = logits(torch.cat([first, first])).double().cpu()[:half]
    return _batch_result(int(changed_rows(beside_rest, beside_self).sum()), half)


def _batch_result(bad: int, n: int) -> CheckResult:
    return CheckResult(
        flag="batch_dependent_forward",
        raised=bad > 0,
        bad=bad,
        n=n,
        allowed_rate=None,
        p_value=None,
        description=(
            "an input's logits change with the other inputs of its batch (e.g. BatchNorm with "
            "batch statistics): every number depends on how the suite batches samples"
        ),
    )


def probability_outputs(logits: torch.Tensor) -> CheckResult:
    """Every output row is non-negative and sums to one: the model returns probabilities."""
    rows = probability_rows(logits)
    raised = bool(len(rows) > 0 and rows.all())
    return CheckResult(
        flag=PROBABILITY_FLAG,
        raised=raised,
        bad=int(rows.sum()),
        n=len(rows),
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
    noise_broken: torch.Tensor,
    ensemble_broken: torch.Tensor,
    correct: torch.Tensor,
    *,
    attacks: list[str],
    white_box: bool = True,
) -> CheckResult:
    """Random noise in the eps ball breaks samples that the whole ensemble (`attacks`) left
    standing: `noise_beats_gradient` when gradient attacks ran, `noise_beats_attacks` on a
    model without gradients, where only score-based or decision-based attacks did."""
    n = int(correct.sum())
    bad = int((correct & noise_broken & ~ensemble_broken).sum())
    names = ", ".join(attacks) or "none"
    if white_box:
        flag = "noise_beats_gradient"
        what = f"the attack ensemble ({names}), gradient attacks included,"
    else:
        flag = "noise_beats_attacks"
        what = f"the black-box attacks ({names}; no gradient attack ran: the model exposes none)"
    return binomial_check(
        flag, bad, n, NOISE_ONLY_RATE, f"random noise within eps breaks samples {what} missed"
    )


def gradient_obfuscation(
    square_broken: torch.Tensor, gradient_broken: torch.Tensor, correct: torch.Tensor
) -> CheckResult:
    """Square (score-based, no gradients) breaks samples that every gradient attack missed."""
    n = int(correct.sum())
    bad = int((correct & square_broken & ~gradient_broken).sum())
    return binomial_check(
        "gradient_obfuscation",
        bad,
        n,
        SQUARE_ONLY_RATE,
        "the gradient-free Square attack breaks samples every gradient attack missed "
        "(masked or misleading gradients, or too weak gradient attacks)",
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
        "doubling the gradient attack's steps and restarts lowers robust accuracy by more "
        "than noise",
    )


def loss_not_increasing(
    loss_start: torch.Tensor,
    loss_best: torch.Tensor,
    tolerance: torch.Tensor,
    correct: torch.Tensor,
) -> CheckResult:
    """The PGD loss never rose above its starting value (by more than `tolerance`, the rounding
    `pgd.rise_tolerance` allows) for too many samples."""
    n = int(correct.sum())
    flat = ~loss_rose(loss_best, loss_start, tolerance)
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
    project: Callable[[torch.Tensor], torch.Tensor],
    draws: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample: did any of `draws` seeded random points in the eps ball get misclassified?
    (`project` moves a point into the budget and the box, as every attack's candidates are.)
    Returns that (CPU bool) and each sample's first misclassified point (x where none was)."""
    broken = torch.zeros(len(x), dtype=torch.bool)
    first = x.clone()
    for d in range(draws):
        xn = project(x + eps * noise(d))
        hit = (classify(xn).cpu() != y.cpu()) & ~broken
        if hit.any():
            rows = hit.nonzero().squeeze(1).to(x.device)
            first[rows] = xn[rows]
        broken |= hit
    return broken, first
