"""The attack catalogue and the attack runners: our Madry PGD plus foolbox's other attacks.

PGD is our own batched loop rather than foolbox's `LinfPGD`: foolbox returns the *last* iterate
and has no restarts, while a sound evaluation keeps the best (adversarial) iterate of every step and
restart per sample. It uses the Madry step size (`rel_stepsize * eps / steps`, default 2.5 eps / steps;
foolbox's default moves only about 1.3 eps in total) and per-sample random starts seeded from the run
seed, the sample id, the attack, eps and the restart. FGSM, DeepFool, Carlini-Wagner and the
decision-based attacks (HopSkipJump, Boundary) run through foolbox 3.3.4.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import foolbox as fb
import torch

from harness.core.errors import ConfigError, UnknownNameError
from harness.core.seeding import derive_seed
from suites.adversarial.budgets import Norm
from suites.adversarial.frozen import frozen_parameters
from suites.adversarial.noise import start_noise

AttackKind = Literal["fixed", "minimization", "decision"]


@dataclass(frozen=True, kw_only=True)
class AttackInfo:
    """A catalogue entry: norm, kind (fixed budget, norm minimisation, decision-based) and defaults."""

    name: str
    norm: Norm
    kind: AttackKind
    gradients: bool
    defaults: dict[str, Any]
    description: str


def _catalogue() -> dict[str, AttackInfo]:
    pgd = {"steps": 10, "rel_stepsize": 2.5, "restarts": 1, "random_start": True}
    deepfool = {"steps": 50, "candidates": 10, "overshoot": 0.02, "loss": "logits"}
    decision = {"steps": 16, "initial_gradient_eval_steps": 50, "max_gradient_eval_steps": 500}
    entries = [
        AttackInfo(
            name="fgsm",
            norm="linf",
            kind="fixed",
            gradients=True,
            defaults={},
            description="one signed-gradient step of size eps (foolbox FGSM)",
        ),
        AttackInfo(
            name="linf_pgd",
            norm="linf",
            kind="fixed",
            gradients=True,
            defaults=pgd,
            description="Madry L-inf PGD with random restarts, best iterate kept",
        ),
        AttackInfo(
            name="l2_pgd",
            norm="l2",
            kind="fixed",
            gradients=True,
            defaults=pgd,
            description="Madry L2 PGD with random restarts, best iterate kept",
        ),
        AttackInfo(
            name="linf_deepfool",
            norm="linf",
            kind="minimization",
            gradients=True,
            defaults=deepfool,
            description="L-inf DeepFool (foolbox), minimal perturbation",
        ),
        AttackInfo(
            name="l2_deepfool",
            norm="l2",
            kind="minimization",
            gradients=True,
            defaults=deepfool,
            description="L2 DeepFool (foolbox), minimal perturbation",
        ),
        AttackInfo(
            name="l2_cw",
            norm="l2",
            kind="minimization",
            gradients=True,
            defaults={
                "binary_search_steps": 5,
                "steps": 100,
                "stepsize": 0.01,
                "confidence": 0.0,
                "initial_const": 1e-3,
                "abort_early": True,
            },
            description="Carlini-Wagner L2 (foolbox), minimal perturbation",
        ),
        AttackInfo(
            name="l2_hopskipjump",
            norm="l2",
            kind="decision",
            gradients=False,
            defaults={**decision, "constraint": "l2"},
            description="HopSkipJump (foolbox), decision-based, labels only",
        ),
        AttackInfo(
            name="linf_hopskipjump",
            norm="linf",
            kind="decision",
            gradients=False,
            defaults={**decision, "constraint": "linf"},
            description="HopSkipJump (foolbox), decision-based, labels only",
        ),
        AttackInfo(
            name="l2_boundary",
            norm="l2",
            kind="decision",
            gradients=False,
            defaults={"steps": 500, "spherical_step": 0.01, "source_step": 0.01},
            description="Boundary attack (foolbox), decision-based, labels only",
        ),
    ]
    return {a.name: a for a in entries}


def attack_catalogue() -> dict[str, AttackInfo]:
    """Every attack the suite knows, by name (a fresh dict: no module-level mutable state)."""
    return _catalogue()


def resolve_attack(name: str) -> AttackInfo:
    catalogue = _catalogue()
    if name not in catalogue:
        raise UnknownNameError("attack", name, catalogue)
    return catalogue[name]


def attack_params(info: AttackInfo, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with the spec's overrides; unknown keys are refused with close matches."""
    params = dict(info.defaults)
    for key, value in (overrides or {}).items():
        if key not in params:
            close = difflib.get_close_matches(key, list(params), n=2)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            known = ", ".join(params) or "(none)"
            raise ConfigError(
                f"suites.adversarial.params.{info.name}.{key}: unknown parameter{hint}; "
                f"known: {known}"
            )
        params[key] = type(params[key])(value) if not isinstance(params[key], bool) else bool(value)
    return params


