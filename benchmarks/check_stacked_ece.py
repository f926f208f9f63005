"""`harness check` of a run against its retrained run, with and without the baseline's and
current's debiased ECEs computed from one sparse product, alternating in one process
(after one untimed call).

"without" turns off `paired_tests._ece_inputs` (each side's ECE from its own product, as
before); every row must come out the same (repr of each CheckRow, floats to the last bit).

Run (from the repository root), on folders `bench_scale.py --keep DIR` wrote and a retrained
copy (`bench_scale.generate(400, Path(DIR2), draw=1)`):
    python benchmarks/check_stacked_ece.py BASELINE_RUN CURRENT_RUN [--reps 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from harness.analysis import paired_tests
    from harness.run.api_gate import check

    stacked = paired_tests._ece_inputs
    resample = paired_tests.paired_resample
    inner = [0.0]

    def timed(*a: object, **k: object) -> object:
        start = time.process_time()
        try:
            return resample(*a, **k)  # type: ignore[arg-type]
        finally:
            inner[0] += time.process_time() - start

    paired_tests.paired_resample = timed  # type: ignore[assignment]
    check(args.baseline, args.current)  # untimed: first-call costs (lazy imports, MDE search)
    spent: dict[str, list[float]] = {"with": [], "without": []}
    resampling: dict[str, list[float]] = {"with": [], "without": []}
    rows: dict[str, list[str]] = {}
    for _rep in range(args.reps):
        for label in ("without", "with"):
            paired_tests._ece_inputs = stacked if label == "with" else (lambda *_a: None)  # type: ignore[assignment]
            inner[0] = 0.0
            start = time.process_time()
            result = check(args.baseline, args.current)
            spent[label].append(time.process_time() - start)
            resampling[label].append(inner[0])
            rows[label] = [repr(dataclasses.asdict(r)) for r in result.report.rows]
    paired_tests._ece_inputs = stacked  # type: ignore[assignment]
    paired_tests.paired_resample = resample  # type: ignore[assignment]
    for label, times in spent.items():
        print(f"{label:>8} stacked ECE: " + " ".join(f"{t:.3f}" for t in times) + " s CPU")
        print(f"{'':>8} paired_resample: " + " ".join(f"{t:.3f}" for t in resampling[label]))
    for what, kept in (("command", spent), ("paired_resample", resampling)):
        ratio = sum(kept["with"]) / sum(kept["without"])
        print(f"{what} ratio with/without: {ratio:.3f}")
    print(f"rows identical: {rows['with'] == rows['without']}")


if __name__ == "__main__":
    main()
