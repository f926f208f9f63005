"""`paired_forms.id_index` is `pd.Index(ids.to_numpy())` (the same dtype, values and name) for
every kind of id column, taking a shortcut only for a stored table's Arrow text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.paired_forms import id_index


def _columns() -> list[pd.Series]:
    out = [
        pd.Series(["a", "b", "é", "\x00z"]),
        pd.Series(["a", None, "c"]),
        pd.Series(["a", "b"], dtype=object),
        pd.Series([1, 2], dtype=object),
        pd.Series([], dtype=object),
        pd.Series([3, 1, 2]),
    ]
    for na in (pd.NA, np.nan):
        try:
            dtype = pd.StringDtype("pyarrow", na_value=na)
        except (TypeError, ImportError):  # an older pandas
            continue
        out += [
            pd.Series(["s1", "s0", "s1x"], dtype=dtype),
            pd.Series(["a", None], dtype=dtype),
            pd.Series([], dtype=dtype),
        ]
    return out


@pytest.mark.parametrize("ids", _columns())
def test_id_index_is_the_inferred_index(ids: pd.Series) -> None:
    want, got = pd.Index(ids.to_numpy()), id_index(ids)
    assert got.dtype == want.dtype and got.name == want.name
    assert got.equals(want) and list(got) == list(want)


def test_a_stored_tables_ids_take_the_same_index(tmp_path: Path) -> None:
    frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(50)], "v": np.arange(50)})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    ids = pd.read_parquet(path)["sample_id"]
    rows = ids[ids.index % 3 != 0]  # a selection, as a condition's rows are
    want, got = pd.Index(rows.to_numpy()), id_index(rows)
    assert got.dtype == want.dtype and got.equals(want)
    assert np.array_equal(got.astype(str).to_numpy(), want.astype(str).to_numpy())
