"""An unlabeled image folder serves as an OOD set (it failed with "column 'label' not found")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.core.errors import DatasetError
from harness.run.api import evaluate


def test_unlabeled_folder_as_ood_set(tmp_path: Path) -> None:
    gen = np.random.default_rng(0)
    (tmp_path / "ood").mkdir()
    for i in range(20):
        Image.fromarray(gen.integers(0, 256, (8, 8), dtype=np.uint8)).save(
            tmp_path / "ood" / f"{i}.png"
        )
    entry = {"name": "noise", "source": str(tmp_path / "ood"), "modality": "image"}
    shift = {"corruptions": [], "ood_sets": [{**entry, "label_column": None}]}
    out = evaluate(
        "digits-mlp", task="digits", suites={"shift": shift}, limit=60, bootstrap_resamples=0
    )
    aurocs = [m for m in out.results["shift"].metrics if m.metric == "ood_auroc"]
    assert aurocs and all(0.0 <= m.value <= 1.0 for m in aurocs)
    with pytest.raises(DatasetError, match=r"images outside class folders .*label_column: null"):
        evaluate("digits-mlp", task="digits", suites={"shift": {**shift, "ood_sets": [entry]}})
