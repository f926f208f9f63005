"""A cached result is never served for different weights, task data, suite config or harness
version: change one thing, the job reruns; change nothing, it is served from the store."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.conftest import save_weights
from tests.fixture_models import linear_tabular
from tests.reliability.conftest import cli

SPEC = """\
name: cache
seed: 1
device: cpu
bootstrap_resamples: 50
tasks:
  - name: rows
    source: rows.csv
    feature_columns: [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9]
    label_column: y
    num_classes: 2
    modality: tabular
    bounds: [0, 1]
models:
  - name: m
    factory: tests.fixture_models:linear_tabular
    weights: m.safetensors
    input_shape: [10]
  - name: init-only
    factory: tests.fixture_models:linear_tabular
    input_shape: [10]
suites:
  accuracy: {ece_bins: BINS}
"""


def _statuses(out: Path) -> dict[str, str]:
    manifest = json.loads(next(out.glob("runs/*/manifest.json")).read_text())
    return {j["model"]: j["status"] for j in manifest["jobs"]}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rows = ["f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y"]
    rows += [
        ",".join([f"{(i * 7 + j) % 10 / 10:.1f}" for j in range(10)] + [str(i % 2)])
        for i in range(40)
    ]
    (tmp_path / "rows.csv").write_text("\n".join(rows) + "\n")
    save_weights(linear_tabular(), tmp_path / "m.safetensors")
    (tmp_path / "spec.yaml").write_text(textwrap.dedent(SPEC).replace("BINS", "10"))
    return tmp_path


def _run(folder: Path) -> dict[str, str]:
    code, _, err = cli("run", folder / "spec.yaml", "--out", folder / "out")
    assert code == 0, err
    return _statuses(folder / "out")


def test_unchanged_inputs_are_served_from_the_store(folder: Path) -> None:
    assert _run(folder) == {"m": "completed", "init-only": "completed"}
    assert _run(folder) == {"m": "cached", "init-only": "cached"}


def test_changed_weights_rerun(folder: Path) -> None:
    _run(folder)
    torch_model = linear_tabular()
    with __import__("torch").no_grad():
        torch_model.weight.add_(0.01)
    save_weights(torch_model, folder / "m.safetensors")  # same path, different bytes
    assert _run(folder) == {"m": "completed", "init-only": "cached"}


def test_changed_task_data_reruns(folder: Path) -> None:
    _run(folder)
    lines = (folder / "rows.csv").read_text().splitlines()
    lines[5] = lines[5][:-1] + ("1" if lines[5].endswith("0") else "0")  # one label flipped
    (folder / "rows.csv").write_text("\n".join(lines) + "\n")
    assert _run(folder) == {"m": "completed", "init-only": "completed"}


def test_changed_suite_config_reruns(folder: Path) -> None:
    _run(folder)
    spec = folder / "spec.yaml"
    spec.write_text(spec.read_text().replace("ece_bins: 10", "ece_bins: 12"))
    # a new spec is a new run folder: carry the old results over to prove the key, not the path
    out = folder / "out" / "runs"
    old = next(out.iterdir())
    _run(folder)
    new = [p for p in out.iterdir() if p != old]
    assert len(new) == 1 and _statuses(folder / "out") != {}
    shutil.rmtree(new[0])
    shutil.copytree(old, new[0])
    (new[0] / "manifest.json").unlink()
    assert _run(folder) == {"m": "completed", "init-only": "completed"}


def test_changed_harness_version_reruns(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(folder)
    monkeypatch.setattr("harness.run.runner.__version__", "999.0.0")
    assert _run(folder) == {"m": "completed", "init-only": "completed"}


def test_changed_factory_initialisation_reruns(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same factory code drawing other initial parameters (here torch's generator gives
    other numbers): the model without weights reruns, the one whose weights replace them is
    served. A change of the factory's code reruns both (tests/run/test_result_cache_runs.py)."""
    _run(folder)
    import torch

    draw = torch.randn
    monkeypatch.setattr(torch, "randn", lambda *args, **kw: draw(*args, **kw) + 0.5)
    assert _run(folder) == {"m": "cached", "init-only": "completed"}


TRAIN_SPEC = """\
name: train-split
seed: 1
device: cpu
bootstrap_resamples: 50
tasks:
  - name: rows
    source: rows.csv
    train_source: train.csv
    feature_columns: [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9]
    label_column: y
    group_columns: [g]
    num_classes: 2
    modality: tabular
models:
  - name: m
    factory: tests.fixture_models:linear_tabular
    weights: m.safetensors
    input_shape: [10]
suites:
  accuracy: {}
  shift: {severities: [1]}
  fairness: {group_by: [g], min_group_size: 2}
"""


