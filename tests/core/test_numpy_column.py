"""`numpy_column`: a numpy-held column's array without a pandas Series, the same array
`frame[name].to_numpy(dtype)` gives (values, dtype, read-only), None where pandas must read it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.core.calibration_flags import calibration_flags
from harness.core.sample_table import numpy_column
from harness.stats.group_statistics import CLEAN_CORRECT, CLEAN_TIED, TIED, Columns


def _frame() -> pd.DataFrame:
    n = 7
    return pd.DataFrame(
        {
            "sample_id": pd.array([f"s{i}" for i in range(n)], dtype="string"),
            "label": np.arange(n, dtype=np.int64) % 3,
            "label32": (np.arange(n) % 3).astype(np.int32),
            "prediction": np.arange(n, dtype=np.uint8) % 2,
            "correct": np.arange(n) % 2 == 0,
            "confidence": np.linspace(0.1, 1.0, n),
            "confidence32": np.linspace(0.1, 1.0, n).astype(np.float32),
            "nullable": pd.array([True, None, False, True, True, True, True], dtype="boolean"),
            "objects": np.array([True, None, False, True, True, True, True], dtype=object),
        }
    )


@pytest.mark.parametrize(
    "name", ["label", "label32", "prediction", "correct", "confidence", "confidence32"]
)
@pytest.mark.parametrize("dtype", [None, np.int64, np.float64, bool])
def test_a_numpy_column_is_the_array_pandas_gives(name: str, dtype: type | None) -> None:
    frame = _frame()
    got = numpy_column(frame, name, dtype)
    want = frame[name].to_numpy(dtype)
    assert got is not None
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert got.flags.writeable == want.flags.writeable
    assert not got.flags.writeable or not np.shares_memory(got, frame[name].to_numpy())


def test_a_numpy_column_cannot_be_written_through_to_the_frame() -> None:
    frame = _frame()
    got = numpy_column(frame, "label")
    assert got is not None and not got.flags.writeable
    with pytest.raises(ValueError):
        got[0] = 99
    assert frame["label"].iloc[0] == 0


@pytest.mark.parametrize("name", ["sample_id", "nullable", "objects", "absent"])
def test_columns_pandas_must_read_are_left_to_it(name: str) -> None:
    assert numpy_column(_frame(), name) is None


def test_a_duplicated_column_name_is_left_to_pandas() -> None:
    frame = pd.concat([_frame()[["label"]], _frame()[["label"]]], axis=1)
    assert numpy_column(frame, "label") is None


def _old_columns(frame: pd.DataFrame, positive: int) -> Columns:
    """`Columns.of` as it read the columns through pandas Series."""
    clean = frame[CLEAN_CORRECT].to_numpy(bool) if CLEAN_CORRECT in frame.columns else None

    def optional(column: str) -> np.ndarray | None:
        return frame[column].to_numpy(bool) if column in frame.columns else None

    return Columns(
        label=frame["label"].to_numpy(np.int64),
        prediction=frame["prediction"].to_numpy(np.int64),
        correct=frame["correct"].to_numpy(bool),
        confidence=frame["confidence"].to_numpy(np.float64),
        clean_correct=clean,
        positive=positive,
        tied=optional(TIED),
        clean_tied=optional(CLEAN_TIED) if clean is not None else None,
    )


@pytest.mark.parametrize(
    "extra", [(), (CLEAN_CORRECT,), (TIED,), (CLEAN_CORRECT, TIED, CLEAN_TIED)]
)
@pytest.mark.parametrize("narrow", [False, True])
def test_columns_of_reads_what_the_pandas_columns_hold(
    extra: tuple[str, ...], narrow: bool
) -> None:
    frame = _frame()
    if narrow:  # other numpy widths: cast as pandas casts them
        frame["label"], frame["confidence"] = frame["label32"], frame["confidence32"]
    for name in extra:
        frame[name] = np.arange(len(frame)) % 3 == 1
    if CLEAN_CORRECT in extra:  # a nullable column: read through pandas, as before
        frame[CLEAN_CORRECT] = frame[CLEAN_CORRECT].astype("boolean")
    got, want = Columns.of(frame, 1), _old_columns(frame, 1)
    for field in (
        "label",
        "prediction",
        "correct",
        "confidence",
        "clean_correct",
        "tied",
        "clean_tied",
    ):
        a, b = getattr(got, field), getattr(want, field)
        assert (a is None) == (b is None), field
        if a is not None:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), field
    assert got.positive == want.positive


@pytest.mark.parametrize(
    ("probability", "decision"),
    [
        (np.ones(4, bool), np.zeros(4, bool)),
        (np.ones(4, bool), np.ones(4, bool)),
        (np.array([True, True, False, True]), np.ones(4, bool)),
        (
            pd.array([True, None, True, True], dtype="boolean"),
            pd.array([True] * 4, dtype="boolean"),
        ),
        (np.array([True, None, True, True], dtype=object), np.array([1, 1, 1, 1])),
        (None, None),
    ],
)
def test_calibration_flags_of_every_column_kind(probability: object, decision: object) -> None:
    frame = pd.DataFrame({"label": np.arange(4)})
    if probability is not None:
        frame["probability_output"] = probability
        frame["decision_score"] = decision
    want: tuple[str, ...] = ()
    for column, flag in (
        ("probability_output", "probability_outputs"),
        ("decision_score", "decision_scores"),
    ):
        values = frame.get(column)
        if values is not None and all(v is True for v in values.tolist()):
            want = (*want, flag)
    assert calibration_flags(frame) == want
