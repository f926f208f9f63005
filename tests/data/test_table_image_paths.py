"""A table of image paths written on Windows (`images\\cat\\0.png`) names files that exist once
its separators are `/`: the refusal says so, instead of a bare "No such file or directory"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.core.errors import DatasetError
from harness.data.loader import load_task
from harness.data.task_spec import TaskSpec
from tests.data.layouts import image_folder


def test_windows_separators_in_a_path_column_are_named(tmp_path: Path) -> None:
    image_folder(tmp_path / "images", {"cat": 2, "dog": 2}, size=(2, 2))
    paths = ["images\\cat\\0.png", "images\\cat\\1.png", "images\\dog\\0.png", "images\\dog\\1.png"]
    pd.DataFrame({"path": paths, "label": [0, 0, 1, 1]}).to_csv(tmp_path / "t.csv", index=False)
    spec = TaskSpec.model_validate(
        {"name": "t", "modality": "image", "source": "t.csv", "input_column": "path"}
    )
    with pytest.raises(DatasetError, match=r"Windows separators .*'images/cat/0\.png'"):
        load_task(spec, base_dir=tmp_path).all_inputs()


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_path_cell_is_named_by_its_column_and_row(tmp_path: Path, blank: str) -> None:
    """An empty cell of a table's path column joined the table's folder to nothing: "cannot
    read image /data ([Errno 21] Is a directory: '/data')", naming neither the column nor the
    row (probe99). It is refused when the task loads, naming both."""
    image_folder(tmp_path / "images", {"cat": 2, "dog": 2}, size=(2, 2))
    paths = ["images/cat/0.png", "images/cat/1.png", blank, "images/dog/1.png"]
    pd.DataFrame({"path": paths, "label": [0, 0, 1, 1]}).to_csv(tmp_path / "t.csv", index=False)
    spec = TaskSpec.model_validate(
        {"name": "t", "modality": "image", "source": "t.csv", "input_column": "path"}
    )
    with pytest.raises(DatasetError, match=r"image column 'path' has 1 empty cell") as err:
        load_task(spec, base_dir=tmp_path)
    assert "row 3 of" in str(err.value) and "Is a directory" not in str(err.value), err.value


def test_a_missing_cell_of_an_image_column_is_named_by_its_column_and_row(tmp_path: Path) -> None:
    """The same for a Parquet file of a `datasets` Image column (`ds.to_parquet`): a missing
    cell said only "an image value is NoneType, not a path, bytes or a {bytes, path} struct"."""
    import datasets

    image_folder(tmp_path / "images", {"cat": 2, "dog": 2}, size=(2, 2))
    paths = [str(tmp_path / "images" / p) for p in ("cat/0.png", "cat/1.png", "dog/1.png")]
    ds = datasets.Dataset.from_dict({"image": [*paths[:2], None, paths[2]], "label": [0, 0, 1, 1]})
    ds.cast_column("image", datasets.Image()).to_parquet(tmp_path / "t.parquet")
    spec = TaskSpec.model_validate(
        {"name": "t", "modality": "image", "source": "t.parquet", "input_column": "image"}
    )
    with pytest.raises(DatasetError, match=r"image column 'image' has 1 empty cell") as err:
        load_task(spec, base_dir=tmp_path).all_inputs()
    assert "row 3" in str(err.value), err.value


def _png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param(lambda: None, id="missing-struct"),
        pytest.param(lambda: {"bytes": None, "path": None}, id="struct-of-nothing"),
        pytest.param("bytes-only", id="bytes-only-struct"),
        pytest.param("binary", id="binary-column"),
    ],
)
def test_a_missing_cell_of_encoded_image_cells_pandas_wrote_is_named(
    tmp_path: Path, missing: object
) -> None:
    """The near variants pandas writes (a column of {bytes, path} dicts, of {bytes} dicts, or of
    bytes, `df.to_parquet`), read as structs or binary, not as an Image column: a missing cell
    still said only "an image value is NoneType, not a path, bytes or a {bytes, path} struct"."""
    png = _png()
    if missing == "binary":
        cells: list[object] = [png, png, None, png]
    elif missing == "bytes-only":
        cells = [{"bytes": png}, {"bytes": png}, {"bytes": None}, {"bytes": png}]
    else:
        assert callable(missing)
        cells = [{"bytes": png, "path": None}] * 2 + [missing(), {"bytes": png, "path": None}]
    pd.DataFrame({"image": cells, "label": [0, 0, 1, 1]}).to_parquet(tmp_path / "t.parquet")
    spec = TaskSpec.model_validate(
        {"name": "t", "modality": "image", "source": "t.parquet", "input_column": "image"}
    )
    with pytest.raises(DatasetError, match=r"image column 'image' has 1 empty cell") as err:
        load_task(spec, base_dir=tmp_path).all_inputs()
    assert "row 3" in str(err.value), err.value
