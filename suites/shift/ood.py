"""Out-of-distribution detection: scores from logits and threshold-free detection metrics.

Convention (as in Liu et al. 2020, "Energy-based OOD detection"): in-distribution samples are the
positive class and every score is higher for samples that look in-distribution. `msp` is the
maximum softmax probability (Hendrycks & Gimpel 2017); `energy` is the negative free energy
``T * logsumexp(logits / T)`` (higher = more in-distribution). AUPR is therefore AUPR-In, and
FPR at 95% TPR is the fraction of OOD samples accepted at the largest threshold that keeps 95% of
in-distribution samples. The detection metrics and their intervals live in
`harness.analysis.detection` (numpy only), so the CI gate can recompute and test them from stored
scores without torch; they are re-exported here.
"""

from __future__ import annotations

import torch

from harness.analysis.detection import aupr, auroc, detection_cis, fpr_at_tpr

SCORES: tuple[str, ...] = ("msp", "energy")
__all__ = ["SCORES", "aupr", "auroc", "detection_cis", "energy", "fpr_at_tpr", "msp"]


def msp(logits: torch.Tensor) -> torch.Tensor:
    """Maximum softmax probability per row (float64)."""
    return torch.softmax(logits.double(), dim=1).max(dim=1).values


def energy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Negative free energy ``T * logsumexp(logits / T)`` per row (float64; higher = more ID)."""
    return temperature * torch.logsumexp(logits.double() / temperature, dim=1)
