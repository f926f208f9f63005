"""A stored table's frame built by the schema's recipe is the frame `to_pandas` gives."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.core.sample_table import SampleTable
from harness.store import arrow_frames
from harness.store.arrow_frames import frame_of


@pytest.fixture(autouse=True)
def _no_recipes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrow_frames, "_recipes", [])
    monkeypatch.setattr(arrow_frames, "_refused", [])


def _stored(frame: pd.DataFrame, **kwargs: object) -> pa.Table:
    """`frame` written to Parquet the way a job stores its table, and read back."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, **{"index": False, **kwargs})
    return pq.ParquetFile(pa.BufferReader(buffer.getvalue())).read(use_threads=False)


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return SampleTable.build(
        {
            "sample_id": [f"s{i}" for i in range(n)],
            "condition": ["clean"] * n,
            "label": rng.integers(0, 3, n),
            "prediction": rng.integers(0, 3, n),
            "correct": rng.random(n) < 0.5,
            "confidence": rng.random(n),
            "nll": rng.random(n) * 3,
            "group:age": rng.integers(20, 60, n).astype(np.int32),
            "group:score": rng.random(n).astype(np.float32),
            "top5_correct": rng.random(n) < 0.9,
        }
    ).frame


def _alike(built: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(built, expected, check_exact=True, check_column_type=True)
    assert arrow_frames._same_frame(built, expected)
    assert built.columns.dtype == expected.columns.dtype
    layout = [(b.dtype, list(b.mgr_locs)) for b in expected._mgr.blocks]
    assert [(b.dtype, list(b.mgr_locs)) for b in built._mgr.blocks] == layout


def test_tables_of_one_schema_are_built_by_its_recipe_as_to_pandas_builds_them() -> None:
    tables = [_stored(_table(50, seed)) for seed in range(4)]
    first = frame_of(tables[0])
    assert len(arrow_frames._recipes) == 1  # the first table's conversion showed how
    _alike(first, tables[0].to_pandas(use_threads=False))
    for table in tables[1:]:
        built = frame_of(table)
        _alike(built, table.to_pandas(use_threads=False))
        for block in built._mgr.blocks:  # arrays of their own, writable, as to_pandas' are
            if isinstance(block.values, np.ndarray):
                assert block.values.flags.writeable
    assert len(arrow_frames._recipes) == 1


def test_a_table_of_another_length_or_schema_gets_its_own_recipe() -> None:
    frame_of(_stored(_table(50, 0)))
    other = _table(30, 1).drop(columns=["nll"])
    _alike(frame_of(_stored(_table(30, 2))), _stored(_table(30, 2)).to_pandas(use_threads=False))
    _alike(frame_of(_stored(other)), _stored(other).to_pandas(use_threads=False))
    assert len(arrow_frames._recipes) == 2


def test_a_table_with_missing_values_is_to_pandas_own() -> None:
    frame_of(_stored(_table(20, 0)))
    table = _stored(_table(20, 1))
    # a missing label: to_pandas makes the column float (the type checks then refuse it)
    labels = pa.array([None] + list(range(19)), pa.int64())
    holed = table.set_column(table.schema.get_field_index("label"), "label", labels)
    holed = holed.replace_schema_metadata(table.schema.metadata)
    expected = holed.to_pandas(use_threads=False)
    assert expected["label"].dtype == np.float64
    pd.testing.assert_frame_equal(frame_of(holed), expected, check_exact=True)
    with pytest.raises(ValueError, match="'label' holds float64"):
        SampleTable(frame_of(holed)).with_checked_types()


def test_a_table_stored_with_its_index_is_to_pandas_own() -> None:
    frame = _table(20, 0).set_index("sample_id")
    for _ in range(2):
        table = _stored(frame, index=True)
        built = frame_of(table)
        pd.testing.assert_frame_equal(built, table.to_pandas(use_threads=False), check_exact=True)
        assert built.index.name == "sample_id"
    assert arrow_frames._recipes == []


def test_an_empty_table_is_to_pandas_own() -> None:
    table = _stored(_table(0, 0))
    pd.testing.assert_frame_equal(frame_of(table), table.to_pandas(use_threads=False))
    assert arrow_frames._recipes == []


def test_a_recipe_frames_types_are_checked_from_its_dtypes_as_from_its_columns() -> None:
    bad = _table(20, 0).assign(correct=lambda f: f["correct"].map(str))  # "True" / "False"
    tables = [_stored(bad), _stored(bad.assign(nll=1.0))]
    frame_of(tables[0])
    frame, dtypes = arrow_frames.typed_frame_of(tables[1])
    assert dtypes == {str(c): frame[c].dtype for c in frame.columns}
    for known in (dtypes, None):
        with pytest.raises(ValueError, match=r"column 'correct' holds str values, not booleans"):
            SampleTable(frame).with_checked_types(known)
    good = [_stored(_table(20, seed)) for seed in range(2)]
    frame_of(good[0])
    frame, dtypes = arrow_frames.typed_frame_of(good[1])
    assert dtypes is not None
    assert SampleTable(frame).with_checked_types(dtypes).frame is frame


def test_a_pandas_without_the_internals_the_recipe_uses_gets_to_pandas_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recipe builds frames with pandas internals; where a pandas release lacks them, every
    table is still read (as to_pandas reads it), never refused or crashed."""
    tables = [_stored(_table(30, seed)) for seed in range(3)]
    monkeypatch.delattr(pd.DataFrame, "_from_arrays")
    for table in tables:
        _alike(frame_of(table), table.to_pandas(use_threads=False))
    assert arrow_frames._recipes == []


@pytest.mark.parametrize("storage", ["python", "pyarrow"])
def test_a_recipe_follows_the_string_storage_option_as_to_pandas_does(storage: str) -> None:
    """to_pandas makes a text column's type from `mode.string_storage` at each call; a recipe
    kept its first table's: under `pd.option_context("mode.string_storage", "python")` a later
    table came back with Arrow-backed text (ArrowStringArray) where to_pandas gives StringArray."""
    other = "pyarrow" if storage == "python" else "python"
    tables = [_stored(_table(50, seed)) for seed in range(3)]
    with pd.option_context("mode.string_storage", other):
        frame_of(tables[0])
        frame_of(tables[1])
    with pd.option_context("mode.string_storage", storage):
        _alike(frame_of(tables[2]), tables[2].to_pandas(use_threads=False))
        assert frame_of(tables[2])["sample_id"].dtype.storage == storage
