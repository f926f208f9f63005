"""A row-major float32 feature matrix filled from whole columns, one row block at a time.

Writing one column into a row-major (n, features) matrix touches every cache line of the matrix
(a 1,000,000 x 20 matrix written column by column took 135 ms, by row blocks 47 ms). `MatrixFill`
collects the columns (`add_arrow`: a numeric Arrow column, converted block by block, never whole;
`add_values`: a float64 array; `add_one_hot`: each row's category position) and writes them
block by block, each block small enough to stay in cache while every column is written into it,
taking each column's min and max from the block while it is there.

The ranges equal `matrix.min(axis=0)` / `matrix.max(axis=0)` bit for bit: a minimum is one of
the values whatever the order, except between 0.0 and -0.0, which compare equal; when a block
holds a negative zero at a column's extreme, the ranges are taken from the whole matrix as
numpy does. Held arrays are written out once they pass `HELD_BYTES`, so the columns converted
ahead of the fill never hold much beside the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

BLOCK_BYTES = 1 << 20  # one block of the matrix: stays in cache while its columns are written
HELD_BYTES = 1 << 25  # converted columns held before they are written out


@dataclass(frozen=True)
class Filled:
    """The matrix and each column's min and max (float32; NaN where a column holds NaN)."""

    matrix: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class _Column:
    start: int  # first matrix column
    arrow: pa.ChunkedArray | None = None  # numeric Arrow column, converted per block
    values: np.ndarray | None = None  # float64 values, one per row
    index: np.ndarray | None = None  # one-hot: each row's category (-1: none)
    width: int = 1


class MatrixFill:
    """Collects columns in matrix order and writes them in row blocks (module docstring)."""

    def __init__(self, rows: int, width: int) -> None:
        self.out = np.empty((rows, width), dtype=np.float32)
        self.low = np.full(width, np.nan, dtype=np.float32)
        self.high = np.full(width, np.nan, dtype=np.float32)
        self._zeros_signed = np.ones(width, dtype=bool)  # False: a one-hot column (+0.0 only)
        self.block = max(256, BLOCK_BYTES // (4 * max(width, 1)))
        self._pending: list[_Column] = []
        self._held = 0
        self._next = 0  # the next matrix column to be added
        self._signed_zero = False  # a block held -0.0 at a column's extreme

    def add_arrow(self, column: pa.ChunkedArray) -> None:
        """A boolean, integer, float or decimal Arrow column (nulls are NaN)."""
        self._add(_Column(self._next, arrow=column))

    def add_values(self, values: np.ndarray) -> None:
        """A float64 array, one value per row."""
        self._add(_Column(self._next, values=values), values.nbytes)

    def add_one_hot(self, index: np.ndarray, width: int) -> None:
        """`width` 0/1 columns: 1 in column `index[row]`; a row with index -1 is all zeros."""
        self._zeros_signed[self._next : self._next + width] = False
        self._add(_Column(self._next, index=index, width=width), index.nbytes)

    def _add(self, column: _Column, held: int = 0) -> None:
        self._pending.append(column)
        self._next += column.width
        self._held += held
        if self._held >= HELD_BYTES:
            self._write()

    def finish(self) -> Filled:
        """The matrix and its ranges (every column added)."""
        self._write()
        assert self._next == self.out.shape[1], (self._next, self.out.shape)
        if self._signed_zero:  # numpy's own reduction decides between 0.0 and -0.0
            return Filled(self.out, self.out.min(axis=0), self.out.max(axis=0))
        return Filled(self.out, self.low, self.high)

    def _write(self) -> None:
        """Write the pending columns (a contiguous range of matrix columns) block by block."""
        if not self._pending:
            return
        first, end = self._pending[0].start, self._next
        low, high = self.low[first:end], self.high[first:end]
        with np.errstate(over="ignore"):  # beyond float32 becomes inf: refused by the caller
            for top in range(0, len(self.out), self.block):
                bottom = min(top + self.block, len(self.out))
                block = self.out[top:bottom, first:end]
                for column in self._pending:
                    self._put(block, column, column.start - first, top, bottom)
                self._ranges(block, self._zeros_signed[first:end], low, high, top == 0)
        self._pending, self._held = [], 0

    @staticmethod
    def _put(block: np.ndarray, column: _Column, j: int, top: int, bottom: int) -> None:
        if column.arrow is not None:
            part = column.arrow.slice(top, bottom - top).cast(pa.float64())
            block[:, j] = part.to_numpy()
        elif column.values is not None:
            block[:, j] = column.values[top:bottom]
        else:
            assert column.index is not None
            part, ones = column.index[top:bottom], block[:, j : j + column.width]
            ones[...] = 0.0
            rows = np.flatnonzero(part >= 0)
            ones[rows, part[rows]] = 1.0

    def _ranges(
        self, block: np.ndarray, signed: np.ndarray, low: np.ndarray, high: np.ndarray, first: bool
    ) -> None:
        lo, hi = block.min(axis=0), block.max(axis=0)
        zero = np.flatnonzero(((lo == 0) | (hi == 0)) & signed)
        if len(zero):
            cells = block[:, zero]
            self._signed_zero |= bool(np.signbit(cells[cells == 0]).any())
        if first:
            low[:], high[:] = lo, hi
        else:
            np.minimum(low, lo, out=low)
            np.maximum(high, hi, out=high)
