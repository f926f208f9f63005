"""A labelled OOD set whose labels are not the task's classes (`mnist`, digits 0-9, as the OOD
set of `mnist-seen`, digits 0-5) failed the job with "IndexError: index 6 is out of bounds for
axis 1 with size 6": its labels were read against the model's 6 class scores for the tie-break
column, although every OOD row is unlabelled (-1) in the table. The rows are now scored as
unlabelled from the start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from harness.core.suite import RunContext
from harness.data.builtin import digits
from harness.suites.shift import ShiftSuite


def test_an_ood_set_labelled_beyond_the_tasks_classes_is_scored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gen = np.random.default_rng(0)
    images = [gen.uniform(0, 1, (1, 8, 8)).astype(np.float32).tolist() for _ in range(12)]
    pd.DataFrame({"image": images, "label": list(range(12))}).to_parquet(tmp_path / "ood.parquet")
    from harness.adapters.torch_module import TorchModuleAdapter

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    adapter = TorchModuleAdapter.from_module(net, name="lin", input_shape=(1, 8, 8))
    entry = {"name": "twelve", "source": str(tmp_path / "ood.parquet"), "modality": "image",
             "num_classes": 12, "tag": "near"}  # fmt: skip
    config = {
        "corruptions": [],
        "max_samples": 30,
        "ood_sets": [entry],
        "ood": {"detectors": ["msp"], "headline": "msp"},
    }
    result = ShiftSuite(config).run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=0))
    auroc = next(
        r for r in result.metrics if r.metric == "ood_auroc" and r.condition == "ood=twelve"
    )
    assert auroc.value is not None and auroc.n == 30 + 12
    ood = result.table.to_pandas().query("condition == 'ood=twelve'")
    assert (ood["label"] == -1).all() and not ood["label_tied"].any()


def test_an_ood_set_whose_labels_cannot_load_is_told_to_drop_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An OOD table whose label column holds one class (every row labelled 1), or a value out
    of range, failed the whole job with the task loader's advice ("declare num_classes /
    class_names if the split really holds one class"), though an OOD set needs no labels at
    all: the line now says to set `label_column: null` on its entry (/tmp/p89/tab lab3.yaml)."""
    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.core.errors import DatasetError

    gen = np.random.default_rng(0)
    images = [gen.uniform(0, 1, (1, 8, 8)).astype(np.float32).tolist() for _ in range(12)]
    for labels in ([1] * 12, [-3] + [0, 1] * 5 + [0]):
        pd.DataFrame({"image": images, "label": labels}).to_parquet(tmp_path / "ood.parquet")
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        adapter = TorchModuleAdapter.from_module(net, name="lin", input_shape=(1, 8, 8))
        entry = {"name": "ones", "source": str(tmp_path / "ood.parquet"), "modality": "image",
                 "tag": "far"}  # fmt: skip
        config = {"corruptions": [], "max_samples": 30, "ood_sets": [entry],
                  "ood": {"detectors": ["msp"], "headline": "msp"}}  # fmt: skip
        with pytest.raises(DatasetError) as err:
            ShiftSuite(config).run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=0))
        said = str(err.value)
        assert said.startswith("task 'ones': label column 'label'"), said
        assert "suites.shift.ood_sets: OOD set 'ones' needs no labels" in said
        assert "label_column: null" in said and "\n" not in said
