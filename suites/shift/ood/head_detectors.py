"""Detectors that rebuild the logits from the features through the last layer (its weight and
bias, given by the adapter only when they reproduce the model's logits).

- `vim`: Virtual-logit Matching (Wang et al. 2022): the norm of the features' residual outside
  the principal subspace of the train features (origin -pinv(W) b), scaled by alpha = mean max
  logit / mean residual norm on the fit set, as a virtual logit; score = energy - virtual logit.
  The principal dimension D is 1000 for d >= 2048, 512 for d >= 768, else d // 2 (the paper's
  choices), or `vim_dim`.
- `react`: ReAct (Sun, Guo & Li 2021): features clipped at the `react_percentile` (90) of the
  fit features' activations, then energy.
- `ash`: ASH-S (Djurisic et al. 2023): per input, activations below its `ash_percentile` (90)
  are zeroed and the rest scaled by exp(sum before / sum after), then energy.
- `dice`: DICE (Sun & Li 2022): the weights whose contribution (mean fit feature x weight) is
  below the `dice_sparsity` (90) percentile are zeroed, then energy.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from harness.suites.shift.ood.base import Detector, FitData, Head, NotFitted, Outputs, energy


class _HeadDetector(Detector):
    needs = "head"
    fits = True
    # They score logits rebuilt from the features through the last layer, whose weight and bias
    # the adapter hands out only when they reproduce the model's outputs (adapters/features.py):
    # a model with a softmax after that layer gets none, and these detectors are left out with
    # that reason, so they never score softmax outputs.
    scores_outputs = False

    def take_head(self, data: FitData) -> Head:
        assert data.head is not None, "a head detector is only run with the last layer"
        self.head = data.head
        return data.head


def vim_dim(d: int) -> int:
    """The paper's principal dimension for d-dimensional features."""
    if d >= 2048:
        return 1000
    if d >= 768:
        return 512
    return d // 2


class ViM(_HeadDetector):
    name: ClassVar[str] = "vim"

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def fit(self, data: FitData) -> list[str]:
        head = self.take_head(data)
        z = self.features_of(data)
        d = z.shape[1]
        if d < 2:  # D = d // 2 = 0: no principal subspace, the whole feature its "residual"
            raise NotFitted(
                f"the features have {d} feature dimension: ViM splits them into a principal "
                "subspace and the residual outside it, which takes 2 dimensions or more (its "
                "score would be energy minus a multiple of the feature itself)"
            )
        dim = self.dim if self.dim is not None else vim_dim(d)
        notes = []
        if dim >= d:
            notes.append(f"vim: principal dimension {dim} >= the {d} features; {d // 2} used")
            dim = d // 2
        if len(z) <= dim:  # n points span at most n dimensions: no residual outside D of them
            raise NotFitted(
                f"the {len(z)} fit samples span at most {len(z)} of the {d} feature dimensions, "
                f"all inside its {dim}-dimensional principal subspace, so they have no residual "
                "outside it to scale the virtual logit by (alpha would be round-off); raise "
                f"fit_samples above {dim}, or set vim_dim below {len(z)}"
            )
        self.origin = -(torch.linalg.pinv(head.weight) @ head.bias)
        x = z - self.origin
        values, vectors = torch.linalg.eigh(x.T @ x / len(x))  # ascending eigenvalues
        floor = max(float(values[-1]), 0.0) * 1e-12  # round-off of float64 eigh, with margin
        if float(values[d - dim - 1]) <= floor:  # rank <= D with n > D: dead or collinear units
            rank = int((values > floor).sum())
            # vim_dim is at least 1: features spanning 1 dimension or none leave no choice
            advice = (
                f"set vim_dim below {rank}" if rank >= 2 else "no vim_dim leaves them a residual"
            )
            raise NotFitted(
                f"the {len(z)} fit features span {rank} of the {d} dimensions (about the "
                f"features' origin), all inside its {dim}-dimensional principal subspace, so they "
                "have no residual outside it to scale the virtual logit by (alpha would be "
                f"round-off); {advice}"
            )
        self.null_space = vectors[:, : d - dim].contiguous()
        residual = (x @ self.null_space).norm(dim=1)
        mean_residual = float(residual.mean())
        if mean_residual == 0.0:
            self.alpha = 0.0
            notes.append("vim: the fit features have no residual outside the principal space")
        else:
            self.alpha = float(head.logits(z).max(dim=1).values.mean()) / mean_residual
        return notes

    def score(self, out: Outputs) -> np.ndarray:
        z = self.features_of(out)
        virtual = (z - self.origin) @ self.null_space
        return (energy(self.head.logits(z)) - self.alpha * virtual.norm(dim=1)).numpy()


class ReAct(_HeadDetector):
    name: ClassVar[str] = "react"

    def __init__(self, percentile: float = 90.0) -> None:
        self.percentile = percentile

    def fit(self, data: FitData) -> list[str]:
        self.take_head(data)
        values = self.features_of(data).numpy().ravel()
        self.threshold = float(np.percentile(values, self.percentile))
        return []

    def score(self, out: Outputs) -> np.ndarray:
        clipped = self.features_of(out).clamp(max=self.threshold)
        return energy(self.head.logits(clipped)).numpy()


def ash_s(z: torch.Tensor, percentile: float) -> torch.Tensor:
    """ASH-S of (batch, d) features: keep each row's top (1 - p) share, scaled. A row whose
    kept activations are all zero (every activation zero: a dead ReLU layer) stays zero: there
    is nothing to scale, where exp(0 / 0) made its score NaN."""
    d = z.shape[1]
    k = d - int(np.round(d * percentile / 100.0))
    before = z.sum(1)
    values, index = z.topk(max(k, 1), dim=1)
    pruned = torch.zeros_like(z).scatter_(1, index, values)
    after = pruned.sum(1)
    empty = (pruned == 0).all(1)
    ratio = torch.where(empty, torch.zeros_like(before), before / torch.where(empty, 1.0, after))
    return pruned * torch.exp(ratio)[:, None]


class ASH(_HeadDetector):
    name: ClassVar[str] = "ash"

    def __init__(self, percentile: float = 90.0) -> None:
        self.percentile = percentile

    def fit(self, data: FitData) -> list[str]:
        self.take_head(data)
        z = self.features_of(data)
        if bool((z < 0).any()):
            return [
                "ash: the features take negative values (ASH assumes post-ReLU activations); "
                "its pruning and scaling are applied as defined"
            ]
        return []

    def score(self, out: Outputs) -> np.ndarray:
        return energy(self.head.logits(ash_s(self.features_of(out), self.percentile))).numpy()


class DICE(_HeadDetector):
    name: ClassVar[str] = "dice"

    def __init__(self, sparsity: float = 90.0) -> None:
        self.sparsity = sparsity

    def fit(self, data: FitData) -> list[str]:
        head = self.take_head(data)
        contribution = self.features_of(data).mean(0)[None, :] * head.weight
        threshold = torch.quantile(contribution.flatten(), self.sparsity / 100.0)
        self.masked = Head(
            weight=torch.where(contribution > threshold, head.weight, 0.0), bias=head.bias
        )
        return []

    def score(self, out: Outputs) -> np.ndarray:
        return energy(self.masked.logits(self.features_of(out))).numpy()
