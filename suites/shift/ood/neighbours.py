"""The k-th nearest neighbour distance of each query in a bank: one float32 matrix product per
block of queries, a partial sort, and the few candidates that float32 cannot order measured
again in float64.

`NeighbourBank` is built once (at the KNN detector's fit) and searched per batch. For a block of
queries, one float32 matrix product gives each bank row's `e = |b|^2 / 2 - q.b` (the query's
squared distance is `|q|^2 + 2 e`, so `e` orders the rows as the distance does), and a partial
sort (`np.partition`, introselect) reads the k-th smallest float32 value `v` of each query. The
float32 product is off from the exact `e` by at most `tol`, the rounding bound of a (d + 1)-term
dot product (`_tolerance`): so the exact k-th `e` lies within `v +- tol`, the rows whose float32
value is below `v - 2 tol` are certainly nearer than it and those above `v + 2 tol` certainly
farther. The rows in between (about one per query on the quickstart's features) are measured
again in float64 as `|q - b|`, and the k-th distance is read among them after the rows certainly
nearer: it is the k-th smallest float64 distance over the whole bank, whatever the float32
rounding was. `benchmarks/bench_ood_knn.py` compares it with faiss-cpu's flat index and
scikit-learn's brute force (docs/shift.md).
"""

from __future__ import annotations

import numpy as np
import torch

BLOCK_CELLS = 1 << 23
"""Queries per block: at most this many query x bank values (32 MB of float32) at once."""

PAIR_CELLS = 1 << 22
"""Candidate pairs measured again at once: at most this many float64 coordinates (32 MB)."""

UNIT_ROUNDOFF = 2.0**-24
"""float32's unit roundoff u: every float32 operation is exact within a relative u."""

SMALLEST_NORMAL = 2.0**-126
"""float32's smallest normal number: a BLAS that flushes subnormals to zero is off by this much
per operation, whatever the operands' size."""


class NeighbourBank:
    """A bank of vectors (rows) prepared once for k-th neighbour distance searches.

    Keeps the rows in float64 (for the exact distances) and, transposed, the float32 matrix
    `[-b, |b|^2 / 2]` whose product with `[q, 1]` gives every row's `e` in one BLAS call."""

    def __init__(self, bank: torch.Tensor) -> None:
        rows32 = bank.float()
        self.rows = rows32.double()
        self.size, self.dim = rows32.shape
        half = 0.5 * (self.rows * self.rows).sum(1)
        product = torch.cat([-rows32, half.float()[:, None]], dim=1).T.contiguous()
        self._product = product.numpy()
        self._largest = float(self.rows.norm(dim=1).max()) if self.size else 0.0

    def kth_distance(self, queries: torch.Tensor, k: int) -> torch.Tensor:
        """Euclidean distance from each query (float32 values) to its k-th nearest row (float64,
        (n,)); NaN for a query with a non-finite coordinate."""
        if not 1 <= k <= self.size:
            raise ValueError(f"k = {k} must be within 1..{self.size} (the bank's rows)")
        out = np.empty(len(queries), dtype=np.float64)
        step = max(1, BLOCK_CELLS // self.size)
        # two float32 blocks and a mask, reused by every block (fresh ones cost page faults)
        shape = (min(step, len(queries)), self.size)
        work = (np.empty(shape, np.float32), np.empty(shape, np.float32), np.empty(shape, bool))
        for start in range(0, len(queries), step):
            block = queries[start : start + step].float()
            out[start : start + len(block)] = self._block(block, k, work)
        return torch.from_numpy(out)

    def _block(
        self, q32: torch.Tensor, k: int, work: tuple[np.ndarray, np.ndarray, np.ndarray]
    ) -> np.ndarray:
        n, m = len(q32), self.size
        e, part, near = (w[:n] for w in work)
        q64 = q32.double()
        # numpy's BLAS (threads limited with torch's by `harness.run.threads`): torch's float32
        # products may be set to run in bfloat16 or TF32, which the tolerance does not bound
        with np.errstate(invalid="ignore"):  # a non-finite query: NaN, then no distance
            np.matmul(torch.cat([q32, q32.new_ones(n, 1)], dim=1).numpy(), self._product, out=e)
        np.copyto(part, e)
        part.partition(k - 1, axis=1)
        v32 = part[:, k - 1].copy()
        v = v32.astype(np.float64)
        tol = self._tolerance(q64)
        low, high = v - 2 * tol, v + 2 * tol
        # every row below `low` is among the first k - 1 of the partition
        nearer = np.count_nonzero(part[:, : k - 1] < low[:, None], axis=1)
        # rows within 2 tol of v, found in float32 with the bound rounded up (a superset: e - v
        # rounds monotonically), then kept by the exact float64 test
        np.abs(np.subtract(e, v32[:, None], out=part), out=part)
        reach = np.nextafter((2 * tol).astype(np.float32), np.float32(np.inf))
        cells = np.flatnonzero(np.less_equal(part, reach[:, None], out=near))
        query, row = np.divmod(cells, m)
        value = e.ravel()[cells]
        inside = (value >= low[query]) & (value <= high[query])
        query, row = query[inside], row[inside]
        exact = np.empty(len(query), dtype=np.float64)
        pairs = max(1, PAIR_CELLS // max(self.dim, 1))
        for s in range(0, len(query), pairs):
            qi = torch.from_numpy(query[s : s + pairs])
            ri = torch.from_numpy(row[s : s + pairs])
            exact[s : s + len(qi)] = (q64[qi] - self.rows[ri]).norm(dim=1).numpy()
        order = np.lexsort((exact, query))  # by query, then by distance
        counts = np.bincount(query, minlength=n)
        first = np.cumsum(counts) - counts
        rank = k - 1 - nearer  # the k-th's place among the query's candidates
        found = (rank >= 0) & (rank < counts)  # always, unless a value is NaN
        out = np.full(n, np.nan)
        out[found] = exact[order[first[found] + rank[found]]]
        return out

    def _tolerance(self, q64: torch.Tensor) -> np.ndarray:
        """Per query, a bound on |float32 e - exact e| over the bank's rows, doubled.

        e is a dot product of d + 1 float32 terms, q.(-b) + 1 * fl(|b|^2 / 2): in any order of
        summation (with or without fused multiply-adds) its error is within gamma_(d+1) times
        the sum of the terms' magnitudes (Higham, Accuracy and Stability, 3.1), at most
        |q| |b| + |b|^2 / 2 by Cauchy-Schwarz; rounding |b|^2 / 2 to float32 adds u |b|^2 / 2;
        subnormals flushed to zero add at most one `SMALLEST_NORMAL` per operation."""
        n = self.dim + 2
        gamma = n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)
        big = self._largest
        bound = gamma * (q64.norm(dim=1).numpy() * big + big * big / 2) + 2 * n * SMALLEST_NORMAL
        return np.asarray(2.0 * bound, dtype=np.float64)


def kth_distance(queries: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """Euclidean distance from each query to its k-th nearest bank row (float64, (n,))."""
    return NeighbourBank(bank).kth_distance(queries, k)