def foolbox_attack(info: AttackInfo, params: dict[str, Any]) -> fb.attacks.Attack:
    """The configured foolbox attack object for a non-PGD catalogue entry."""
    match info.name:
        case "fgsm":
            return fb.attacks.FGSM(random_start=False)
        case "linf_deepfool":
            return fb.attacks.LinfDeepFoolAttack(**params)
        case "l2_deepfool":
            return fb.attacks.L2DeepFoolAttack(**params)
        case "l2_cw":
            return fb.attacks.L2CarliniWagnerAttack(**params)
        case "l2_hopskipjump" | "linf_hopskipjump":
            return fb.attacks.HopSkipJumpAttack(**params)
        case "l2_boundary":
            return fb.attacks.BoundaryAttack(**params)
    raise ValueError(f"attack {info.name!r} is not a foolbox attack")


def run_foolbox(
    attack: fb.attacks.Attack,
    fmodel: fb.models.Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | None,
    rng_seed: int,
    starting_points: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run one foolbox attack on a batch and return its clipped candidates.

    Foolbox draws random numbers from torch's global generator (e.g. HopSkipJump's starting
    points), so the call runs inside `torch.random.fork_rng` seeded from the batch's sample ids:
    global RNG state is neither read nor changed.
    """
    devices = [x.device] if x.device.type == "cuda" else []
    kwargs = {} if starting_points is None else {"starting_points": starting_points}
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(rng_seed)
        _, clipped, _ = attack(fmodel, x, fb.criteria.Misclassification(y), epsilons=eps, **kwargs)
    return clipped.detach()


def decision_starts(
    x: torch.Tensor,
    y: torch.Tensor,
    prediction: torch.Tensor,
    classify: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Starting points for decision-based attacks: the nearest (L2) sample of the batch that the
    model assigns to another class, re-checked with `classify`.

    Foolbox's own initialisation (blended uniform noise) raises for the whole batch when it fails
    on a single input (`init_attack failed for 7 of 200 inputs` on the int8 digits MLP); here a
    sample without a usable start is simply not attacked. Returns (starts, usable), where usable
    is False for samples already misclassified (nothing to attack) or without a start.
    """
    flat = x.flatten(1)
    dist = torch.cdist(flat, flat)
    dist = dist.masked_fill(prediction[None, :].to(x.device) == y[:, None], torch.inf)
    nearest = dist.argmin(dim=1)
    starts = x[nearest]
    correct = prediction.to(x.device) == y
    usable = correct & torch.isfinite(dist.gather(1, nearest[:, None]).squeeze(1))
    if usable.any():
        usable &= classify(starts) != y
    return starts, usable


@dataclass(frozen=True, kw_only=True)
class PGDResult:
    """Best iterate per sample (adversarial when one was found), plus the attack-loss trace."""

    adv: torch.Tensor
    found: torch.Tensor  # bool (B,)
    loss_start: torch.Tensor | None  # (B,) loss at the first iterate of restart 0 (track_loss)
    loss_best: torch.Tensor | None  # (B,) highest loss over all steps and restarts (track_loss)


