"""The zoo's rt-bert on a seeded, stratified set of rotten-tomatoes test texts it classifies
correctly: the shared ground of the TextAttack reference tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.core.subsets import stratified_indices
from harness.data.text_tasks import rotten_tomatoes_texts
from harness.suites.adversarial.text.scoring import scorer


@dataclass(frozen=True)
class Reference:
    adapter: Any
    score: Any
    texts: list[str]
    labels: np.ndarray
    probs: np.ndarray


def rt_bert() -> Any:
    from harness.adapters.hf_text import HFTextAdapter, HFTextConfig
    from harness.zoo import zoo_models

    spec = zoo_models()["rt-bert"]
    config = HFTextConfig(path=spec["path"], max_length=spec["max_length"])
    return HFTextAdapter.build(
        name="rt-bert", config=config, device=torch.device("cpu"), base_dir=Path(".")
    )


def reference(n: int, seed: int = 0) -> Reference:
    """`n` correctly classified test texts (seeded, label-stratified) and the model's scores."""
    adapter = rt_bert()
    score = scorer(adapter)
    texts, labels = rotten_tomatoes_texts("test")
    ids = [str(i) for i in range(len(texts))]
    order = stratified_indices(ids, labels, None, seed=seed, purpose="text-reference")
    chosen: list[int] = []
    for start in range(0, len(order), 256):
        rows = order[start : start + 256]
        probs = score([texts[r] for r in rows])
        chosen += [int(r) for r, p in zip(rows, probs, strict=True) if p.argmax() == labels[r]]
        if len(chosen) >= 4 * n:
            break
    picked = stratified_indices(
        [str(c) for c in chosen], labels[chosen], n, seed=seed, purpose="pick"
    )
    rows = [chosen[i] for i in picked]
    t = [texts[r] for r in rows]
    return Reference(adapter, score, t, labels[rows], score(t))
