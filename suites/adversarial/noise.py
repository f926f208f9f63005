"""Per-sample random points in an eps ball, drawn from the suite's one generator, `counter_rng`.

Every random number the adversarial suite uses (PGD and APGD starts, Square's windows and signs,
the noise check's draws) comes from `suites.counter_rng`, keyed by a per-sample seed from
`derive_seed(run seed, sample id, ...)`: a pure function of that seed, so a sample's draws do not
depend on the batch it sits in, the batch size or the device, and no global RNG state is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from harness.core.seeding import derive_seed
from harness.suites import counter_rng
from harness.suites.adversarial.budgets import Norm, eps_label
from harness.suites.adversarial.projection import Box, into_budget


def sample_seeds(
    run_seed: int, sample_ids: Sequence[str], *parts: object, device: torch.device
) -> torch.Tensor:
    """One int64 seed per sample: `derive_seed(run seed, sample id, *parts)`."""
    values = [derive_seed(run_seed, sid, *parts) for sid in sample_ids]
    return torch.tensor(values, dtype=torch.int64, device=device)


def attack_seeds(
    run_seed: int, sample_ids: Sequence[str], attack: str, eps: float, device: torch.device
) -> torch.Tensor:
    """The seeds of one attack at one budget (restarts and targets are streams of these)."""
    return sample_seeds(run_seed, sample_ids, attack, eps_label(eps), device=device)


def start_noise(
    shape: tuple[int, ...], norm: Norm, seeds: torch.Tensor, stream: int = 0
) -> torch.Tensor:
    """Per-sample random point: uniform in the unit L-inf box, or uniform in the unit L2 ball."""
    n = len(seeds)
    if norm == "linf":
        return counter_rng.uniform(seeds, shape, stream) * 2 - 1
    g = counter_rng.normal(seeds, shape, stream).reshape(n, -1)
    d = g.shape[1]
    # radius U^(1/d) from a separate stream: uniform in the ball, not on the sphere
    r = counter_rng.uniform(seeds, (1,), stream + (1 << 20)) ** (1.0 / d)
    unit = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (unit * r).reshape(n, *shape)


def random_point(
    x: torch.Tensor, seeds: torch.Tensor, *, norm: Norm, eps: float, bounds: Box
) -> torch.Tensor:
    """A seeded random point of the `norm` ball of radius eps around each input, in the box
    (`start_noise`, projected: `into_budget`)."""
    noise = start_noise(tuple(x.shape[1:]), norm, seeds).to(x.device, x.dtype)
    return into_budget(x, x + eps * noise, norm=norm, eps=eps, bounds=bounds)
