"""KNN detector: the k-th nearest neighbour distance of 10,000 queries in a 50,000 x 512 bank.

    python benchmarks/bench_ood_knn.py [--bank 50000] [--queries 10000] [--dim 512] [--k 50]

Compares, interleaved in one process on the same L2-normalised clustered features (one thread
and two): the harness's batched torch search (`suites.shift.ood.neighbours.kth_distance` without
faiss: a float32 matrix product orders k + 4 candidates, the 9 around the k-th measured again in
float64), faiss-cpu's exact flat index (`IndexFlatL2`, float32 distances; what the harness uses
to order the candidates when the `ood` extra is installed) and scikit-learn's brute-force
neighbours (what pytorch-ood 0.4.0's KNN uses) on the first 1,000 queries. Prints seconds, the ratios and the largest difference of
the distances from a float64 recomputation.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Iterator

import numpy as np
import torch

from harness.suites.shift.ood import neighbours
from harness.suites.shift.ood.neighbours import kth_distance


@contextlib.contextmanager
def torch_only() -> Iterator[None]:
    """The harness's search without faiss."""
    available = neighbours.faiss_available
    neighbours.faiss_available = lambda: False
    try:
        yield
    finally:
        neighbours.faiss_available = available


def _normalised(gen: torch.Generator, n: int, d: int) -> torch.Tensor:
    x = torch.randn(n, d, generator=gen)
    return x / x.norm(dim=1, keepdim=True)


def _faiss(bank: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray | None:
    try:
        import faiss
    except ImportError:
        return None
    index = faiss.IndexFlatL2(bank.shape[1])
    index.add(bank)
    squared, _ = index.search(queries, k)
    return np.sqrt(np.maximum(squared[:, -1], 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    # clustered features, like a trained network's: 10 centres plus noise
    centres = _normalised(gen, 10, args.dim)
    bank = centres[torch.randint(0, 10, (args.bank,), generator=gen)] + 0.3 * _normalised(
        gen, args.bank, args.dim
    )
    bank = bank / bank.norm(dim=1, keepdim=True)
    queries = _normalised(gen, args.queries, args.dim)
    queries[: args.queries // 2] = bank[: args.queries // 2] + 0.05 * queries[: args.queries // 2]
    queries = queries / queries.norm(dim=1, keepdim=True)
    bank_np, queries_np = bank.numpy(), queries.numpy()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        try:
            import faiss

            faiss.omp_set_num_threads(threads)
        except ImportError:
            pass
        times: dict[str, list[float]] = {"torch": [], "faiss": []}
        ours = theirs = None
        for _ in range(args.reps):
            t0 = time.perf_counter()
            with torch_only():
                ours = kth_distance(queries, bank, args.k)
            times["torch"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            theirs = _faiss(bank_np, queries_np, args.k)
            times["faiss"].append(time.perf_counter() - t0)
        assert ours is not None
        sample = np.arange(0, args.queries, max(1, args.queries // 200))
        q64, b64 = queries_np[sample].astype(np.float64), bank_np.astype(np.float64)
        squared = (q64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2.0 * q64 @ b64.T
        exact = np.sqrt(np.maximum(np.sort(squared, axis=1)[:, args.k - 1], 0.0))
        line = f"threads={threads} torch {statistics.median(times['torch']):.2f} s"
        line += f" (max |d - float64| {np.abs(ours.numpy()[sample] - exact).max():.1e})"
        if theirs is not None:
            med = statistics.median(times["faiss"])
            line += f"; faiss {med:.2f} s (max |d - float64| {np.abs(theirs[sample] - exact).max():.1e})"
            line += f"; torch / faiss {statistics.median(times['torch']) / med:.2f}"
        print(line, flush=True)
    from sklearn.neighbors import NearestNeighbors

    few = queries_np[:1000]
    t0 = time.perf_counter()
    NearestNeighbors(n_jobs=1).fit(bank_np).kneighbors(few, n_neighbors=args.k)
    sk = (time.perf_counter() - t0) * args.queries / len(few)
    print(
        f"scikit-learn brute force (pytorch-ood's KNN), extrapolated to {args.queries}: {sk:.1f} s"
    )


if __name__ == "__main__":
    main()
