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


def _linear_adapter():  # type: ignore[no-untyped-def]
    """A seeded linear model of 8x8 one-channel images."""
    from harness.adapters.torch_module import TorchModuleAdapter

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    return TorchModuleAdapter.from_module(net, name="lin", input_shape=(1, 8, 8))


def _msp_config(entry: dict) -> dict:  # type: ignore[type-arg]
    """The shift suite on `entry` alone, scored by MSP."""
    return {"corruptions": [], "max_samples": 30, "ood_sets": [entry],
            "ood": {"detectors": ["msp"], "headline": "msp"}}  # fmt: skip


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
    from harness.core.errors import DatasetError

    gen = np.random.default_rng(0)
    images = [gen.uniform(0, 1, (1, 8, 8)).astype(np.float32).tolist() for _ in range(12)]
    for labels in ([1] * 12, [-3] + [0, 1] * 5 + [0]):
        pd.DataFrame({"image": images, "label": labels}).to_parquet(tmp_path / "ood.parquet")
        adapter = _linear_adapter()
        entry = {"name": "ones", "source": str(tmp_path / "ood.parquet"), "modality": "image",
                 "tag": "far"}  # fmt: skip
        config = _msp_config(entry)
        with pytest.raises(DatasetError) as err:
            ShiftSuite(config).run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=0))
        said = str(err.value)
        assert said.startswith("task 'ones': label column 'label'"), said
        assert "suites.shift.ood_sets: OOD set 'ones' needs no labels" in said
        assert "label_column: null" in said and "\n" not in said


def test_an_ood_folder_of_numbered_class_folders_is_told_to_drop_its_labels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An OOD image folder whose class folders are numbers out of text order (`0, 1, 10, 2`)
    was refused with the task loader's advice alone ("declare class_names in the order of the
    model's outputs"), by `harness validate`, `harness run` and `harness.evaluate`, though an
    OOD set's labels are never compared with the model's outputs: the line now also says to
    set `label_column: null` on its entry, which runs (/tmp/p94/cli/s2.yaml)."""
    from PIL import Image

    from harness.core.errors import DatasetError

    gen = np.random.default_rng(0)
    for folder in ("0", "1", "2", "10"):
        (tmp_path / "ood" / folder).mkdir(parents=True)
        for i in range(3):
            pixels = gen.integers(0, 256, (8, 8), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "ood" / folder / f"{i}.png")
    adapter = _linear_adapter()
    entry = {"name": "numbered", "source": str(tmp_path / "ood"), "modality": "image",
             "tag": "far"}  # fmt: skip
    config = _msp_config(entry)
    suite = ShiftSuite(config)
    with pytest.raises(DatasetError) as bound:  # what `harness validate` / `harness run` check
        suite.bind_spec_folder(tmp_path)
    with pytest.raises(DatasetError) as ran:  # `harness.evaluate` (no spec folder)
        ShiftSuite(config).run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=0))
    for err in (bound, ran):
        said = str(err.value)
        assert "the class folders are numbers" in said, said
        assert "suites.shift.ood_sets: OOD set 'numbered' needs no labels" in said, said
        assert "label_column: null" in said and "\n" not in said
    entry["label_column"] = None
    suite = ShiftSuite(config)
    suite.bind_spec_folder(tmp_path)
    result = suite.run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=0))
    auroc = next(
        r for r in result.metrics if r.metric == "ood_auroc" and r.condition == "ood=numbered"
    )
    assert auroc.value is not None and auroc.n == 30 + 12
