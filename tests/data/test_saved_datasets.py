"""A folder written by datasets' `save_to_disk` (a `Dataset`, or a `DatasetDict` of splits) is a
task source, plain or as `hf:<folder>`: it was read as a folder of JSON tables (its
`dataset_info.json`: "set input_column ... columns: citation, description, ..."), refused as
"mixes split files with dataset_dict.json", or as `hf:` called unreachable and not cached."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.sources import check_task_source
from harness.data.task_spec import TaskSpec


def _dataset(seed: int, rows: int = 6) -> tuple[datasets.Dataset, np.ndarray]:
    pixels = np.random.default_rng(seed).integers(0, 256, (rows, 4, 5, 3), dtype=np.uint8)
    ds = datasets.Dataset.from_dict(
        {"image": [Image.fromarray(p) for p in pixels], "label": [i % 3 for i in range(rows)]},
        features=datasets.Features(
            {"image": datasets.Image(), "label": datasets.ClassLabel(names=["a", "b", "c"])}
        ),
    )
    return ds, pixels.transpose(0, 3, 1, 2) / 255.0


def _spec(**kw: object) -> TaskSpec:
    return TaskSpec.model_validate({"name": "t", "modality": "image", **kw})


@pytest.mark.parametrize("prefix", ["", "hf:"])
def test_a_saved_dataset_loads_with_its_class_names(tmp_path: Path, prefix: str) -> None:
    ds, pixels = _dataset(0)
    ds.save_to_disk(str(tmp_path / "saved"))
    spec = _spec(source=f"{prefix}saved")
    check_task_source(spec, tmp_path)
    task = load_task(spec, base_dir=tmp_path)
    assert task.class_names == ("a", "b", "c") and len(task.data) == 6
    np.testing.assert_allclose(task.all_inputs().numpy(), pixels, atol=1e-7)


def test_a_saved_dataset_dict_gives_its_splits(tmp_path: Path) -> None:
    test, pixels = _dataset(1)
    train, _ = _dataset(2, rows=9)
    datasets.DatasetDict({"test": test, "train": train}).save_to_disk(str(tmp_path / "dd"))
    task = load_task(_spec(source="dd", train_split="train"), base_dir=tmp_path)
    assert len(task.data) == 6 and task.train is not None and len(task.train) == 9
    np.testing.assert_allclose(task.all_inputs().numpy(), pixels, atol=1e-7)
    with pytest.raises(DatasetError, match=r"holds the splits test, train .*not 'validation'"):
        check_task_source(_spec(source="dd", split="validation"), tmp_path)


def test_validate_reads_a_saved_dataset_as_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _dataset(3)[0].save_to_disk(str(tmp_path / "saved"))
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "tasks:\n"
        "  - {name: a, source: 'hf:saved', modality: image}\n"
        "  - {name: b, source: saved, modality: image}\n"
        "models:\n"
        "  - {name: m, adapter: torch, factory: 'torch.nn:Identity', input_shape: [3, 4, 5]}\n"
        "suites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec), "--width", "0"]) == 0
    assert "network: none needed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("declared", "match"),
    [
        (["c", "b", "a"], r"class_names \['c', 'b', 'a'\] differ from the names"),
        (["x", "y", "z"], r"class_names \['x', 'y', 'z'\] differ from the names"),
        (["a", "b", "c", "d"], r"class_names \['a', 'b', 'c', 'd'\] differ from the names"),
    ],
)
def test_class_names_other_than_a_class_labels_are_refused(
    tmp_path: Path, declared: list[str], match: str
) -> None:
    """A ClassLabel label column's names won over the spec's `class_names` without a word:
    `class_names: [c, b, a]` (a model whose output 0 is 'c') ran with class 0 'a', the numbers
    and the fingerprint those of the ClassLabel's order. harness.evaluate refuses other names
    for a ClassLabel; a spec task does too, naming both lists. The same names are accepted."""
    ds, _ = _dataset(0)
    ds.save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(DatasetError, match=match) as err:
        load_task(_spec(source="saved", class_names=declared), base_dir=tmp_path)
    assert "(a ClassLabel: ['a', 'b', 'c'])" in str(err.value), err.value
    task = load_task(_spec(source="saved", class_names=["a", "b", "c"]), base_dir=tmp_path)
    assert task.class_names == ("a", "b", "c")


def test_class_names_a_class_label_holds_in_another_order_are_told_to_align_it(
    tmp_path: Path,
) -> None:
    """class_names [c, b, a] beside a ClassLabel [a, b, c] were told to "cast the column to the
    names you mean": a cast to ClassLabel([c, b, a]) keeps each integer label, so label 0 ('a')
    then reads 'c' and every sample of a and c is scored against the other class. The names in
    another order are told to move the labels (align_labels_with_mapping); from Python too."""
    import harness
    from tests.fixture_models import linear_digits

    ds, _ = _dataset(0)
    ds.save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(DatasetError) as err:
        load_task(_spec(source="saved", class_names=["c", "b", "a"]), base_dir=tmp_path)
    assert "align_labels_with_mapping" in str(err.value), err.value
    assert "cast the column to the names you mean" not in str(err.value), err.value
    with pytest.raises(harness.HarnessError) as err_py:
        harness.evaluate(linear_digits(), device="cpu", data=ds, class_names=["c", "b", "a"])
    assert "align_labels_with_mapping" in str(err_py.value), err_py.value
    with pytest.raises(DatasetError) as renamed:  # other names: a cast renames them
        load_task(_spec(source="saved", class_names=["x", "y", "z"]), base_dir=tmp_path)
    assert "cast the column to the names you mean" in str(renamed.value), renamed.value
