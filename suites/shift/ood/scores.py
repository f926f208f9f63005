"""Out-of-distribution detection: scores from logits and threshold-free detection metrics.

Convention (as in Liu et al. 2020, "Energy-based OOD detection"): in-distribution samples are the
positive class and every score is higher for samples that look in-distribution. `msp` is the
maximum softmax probability (Hendrycks & Gimpel 2017); `energy` is the negative free energy
``T * logsumexp(logits / T)`` (higher = more in-distribution); `max_logit` is the largest logit
(Hendrycks et al. 2022, "Scaling OOD detection"); `neg_entropy` is minus the entropy of the
softmax (nats). AUPR is therefore AUPR-In, and FPR at 95% TPR is the fraction of OOD samples
accepted at the largest threshold that keeps 95% of in-distribution samples.

For scores added later, the per-sample table keeps, on the rows that OOD metrics compare (`clean`
and `ood=<set>`), the top `TOP_K` logits (descending) with their classes and the full
``logsumexp``: with at most `TOP_K` classes that is every logit; beyond, it still gives MSP,
max-logit, energy at T = 1, margins and any top-k softmax score exactly (docs/shift.md).

The detection metrics and their intervals live in `harness.stats.detection` (numpy only), so
the CI gate can recompute and test them from stored scores without torch; they are re-exported
here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from harness.stats.detection import aupr, auroc, detection_cis, fpr_at_tpr

SCORES: tuple[str, ...] = ("msp", "energy", "max_logit", "neg_entropy")
"""Score names, each a per-sample table column (`neg_entropy` is minus the `entropy` column)."""

TOP_K = 20
"""Logits kept per clean / OOD row: all of them up to 20 classes (CIFAR-10/100 coarse, digits),
the top 20 beyond (80 bytes plus classes per row; the full 1000 ImageNet logits would be 4 kB)."""

__all__ = [
    "SCORES",
    "TOP_K",
    "aupr",
    "auroc",
    "detection_cis",
    "energy",
    "entropy",
    "fpr_at_tpr",
    "logit_columns",
    "max_logit",
    "msp",
    "score_columns",
    "score_values",
]


def msp(logits: torch.Tensor) -> torch.Tensor:
    """Maximum softmax probability per row (float64)."""
    return torch.softmax(logits.double(), dim=1).max(dim=1).values


def energy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy ``T * logsumexp(logits / T)`` per row (float64; higher = more ID)."""
    return temperature * torch.logsumexp(logits.double() / temperature, dim=1)


def max_logit(logits: torch.Tensor) -> torch.Tensor:
    """Largest logit per row (float64)."""
    return logits.double().max(dim=1).values


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the softmax per row, in nats (float64; 0 for a one-hot distribution)."""
    logp = torch.log_softmax(logits.double(), dim=1)
    return -(logp.exp() * logp).nansum(dim=1)


def score_columns(logits: torch.Tensor, temperature: float) -> dict[str, np.ndarray]:
    """The per-sample score columns of a block of rows: msp, energy, max_logit, entropy."""
    return {
        "msp": msp(logits).numpy(),
        "energy": energy(logits, temperature).numpy(),
        "max_logit": max_logit(logits).numpy(),
        "entropy": entropy(logits).numpy(),
    }


def logit_columns(logits: torch.Tensor) -> dict[str, Any]:
    """What later scores need: the top `TOP_K` logits (float32, descending), their classes and
    the logsumexp of all logits (float64), one list per row."""
    k = min(TOP_K, logits.shape[1])
    top = logits.double().topk(k, dim=1)
    return {
        "top_logits": list(top.values.float().numpy()),
        "top_classes": list(top.indices.to(torch.int32).numpy()),
        "logsumexp": torch.logsumexp(logits.double(), dim=1).numpy(),
    }


def score_values(columns: Any, score: str) -> np.ndarray:
    """A score's values (higher = more in-distribution) from a block's columns."""
    if score == "neg_entropy":
        return -np.asarray(columns["entropy"], dtype=np.float64)
    return np.asarray(columns[score], dtype=np.float64)