def _train_rows(middle: float, group: str = "b") -> str:
    """40 training rows whose features span [0, 0.9] whatever `middle` (rows 1-38's value)."""
    rows = ["f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y,g"]
    for i in range(40):
        value = 0.0 if i == 0 else 0.9 if i == 39 else middle
        rows.append(",".join([f"{value:.1f}"] * 10 + [str(i % 2), "a" if i % 2 else group]))
    return "\n".join(rows) + "\n"


def _suite_statuses(out: Path) -> dict[str, str]:
    manifest = json.loads(next(out.glob("runs/*/manifest.json")).read_text())
    return {j["suite"]: j["status"] for j in manifest["jobs"]}


def test_changed_training_split_reruns_the_suites_that_read_it(folder: Path) -> None:
    """The shift suite scales its tabular perturbations by the training split's spread and the
    fairness suite reads its groups: an edit of the training split that keeps every feature's
    range (the evaluation split's fingerprint and the feature bounds stay the same) reruns both
    (they were served from the store, with the numbers of the old split); the accuracy job,
    which does not read the split, is served, and so is the fairness job when only features
    change."""
    rows = (folder / "rows.csv").read_text().splitlines()
    (folder / "rows.csv").write_text("\n".join([rows[0] + ",g"] + [r + ",a" for r in rows[1:]]))
    (folder / "train.csv").write_text(_train_rows(0.5))
    (folder / "spec.yaml").write_text(TRAIN_SPEC)
    out = folder / "out"
    code, _, err = cli("run", folder / "spec.yaml", "--out", out)
    assert code == 0, err
    assert set(_suite_statuses(out).values()) == {"completed"}
    code, _, err = cli("run", folder / "spec.yaml", "--out", out)
    assert set(_suite_statuses(out).values()) == {"cached"}, err

    def rerun_with(train_rows: str) -> dict[str, str]:
        (folder / "train.csv").write_text(train_rows)
        code, _, err = cli("run", folder / "spec.yaml", "--out", out)
        assert code == 0, err
        return _suite_statuses(out)

    # the same feature ranges, another spread (shift) and a group the test split lacks (fairness)
    assert rerun_with(_train_rows(0.1, group="c")) == {
        "accuracy": "cached",
        "shift": "completed",
        "fairness": "completed",
    }
    # another spread, the same groups: the fairness job reads only the groups of the split (it
    # is served, and its print did not read the inputs), the shift job reads the features
    assert rerun_with(_train_rows(0.2, group="c")) == {
        "accuracy": "cached",
        "shift": "completed",
        "fairness": "cached",
    }


def test_changed_class_names_rerun(folder: Path) -> None:
    """Class names are stored with a job (its per-class records, its task summary, which every
    report and `harness groups` label classes by): renamed classes rerun the job instead of
    showing the old names on the same numbers."""
    spec = folder / "spec.yaml"
    named = spec.read_text().replace("num_classes: 2", "class_names: [neg, pos]")
    spec.write_text(named)
    assert _run(folder) == {"m": "completed", "init-only": "completed"}
    assert _run(folder) == {"m": "cached", "init-only": "cached"}
    spec.write_text(named.replace("[neg, pos]", "[pos, neg]"))
    # a new spec is a new run folder; its jobs would be copied from the other one by key
    assert _run_latest(folder) == {"m": "completed", "init-only": "completed"}
    for job in (folder / "out").glob("runs/*/jobs/m--*"):  # each run's job: its own names
        names = json.loads((job / "job.json").read_text())["task_summary"]["class_names"]
        records = json.loads((job / "metrics.json").read_text())
        classes = [r["context"]["class"] for r in records if r["metric"] == "class_acc"]
        assert classes == names, job.name


def _run_latest(folder: Path) -> dict[str, str]:
    """`_run` for a results folder holding several run folders: the newest manifest's jobs."""
    code, _, err = cli("run", folder / "spec.yaml", "--out", folder / "out")
    assert code == 0, err
    newest = max(
        (folder / "out").glob("runs/*/manifest.json"),
        key=lambda p: json.loads(p.read_text())["created"],
    )
    return {j["model"]: j["status"] for j in json.loads(newest.read_text())["jobs"]}
