"""Source layouts: what each local layout means, and `harness validate` refusing what run would."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness.cli.main import main
from harness.config.spec import parse_spec_text
from harness.core.errors import DatasetError, SpecError
from harness.data.loader import load_task
from harness.data.sources import (
    FolderCorruptionSource,
    ImageFolderSource,
    NpyCorruptionSource,
    check_task_source,
    resolve_source,
)
from harness.data.table_sources import TableSource
from harness.data.task_spec import TaskSpec
from tests.data.layouts import cifar_c, image_folder, imagenet_c, validate_error_line


def spec(**kw: object) -> TaskSpec:
    return TaskSpec.model_validate(kw)


def image_spec(source: str, **kw: object) -> TaskSpec:
    return spec(name="t", source=source, modality="image", **kw)


def frame(n: int = 12, seed: int = 0) -> pd.DataFrame:
    gen = np.random.default_rng(seed)
    return pd.DataFrame({"a": gen.random(n), "b": gen.random(n), "label": np.arange(n) % 2})


def test_table_folder_splits(tmp_path: Path) -> None:
    frame(seed=1).to_parquet(tmp_path / "train.parquet")
    frame(seed=2).to_parquet(tmp_path / "test.parquet")
    source = resolve_source(spec(name="t", source=".", modality="tabular"), tmp_path, split="test")
    assert isinstance(source, TableSource) and source.files == (tmp_path / "test.parquet",)
    with pytest.raises(DatasetError, match=r"has no split 'validation' \(splits: test, train\)"):
        resolve_source(spec(name="t", source=".", modality="tabular"), tmp_path, split="validation")


def test_hub_style_data_folder_and_unsplit_folder(tmp_path: Path) -> None:
    (tmp_path / "hub" / "data").mkdir(parents=True)
    frame().to_parquet(tmp_path / "hub" / "data" / "test-00000-of-00001.parquet")
    found = resolve_source(spec(name="t", source="hub", modality="tabular"), tmp_path, split="test")
    assert isinstance(found, TableSource) and len(found.files) == 1
    (tmp_path / "parts").mkdir()
    frame(seed=1).to_parquet(tmp_path / "parts" / "part-0.parquet")
    frame(seed=2).to_parquet(tmp_path / "parts" / "part-1.parquet")  # two parts, not two copies
    anyname = resolve_source(
        spec(name="t", source="parts", modality="tabular"), tmp_path, split="whatever"
    )
    assert isinstance(anyname, TableSource) and len(anyname.files) == 2


def test_mixed_split_and_loose_table_files_refused(tmp_path: Path) -> None:
    frame().to_parquet(tmp_path / "train.parquet")
    frame().to_parquet(tmp_path / "extra.parquet")
    with pytest.raises(DatasetError, match=r"mixes split files \(train\) with .*extra.parquet"):
        resolve_source(spec(name="t", source=".", modality="tabular"), tmp_path, split="train")


def test_flat_class_folder_accepts_any_split_name(tmp_path: Path) -> None:
    """The README's `split: test` on a `<class>/<image>` folder (it used to fail at run time)."""
    image_folder(tmp_path / "imgs", {"cat": 2, "dog": 2})
    for split in ("test", "train", "holdout"):
        task = load_task(image_spec("imgs", split=split), base_dir=tmp_path)
        assert len(task) == 4 and task.class_names == ("cat", "dog")


