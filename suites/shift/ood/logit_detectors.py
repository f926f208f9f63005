"""Detectors that read the logits alone: every adapter has them.

- `msp`: maximum softmax probability (Hendrycks & Gimpel 2017).
- `energy`: negative free energy T logsumexp(logits / T) (Liu et al. 2020).
- `max_logit`: the largest logit (Hendrycks et al. 2022).
- `neg_entropy`: minus the softmax entropy, in nats.
- `gen`: minus the generalized entropy of the top-M softmax probabilities,
  sum p^gamma (1 - p)^gamma (Liu, Lochman & Zach 2023, "GEN"; gamma 0.1, M 100 by default).

The first four are the table's `msp`, `energy`, `max_logit` and `entropy` columns on every row
(`suites.shift.ood.scores`); the detectors here give the same numbers for the OOD metrics.

Every one scores the outputs alone, taken as logits (`scores_outputs`): for a model that returns
probabilities, msp, neg_entropy and gen read softmax(probabilities), a flattened distribution,
energy the logsumexp of probabilities, and max_logit is the top probability (MSP, not the largest
logit), so their numbers are flagged.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from harness.suites.shift.ood.base import Detector, Outputs, energy


class MSP(Detector):
    name: ClassVar[str] = "msp"
    scores_outputs: ClassVar[bool] = True

    def score(self, out: Outputs) -> np.ndarray:
        return torch.softmax(out.logits, dim=1).max(dim=1).values.numpy()


class Energy(Detector):
    name: ClassVar[str] = "energy"
    scores_outputs: ClassVar[bool] = True

    def __init__(self, temperature: float = 1.0) -> None:
        self.temperature = temperature

    def score(self, out: Outputs) -> np.ndarray:
        return energy(out.logits, self.temperature).numpy()


class MaxLogit(Detector):
    name: ClassVar[str] = "max_logit"
    scores_outputs: ClassVar[bool] = True

    def score(self, out: Outputs) -> np.ndarray:
        return out.logits.max(dim=1).values.numpy()


class NegEntropy(Detector):
    name: ClassVar[str] = "neg_entropy"
    scores_outputs: ClassVar[bool] = True

    def score(self, out: Outputs) -> np.ndarray:
        logp = torch.log_softmax(out.logits, dim=1)
        return (logp.exp() * logp).nansum(dim=1).numpy()


class GEN(Detector):
    name: ClassVar[str] = "gen"
    scores_outputs: ClassVar[bool] = True

    def __init__(self, gamma: float = 0.1, top: int = 100) -> None:
        self.gamma, self.top = gamma, top

    def score(self, out: Outputs) -> np.ndarray:
        p = torch.softmax(out.logits, dim=1)
        m = min(self.top, p.shape[1])
        p = p.topk(m, dim=1).values
        return (-(p.pow(self.gamma) * (1 - p).pow(self.gamma)).sum(dim=1)).numpy()
