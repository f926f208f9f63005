"""A shift run of a linear model on a 60-row tabular task with one loaded OOD set, the tests'
way to see what the suite says about an OOD set they build (its copies, its test inputs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.suite import RunContext, SuiteResult
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from harness.suites.shift import ShiftSuite


def task_rows() -> pd.DataFrame:
    """The task's 60 test rows (features a-d), the same draw every call."""
    gen = np.random.default_rng(0)
    return pd.DataFrame(gen.uniform(0, 1, (60, 4)), columns=["a", "b", "c", "d"])


def run_with_ood_set(
    tmp_path: Path, ood: pd.DataFrame, max_samples: int | None = None
) -> SuiteResult:
    """The shift suite (msp only, no perturbations) with `ood` as the OOD set 'rep'."""
    test = task_rows()
    test["label"] = [0, 1] * 30
    test.to_csv(tmp_path / "test.csv", index=False)
    ood.to_csv(tmp_path / "ood.csv", index=False)
    task = load_task(
        TaskSpec.model_validate(
            {"name": "t", "source": str(tmp_path / "test.csv"), "modality": "tabular",
             "label_column": "label"}
        ),
        base_dir=tmp_path,
    )  # fmt: skip
    torch.manual_seed(0)
    adapter = TorchModuleAdapter.from_module(
        torch.nn.Linear(4, 2), name="lin", input_shape=(4,), modality="tabular"
    )
    config = {
        "tabular": [],
        "ood_sets": [{"name": "rep", "source": str(tmp_path / "ood.csv"),
                      "modality": "tabular", "label_column": None}],
        "ood": {"detectors": ["msp"], "headline": "msp"},
        "max_samples": max_samples,
    }  # fmt: skip
    return ShiftSuite(config).run(adapter, task, RunContext(seed=0, bootstrap_resamples=0))