def pgd_seeds(
    run_seed: int, sample_ids: Sequence[str], attack: str, eps: float, restart: int
) -> list[int]:
    return [derive_seed(run_seed, sid, attack, f"{eps:.9g}", restart) for sid in sample_ids]


def pgd(
    module: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: Norm,
    eps: float,
    steps: int,
    rel_stepsize: float,
    restarts: int,
    random_start: bool,
    bounds: tuple[float, float],
    sample_ids: Sequence[str],
    run_seed: int,
    attack: str,
    track_loss: bool = False,
) -> PGDResult:
    """Madry PGD with restarts, keeping the first adversarial iterate found for each sample.

    Every iterate (the start and each step) is classified by the forward pass that also gives
    the next gradient, so keeping the best iterate costs no extra pass; the final iterate of a
    restart is classified under `no_grad`. The loop never synchronises with the host (no
    `.item()`, `.any()` or boolean indexing), which matters on a GPU. Model parameters are frozen
    for the duration (see `frozen_parameters`).
    """
    lo, hi = bounds
    step = rel_stepsize * eps / steps
    x = x.detach()
    best = x.clone()
    found = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    loss_start: torch.Tensor | None = None
    loss_best = torch.full((len(x),), -torch.inf, device=x.device) if track_loss else None
    view = (-1,) + (1,) * (x.ndim - 1)
    # Projection onto the eps ball and the bounds in one clamp (identical to min/max + clamp).
    lower, upper = (x - eps).clamp_(lo, hi), (x + eps).clamp_(lo, hi)
    with frozen_parameters(module):
        for restart in range(restarts):
            if random_start:
                seeds = pgd_seeds(run_seed, sample_ids, attack, eps, restart)
                noise = start_noise(tuple(x.shape[1:]), norm, seeds, x.device)
                xa = (x + eps * noise).clamp_(lo, hi)
            else:
                xa = x.clone()
            for t in range(steps + 1):
                last = t == steps
                if last:
                    with torch.no_grad():
                        logits = module(xa)
                        loss = _ce(logits, y) if track_loss else None
                    grad = None
                else:
                    xa.requires_grad_(True)
                    with torch.enable_grad():
                        logits = module(xa)
                        loss = _ce(logits, y)
                        (grad,) = torch.autograd.grad(loss.sum(), xa)
                    xa, logits, loss = xa.detach(), logits.detach(), loss.detach()
                if track_loss:
                    assert loss is not None and loss_best is not None
                    if loss_start is None:
                        loss_start = loss.clone()
                    loss_best = torch.maximum(loss_best, torch.nan_to_num(loss, nan=-torch.inf))
                new = (logits.argmax(1) != y) & ~found
                best = torch.where(new.view(view), xa, best)
                found |= new
                if grad is None:
                    break
                if norm == "linf":
                    xa = xa + step * torch.nan_to_num_(grad.sign_(), nan=0.0)
                    xa = torch.clamp(xa, lower, upper)
                else:
                    grad = torch.nan_to_num_(grad, nan=0.0, posinf=0.0, neginf=0.0)
                    gnorm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
                    xa = xa + step * grad / gnorm
                    delta = xa - x
                    dnorm = delta.flatten(1).norm(dim=1).clamp_min(1e-12).view(view)
                    xa = (x + delta * torch.clamp(eps / dnorm, max=1.0)).clamp_(lo, hi)
    return PGDResult(adv=best, found=found, loss_start=loss_start, loss_best=loss_best)


def _ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits, y, reduction="none")


def model_for_foolbox(
    module: torch.nn.Module, bounds: tuple[float, float], device: torch.device
) -> fb.models.Model:
    return fb.PyTorchModel(module, bounds=bounds, device=device)
