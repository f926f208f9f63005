"""KNN detector: the k-th nearest neighbour distance of 10,000 queries in a 50,000 x 512 bank.

    OMP_NUM_THREADS=1 python benchmarks/bench_ood_knn.py [--bank 50000] [--queries 10000]
        [--dim 512] [--k 50] [--reps 3] [--threads 1,2]

Compares, interleaved in one process on the same L2-normalised clustered features: the
harness's search (`suites.shift.ood.neighbours.NeighbourBank`: built once, then one float32
product per block of queries, a partial sort and the rows float32 cannot order measured again in
float64), faiss-cpu's exact flat index (`IndexFlatL2`, built and searched for the k nearest,
float32 distances) and scikit-learn's brute-force neighbours (what pytorch-ood 0.4.0's KNN uses)
on the first 1,000 queries, extrapolated. Then the same at the quickstart's size, as the KNN
detector searches there: a 1,000 x 64 bank (the default fit subset, mnist-seen-cnn's feature
width) and 1,800 queries in batches of 256. Prints seconds, the ratios and the largest
difference of each search's distances from a float64 brute-force search.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from harness.suites.shift.ood.neighbours import NeighbourBank


def _normalised(gen: torch.Generator, n: int, d: int) -> torch.Tensor:
    x = torch.randn(n, d, generator=gen)
    return x / x.norm(dim=1, keepdim=True)


def _features(bank: int, queries: int, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clustered features, like a trained network's (10 centres plus noise); half the queries
    near bank rows, half anywhere."""
    gen = torch.Generator().manual_seed(0)
    centres = _normalised(gen, 10, dim)
    rows = centres[torch.randint(0, 10, (bank,), generator=gen)] + 0.3 * _normalised(gen, bank, dim)
    rows = rows / rows.norm(dim=1, keepdim=True)
    q = _normalised(gen, queries, dim)
    near = min(queries // 2, bank)
    q[:near] = rows[:near] + 0.05 * q[:near]
    return rows, q / q.norm(dim=1, keepdim=True)


def _harness(bank: torch.Tensor, queries: list[torch.Tensor], k: int) -> np.ndarray:
    search = NeighbourBank(bank)
    return np.concatenate([search.kth_distance(q, k).numpy() for q in queries])


def _faiss(bank: torch.Tensor, queries: list[torch.Tensor], k: int) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatL2(bank.shape[1])
    index.add(np.ascontiguousarray(bank.numpy()))
    parts = [index.search(np.ascontiguousarray(q.numpy()), k)[0][:, -1] for q in queries]
    return np.sqrt(np.maximum(np.concatenate(parts), 0.0))


def _float64_error(found: np.ndarray, bank: torch.Tensor, queries: torch.Tensor, k: int) -> float:
    """Largest difference from a float64 brute-force search on 200 of the queries."""
    sample = np.arange(0, len(queries), max(1, len(queries) // 200))
    q64, b64 = queries.numpy()[sample].astype(np.float64), bank.numpy().astype(np.float64)
    squared = (q64**2).sum(1)[:, None] + (b64**2).sum(1)[None, :] - 2.0 * q64 @ b64.T
    exact = np.sqrt(np.maximum(np.partition(squared, k - 1, axis=1)[:, k - 1], 0.0))
    return float(np.abs(found[sample] - exact).max())


def _compare(
    label: str, bank: torch.Tensor, queries: torch.Tensor, k: int, batch: int, reps: int
) -> None:
    batches = list(queries.split(batch))
    searches: dict[str, Callable[[], np.ndarray]] = {
        "harness": lambda: _harness(bank, batches, k),
        "faiss": lambda: _faiss(bank, batches, k),
    }
    times: dict[str, list[float]] = {name: [] for name in searches}
    found: dict[str, np.ndarray] = {}
    for _ in range(reps):
        for name, search in searches.items():
            t0 = time.perf_counter()
            found[name] = search()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    ratios = [h / f for h, f in zip(times["harness"], times["faiss"], strict=True)]
    print(
        f"{label}: harness {med['harness']:.3f} s (max |d - float64| "
        f"{_float64_error(found['harness'], bank, queries, k):.1e}); faiss {med['faiss']:.3f} s "
        f"(max |d - float64| {_float64_error(found['faiss'], bank, queries, k):.1e}); "
        f"harness / faiss {statistics.median(ratios):.2f} (median of {reps} interleaved)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bank", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    import faiss

    bank, queries = _features(args.bank, args.queries, args.dim)
    small_bank, small_queries = _features(1000, 1800, 64)
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        faiss.omp_set_num_threads(threads)
        with threadpool_limits(limits=threads):
            _compare(
                f"threads={threads} {args.bank} x {args.dim}, {args.queries} queries",
                bank, queries, args.k, args.queries, args.reps,
            )  # fmt: skip
            _compare(
                f"threads={threads} 1000 x 64, 1800 queries in batches of 256",
                small_bank, small_queries, args.k, 256, 5 * args.reps,
            )  # fmt: skip
    from sklearn.neighbors import NearestNeighbors

    few = queries.numpy()[:1000]
    t0 = time.perf_counter()
    NearestNeighbors(n_jobs=1).fit(bank.numpy()).kneighbors(few, n_neighbors=args.k)
    sk = (time.perf_counter() - t0) * args.queries / len(few)
    print(
        f"scikit-learn brute force (pytorch-ood's KNN), extrapolated to {args.queries}: {sk:.1f} s"
    )


if __name__ == "__main__":
    main()
