"""`MatrixFill` writes the same float32 matrix, and the same ranges, as filling it column by
column and reducing it whole: NaN, inf, negative zeros, one-hot blocks, several row blocks and
several write passes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from harness.data import matrix_fill
from harness.data.matrix_fill import MatrixFill


def _columns(rows: int, seed: int) -> list[tuple[str, object]]:
    gen = np.random.default_rng(seed)
    big = gen.normal(size=rows) * 1e39  # beyond float32: inf
    zeros = np.where(gen.random(rows) < 0.5, 0.0, -0.0)  # +0.0 and -0.0 only
    ints = pa.chunked_array(
        [pa.array(gen.integers(-5, 5, rows // 2)), pa.array(gen.integers(-5, 5, rows - rows // 2))]
    )
    nulls = pa.chunked_array([pa.array(gen.normal(size=rows), mask=gen.random(rows) < 0.1)])
    return [
        ("arrow", ints),
        ("values", gen.normal(size=rows)),
        ("one_hot", (gen.integers(-1, 4, rows), 4)),
        ("values", zeros),
        ("arrow", nulls),
        ("values", big),
        ("one_hot", (gen.integers(0, 2, rows), 3)),
        ("arrow", pa.chunked_array([pa.array(gen.random(rows) < 0.5)])),
        ("values", gen.normal(size=rows) * 1e-50),  # float32 +0.0 and -0.0 (underflow)
        ("values", np.where(gen.random(rows) < 0.5, -1e-50, gen.random(rows))),  # -0.0 to 1
        ("values", np.where(gen.random(rows) < 0.5, 0.0, -gen.random(rows))),  # -1 to +0.0
        ("values", np.resize([0.0, -1e-50, 1.0], rows)),  # +0.0 first, then -0.0
        ("arrow", pa.chunked_array([pa.array(gen.normal(size=rows).astype(np.float32))])),
        ("arrow", pa.chunked_array([pa.array(gen.integers(2**60, 2**62, rows))])),  # one chunk
        (
            "arrow",
            pa.chunked_array(
                [pa.array([2**62 + 1] * (rows - 1), pa.int64()), pa.array([-(2**61) - 3])]
            ),
        ),
        ("one_hot", (np.full(rows, 1), 2)),  # every row in one category: minimum 1
    ]


def _reference(rows: int, columns: list[tuple[str, object]]) -> np.ndarray:
    width = sum(c[1][1] if c[0] == "one_hot" else 1 for c in columns)  # type: ignore[index]
    out = np.empty((rows, width), dtype=np.float32)
    j = 0
    with np.errstate(over="ignore"):
        for kind, column in columns:
            if kind == "one_hot":
                index, k = column  # type: ignore[misc]
                block = np.zeros((rows, k), dtype=np.float32)
                hit = np.flatnonzero(index >= 0)
                block[hit, index[hit]] = 1.0
                out[:, j : j + k] = block
                j += k
                continue
            # integers as Arrow casts them: to float64 (rounded beyond 2**53), then float32
            values = column.cast(pa.float64(), safe=False).to_numpy() if kind == "arrow" else column
            out[:, j] = values
            j += 1
    return out


@pytest.mark.parametrize("block_bytes, held_bytes", [(1 << 20, 1 << 25), (512, 1 << 25), (512, 1)])
@pytest.mark.parametrize("rows", [1, 7, 3001])
def test_same_matrix_and_ranges_as_column_by_column(
    rows: int, block_bytes: int, held_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix_fill, "BLOCK_BYTES", block_bytes)
    monkeypatch.setattr(matrix_fill, "HELD_BYTES", held_bytes)
    columns = _columns(rows, seed=rows)
    expected = _reference(rows, columns)
    fill = MatrixFill(*expected.shape)
    for kind, column in columns:
        if kind == "arrow":
            fill.add_arrow(column)  # type: ignore[arg-type]
        elif kind == "values":
            fill.add_values(column)  # type: ignore[arg-type]
        else:
            fill.add_one_hot(*column)  # type: ignore[misc]
    filled = fill.finish()
    assert filled.matrix.tobytes() == expected.tobytes()
    assert filled.low.tobytes() == expected.min(axis=0).tobytes()
    assert filled.high.tobytes() == expected.max(axis=0).tobytes()
