"""Candidates moved into the eps ball and the box, exactly, in the dtype the model sees.

Inputs reach models as float32 tensors. Float32's spacing is about 0.0002 at 2,500 and 0.125 at
1.5e6, so `x + eps` computed in float32 on raw-unit features (incomes, counts) rounds to a point
over the budget or back onto `x`. Every candidate the sweep hands to the
verifier therefore goes through `into_budget`: the projection onto the eps ball and the box is
computed in float64 from the clean input, then each coordinate is rounded to the inputs' dtype
towards the clean input. Each coordinate then moves by at most what the float64 projection
allowed, so the candidate is within eps (L-inf and L2, measured in float64 as the verifier does)
and within the box by construction: a rejected candidate from the suite's own attacks is a bug,
which the tests catch, never a flag on the model.

`linf_box` gives the L-inf attacks the same box for their own iterates (in the inputs' dtype,
rounded inwards), so the points they evaluate are points the verifier accepts.
"""

from __future__ import annotations

import torch

Box = tuple[torch.Tensor | float, torch.Tensor | float]
"""Lower and upper bounds: scalars, or tensors broadcastable to the inputs (per feature)."""


def toward(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`target` (float64) in `x`'s dtype, each coordinate rounded towards `x` (never away)."""
    if target.dtype == x.dtype:
        return target
    out = target.to(x.dtype)
    xd = x.to(target.dtype)
    away = (out.to(target.dtype) - xd).abs() > (target - xd).abs()
    if bool(away.any()):
        out = torch.where(away, torch.nextafter(out, x), out)
    return out


def linf_box(x: torch.Tensor, eps: float, bounds: Box) -> tuple[torch.Tensor, torch.Tensor]:
    """Per coordinate, the lowest and highest values within eps of `x` and within the bounds,
    in `x`'s dtype (rounded inwards)."""
    xd = x.double()
    lo, hi = _bounds(bounds, xd)
    low = toward(x, torch.maximum(xd - eps, lo))
    high = toward(x, torch.minimum(xd + eps, hi))
    return _within(x, low, eps), _within(x, high, eps)


def clamp_into(v: torch.Tensor, bounds: Box) -> torch.Tensor:
    """`v` clipped into the bounds (scalars, or per-feature tensors of any float dtype), in
    `v`'s dtype; a tensor bound is rounded inwards first, so the result lies in the box."""
    lo, hi = bounds
    if not isinstance(lo, torch.Tensor) and not isinstance(hi, torch.Tensor):
        return v.clamp(float(lo), float(hi))
    return torch.clamp(v, _inwards(lo, v, up=True), _inwards(hi, v, up=False))


def _inwards(bound: torch.Tensor | float, v: torch.Tensor, *, up: bool) -> torch.Tensor:
    """A bound in `v`'s dtype and device, rounded up (a lower bound) or down (an upper one)."""
    exact = torch.as_tensor(bound, device=v.device)
    out = exact.to(v.dtype)
    if exact.dtype == v.dtype:
        return out
    wrong = out.to(exact.dtype) < exact if up else out.to(exact.dtype) > exact
    step = torch.full_like(out, torch.inf if up else -torch.inf)
    return torch.where(wrong, torch.nextafter(out, step), out)


def _within(x: torch.Tensor, out: torch.Tensor, eps: float) -> torch.Tensor:
    """`out` with every coordinate farther than eps from `x` (float64 inputs at large
    magnitudes: `x - eps` itself rounds away) moved one step towards `x`."""
    over = (out.double() - x.double()).abs() > eps
    return torch.where(over, torch.nextafter(out, x), out) if bool(over.any()) else out


def into_budget(
    x: torch.Tensor, candidate: torch.Tensor, *, norm: str, eps: float | None, bounds: Box
) -> torch.Tensor:
    """`candidate` projected onto the `norm` ball of radius eps around `x` (eps None: no
    budget, the box only) and into the bounds, in `x`'s dtype, rounded towards `x`. Non-finite
    coordinates are left as they are (the verifier rejects them)."""
    xd, cd = x.detach().double(), candidate.detach().to(x.device).double()
    finite = torch.isfinite(cd)
    cd = torch.where(finite, cd, xd)
    lo, hi = _bounds(bounds, xd)
    if eps is not None and norm == "linf":
        cd = torch.minimum(
            torch.maximum(cd, torch.maximum(xd - eps, lo)), torch.minimum(xd + eps, hi)
        )
    else:
        if eps is not None:  # L2: scale the move down onto the ball
            delta = cd - xd
            size = delta.flatten(1).norm(dim=1).view(-1, *([1] * (x.ndim - 1)))
            cd = xd + delta * torch.clamp(eps / size.clamp_min(1e-300), max=1.0)
        cd = torch.minimum(torch.maximum(cd, lo), hi)  # x is in the box: moves only shrink
    out = toward(x, cd)
    if eps is not None and norm == "linf":
        out = _within(x, out, eps)
    return torch.where(finite, out, candidate.to(out.dtype))


def _bounds(bounds: Box, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    lo, hi = bounds
    return (
        torch.as_tensor(lo, dtype=like.dtype, device=like.device),
        torch.as_tensor(hi, dtype=like.dtype, device=like.device),
    )
