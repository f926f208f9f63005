"""Every user error of the task loader is one line naming the task, file, column or key."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from harness.core.errors import DatasetError, HarnessError
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from harness.run.api import evaluate
from tests.data.layouts import cifar_c, image_folder


def load(base: Path, **kw: object) -> None:
    load_task(TaskSpec.model_validate({"name": "t", **kw}), base_dir=base)


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(err.value)
    assert "\n" not in text and "task 't'" in text
    return text


def test_unreadable_file_kind(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"cannot read .xlsx files; use a .parquet") as err:
        load(tmp_path, source="x.xlsx", modality="tabular")
    one_line(err)


def test_npy_without_labels_and_labels_without_corruptions(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    np.save(tmp_path / "c" / "fog.npy", np.zeros((5, 2, 2, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"with labels.npy beside it") as err:
        load(tmp_path, source="c/fog.npy", modality="image")
    one_line(err)
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "labels.npy", np.zeros(5, np.int64))
    with pytest.raises(DatasetError, match=r"holds labels.npy but no <corruption>.npy files"):
        load(tmp_path, source="d", modality="image")


def test_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    with pytest.raises(DatasetError, match=r"holds no .parquet, .csv or .json files") as err:
        load(tmp_path, source="none", modality="tabular")
    one_line(err)
    (tmp_path / "inc" / "fog" / "1" / "n01").mkdir(parents=True)  # an ImageNet-C cell, empty
    image_folder(tmp_path / "inc" / "fog" / "2", {"n01": 1})
    with pytest.raises(DatasetError, match=r"fog/1: the class folders hold no images") as err:
        load(tmp_path, source="inc", modality="image")
    one_line(err)


def test_a_source_naming_a_device_or_pipe_says_so(tmp_path: Path) -> None:
    """`source: /dev/null` or a named pipe read "holds no .parquet, .csv or .json files", as if
    it were an empty folder (as a model file key said 'file not found' until fb0678d0)."""
    import os

    os.mkfifo(tmp_path / "rows.csv")
    pd.DataFrame({"a": [1.0, 2.0], "label": [0, 1]}).to_csv(tmp_path / "ok.csv", index=False)
    for special in ("/dev/null", "rows.csv"):
        with pytest.raises(DatasetError, match=r"source .* is a special file \(a device, pipe"):
            load(tmp_path, source=special, modality="tabular")
        with pytest.raises(DatasetError, match=r"train_source .* is a special file") as err:
            load(tmp_path, source="ok.csv", train_source=special, modality="tabular")
        one_line(err)


def test_missing_image_file_and_non_image_column(tmp_path: Path) -> None:
    pd.DataFrame({"image": ["pics/missing.png"], "label": [0]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(DatasetError, match=r"cannot read image .*missing.png") as err:
        load(tmp_path, source="p.parquet", modality="image", input_column="image")
    one_line(err)
    pd.DataFrame({"px": [3, 4], "label": [0, 1]}).to_parquet(tmp_path / "n.parquet")
    with pytest.raises(DatasetError, match=r"holds int64, neither encoded images"):
        load(tmp_path, source="n.parquet", modality="image", input_column="px")
    pd.DataFrame({"a": [1.0], "b": [2.0], "label": [0]}).to_parquet(tmp_path / "q.parquet")
    with pytest.raises(DatasetError, match=r"set input_column to the image column .*a, b, label"):
        load(tmp_path, source="q.parquet", modality="image")


def test_folder_tasks_have_no_table_columns(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1})
    with pytest.raises(DatasetError, match=r"group_columns names table columns, .*image folder"):
        load(tmp_path, source="imgs", modality="image", group_columns=["site"])


def test_no_feature_left_and_ragged_vectors(tmp_path: Path) -> None:
    pd.DataFrame({"label": [0, 1], "g": ["a", "b"]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DatasetError, match=r"no feature columns left .*set feature_columns") as err:
        load(tmp_path, source="t.parquet", modality="tabular", group_columns=["g"])
    one_line(err)
    pd.DataFrame({"v": [[1.0, 2.0], [3.0]], "label": [0, 1]}).to_parquet(tmp_path / "r.parquet")
    with pytest.raises(DatasetError, match=r"column 'v' in split 'test' is not a fixed-length"):
        load(tmp_path, source="r.parquet", modality="tabular", input_column="v")


def test_transform_and_resize_together_refused() -> None:
    with pytest.raises(ValidationError, match=r"transform 'imagenet-eval' already resizes"):
        TaskSpec.model_validate(
            {
                "name": "t",
                "source": "x",
                "modality": "image",
                "transform": "imagenet-eval",
                "resize": 128,
            }
        )
    with pytest.raises(ValidationError, match=r"transform is only for image tasks"):
        TaskSpec.model_validate(
            {"name": "t", "source": "x", "modality": "tabular", "transform": "imagenet-eval"}
        )


def test_python_api_refuses_an_unlabeled_task(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c", ("fog",))
    with pytest.raises(HarnessError, match=r"task 'u' is unlabeled"):
        evaluate(
            "digits-mlp",
            task={"name": "u", "source": "c", "modality": "image", "label_column": None},
            base_dir=tmp_path,
        )


def test_npy_headers_checked_before_any_data(tmp_path: Path) -> None:
    """validate and the loader read only the headers of a CIFAR-10-C folder: damaged files are
    one line naming the file, and a header claiming terabytes allocates nothing."""
    from harness.data.npy_header import read_npy_header

    folder = tmp_path / "c10c"
    folder.mkdir()
    np.save(folder / "labels.npy", np.arange(10, dtype=np.int64))
    np.save(folder / "fog.npy", np.zeros((10, 4, 4), np.uint8))
    assert read_npy_header(folder / "fog.npy", "t").shape == (10, 4, 4)
    (folder / "snow.npy").write_bytes(b"")
    with pytest.raises(DatasetError) as caught:
        load(tmp_path, source="c10c", modality="image")
    assert "snow.npy is not a readable .npy file (an empty file)" in one_line(caught)
    np.save(folder / "snow.npy", np.array([object()] * 10, dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="holds Python objects"):
        load(tmp_path, source="c10c", modality="image")
    np.save(folder / "snow.npy", np.zeros((10, 4, 4), np.float32))
    with pytest.raises(DatasetError, match="one image shape and dtype"):
        load(tmp_path, source="c10c", modality="image")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("feature_columns", ["a", "b", "a"], r"feature_columns names 'a' twice; list each feature"),
        ("group_columns", ["sex", "sex"], r"group_columns names 'sex' twice"),
        ("class_names", ["x", "y", "x"], r"class_names names 'x' twice; every class needs its own"),
        ("one_hot", {"c": ["red", "green", "red"]}, r"one_hot\.c names 'red' twice"),
        ("ordinal", {"c": ["lo", "mid", "lo", "hi"]}, r"ordinal\.c names 'lo' twice"),
        ("corruptions", ["fog", "snow", "fog"], r"corruptions names 'fog' twice"),
        ("severities", [3, 3], r"severities names 3 twice; list each severity once"),
    ],
)
def test_a_list_naming_an_entry_twice_is_refused(key: str, value: object, message: str) -> None:
    """A repeated feature was fed to the model twice; a repeated ordinal value read as its last
    position (0 never used); a repeated one-hot category was a feature always 0; a repeated
    group column failed the job with pyarrow's traceback; class names could name two classes
    alike (evaluate already refused that); severities [3, 3] loaded the cells twice and failed
    with a ValueError on the duplicate sample ids."""
    with pytest.raises(ValidationError, match=message):
        modality = "image" if key in ("corruptions", "severities") else "tabular"
        TaskSpec.model_validate({"name": "t", "source": "x", "modality": modality, key: value})


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["sex", "age", "sex&age"], r"group_columns: 'sex&age' has '&' in its name, which names"),
        (["sex", " "], r"group_columns: an empty column name"),
        (["sex", "a,b"], r"group_columns: 'a,b' has ',' in its name, which separates group"),
        (
            ["sex", "label"],
            r"group_columns: 'label' is the label column \(label_column\); per-class",
        ),
    ],
)
def test_a_group_column_that_would_read_as_an_intersection_is_refused(
    columns: list[str], message: str
) -> None:
    """A group column named `sex&age` was reported as `worst_group_acc[group_by=sex&age]`,
    the name the intersection of `sex` and `age` gets (and `harness groups --by sex&age`
    showed the intersection): two different numbers under one name. A column named `a,b`
    ran, but `harness groups --by a,b` read it as columns `a` and `b` and could not show it.
    The label column as a group column passed validate and failed every job that read the task
    with "AttributeError: 'list' object has no attribute 'to'"."""
    with pytest.raises(ValidationError, match=message):
        TaskSpec.model_validate(
            {"name": "t", "source": "x", "modality": "tabular", "group_columns": columns}
        )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("class_names", ["cafe\u0301", "caf\u00e9"]),
        ("group_columns", ["r\u00e9gion", "re\u0301gion"]),
        ("feature_columns", ["\u00c5", "A\u030a"]),
    ],
)
def test_names_that_differ_only_in_unicode_composition_are_refused(key: str, value: list) -> None:
    """class_names ['cafe\u0301', 'caf\u00e9'] ran: two classes that printed as `café` in every
    board, report and CSV (`class_acc[class=café]` twice), told apart by nothing (probe38)."""
    composed = unicodedata.normalize("NFC", value[0])
    with pytest.raises(
        ValidationError, match=rf"{key} names {composed!r} twice \(written two ways"
    ):
        TaskSpec.model_validate({"name": "t", "source": "x.csv", "modality": "tabular", key: value})


@pytest.mark.parametrize("modality", ["tabular", "text", "image"])
@pytest.mark.parametrize("column", ["label", "sample_id", "input"])
def test_a_group_column_named_like_the_harness_own_columns_is_refused(
    column: str, modality: str
) -> None:
    """The loaders keep each task's rows as sample_id, label and input, and put the group
    columns beside them. With label_column: target, a CSV group column `label` replaced the
    labels (tabular: every job failed with "AttributeError: 'list' object has no attribute
    'to'"; text: silently dropped, the fairness job skipped as "no group columns"), `sample_id`
    replaced the sample ids (accuracy failed on duplicate ids, fairness completed on the group
    values as ids) and `input` failed every job on a schema mismatch (probe38)."""
    with pytest.raises(ValidationError, match=rf"group_columns: {column!r} is the name of a col"):
        TaskSpec.model_validate(
            {
                "name": "t",
                "source": "x.csv",
                "modality": modality,
                "label_column": "target",
                "group_columns": ["sex", column],
            }
        )


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"one_hot": {"c": []}}, r"one_hot\.c lists no category; list them, or null for"),
        ({"ordinal": {"c": []}}, r"ordinal\.c lists no value; list them in order"),
        ({"class_names": ["x"]}, r"class_names lists 1 class; a classifier needs at least 2"),
        (
            {"num_classes": 2, "class_names": ["p", "q", "r"]},
            r"num_classes is 2 but class_names lists 3 classes; drop num_classes or make",
        ),
    ],
)
def test_lists_that_cannot_describe_a_task_are_refused_by_the_spec_check(
    keys: dict[str, object], message: str
) -> None:
    """`harness validate` called these valid; the run then failed each job ("reads '1', which
    one_hot.c does not list (listed: )", "value 1 outside the class range 0..0", "num_classes
    2 but 3 class names"). The spec alone says they are wrong."""
    with pytest.raises(ValidationError, match=message):
        TaskSpec.model_validate({"name": "t", "source": "x", "modality": "tabular", **keys})


def test_an_empty_feature_list_is_refused_not_read_as_every_column() -> None:
    """`feature_columns: []` ran the model on every column but the label, id and group
    columns, as if the key were absent, while harness.evaluate refuses an empty list."""
    with pytest.raises(ValidationError, match=r"feature_columns lists no column; list the model"):
        TaskSpec.model_validate(
            {"name": "t", "source": "x.csv", "modality": "tabular", "feature_columns": []}
        )


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"feature_columns": ["a", "label"]},
            r"feature_columns: 'label' is the label column \(label_column\); leave it out",
        ),
        (
            {"label_column": "y", "feature_columns": ["y"]},
            r"feature_columns: 'y' is the label column \(label_column\); leave it out",
        ),
        (
            {"modality": "text", "input_column": "label"},
            r"input_column: 'label' is the label column \(label_column\); name the input",
        ),
        ({"id_column": "label"}, r"id_column: 'label' is the label column \(label_column\)"),
    ],
)
def test_the_label_column_as_an_input_or_id_is_refused(
    keys: dict[str, object], message: str
) -> None:
    """`feature_columns: [a, label]` ran: the model was given the answer among its inputs (a
    leak: any accuracy it gives means nothing), while harness.evaluate refuses the same frame.
    `id_column: label` was refused with "label column 'label' holds text (e.g. '0'); list the
    classes in class_names", the ids being read as text (probe99)."""
    with pytest.raises(ValidationError, match=message):
        TaskSpec.model_validate({"name": "t", "source": "x.csv", "modality": "tabular", **keys})