def test_split_image_folders(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs" / "train", {"cat": 3, "dog": 3}, seed=1)
    image_folder(tmp_path / "imgs" / "test", {"cat": 1, "dog": 2}, seed=2)
    task = load_task(image_spec("imgs", split="test", train_split="train"), base_dir=tmp_path)
    assert len(task) == 3 and task.train is not None and len(task.train) == 6
    assert task.sample_ids == ["cat/0.png", "dog/0.png", "dog/1.png"]
    with pytest.raises(DatasetError, match=r"has no split 'val' \(splits: test, train\)"):
        resolve_source(image_spec("imgs"), tmp_path, split="val")


def test_flat_image_folder_needs_label_column_null(tmp_path: Path) -> None:
    (tmp_path / "ood").mkdir()
    for i in range(3):
        Image.fromarray(np.full((4, 4, 3), 40 * i, np.uint8)).save(tmp_path / "ood" / f"{i}.png")
    with pytest.raises(DatasetError, match=r"images outside class folders .*label_column: null"):
        resolve_source(image_spec("ood"), tmp_path, split="test")
    task = load_task(image_spec("ood", label_column=None), base_dir=tmp_path)
    assert not task.labeled and list(task.labels) == [-1, -1, -1] and task.num_classes == 0
    assert next(task.batches(3)).inputs.shape == (3, 3, 4, 4)


def test_unlabeled_task_refused_as_an_evaluated_task() -> None:
    with pytest.raises(SpecError, match=r"task 'ood' is unlabeled .*use it as an OOD set"):
        parse_spec_text(
            "tasks: [{name: ood, source: ./ood, modality: image, label_column: null}]\n"
            "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
            source="s.yaml",
        )


def test_nested_folders_are_not_pooled(tmp_path: Path) -> None:
    image_folder(tmp_path / "deep" / "a" / "x", {"cat": 1})
    image_folder(tmp_path / "deep" / "b" / "y", {"cat": 1})
    with pytest.raises(
        DatasetError, match=r"class folder 'a' holds folders \(x, \.\.\.\).*not pooled"
    ):
        resolve_source(image_spec("deep"), tmp_path, split="test")


def test_imagenet_c_root_and_single_corruption(tmp_path: Path) -> None:
    imagenet_c(tmp_path / "inc", ("fog", "snow"), (1, 2))
    root = resolve_source(image_spec("inc"), tmp_path, split="test")
    assert isinstance(root, FolderCorruptionSource)
    assert [(c, s) for c, s, _ in root.cells] == [("fog", 1), ("fog", 2), ("snow", 1), ("snow", 2)]
    one = resolve_source(image_spec("inc/snow", severities=[2]), tmp_path, split="test")
    assert isinstance(one, FolderCorruptionSource)
    assert [(c, s) for c, s, _ in one.cells] == [("snow", 2)]
    with pytest.raises(DatasetError, match=r"corruptions lists 'frost', not in .*fog, snow"):
        check_task_source(image_spec("inc", corruptions=["frost"]), tmp_path)
    with pytest.raises(DatasetError, match=r"severities lists \[3\], not in .*\[1, 2\]"):
        check_task_source(image_spec("inc", severities=[3]), tmp_path)


def test_cifar_c_folder_and_single_file(tmp_path: Path) -> None:
    cifar_c(tmp_path / "c10c", ("fog", "snow"))
    folder = resolve_source(image_spec("c10c"), tmp_path, split="test")
    assert isinstance(folder, NpyCorruptionSource) and [n for n, _ in folder.files] == [
        "fog",
        "snow",
    ]
    one = resolve_source(image_spec("c10c/snow.npy"), tmp_path, split="anything")
    assert isinstance(one, NpyCorruptionSource) and [n for n, _ in one.files] == ["snow"]
    with pytest.raises(DatasetError, match=r"a \.npy source is one CIFAR-10-C style corruption"):
        resolve_source(image_spec("c10c/labels.npy"), tmp_path, split="test")


def test_corruption_keys_refused_elsewhere(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1})
    with pytest.raises(DatasetError, match=r"corruptions/severities select cells .*remove them"):
        check_task_source(image_spec("imgs", severities=[1]), tmp_path)


def test_train_split_of_a_single_file_needs_train_source(tmp_path: Path) -> None:
    frame().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DatasetError, match=r"train_split 'train' names a split of .*train_source"):
        check_task_source(
            spec(name="t", source="t.csv", modality="tabular", train_split="train"), tmp_path
        )


def test_image_folder_source_kind(tmp_path: Path) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1})
    found = resolve_source(image_spec("imgs"), tmp_path, split="test")
    assert found == ImageFolderSource(tmp_path / "imgs", labeled=True)


