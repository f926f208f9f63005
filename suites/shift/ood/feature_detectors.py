"""Detectors that read the penultimate features (fitted on in-distribution train features).

- `mahalanobis`: minus the smallest Mahalanobis distance to a class mean under the shared
  (tied) within-class covariance (Lee et al. 2018), without input preprocessing.
- `rmd`: relative Mahalanobis (Ren et al. 2021): minus the smallest class distance less the
  distance to the one Gaussian fitted to all features.
- `knn`: minus the distance to the k-th nearest L2-normalised train feature (Sun et al. 2022).
- `she`: simplified Hopfield energy (Zhang et al. 2023): the inner product of the features
  with the mean features of the correctly classified train samples of the predicted class.

A covariance that is singular or nearly so (fewer samples than dimensions, constant or
collinear features) cannot be inverted as it is: it is shrunk toward a scaled identity with the
Ledoit-Wolf coefficient, and the fit's note says so (never a silent NaN).

None scores the model's outputs (`scores_outputs` is False): the features are read before the
last layer, so a final softmax does not reach them, and SHE takes only the outputs' argmax (its
predicted class; the fit's correct samples), which a softmax keeps. A model that returns
probabilities gets the same numbers from them as the same network returning logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from harness.suites.shift.ood.base import Detector, FitData, Outputs
from harness.suites.shift.ood.neighbours import NeighbourBank

CONDITION_LIMIT = 1e10
"""A covariance whose condition number exceeds this (or that is singular) is shrunk."""


def _ledoit_wolf(centred: torch.Tensor, cov: torch.Tensor) -> float:
    """The Ledoit-Wolf (2004) shrinkage coefficient toward mu * I for centred samples."""
    n, d = centred.shape
    mu = float(torch.trace(cov)) / d
    delta = float(((cov - mu * torch.eye(d, dtype=cov.dtype)) ** 2).sum()) / d
    x2 = centred**2
    beta_sum = float((x2.T @ x2).sum()) / n - float((cov**2).sum())
    beta = min(beta_sum / (d * n), delta)
    return 0.0 if delta == 0 else beta / delta


def precision_of(centred: torch.Tensor, what: str) -> tuple[torch.Tensor, list[str]]:
    """The inverse of the (maximum-likelihood) covariance of centred samples; shrunk with a
    note when singular or ill-conditioned."""
    precision, why = _precision(centred)
    return precision, [] if why is None else [f"{what}: {why}"]


def _precision(
    centred: torch.Tensor, zero: str = "every fit feature is the same"
) -> tuple[torch.Tensor, str | None]:
    """`precision_of` with the note's text after the detector's name (None: not shrunk);
    `zero` says why the covariance would be zero (what the samples were centred on)."""
    n, d = centred.shape
    cov = centred.T @ centred / n
    eig = torch.linalg.eigvalsh(cov)
    top = float(eig[-1])
    if top > 0 and float(eig[0]) > top / CONDITION_LIMIT:
        return torch.linalg.inv(cov), None
    if top <= 0:
        return torch.eye(d, dtype=cov.dtype), (
            f"{zero}, so the covariance is zero; the identity is used instead (distances are "
            "Euclidean)"
        )
    alpha = max(_ledoit_wolf(centred, cov), 1e-6)
    mu = float(torch.trace(cov)) / d
    shrunk = (1 - alpha) * cov + alpha * mu * torch.eye(d, dtype=cov.dtype)
    rank = int((eig > top * 1e-12).sum())
    return torch.linalg.inv(shrunk), (
        f"the covariance of {n} fit features in {d} dimensions is singular or nearly so "
        f"(rank {rank}, condition above {CONDITION_LIMIT:.0e}); shrunk toward a scaled "
        f"identity (Ledoit-Wolf, shrinkage {alpha:.3g})"
    )


@dataclass(frozen=True)
class ClassGaussian:
    """Class means and the precision of their shared (tied) covariance, fitted once per fit
    set for both Mahalanobis and RMD (`FitData.shared`)."""

    present: torch.Tensor
    means: torch.Tensor
    precision: torch.Tensor
    shrunk: str | None  # the note's text when the covariance was shrunk

    @staticmethod
    def fit(data: FitData) -> ClassGaussian:
        z, y = Detector.features_of(data), data.labels
        present = torch.unique(y)
        means = torch.stack([z[y == c].mean(0) for c in present])
        precision, shrunk = _precision(
            z - means[torch.searchsorted(present, y)], _zero_within(z, y, present)
        )
        return ClassGaussian(present, means, precision, shrunk)


def _zero_within(z: torch.Tensor, y: torch.Tensor, present: torch.Tensor) -> str:
    """Why a tied (within-class) covariance is zero: each feature is its class's mean. With one
    fit sample a class that holds whatever the features are (`fit_samples` 10 on ten classes)."""
    if len(present) == len(y):
        return (
            f"each of the {len(present)} classes fitted has one fit sample (every fit feature "
            "is its class's mean)"
        )
    if bool((z == z[0]).all()):
        return "every fit feature is the same"
    return "every fit feature equals its class's mean (the features within each class are the same)"


def _squared_distances(
    z: torch.Tensor, means: torch.Tensor, precision: torch.Tensor
) -> torch.Tensor:
    """(batch, classes) squared Mahalanobis distances, by the expansion of the quadratic form."""
    zp = z @ precision
    mp = means @ precision
    return (zp * z).sum(1, keepdim=True) - 2 * zp @ means.T + (mp * means).sum(1)[None, :]


class Mahalanobis(Detector):
    name: ClassVar[str] = "mahalanobis"
    needs = "features"
    fits = True

    def fit(self, data: FitData) -> list[str]:
        gaussian = data.shared("class_gaussian", ClassGaussian.fit)
        self.means, self.precision = gaussian.means, gaussian.precision
        notes = [] if gaussian.shrunk is None else [f"{self.name}: {gaussian.shrunk}"]
        missing = data.num_classes - len(gaussian.present)
        if missing:
            notes.append(
                f"{self.name}: {missing} class(es) have no fit sample; distances are to the "
                f"{len(gaussian.present)} class means fitted"
            )
        return notes

    def distances(self, z: torch.Tensor) -> torch.Tensor:
        return _squared_distances(z, self.means, self.precision)

    def score(self, out: Outputs) -> np.ndarray:
        return (-self.distances(self.features_of(out)).min(dim=1).values).numpy()


class RelativeMahalanobis(Mahalanobis):
    name: ClassVar[str] = "rmd"

    def fit(self, data: FitData) -> list[str]:
        notes = super().fit(data)
        z = self.features_of(data)
        self.mean0 = z.mean(0, keepdim=True)
        self.precision0, more = precision_of(z - self.mean0, f"{self.name} (background)")
        present = torch.unique(data.labels)
        if len(present) == 1:  # the class Gaussian is the background one: every score is 0
            more.append(
                f"{self.name}: the fit set holds one class ({int(present[0])}), so its class "
                "Gaussian is the background Gaussian and the score is 0 for every input (no "
                "value); fit on several classes, or read mahalanobis"
            )
        return notes + more

    def score(self, out: Outputs) -> np.ndarray:
        z = self.features_of(out)
        background = _squared_distances(z, self.mean0, self.precision0)
        return (-(self.distances(z) - background).min(dim=1).values).numpy()


def normalised(z: torch.Tensor) -> torch.Tensor:
    return z / z.norm(dim=1, keepdim=True).clamp(min=1e-12)


class KNN(Detector):
    name: ClassVar[str] = "knn"
    needs = "features"
    fits = True

    def __init__(self, k: int = 50) -> None:
        self.k = k

    def fit(self, data: FitData) -> list[str]:
        self.bank = NeighbourBank(normalised(self.features_of(data)))
        if self.k > self.bank.size:
            k, self.k = self.k, self.bank.size
            note = f"knn: k = {k} is more than the {self.bank.size} fit samples; k = {self.k}"
            return [note, *self._missing_note(data)]
        return self._class_note(data) + self._missing_note(data)

    def _class_note(self, data: FitData) -> list[str]:
        """A note when k exceeds the fit samples of a class: an input of that class then finds
        its k-th neighbour in another class, which can rank test samples as less
        in-distribution than OOD ones (mnist-seen, 33 fit samples a class, k = 50: AUROC 0.06
        on uniform noise, where k = 5 gave 0.94)."""
        counts = torch.bincount(data.labels, minlength=data.num_classes)
        present = [c for c in range(data.num_classes) if int(counts[c]) > 0]
        if not present:
            return []
        smallest = min(present, key=lambda c: int(counts[c]))
        if self.k <= int(counts[smallest]):
            return []
        return [
            f"knn: k = {self.k} is more than the {int(counts[smallest])} fit samples of class "
            f"{smallest}: an input of that class finds its k-th neighbour in another class, "
            "which can rank test samples as less in-distribution than OOD ones (raise "
            "fit_samples, or lower knn_k)"
        ]

    @staticmethod
    def _missing_note(data: FitData) -> list[str]:
        """A note naming the classes without a fit sample (the first 10), whatever k is."""
        counts = torch.bincount(data.labels, minlength=data.num_classes)
        missing = [c for c in range(data.num_classes) if int(counts[c]) == 0]
        if not missing:
            return []
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        return [
            f"knn: class(es) {missing[:10]}{more} have no fit sample: an input of such a class finds "
            "its neighbours in other classes, which can rank test samples as less "
            "in-distribution than OOD ones (fit on a train split that holds every class)"
        ]

    def score(self, out: Outputs) -> np.ndarray:
        queries = normalised(self.features_of(out)).float()
        return -self.bank.kth_distance(queries, self.k).numpy()


class SHE(Detector):
    name: ClassVar[str] = "she"
    needs = "features"
    fits = True

    def fit(self, data: FitData) -> list[str]:
        z = self.features_of(data)
        right = data.logits.argmax(1) == data.labels
        self.patterns = torch.zeros(data.num_classes, z.shape[1], dtype=z.dtype)
        empty = []
        for c in range(data.num_classes):
            rows = right & (data.labels == c)
            if rows.any():
                self.patterns[c] = z[rows].mean(0)
            else:
                empty.append(c)
        if empty:
            return [
                f"she: class(es) {empty} have no correctly classified fit sample; inputs "
                "predicted as them score 0"
            ]
        return []

    def score(self, out: Outputs) -> np.ndarray:
        z = self.features_of(out)
        return (z * self.patterns[out.logits.argmax(1)]).sum(1).numpy()
