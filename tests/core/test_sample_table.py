"""`SampleTable` refuses a table whose (sample_id, condition[, suite]) key repeats, with one
line naming the key and a repeated row, whether or not the ids repeat across conditions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.core.sample_table import SampleTable, condition_mask


def _frame(ids: list[str], conditions: list[str], **extra: list[str]) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "sample_id": ids,
            "condition": conditions,
            "label": [0] * n,
            "prediction": [0] * n,
            "correct": [True] * n,
            "confidence": [0.9] * n,
            **extra,
        }
    )


def test_unique_ids_and_ids_across_conditions_are_accepted() -> None:
    assert len(SampleTable(_frame(["a", "b", "c"], ["clean"] * 3))) == 3
    assert len(SampleTable(_frame(["a", "b", "a", "b"], ["clean", "clean", "blur", "blur"]))) == 4
    three = _frame(["a", "a"], ["clean", "clean"], suite=["accuracy", "shift"])
    assert len(SampleTable(three)) == 2


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            _frame(["a", "b", "a"], ["clean"] * 3),
            "sample table has duplicate ('sample_id', 'condition') rows, e.g. ['a', 'clean']",
        ),
        (
            _frame(["a", "b", "a", "b"], ["clean", "blur", "blur", "blur"]),
            "sample table has duplicate ('sample_id', 'condition') rows, e.g. ['b', 'blur']",
        ),
        (
            _frame(["a", "a"], ["clean", "clean"], suite=["shift", "shift"]),
            "sample table has duplicate ('sample_id', 'condition', 'suite') rows, "
            "e.g. ['a', 'clean', 'shift']",
        ),
        (
            _frame([None, None], ["clean", "clean"]),  # type: ignore[list-item]
            "sample table has duplicate ('sample_id', 'condition') rows, e.g. [None, 'clean']",
        ),
    ],
)
def test_a_repeated_key_is_refused_in_one_line(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError) as err:
        SampleTable(frame)
    assert str(err.value) == message


def _stored(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """`frame` written and read back as a stored table is (Arrow text columns)."""
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    return pd.read_parquet(path)


@pytest.mark.parametrize(
    "conditions",
    [
        ["clean", "clean", "blur", "clean"],
        ["blur", "blur"],
        ["clean", None, "clean"],  # a missing condition: pandas' comparison decides
        [],
    ],
)
@pytest.mark.parametrize("stored", [True, False])
def test_condition_mask_selects_what_pandas_comparison_selects(
    conditions: list[str], stored: bool, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"condition": conditions, "v": range(len(conditions))})
    if stored:
        frame = _stored(frame, tmp_path)
    shuffled = frame.iloc[::-1]  # an index that is not 0..n-1
    for table in (frame, shuffled):
        for condition in ("clean", "blur", "other"):
            try:
                want = table[table["condition"] == condition]
            except ValueError as err:  # pandas refuses a mask with missing values
                with pytest.raises(ValueError, match=str(err)[:30]):
                    table[condition_mask(table, condition)]
                continue
            got = table[condition_mask(table, condition)]
            pd.testing.assert_frame_equal(got, want, check_exact=True)
            assert type(got.index) is type(want.index)


@pytest.mark.parametrize(
    "ids",
    [
        ["a", "b", "c"],
        ["a", "b", "a"],
        ["a", None, "c"],
        ["a", None, None],
        ["é", "e\u0301", "e"],  # the same letter composed two ways: two ids, as in pandas
        [],
    ],
)
def test_unique_ids_of_arrow_text_are_pandas_is_unique(ids: list[str | None]) -> None:
    import pyarrow as pa

    from harness.core.sample_table import _unique_ids

    for kind in (pa.string(), pa.large_string()):
        for chunks in ([ids], [ids[:1], ids[1:]]):
            column = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks, kind)))
            frame = pd.DataFrame({"sample_id": column})
            assert _unique_ids(frame) == bool(column.is_unique)
