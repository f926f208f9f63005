"""`SampleTable` refuses a table whose (sample_id, condition[, suite]) key repeats, with one
line naming the key and a repeated row, whether or not the ids repeat across conditions."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.core.sample_table import SampleTable


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
