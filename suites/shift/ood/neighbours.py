"""The k-th nearest neighbour distance of each query in a bank, batched in torch.

Candidates come from one float32 matrix product per block of queries (the BLAS does the work, as
in faiss's flat index); the k + `MARGIN` most similar are then measured again exactly in float64
and the k-th smallest of those is returned, so the result is the float64 distance and the
float32 product only chooses which bank rows to measure. `benchmarks/bench_ood_knn.py` compares
this with faiss-cpu's flat index and scikit-learn's brute force (docs/shift.md).
"""

from __future__ import annotations

import torch

MARGIN = 8
"""Extra candidates measured exactly: float32 similarities err by ~1e-7, far inside the gap a
neighbour would need to swap places with one outside the k + 8 kept."""

BLOCK_CELLS = 1 << 23
"""Queries per block: at most this many query x bank similarities (32 MB of float32) at once."""


def kth_distance(queries: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """Euclidean distance from each query to its k-th nearest bank row (float64, (n,))."""
    n, m = len(queries), len(bank)
    keep = min(m, k + MARGIN)
    bank32 = bank.float().contiguous()
    half_norms = 0.5 * (bank32 * bank32).sum(1)
    bank64 = bank.double()
    rows = max(1, BLOCK_CELLS // max(m, 1))
    out = torch.empty(n, dtype=torch.float64)
    for start in range(0, n, rows):
        q = queries[start : start + rows]
        # the nearest rows maximise q.b - |b|^2 / 2 (|q|^2 is the same for every row)
        nearness = q.float() @ bank32.T - half_norms
        candidates = nearness.topk(keep, dim=1, sorted=False).indices
        exact = (q.double()[:, None, :] - bank64[candidates]).norm(dim=2)
        out[start : start + len(q)] = exact.kthvalue(k, dim=1).values
    return out
