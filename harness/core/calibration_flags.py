"""Which calibration numbers a model's scores distort, read from a stored table's columns.

Suites apply a softmax to the scores an adapter returns. Two kinds of score make the calibration
numbers computed from that softmax (NLL, ECE, Brier; per-group ECE) describe something the model
does not state: rows that already are probability vectors (a final softmax: `FLAG`, per-sample
`COLUMN`, decided in `harness.core.probability_outputs`) and decision margins (scikit-learn's
`decision_function`: `DECISION_FLAG`, per-sample `DECISION_COLUMN`, from the adapter's
`Capabilities.probabilities`). Suites store both columns; whoever computes a calibration number
from a table flags it from the stored rows (`calibration_flags`), so merged shards and
`harness groups` decide as the whole run would. Torch-free: the results commands import it.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Any

import numpy as np

FLAG = "probability_outputs"
COLUMN = "probability_output"
DECISION_FLAG = "decision_scores"
DECISION_COLUMN = "decision_score"
"""Per-sample column: the model's scores were decision margins (`Capabilities.probabilities` is
False: scikit-learn's decision_function), not logits whose softmax is the model's probabilities."""


def every_row_true(column: Any) -> bool:
    """Whether every stored row of a per-sample boolean column (numpy array or pandas Series)
    is True; None (a table stored before the column existed), no rows, or a missing value (a
    row of another condition, where the column is null): False."""
    if column is None or not isinstance(column, Sized) or len(column) == 0:
        return False
    if getattr(column, "dtype", None) == np.bool_ and hasattr(column, "to_numpy"):
        # a pandas column of numpy booleans: its array as `np.asarray` gives it, without
        # the conversion protocol's cost (0.1 ms a column, two columns a table of `groups`)
        return bool(column.to_numpy().all())
    values = np.asarray(column)
    if values.dtype == np.bool_:
        return bool(values.all())
    return all(v is True for v in values.tolist())  # null (NaN, None) is not True


def all_probabilities(column: Any) -> bool:
    """Whether every stored row of a `COLUMN` column was a probability vector."""
    return every_row_true(column)


def calibration_flags(frame: Any) -> tuple[str, ...]:
    """The flags on the calibration numbers (NLL, ECE, Brier; per-group ECE) of a table's rows
    (a pandas DataFrame): every output a probability vector (`FLAG`), or every score a decision
    margin (`DECISION_FLAG`). Tables stored before a column existed have none: not flagged."""
    flags = (FLAG,) if every_row_true(_column(frame, COLUMN)) else ()
    if every_row_true(_column(frame, DECISION_COLUMN)):
        flags = (*flags, DECISION_FLAG)
    return flags


def _column(frame: Any, name: str) -> Any:
    """`frame.get(name)`: a numpy column's array where the frame holds one (no Series), else
    pandas' column (or None)."""
    from harness.core.sample_table import numpy_column

    values = numpy_column(frame, name) if hasattr(frame, "columns") else None
    return frame.get(name) if values is None else values
