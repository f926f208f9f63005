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

import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import eagerpy as ep
import foolbox as fb
import torch

from harness.suites.adversarial.attack import (
    Attack,
    AttackBatch,
    AttackKind,
    Proposal,
    tensor_inputs,
)
from harness.suites.adversarial.forward import Forward

log = logging.getLogger(__name__)

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


class _Foolbox(Attack):
    """A foolbox attack minimising the norm (no eps): the sweep thresholds it at every eps."""

    kind: ClassVar[AttackKind] = "minimization"

    def foolbox(self) -> fb.attacks.Attack:
        raise NotImplementedError

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        x = tensor_inputs(batch)
        fmodel = foolbox_model(model, batch.bounds, x.device)
        cand = run_foolbox(
            self.foolbox(), fmodel, x, batch.y, bounds=batch.bounds, rng_seed=batch.batch_seed
        )
        return Proposal(x=cand)


class DeepFool(_Foolbox):
    family = "deepfool"
    at_least = {"overshoot": 0.0}
    norms = ("linf", "l2")
    summary = "{norm} DeepFool (foolbox), minimal perturbation"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {"steps": 50, "candidates": 10, "overshoot": 0.02, "loss": "logits"}

    def foolbox(self) -> fb.attacks.Attack:
        if self.norm == "linf":
            return fb.attacks.LinfDeepFoolAttack(**self.params)
        return fb.attacks.L2DeepFoolAttack(**self.params)


class CarliniWagner(_Foolbox):
    family = "cw"
    at_least = {"confidence": 0.0}
    norms = ("l2",)
    summary = "Carlini-Wagner L2 (foolbox), minimal perturbation"

    @classmethod
    def names(cls) -> dict[str, str]:
        return {"l2_cw": "l2"}

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {
            "binary_search_steps": 5,
            "steps": 100,
            "stepsize": 0.01,
            "confidence": 0.0,
            "initial_const": 1e-3,
            "abort_early": True,
        }

    def foolbox(self) -> fb.attacks.Attack:
        return fb.attacks.L2CarliniWagnerAttack(**self.params)


class _Decision(_Foolbox):
    """A decision-based attack (labels only) from our own starting points (`decision_starts`);
    samples without a start, or in a batch foolbox failed on, are not attacked."""

    kind: ClassVar[AttackKind] = "decision"
    gradients = False

    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        x, y = tensor_inputs(batch), batch.y
        starts, usable = decision_starts(
            x, y, batch.clean_prediction, lambda xs: model.decide(xs).argmax(1).to(x.device)
        )
        cand = x.clone()
        picked = usable.nonzero().squeeze(1)
        if not len(picked):
            return Proposal(x=cand, attacked=usable.cpu())
        try:
            cand[picked] = run_foolbox(
                self.foolbox(),
                foolbox_model(model, batch.bounds, x.device),
                x[picked],
                y[picked],
                bounds=batch.bounds,
                rng_seed=batch.batch_seed,
                starting_points=starts[picked],
            ).to(x.device)
        except (AssertionError, ValueError) as err:
            # Foolbox asserts that its boundary points stay adversarial; a model whose decision
            # for one input depends on the rest of the batch (dynamic int8 quantisation scales
            # activations per batch) breaks that. The batch is not attacked, and flagged.
            log.warning("%s failed on a batch of %s: %r", self.family, model.name, err)
            return Proposal(
                x=x.clone(),
                attacked=torch.zeros(len(x), dtype=torch.bool),
                failure=f"{type(err).__name__}: {err}".rstrip(": "),
            )
        return Proposal(x=cand, attacked=usable.cpu())


class HopSkipJump(_Decision):
    family = "hopskipjump"
    norms = ("linf", "l2")
    summary = "HopSkipJump (foolbox), decision-based, labels only"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {
            "steps": 16,
            "initial_gradient_eval_steps": 50,
            "max_gradient_eval_steps": 500,
            "constraint": norm,
        }

    def foolbox(self) -> fb.attacks.Attack:
        return fb.attacks.HopSkipJumpAttack(**self.params)


class Boundary(_Decision):
    family = "boundary"
    norms = ("l2",)
    summary = "Boundary attack (foolbox), decision-based, labels only"

    @classmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        return {"steps": 500, "spherical_step": 0.01, "source_step": 0.01}

    def foolbox(self) -> fb.attacks.Attack:
        return fb.attacks.BoundaryAttack(**self.params)
