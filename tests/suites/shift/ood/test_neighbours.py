"""The KNN detector's search gives the k-th smallest float64 distance over the whole bank,
exactly (the float32 product only narrows the rows measured in float64): on banks with
duplicate rows, ties, rounded coordinates, large norms, k at either end, several query blocks,
and on rows that float32 cannot order at all (which break a window of a few places around the
float32 k-th)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.suites.shift.ood import neighbours
from harness.suites.shift.ood.neighbours import NeighbourBank, kth_distance


def _brute(queries: torch.Tensor, bank: torch.Tensor, k: int) -> torch.Tensor:
    """The same float64 distance for every pair, then the k-th smallest."""
    diff = queries.double()[:, None, :] - bank.double()[None, :, :]
    return diff.norm(dim=2).kthvalue(k, dim=1).values


def _case(seed: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    gen = torch.Generator().manual_seed(seed)
    m = int(torch.randint(2, 300, (1,), generator=gen))
    d = int(torch.randint(1, 48, (1,), generator=gen))
    k = int(torch.randint(1, m + 1, (1,), generator=gen))
    bank = torch.relu(torch.randn(m, d, generator=gen))
    if seed % 3 == 0:
        bank[: m // 2] = bank[0]  # half the bank is one row: a tie across the k-th
    if seed % 4 == 0:
        bank = bank.round()  # many exactly equal distances
    queries = torch.relu(torch.randn(40, d, generator=gen))
    queries[: min(10, m)] = bank[:10]  # queries on bank rows: distance 0
    if seed % 5 == 0:
        bank, queries = bank * 300, queries * 300  # far from unit norm
    return queries.float(), bank.float(), k


@pytest.mark.parametrize("seed", range(30))
def test_the_kth_float64_distance_exactly(seed: int) -> None:
    queries, bank, k = _case(seed)
    assert torch.equal(kth_distance(queries, bank, k), _brute(queries, bank, k))


def test_rows_that_float32_cannot_order() -> None:
    """Rows 0.01 from a query of norm 300: float32 computes |b|^2 / 2 - q.b with an error of
    ~1e-2 while the rows differ by ~1e-4 in it, so the float32 order is noise; the k-th is
    still the float64 one (a search that trusts the float32 order, or a window of a few rows
    around its k-th, returns another row's distance)."""
    gen = torch.Generator().manual_seed(11)
    u = torch.randn(64, generator=gen)
    q = 300 * u / u.norm()
    bank = (q + 0.01 * torch.randn(400, 64, generator=gen)).float()
    far = (q + 5.0 * torch.randn(400, 64, generator=gen)).float()
    bank = torch.cat([bank, far])
    queries = torch.stack([q, q + 0.001 * torch.randn(64, generator=gen)]).float()
    for k in (1, 50, 200, 399, 401):
        assert torch.equal(kth_distance(queries, bank, k), _brute(queries, bank, k)), k


def test_blocks_of_queries_and_of_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many small query blocks and candidate chunks give the same distances as one block."""
    queries, bank, k = _case(3)
    whole = kth_distance(queries, bank, k)
    monkeypatch.setattr(neighbours, "BLOCK_CELLS", 3 * len(bank))
    monkeypatch.setattr(neighbours, "PAIR_CELLS", 5 * bank.shape[1])
    assert torch.equal(kth_distance(queries, bank, k), whole)


def test_normalised_features_as_the_detector_searches() -> None:
    """Unit-norm post-ReLU features, 1,000 rows, k = 50: the quickstart's shape."""
    gen = torch.Generator().manual_seed(7)
    bank = torch.relu(torch.randn(1000, 64, generator=gen))
    bank = (bank / bank.norm(dim=1, keepdim=True)).float()
    queries = torch.relu(torch.randn(300, 64, generator=gen))
    queries = (queries / queries.norm(dim=1, keepdim=True)).float()
    assert torch.equal(NeighbourBank(bank).kth_distance(queries, 50), _brute(queries, bank, 50))


def test_a_non_finite_query_has_no_distance() -> None:
    queries, bank, k = _case(1)
    queries[2, 0] = float("nan")
    queries[5, 0] = float("inf")
    out = kth_distance(queries, bank, k)
    assert np.isnan(out.numpy()[[2, 5]]).all()
    keep = [i for i in range(len(queries)) if i not in (2, 5)]
    assert torch.equal(out[keep], _brute(queries[keep], bank, k))


def test_k_outside_the_bank() -> None:
    queries, bank, _ = _case(2)
    with pytest.raises(ValueError, match="k = 0"):
        kth_distance(queries, bank, 0)
    with pytest.raises(ValueError, match=f"k = {len(bank) + 1}"):
        kth_distance(queries, bank, len(bank) + 1)
