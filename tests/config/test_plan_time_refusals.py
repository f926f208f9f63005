"""What every job of a model/task pair would fail on, refused when the plan is built: `harness
validate` says it in one line and `harness run` fails before any job with the same line
(exit 2, results already written untouched). Read without loading a model or a row: a table's
label column type (a Parquet schema, a delimited file's first block), a local Hugging Face
model's config.json, an image folder's class folders and its first image's header."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.reliability.hostile.corpus import cli, one_error_line

LINEAR = (
    "  - {name: lin, factory: 'torch.nn:Linear', factory_args: {in_features: 2, out_features: 2}, "
    "input_shape: [2]}\n"
)


def _reviews(tmp_path: Path, suffix: str, labels: list[str] | list[int]) -> Path:
    frame = pd.DataFrame({"text": ["good", "bad", "fine", "awful"], "label": labels})
    path = tmp_path / f"reviews.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _text_spec(tmp_path: Path, data: Path, task_keys: str = "") -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: labels\ndevice: cpu\nmodels:\n"
        "  - {name: words, adapter: callable, callable: 'builtins:len', modality: text}\n"
        f"tasks:\n  - {{name: reviews, source: {data.name}, modality: text, "
        f"input_column: text{task_keys}}}\n"
        "suites:\n  accuracy: {}\n"
    )
    return spec


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_text_label_column_without_class_names_is_refused_by_validate(
    tmp_path: Path, suffix: str
) -> None:
    data = _reviews(tmp_path, suffix, ["pos", "neg", "pos", "neg"])
    code, out, err = cli("validate", _text_spec(tmp_path, data))
    assert code == 2 and out == ""
    example = " (e.g. 'pos')" if suffix == "csv" else ""
    assert one_error_line(err) == (
        f"error: task 'reviews': source file {data}: label column 'label' holds text{example}; "
        "list the classes in class_names (class i is the model's output i) to map it to class ids"
    )


def test_text_labels_with_class_names_and_integer_labels_are_valid(tmp_path: Path) -> None:
    data = _reviews(tmp_path, "csv", ["pos", "neg", "pos", "neg"])
    code, _out, err = cli("validate", _text_spec(tmp_path, data, ", class_names: [neg, pos]"))
    assert code == 0, err
    data = _reviews(tmp_path, "parquet", [1, 0, 1, 0])
    code, _out, err = cli("validate", _text_spec(tmp_path, data))
    assert code == 0, err
