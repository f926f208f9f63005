"""Re-verify every adversarial candidate with a fresh forward pass before it counts.

An attack's own success flag is not trusted: the returned (clipped) input is checked for finite
values, for lying within the bounds, for a perturbation norm within eps (plus a tiny tolerance),
and, when it differs from the clean input, is classified again by the adapter (an unchanged
candidate keeps the clean pass's prediction). A candidate that fails any check is invalid: it never
counts as a success, and the reasons are counted and reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from harness.suites.adversarial.budgets import Norm

NORM_RTOL = 1e-5
NORM_ATOL = 1e-6
BOUNDS_ATOL = 1e-6


@dataclass(frozen=True, kw_only=True)
class Verified:
    """Per-sample outcome of re-verification (all tensors on the CPU)."""

    adversarial: torch.Tensor  # bool: valid and misclassified on the fresh forward pass
    valid: torch.Tensor  # bool: finite, in bounds, within budget, finite logits
    changed: torch.Tensor  # bool: the candidate differs from the clean input
    prediction: torch.Tensor  # int64: fresh prediction on the candidate (clean when invalid)
    confidence: torch.Tensor  # float64: top-label probability on the candidate
    norm: torch.Tensor  # float64: perturbation norm (inf when invalid)
    reasons: dict[str, int] = field(default_factory=dict)


def perturbation_norm(delta: torch.Tensor, norm: Norm) -> torch.Tensor:
    """Per-sample norm of `delta`, in float64 (compute `delta` in float64 too: see verify)."""
    flat = delta.detach().double().flatten(1)
    return flat.abs().amax(dim=1) if norm == "linf" else flat.norm(dim=1)


def within_budget(norms: torch.Tensor, eps: float) -> torch.Tensor:
    return norms <= eps * (1 + NORM_RTOL) + NORM_ATOL


def verify(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    candidate: torch.Tensor,
    y: torch.Tensor,
    *,
    norm: Norm,
    eps: float | None,
    bounds: tuple[float, float],
    clean_prediction: torch.Tensor,
    clean_confidence: torch.Tensor,
) -> Verified:
    """Check and re-classify `candidate` (eps None: minimisation attack, no budget check) with
    `logits_fn`, the adapter's own forward pass (averaged over draws for a randomised model).

    Only candidates that differ from their clean input get the fresh forward pass: an unchanged
    candidate *is* the clean input, whose prediction and confidence from the clean pass are
    passed in (attacks return the clean input where they found nothing, so this skips most of
    the pass on robust models). The checks run on the attack's device and come back to the host
    once, as per-sample vectors.
    """
    x, candidate = x.detach(), candidate.detach().to(x.device)
    finite_el = torch.isfinite(candidate)
    finite = finite_el.flatten(1).all(dim=1)
    safe = torch.where(finite_el, candidate, x)
    in_bounds = (
        ((safe >= bounds[0] - BOUNDS_ATOL) & (safe <= bounds[1] + BOUNDS_ATOL)).flatten(1).all(1)
    )
    norms = perturbation_norm(safe.double() - x.double(), norm)  # float64, as projected
    budget_ok = within_budget(norms, eps) if eps is not None else torch.ones_like(finite)
    changed = (safe != x).flatten(1).any(dim=1) | ~finite
    finite, in_bounds, norms, budget_ok, changed = (
        t.cpu() for t in (finite, in_bounds, norms, budget_ok, changed)
    )
    pred = clean_prediction.cpu().clone()
    conf = clean_confidence.cpu().double().clone()
    logits_ok = torch.ones_like(finite)
    rows = changed.nonzero().squeeze(1)
    if len(rows):
        picked = safe if len(rows) == len(safe) else safe[rows.to(safe.device)]
        logits = logits_fn(picked).detach().double().cpu()
        logits_ok[rows] = torch.isfinite(logits).all(dim=1)
        probs = torch.softmax(torch.nan_to_num(logits, nan=0.0, posinf=0.0, neginf=0.0), dim=1)
        pred[rows], conf[rows] = probs.argmax(1), probs.amax(1)
    valid = finite & in_bounds & budget_ok & logits_ok
    pred = torch.where(valid, pred, clean_prediction.cpu())
    conf = torch.where(valid, conf, clean_confidence.cpu().double())
    adversarial = valid & (pred != y.cpu())
    reasons = {
        "non_finite_input": int((~finite).sum()),
        "out_of_bounds": int((finite & ~in_bounds).sum()),
        "over_budget": int((finite & ~budget_ok).sum()),
        "non_finite_logits": int((finite & ~logits_ok).sum()),
    }
    return Verified(
        adversarial=adversarial,
        valid=valid,
        changed=changed,
        prediction=pred,
        confidence=conf,
        norm=torch.where(valid, norms, torch.full_like(norms, torch.inf)),
        reasons={k: v for k, v in reasons.items() if v},
    )
