"""The one seam every attack plugs into: a small class whose `run` proposes candidates.

As in foolbox's split of `__call__` and `run`, the attack does only the search. The sweep
(`sweep.py`) does everything around it: it picks the samples the attack sees (clean-correct and
not yet broken by an earlier attack of the cascade), sets the budget, moves every candidate into
the budget and the bounds in the verifier's dtype (`projection.py`), re-verifies it with a fresh
forward pass through the adapter (`verification.py`), and keeps the books (per-sample outcomes,
invalid candidates, stored examples, progress). An attack therefore never decides what counts.

Adding an attack is one file: a subclass of `Attack` with its class attributes and `run`, and its
`"module:Class"` line in `attacks.ATTACK_CLASSES` (docs/adversarial.md, "Adding an attack"). The
batch is modality-neutral: `x` is a tensor for images and tables, and may be a list of strings for
a text attack, whose threat model (`norm`) need not be an Lp ball.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch

from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.projection import Box

AttackKind = Literal["fixed", "minimization", "decision"]
"""fixed: finds candidates within a given eps (the cascade); minimization: minimal-norm
candidates, thresholded at every eps by the sweep; decision: labels only, norm-minimising."""


@dataclass(frozen=True, kw_only=True)
class AttackBatch:
    """What an attack sees: samples that are clean-correct and still unbroken, with their seeds.

    Every random draw an attack makes comes from `seeds` (one per sample, `suites.counter_rng`
    streams of it), so a sample's result does not depend on its batch; attacks that can only draw
    from torch's global generator (foolbox) use `batch_seed` inside `torch.random.fork_rng`.
    """

    x: torch.Tensor | list[str]
    y: torch.Tensor  # int64 labels, on the attack device
    seeds: torch.Tensor  # int64, one per sample
    batch_seed: int
    bounds: tuple[float, float]  # the input box (tensor inputs)
    clean_prediction: torch.Tensor  # the model's clean prediction (decision attacks' starts)
    # Tabular tasks with per-feature ranges: each feature's own box (float64 tensors, within
    # `bounds`). The model sees its inputs clipped into it, so an iterate outside it sits where
    # the gradient is 0: the gradient attacks keep their iterates inside (`box`).
    feature_box: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def box(self) -> Box:
        """Where an attack's iterates must stay: each feature's box, else `bounds`."""
        return self.feature_box if self.feature_box is not None else self.bounds

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """One candidate per sample (the clean input where the attack found nothing).

    `attacked` is False for samples the attack did not attack (a decision attack without a
    starting point); `failure` says why a whole batch was not attacked (foolbox raised).
    """

    x: torch.Tensor | list[str]
    attacked: torch.Tensor | None = None  # bool (B,); None: every sample
    failure: str | None = None


class Attack(ABC):
    """An attack: its identity and defaults as class attributes, its search in `run`.

    One class serves every norm in `norms`; the catalogue names it `<norm>_<family>` per norm
    (override `names` for another naming, e.g. `fgsm`). `params` are the defaults merged with the
    preset's and the spec's overrides, checked by the catalogue (unknown keys are refused there).
    """

    family: ClassVar[str]
    norms: ClassVar[tuple[str, ...]]
    kind: ClassVar[AttackKind] = "fixed"
    gradients: ClassVar[bool] = True  # needs input gradients (white-box models only)
    score_based: ClassVar[bool] = False  # logits only, no gradients: the masking detector
    summary: ClassVar[str]  # one line; "{norm}" is replaced by "L-inf" / "L2"
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {}  # parameters with a closed set of values
    # numeric parameters are at least 1 (counts) or more than 0 (other numbers); `at_least`
    # gives a parameter another floor, `at_most` a ceiling (attacks.attack_params)
    at_least: ClassVar[dict[str, float]] = {}
    at_most: ClassVar[dict[str, float]] = {}

    def __init__(self, *, norm: str, params: dict[str, Any]) -> None:
        self.norm = norm
        self.params = params

    @classmethod
    def names(cls) -> dict[str, str]:
        """Catalogue name -> norm for every norm this class attacks."""
        return {f"{norm}_{cls.family}": norm for norm in cls.norms}

    @classmethod
    @abstractmethod
    def defaults(cls, norm: str) -> dict[str, Any]:
        """The attack's parameters and their defaults (the keys a spec may override)."""

    @classmethod
    def description(cls, norm: str) -> str:
        return cls.summary.format(norm={"linf": "L-inf", "l2": "L2"}.get(norm, norm))

    def worst_case_passes(self) -> tuple[int, int] | None:
        """(gradient passes, forward-only passes) per sample when the attack breaks nothing (its
        most costly case, for the cost the suite announces before a run); None: unknown."""
        return None

    @abstractmethod
    def run(self, model: Forward, batch: AttackBatch, eps: float | None) -> Proposal:
        """Candidates for `batch` within `eps` (None for minimisation and decision attacks)."""


def tensor_inputs(batch: AttackBatch) -> torch.Tensor:
    """The batch's inputs as a tensor (every built-in attack works on tensors)."""
    assert isinstance(batch.x, torch.Tensor), "this attack needs tensor inputs"
    return batch.x
