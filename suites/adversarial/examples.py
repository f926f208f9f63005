"""A few stored adversarial examples per model, so a report can show them and anyone can re-verify.

Which samples: a seeded, label-stratified draw (`harness.core.subsets`, purpose
`adversarial/examples`) of `k` samples among those the ensemble broke at the main budget (the
task's headline threat model when attacked, else the largest eps of the first norm). The pool
keeps, per class, only the `k` broken samples with the smallest subset keys seen so far; the
stratified draw takes the smallest keys within each class and never more than `k` from one class,
so the pool always holds the chosen samples while memory stays at `k` examples per class.

What is stored (`SuiteResult.arrays`, `arrays.npz` in the job folder, checksummed): `adv_clean` and
`adv_perturbed` float32 (k, *input_shape) in the task's bounds, `adv_label`, `adv_clean_pred`,
`adv_perturbed_pred` int64 (k,); the artifact `adversarial_examples` says, per stored sample, its
id, the attack that broke it and the perturbation's norm, plus the norm, eps and condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.core.seeding import derive_seed
from harness.core.subsets import stratified_indices
from harness.suites.adversarial.budgets import Norm, eps_label
from harness.suites.adversarial.conditions import ensemble_condition

PURPOSE = "adversarial/examples"


@dataclass(frozen=True, kw_only=True)
class _Example:
    clean: np.ndarray
    perturbed: np.ndarray
    clean_pred: int
    perturbed_pred: int
    attack: str
    distance: float


class ExamplePool:
    """Candidates for the stored examples of one (norm, eps): offered as the sweep breaks samples."""

    def __init__(
        self,
        *,
        k: int,
        seed: int,
        sample_ids: list[str],
        labels: np.ndarray,
        norm: Norm,
        eps: float,
    ) -> None:
        self.k, self.seed, self.norm, self.eps = k, seed, norm, eps
        self.sample_ids, self.labels = sample_ids, labels
        self._keys = np.array(
            [derive_seed(seed, "subset", PURPOSE, sid) for sid in sample_ids], dtype=np.int64
        )
        self._held: dict[int, _Example] = {}

    @property
    def key(self) -> tuple[Norm, float]:
        return (self.norm, self.eps)

    def offer(
        self,
        rows: np.ndarray,
        clean: torch.Tensor,
        perturbed: torch.Tensor,
        clean_pred: np.ndarray,
        perturbed_pred: np.ndarray,
        attack: str,
        distance: np.ndarray,
    ) -> None:
        """Samples `rows` (task row indices) were just broken: keep those that may be drawn."""
        if self.k == 0 or len(rows) == 0:
            return
        clean_np = clean.detach().float().cpu().numpy()
        pert_np = perturbed.detach().float().cpu().numpy()
        for i, row in enumerate(int(r) for r in rows):
            if row in self._held:
                continue
            label = self.labels[row]
            same = [r for r in self._held if self.labels[r] == label]
            if len(same) >= self.k:
                worst = max(same, key=lambda r: self._keys[r])
                if self._keys[row] >= self._keys[worst]:
                    continue
                del self._held[worst]
            self._held[row] = _Example(
                clean=clean_np[i],
                perturbed=pert_np[i],
                clean_pred=int(clean_pred[i]),
                perturbed_pred=int(perturbed_pred[i]),
                attack=attack,
                distance=float(distance[i]),
            )

    def draw(self, broken: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The stored examples among the samples `broken` (bool per row) at the main budget."""
        rows = np.flatnonzero(broken)
        ids = [self.sample_ids[r] for r in rows]
        chosen = rows[
            stratified_indices(ids, self.labels[rows], self.k, seed=self.seed, purpose=PURPOSE)
        ]
        chosen = np.array([r for r in chosen if r in self._held], dtype=np.int64)
        if self.k == 0 or len(chosen) == 0:
            return {}, {}
        ex = [self._held[int(r)] for r in chosen]
        arrays = {
            "adv_clean": np.stack([e.clean for e in ex]).astype(np.float32),
            "adv_perturbed": np.stack([e.perturbed for e in ex]).astype(np.float32),
            "adv_label": self.labels[chosen].astype(np.int64),
            "adv_clean_pred": np.array([e.clean_pred for e in ex], dtype=np.int64),
            "adv_perturbed_pred": np.array([e.perturbed_pred for e in ex], dtype=np.int64),
        }
        meta = {
            "sample_ids": [self.sample_ids[int(r)] for r in chosen],
            "attack": [e.attack for e in ex],
            "perturbation_norm": [e.distance for e in ex],
            "norm": self.norm,
            "eps": self.eps,
            "eps_label": eps_label(self.eps),
            "condition": ensemble_condition(self.norm, self.eps),
            "selection": (
                f"seeded label-stratified draw (harness.core.subsets, purpose {PURPOSE!r}) of "
                f"{self.k} among the samples broken at the main budget"
            ),
        }
        return arrays, meta