def test_validate_refuses_a_missing_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image_folder(tmp_path / "imgs" / "train", {"cat": 1, "dog": 1})
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        "tasks: [{name: pets, source: imgs, modality: image, split: test}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert main(["validate", str(spec_path)]) == 2
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert "task 'pets': source" in line and "has no split 'test' (splits: train)" in line


def test_train_split_of_a_class_folder_is_refused(tmp_path: Path) -> None:
    """A class folder named like a split does not make a `<class>/<image>` folder hold splits."""
    image_folder(tmp_path / "imgs", {"cat": 1, "train": 1})
    with pytest.raises(DatasetError, match=r"holds a single split; give the training data"):
        check_task_source(image_spec("imgs", train_split="train"), tmp_path)


def test_split_folders_mixed_with_other_folders_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`test/<class>/<image>` beside `extra/<image>`: validate said valid, the run failed with
    "class folder 'test' holds folders"."""
    image_folder(tmp_path / "imgs" / "test", {"cat": 1, "dog": 1})
    image_folder(tmp_path / "imgs", {"extra": 2})
    line = validate_error_line(
        tmp_path, "{name: t, source: imgs, modality: image, split: test}", capsys
    )
    assert "mixes split folders (test: <split>/<class>/<image>)" in line
    assert "with folders that are not splits (extra: <class>/<image>)" in line
    with pytest.raises(DatasetError, match=r"mixes split folders \(test"):
        load_task(image_spec("imgs", split="test"), base_dir=tmp_path)
    with pytest.raises(DatasetError, match=r"mixes split folders \(test"):
        load_task(image_spec("imgs", label_column=None), base_dir=tmp_path)


def test_every_class_folder_is_checked_for_nesting(tmp_path: Path) -> None:
    """Only the first class folder was checked when resolving, so validate passed and the run
    failed on a later one."""
    image_folder(tmp_path / "imgs", {"a": 1, "b": 1})
    image_folder(tmp_path / "imgs" / "b", {"inner": 1})
    with pytest.raises(DatasetError, match=r"class folder 'b' holds folders \(inner, \.\.\.\)"):
        check_task_source(image_spec("imgs"), tmp_path)


def test_splits_share_one_class_index(tmp_path: Path) -> None:
    """train/ lacking a class gave the classes after it another index in train than in test."""
    image_folder(tmp_path / "imgs" / "test", {"c0": 1, "c1": 1, "c2": 1}, seed=1)
    image_folder(tmp_path / "imgs" / "train", {"c0": 2, "c2": 2}, seed=2)
    image_folder(tmp_path / "imgs" / "val", {"c0": 1, "c3": 1}, seed=3)
    task = load_task(image_spec("imgs", split="test", train_split="train"), base_dir=tmp_path)
    assert task.class_names == ("c0", "c1", "c2", "c3") and task.num_classes == 4
    assert list(task.labels) == [0, 1, 2]
    assert task.train is not None
    train = dict(zip(task.train["sample_id"], task.train["label"], strict=True))
    assert train["c2/0.png"] == 2 and train["c0/0.png"] == 0
    # the same map whichever split is evaluated
    val = load_task(image_spec("imgs", split="val"), base_dir=tmp_path)
    assert val.class_names == task.class_names and list(val.labels) == [0, 3]


def test_train_source_folder_shares_the_class_index(tmp_path: Path) -> None:
    image_folder(tmp_path / "test", {"a": 1, "c": 1}, seed=1)
    image_folder(tmp_path / "train", {"a": 1, "b": 1, "c": 1}, seed=2)
    task = load_task(image_spec("test", train_source="train"), base_dir=tmp_path)
    assert task.class_names == ("a", "b", "c") and list(task.labels) == [0, 2]
    assert task.train is not None and list(task.train["label"]) == [0, 1, 2]


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ("transform: imagenet-eval", "transform imagenet-eval gives [3, 224, 224]"),
        ("center_crop: 16", "center_crop 16 gives [16, 16]"),
        ("resize: [20, 24]", "resize [20, 24] gives [20, 24]"),
        ("channels: 1, resize: [32, 32]", "channels 1 gives 1 channel"),
    ],
)
def test_input_shape_against_the_transform_is_checked_by_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keys: str, says: str
) -> None:
    image_folder(tmp_path / "imgs", {"cat": 1, "dog": 1}, size=(40, 40))
    task = f"{{name: t, source: imgs, modality: image, input_shape: [3, 32, 32], {keys}}}"
    line = validate_error_line(tmp_path, task, capsys)
    assert "input_shape [3, 32, 32] but" in line and says in line
    # the same refusal when the task is loaded (harness run)
    parsed = parse_spec_text(
        f"tasks: [{task}]\nmodels: [digits-mlp]\nsuites: {{accuracy: {{}}}}\n", source="s.yaml"
    )
    entry = parsed.tasks[0]
    assert isinstance(entry, TaskSpec)
    with pytest.raises(DatasetError, match=r"input_shape \[3, 32, 32\] but"):
        load_task(entry, base_dir=tmp_path)
    # a matching declaration passes
    image_folder(tmp_path / "ok", {"cat": 1}, size=(40, 40))
    check_task_source(
        image_spec("ok", input_shape=[3, 224, 224], transform="imagenet-eval"), tmp_path
    )


def test_declared_class_names_must_name_every_class_folder(tmp_path: Path) -> None:
    """The loader refused it only when listing the images (at run time)."""
    image_folder(tmp_path / "imgs", {"cat": 1, "dog": 1})
    with pytest.raises(DatasetError, match=r"class folder 'dog' is not in class_names"):
        check_task_source(image_spec("imgs", class_names=["cat", "bird"]), tmp_path)
    imagenet_c(tmp_path / "inc", ("fog",), (1,))
    cell = tmp_path / "inc" / "fog" / "1"
    named = f"{cell}: class folder 'n02' is not in class_names"
    with pytest.raises(DatasetError, match=re.escape(named)):
        check_task_source(image_spec("inc", class_names=["n01", "n09"]), tmp_path)


def test_class_folders_named_by_numbers_out_of_text_order_need_class_names(
    tmp_path: Path,
) -> None:
    """ImageNet-V2's unpacked folder (which docs/tasks.md points to) names its class folders
    0..999 by class index. In text order, which gives the indices, folder '10' was class 2: an
    ImageNet model scored ~0.1% with no warning. Such folders need class_names (validate and
    load refuse them); numbered folders whose text order is their numeric order do not."""
    image_folder(tmp_path / "v2", {str(i): 1 for i in range(12)})
    with pytest.raises(DatasetError, match=r"folder '10' would be class 2, not 10; declare class"):
        check_task_source(image_spec("v2"), tmp_path)  # what harness validate runs
    with pytest.raises(DatasetError, match=r"the class folders are numbers"):
        load_task(image_spec("v2"), base_dir=tmp_path)
    numeric = [str(i) for i in range(12)]
    task = load_task(image_spec("v2", class_names=numeric), base_dir=tmp_path)
    by_id = dict(zip(task.sample_ids, task.labels, strict=True))
    assert by_id["10/0.png"] == 10 and by_id["2/0.png"] == 2
    image_folder(tmp_path / "padded", {f"{i:02d}": 1 for i in range(12)})
    assert load_task(image_spec("padded"), base_dir=tmp_path).class_names[10] == "10"
    image_folder(tmp_path / "digits", {str(i): 1 for i in range(10)})
    check_task_source(image_spec("digits"), tmp_path)
    # the union of split folders gives the indices: each split alone may be in order
    image_folder(tmp_path / "s" / "test", {"2": 1, "3": 1}, seed=1)
    image_folder(tmp_path / "s" / "train", {"10": 1, "11": 1}, seed=2)
    with pytest.raises(DatasetError, match=r"folder '10' would be class 0, not 2"):
        load_task(image_spec("s", split="test", train_split="train"), base_dir=tmp_path)
    # ImageNet-C cells read their class folders the same way
    image_folder(tmp_path / "inc" / "fog" / "1", {str(i): 1 for i in range(11)}, size=(7, 7))
    with pytest.raises(DatasetError, match=r"folder '10' would be class 2"):
        check_task_source(image_spec("inc"), tmp_path)
