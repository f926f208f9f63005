"""Foolbox's attacks (DeepFool, Carlini-Wagner, HopSkipJump, Boundary) in the model's own bounds.

Foolbox clips proposals to [0, 1] in places whatever a model's declared bounds (a tabular model
with bounds (0, 4254) kept HopSkipJump running for half an hour), so every foolbox attack runs on
the model composed with an affine map from the unit box: inputs go in as (x - lo) / (hi - lo),
candidates come back as lo + z (hi - lo). The attacks used here minimise a norm (no eps), and the
suite re-measures every candidate's norm in input units, so the rescaling changes nothing else.

Foolbox draws from torch's global generator (HopSkipJump's internals), so each call runs inside
`torch.random.fork_rng` seeded from the batch's sample ids: global RNG state is never read or
changed, reruns are identical, but results depend on the batch composition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import eagerpy as ep
import foolbox as fb
import torch

from suites.adversarial.forward import Forward

T = TypeVar("T")


class _UnitBoxModule(torch.nn.Module):
    """The white-box model on unit-box inputs, its outputs shape-checked."""

    def __init__(self, fwd: Forward, bounds: tuple[float, float]) -> None:
        super().__init__()
        assert fwd.module is not None
        self.net = fwd.module
        self.fwd = fwd
        self.lo, self.width = bounds[0], bounds[1] - bounds[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fwd.checked(self.net(self.lo + z * self.width), len(z))


class LogitsModel(fb.models.Model):
    """Foolbox model on unit-box inputs calling `Forward.logits` (no gradients needed), so
    decision-based attacks can attack any adapter (ONNX, scikit-learn, remote APIs)."""

    def __init__(self, fwd: Forward, bounds: tuple[float, float]) -> None:
        self._fwd = fwd
        self._lo, self._width = bounds[0], bounds[1] - bounds[0]

    @property
    def bounds(self) -> fb.types.Bounds:
        return fb.types.Bounds(0.0, 1.0)

    def __call__(self, inputs: T) -> T:  # foolbox's generic signature
        z, restore = ep.astensor_(inputs)
        raw: torch.Tensor = z.raw
        out = self._fwd.logits(self._lo + raw.detach() * self._width).to(raw.device)
        return restore(ep.astensor(out))


def foolbox_model(fwd: Forward, bounds: tuple[float, float], device: torch.device) -> Any:
    """The foolbox model on the unit box: white-box when `fwd` has a module, else logits only."""
    if fwd.module is None:
        return LogitsModel(fwd, bounds)
    return fb.PyTorchModel(_UnitBoxModule(fwd, bounds).eval(), bounds=(0.0, 1.0), device=device)


def foolbox_attack(name: str, params: dict[str, Any]) -> fb.attacks.Attack:
    """The configured foolbox attack of a catalogue entry."""
    match name:
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
    raise ValueError(f"attack {name!r} is not a foolbox attack")


def run_foolbox(
    attack: fb.attacks.Attack,
    fmodel: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    bounds: tuple[float, float],
    rng_seed: int,
    starting_points: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run one norm-minimising foolbox attack on a batch (in the unit box) and return its
    candidates in input units."""
    lo, width = bounds[0], bounds[1] - bounds[0]
    z = ((x - lo) / width).clamp_(0.0, 1.0)
    kwargs = {}
    if starting_points is not None:
        kwargs["starting_points"] = ((starting_points - lo) / width).clamp_(0.0, 1.0)
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(rng_seed)
        _, clipped, _ = attack(fmodel, z, fb.criteria.Misclassification(y), epsilons=None, **kwargs)
    return (lo + clipped.detach() * width).clamp_(bounds[0], bounds[1])


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
