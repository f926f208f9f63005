"""The k-th nearest neighbour distance of each query in a bank, batched in torch.

Candidates come from one float32 matrix product per block of queries (the BLAS does the work, as
in faiss's flat index), ranked by their float32 distance; the `WINDOW` candidates on either side
of the k-th are then measured again exactly in float64 and the k-th smallest distance is read
among them, so the result is the float64 distance and the float32 product only orders the
candidates (an error of ~1e-6 cannot move a candidate across 4 places of the window). `benchmarks/bench_ood_knn.py` compares
this with faiss-cpu's flat index and scikit-learn's brute force (docs/shift.md).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

WINDOW = 4
"""Candidates on each side of the k-th (in float32 order) measured again exactly."""

BLOCK_CELLS = 1 << 23
"""Queries per block: at most this many query x bank similarities (32 MB of float32) at once."""


def faiss_available() -> bool:
    """Whether faiss-cpu is installed (the `ood` extra): its flat index orders the candidates."""
    return importlib.util.find_spec("faiss") is not None


def _window_by_faiss(queries: torch.Tensor, bank: torch.Tensor, keep: int) -> torch.Tensor:
    """Indices of each query's `keep` nearest bank rows, nearest first (faiss's exact flat
    index, float32)."""
    import faiss

    index = faiss.IndexFlatL2(bank.shape[1])
    index.add(np.ascontiguousarray(bank.float().numpy()))
    _, order = index.search(np.ascontiguousarray(queries.float().numpy()), keep)
    return torch.from_numpy(order.astype(np.int64))


def kth_distance(queries: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """Euclidean distance from each query to its k-th nearest bank row (float64, (n,)).

    The candidates are ordered by faiss's flat index when faiss-cpu is installed (1.66x faster
    on one thread here: its BLAS), else by the float32 product below; either way the window
    around the k-th is measured again in float64, so both give the same distances."""
    n, m = len(queries), len(bank)
    keep = min(m, k + WINDOW)
    first = max(0, k - 1 - WINDOW)  # the window's first position (0-based) in float32 order
    bank64 = bank.double()
    out = torch.empty(n, dtype=torch.float64)
    if faiss_available():
        rows = max(1, BLOCK_CELLS // max(keep * bank.shape[1], 1))
        order = _window_by_faiss(queries, bank, keep)
        for start in range(0, n, rows):
            q = queries[start : start + rows].double()
            window = order[start : start + rows, first:]
            exact = (q[:, None, :] - bank64[window]).norm(dim=2)
            out[start : start + len(q)] = exact.kthvalue(k - first, dim=1).values
        return out
    bank32 = bank.float().contiguous()
    minus_half_norms = -0.5 * (bank32 * bank32).sum(1)
    rows = max(1, BLOCK_CELLS // max(m, 1))
    for start in range(0, n, rows):
        q = queries[start : start + rows]
        # the nearest rows maximise q.b - |b|^2 / 2 (|q|^2 is the same for every row)
        nearness = torch.addmm(minus_half_norms.expand(len(q), -1), q.float(), bank32.T)
        window = nearness.topk(keep, dim=1, sorted=True).indices[:, first:]
        exact = (q.double()[:, None, :] - bank64[window]).norm(dim=2)
        out[start : start + len(q)] = exact.kthvalue(k - first, dim=1).values
    return out
