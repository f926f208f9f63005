"""What the plan knows of a task's columns and classes without loading it (`TaskColumns`)
agrees with the task once loaded: the built-in catalogue's declarations (`TaskInfo`) and an
inline task's columns from its spec and its file's schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.core.errors import HarnessError
from harness.core.task_columns import TaskColumns
from harness.data.catalogue import BUILTIN_INFO, task_registry
from harness.data.loader import load_task
from harness.data.sources import check_task_source
from harness.data.task_columns import catalogue_task_columns, spec_task_columns
from harness.data.task_spec import TaskSpec


@pytest.mark.parametrize("name", sorted(BUILTIN_INFO))
def test_the_catalogue_declares_each_built_in_task_as_it_loads(name: str) -> None:
    factory = task_registry().load(name)
    try:
        task = factory()
    except HarnessError as err:  # an optional package this machine lacks
        pytest.skip(str(err))
    declared = catalogue_task_columns(name, factory, "builtin")
    loaded = TaskColumns.of_task(task)
    assert declared.num_classes == loaded.num_classes
    assert declared.class_names == loaded.class_names
    assert declared.group_columns == loaded.group_columns
    assert set(declared.columns or ()) == set(loaded.columns or ())
    if declared.bounds is not None:  # what the plan refuses budgets against is what loads
        assert declared.bounds == loaded.bounds
        assert declared.input_shape == loaded.input_shape


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_an_inline_task_has_the_columns_its_spec_and_schema_say(
    tmp_path: Path, suffix: str
) -> None:
    frame = pd.DataFrame(
        {"a": [0.1, 0.5, 0.9, 0.3], "g": ["x", "y", "x", "y"], "h": [1, 2, 3, 4], "y": [0, 1, 1, 0]}
    )
    path = tmp_path / f"t.{suffix}"
    frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path, index=False)
    spec = TaskSpec.model_validate(
        {
            "name": "t",
            "source": path.name,
            "modality": "tabular",
            "feature_columns": ["a"],
            "label_column": "y",
            "group_columns": ["g"],
        }
    )
    planned = spec_task_columns(spec, check_task_source(spec, tmp_path), tmp_path)
    loaded = TaskColumns.of_task(load_task(spec, base_dir=tmp_path))
    assert set(planned.columns or ()) == set(loaded.columns or ())
    assert planned.attributes() == loaded.attributes() == ("g",)
    assert planned.source_columns == ("a", "g", "h", "y") and planned.source == str(path)
    assert planned.num_classes is None and "num_classes or class_names" in planned.classes_unknown
    assert planned.class_names is None  # only the labels say


@pytest.mark.parametrize(("mode", "channels"), [("L", 1), ("RGB", 3), ("I;16", 1), ("RGBA", 3)])
def test_an_image_folder_has_the_class_names_and_channels_the_load_gives(
    tmp_path: Path, mode: str, channels: int
) -> None:
    from PIL import Image

    for name in ("b", "a", "c"):
        (tmp_path / "f" / name).mkdir(parents=True)
        Image.new(mode, (4, 4)).save(tmp_path / "f" / name / "x.png")
    spec = TaskSpec.model_validate({"name": "f", "source": "f", "modality": "image"})
    planned = spec_task_columns(spec, check_task_source(spec, tmp_path), tmp_path)
    loaded = TaskColumns.of_task(load_task(spec, base_dir=tmp_path))
    assert planned.class_names == loaded.class_names == ("a", "b", "c")
    assert planned.channels == loaded.channels == channels
    assert planned.bounds == loaded.bounds == (0.0, 1.0)
    declared = spec.model_copy(update={"channels": 4 - channels, "class_names": ["c", "b", "a"]})
    planned = spec_task_columns(declared, check_task_source(declared, tmp_path), tmp_path)
    loaded = TaskColumns.of_task(load_task(declared, base_dir=tmp_path))
    assert planned.class_names == loaded.class_names == ("c", "b", "a")
    assert planned.channels == loaded.channels == 4 - channels
