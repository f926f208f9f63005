"""A tabular task's categorical (one-hot) and whole-number features: the attacks move every
feature continuously, so the job says so on the board (a caveat on robust accuracy) rather than
let a robust accuracy over inputs no row can hold read as one over realisable inputs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data import builtin as builtin_tasks
from harness.run.api import evaluate
from harness.suites.adversarial.feature_space import unrealisable_note


def _csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["x", "count", "color", "const", "label"])
        for i in range(40):
            x, c = round(float(rng.normal()), 3), int(rng.integers(0, 5))
            out.writerow([x, c, ["red", "green", "blue"][i % 3], 7, int(x + 0.5 * c > 1.2)])
    return path


def test_categorical_and_whole_number_features_get_a_board_note(tmp_path: Path) -> None:
    spec = {
        "name": "mixed",
        "source": str(_csv(tmp_path / "data.csv")),
        "modality": "tabular",
        "label_column": "label",
        "one_hot": {"color": None},
    }
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    adapter = TorchModuleAdapter.from_module(
        model, name="mlp", input_shape=(6,), modality="tabular", bounds=(-5.0, 7.0)
    )
    config = {
        "preset": "fast",
        "epsilons": {"linf": [0.3]},
        "eps_units": "feature_range",
        "max_samples": 12,
        "check_samples": 4,
        "checks": False,
        "examples": 0,
    }
    out = evaluate(
        adapter, task=spec, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    )
    notes = [n for n in out.results["adversarial"].notes if "continuously" in n]
    assert len(notes) == 1, out.results["adversarial"].notes
    note = notes[0]
    assert note.startswith("settings: the attacks move features continuously")
    for name in ("'color=blue'", "'color=green'", "'color=red'", "'count'"):
        assert name in note
    assert "'x'" not in note and "'const'" not in note  # continuous; constant: pinned


def test_no_note_on_continuous_features() -> None:
    task = builtin_tasks.diabetes().head(60)
    assert unrealisable_note(task) is None
