"""What OOD detectors see and the interface they share.

A detector scores a batch from one forward pass's `Outputs` (float64 logits, the penultimate
features when the adapter gives them) and is fitted, where it needs in-distribution statistics,
on a `FitData` (the outputs of a seeded stratified subset of the task's train split with its
labels). Every score is higher for inputs that look in-distribution, as the logit scores are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import torch

Need = Literal["logits", "features", "head", "gradients"]

T = TypeVar("T")


@dataclass(frozen=True)
class Head:
    """The last layer: logits = features @ weight.T + bias (float64)."""

    weight: torch.Tensor
    bias: torch.Tensor

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return features @ self.weight.T + self.bias


@dataclass(frozen=True)
class Outputs:
    """One batch as the detectors see it (float64, CPU)."""

    logits: torch.Tensor
    features: torch.Tensor | None = None


@dataclass(frozen=True)
class FitData:
    """In-distribution outputs to fit on: logits, features, labels (0..C-1) and the head."""

    logits: torch.Tensor
    features: torch.Tensor | None
    labels: torch.Tensor
    head: Head | None
    num_classes: int
    _shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def shared(self, key: str, fit: Callable[[FitData], T]) -> T:
        """A statistic that several detectors fit alike (the class means and tied covariance of
        Mahalanobis and RMD), fitted once on this data: `fit(self)` the first time `key` is
        asked for, the same object after."""
        if key not in self._shared:
            self._shared[key] = fit(self)
        value: T = self._shared[key]
        return value


class NotFitted(Exception):
    """A detector that cannot be fitted on this data (`fit` raises it): the job leaves it out
    with the message as its reason, instead of scoring with a statistic that is not there."""


class Detector:
    """A post-hoc OOD detector: `fit` once (notes say what it had to do), `score` per batch."""

    name: ClassVar[str]
    needs: ClassVar[Need] = "logits"
    fits: ClassVar[bool] = False  # needs in-distribution statistics (a train split)
    scores_outputs: ClassVar[bool] = False
    """Its score is a function of the model's outputs taken as logits (their softmax, logsumexp
    or largest value): for a model that returns probabilities (a final softmax) it is a function
    of softmax(probabilities), not the detector's, and its numbers carry the
    `probability_outputs` flag (`suites.shift.probability_outputs`). Each detector says why."""

    def fit(self, data: FitData) -> list[str]:
        """Fit on in-distribution data; the notes say what was adjusted (none by default).
        Raises `NotFitted` when the data cannot fit it."""
        return []

    def score(self, out: Outputs) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def features_of(out: Outputs | FitData) -> torch.Tensor:
        assert out.features is not None, "a feature detector is only run with features"
        return out.features


def energy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy T logsumexp(logits / T) (higher = more in-distribution)."""
    return temperature * torch.logsumexp(logits / temperature, dim=1)
