"""The onnx adapter reads which class each score column is, where the graph says it.

A scikit-learn model converted by skl2onnx names its columns' classes on its classifier node
(`classlabels_strings` / `classlabels_ints`: the estimator's `classes_`, sorted). A model fitted
on text labels `low`/`high` has the columns `[high, low]`; on a task whose classes are `[low,
high]` every column was read as the other class, silently (a 0.91 model scored 0.065). Its ZipMap
twin was refused, even in the task's order; the tensor output (`zipmap: False`) was not. Text
labels are now matched to the task's class names by name, as the sklearn adapter matches string
`classes_`. A graph ending in a Sigmoid (independent per-class scores) was read as
logits: NLL, ECE and Brier of softmax(sigmoid) with intervals and no flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.adapters.onnx_runtime import check_class_labels
from harness.core.errors import ModelLoadError, ModelOutputError
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.data.builtin import digits
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from harness.suites.accuracy import AccuracySuite
from tests.adapters.builders import build, export_digits_head

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


def _table(tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = np.where(x[:, 0] + 0.3 * rng.normal(size=200) > 0, "high", "low")
    lines = ["a,b,c,label", *(f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(x, y, strict=True))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    return x, y


def _convert(
    tmp_path: Path, x: np.ndarray, y: np.ndarray, name: str, *, zipmap: bool = False
) -> Path:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(x, y)
    graph = to_onnx(model, x[:1], options={id(model): {"zipmap": zipmap}}, target_opset=17)
    path = tmp_path / name
    path.write_bytes(graph.SerializeToString())
    return path


def _task(tmp_path: Path, class_names: list[str]) -> Task:
    spec = TaskSpec(
        name="t",
        source="t.csv",
        modality="tabular",
        label_column="label",
        class_names=class_names,
    )
    return load_task(spec, base_dir=tmp_path)


def _accuracy(adapter: Any, task: Task) -> float:
    metrics = (
        AccuracySuite({}).run(adapter, task, RunContext(seed=0, bootstrap_resamples=0)).metrics
    )
    return float(next(r.value for r in metrics if r.metric == "top1_acc"))


@pytest.mark.parametrize("zipmap", [False, True])
def test_text_labels_are_read_by_name_in_either_order(tmp_path: Path, zipmap: bool) -> None:
    """skl2onnx's default conversion (a ZipMap keyed by the class names) was refused even in
    the task's order ("probability maps are keyed ['high', 'low'], not the class ids"), and
    either output in another order than the task's: the names say which column is which, as
    the sklearn adapter reads an estimator's string `classes_`."""
    x, y = _table(tmp_path)
    path = _convert(tmp_path, x, y, "m.onnx", zipmap=zipmap)
    truth = np.where(y == "high", 0, 1)  # the task [high, low]: high is class 0
    accuracies = {}
    for names in (["high", "low"], ["low", "high"]):
        adapter = build("onnx", {"path": str(path), "modality": "tabular"}, tmp_path, name="m")
        task = _task(tmp_path, names)
        adapter.check_task(task)
        scores = adapter.logits(torch.as_tensor(x)).numpy()
        expected = truth if names[0] == "high" else 1 - truth
        accuracies[names[0]] = float(np.mean(scores.argmax(axis=1) == expected))
        assert _accuracy(adapter, task) == pytest.approx(accuracies[names[0]])
    assert accuracies["high"] == accuracies["low"] > 0.85


def test_text_labels_other_than_the_tasks_class_names_are_refused(tmp_path: Path) -> None:
    _table(tmp_path)
    with pytest.raises(ModelOutputError) as err:
        check_class_labels(
            [("LinearClassifier", ["high", "mid"])],
            _task(tmp_path, ["low", "high"]),
            name="m",
            path="m.onnx",
        )
    assert str(err.value) == (
        "model 'm': the ONNX graph m.onnx (LinearClassifier) labels its score columns "
        "['high', 'mid'], not the task's class names ['low', 'high'] (task 't'); convert the "
        "estimator fitted on the task's class names or its integer labels (0..k-1 in the "
        "task's class order)"
    )


def test_integer_labels_other_than_the_class_ids_are_refused(tmp_path: Path) -> None:
    x, y = _table(tmp_path)
    path = _convert(tmp_path, x, np.where(y == "high", 2, 1), "m.onnx")
    adapter = build("onnx", {"path": str(path), "modality": "tabular"}, tmp_path, name="m")
    with pytest.raises(ModelOutputError, match=r"labels its score columns \[1, 2\], not the class"):
        adapter.check_task(_task(tmp_path, ["low", "high"]))
    ids = _convert(tmp_path, x, np.where(y == "high", 1, 0), "ids.onnx")
    build("onnx", {"path": str(ids), "modality": "tabular"}, tmp_path).check_task(
        _task(tmp_path, ["low", "high"])
    )


def test_a_final_sigmoid_is_refused_unless_outputs_says_logits(tmp_path: Path) -> None:
    path = export_digits_head(tmp_path, torch.nn.Sigmoid())  # linear_digits, then a Sigmoid
    with pytest.raises(ModelLoadError, match="output 'output' of Sigmoid.onnx ends in a Sigmoid"):
        build("onnx", {"path": str(path)}, tmp_path, name="m")
    adapter = build("onnx", {"path": str(path), "outputs": "logits"}, tmp_path)
    adapter.check_task(digits())


def test_text_labels_beside_a_task_without_class_names_say_to_declare_them(
    tmp_path: Path,
) -> None:
    """A task without class names (labels 0..k-1, names '0', '1') beside a graph labelled
    ['high', 'low']: the line said to convert the estimator, where declaring the task's
    class_names in the order of its label ids is the one-line fix (as the sklearn adapter says)."""
    x, y = _table(tmp_path)
    ids = np.where(y == "high", 0, 1)
    lines = ["a,b,c,label", *(f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(x, ids, strict=True))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    task = load_task(
        TaskSpec(name="t", source="t.csv", modality="tabular", label_column="label"),
        base_dir=tmp_path,
    )
    with pytest.raises(ModelOutputError) as err:
        check_class_labels([("LinearClassifier", ["high", "low"])], task, name="m", path="m.onnx")
    assert str(err.value).endswith(
        "(task 't'); the task has no class names (its labels are the ids 0..k-1): declare them "
        "in the order of its label ids (class_names=[...] for data in memory, class_names: in "
        "a task spec), or convert the estimator fitted on the class ids"
    ), err.value
