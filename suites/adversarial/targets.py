"""Target classes for the targeted attacks (APGD-T, FAB-T): which classes, in which order.

`logits` is AutoAttack's order: the clean input's 2nd, 3rd, ... highest logits. `malt` is MALT's
(Melamed, Yehudai & Shamir 2024, "MALT Powers Up Adversarial Attacks"): each class t is ranked by
the distance to its decision boundary under a linear model of the logits at the clean input,

    (z_y - z_t) / ||grad (z_y - z_t)||_*     (the dual norm: L1 for L-inf, L2 for L2),

closest first, so a budget of k targets goes to the k classes a small perturbation most likely
reaches; it costs one gradient pass per class and sample, once. Column 0 of a ranking is the
sample's own (clean) top class; targets are columns 1, 2, ...
"""

from __future__ import annotations

from typing import Literal

import torch

from harness.suites.adversarial.budgets import Norm
from harness.suites.adversarial.forward import Forward

TargetOrder = Literal["logits", "malt"]


def target_ranking(
    fwd: Forward, x: torch.Tensor, y: torch.Tensor, *, norm: Norm, order: TargetOrder
) -> torch.Tensor:
    """(B, classes): each sample's top class, then its target classes in `order`."""
    logits = fwd.logits(x)
    by_logits = logits.argsort(dim=1, descending=True)
    if order == "logits" or fwd.num_classes <= 2:
        return by_logits
    top = by_logits[:, 0]
    score = torch.full_like(logits, torch.inf, dtype=torch.float64)
    for t in range(fwd.num_classes):
        target = torch.full_like(top, t)

        def gap(z: torch.Tensor, target: torch.Tensor = target) -> torch.Tensor:
            return z.gather(1, top[:, None]).squeeze(1) - z.gather(1, target[:, None]).squeeze(1)

        _, value, grad = fwd.loss_grad(x, gap)
        flat = grad.flatten(1).double()
        dual = flat.abs().sum(1) if norm == "linf" else flat.norm(dim=1)
        distance = torch.nan_to_num(value.double() / dual.clamp_min(1e-30), nan=torch.inf)
        score[:, t] = torch.where(top == t, torch.inf, distance)
    order_t = score.argsort(dim=1)  # closest boundary first; the top class (inf) last
    return torch.cat([top[:, None], order_t[:, :-1]], dim=1)
