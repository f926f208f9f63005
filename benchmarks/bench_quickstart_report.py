"""The quickstart's report against its leaderboard: wall and CPU time, and the ratio.

Each round runs `harness leaderboard FOLDER --format json` and `harness report FOLDER --out SITE`
as a user does (fresh `python -P -m harness` processes, start-up included; CPU time includes the
report's worker processes: `bench_scale.timed`). `--before DIR` runs the same two commands with
another checkout's harness in each round, alternating with this one's, and checks that the two
reports wrote the same site byte for byte (every page, index and PNG; both are built at the same
path, which summary.md names). On a shared machine wall times move several-fold between runs:
read the ratios within a round.

`--warm` also builds each round's report a second time into the same site folder (nothing
changed: what a CI job that reports into a kept folder does), times it against the first build
and checks that it wrote the same site.

At the end: per harness, the median over rounds of the report's time over the leaderboard's
(cold, and warm with `--warm`: issue 44 asks for the cold one at most 3x), and with `--before`
the median of this checkout's time over the other's within each round (CPU: what the report
costs whatever else runs beside it; wall: what a user waits).

Run (from the repository root):
    python benchmarks/bench_quickstart_report.py [--rounds 3] [--before DIR] [--folder FOLDER]
        [--warm]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_scale import Timing, harness  # noqa: E402

RESAMPLED = ".resampled-values"  # harness.present.resampled_cache.NAME
FORMS = ".paired-forms"  # harness.present.form_cache.NAME
FIGURE_INDEX = "figure-index.json"  # harness.present.figure_cache.INDEX


def _files(site: Path) -> dict[str, bytes]:
    """The site's files (what a reader sees): its pages and figures, without what a report
    keeps for the next build: the resampled values, paired forms
    (harness/present/resampled_cache.py, form_cache.py) and the figure index, whose keys hash
    the drawing code and which lists the figures the cache keeps (more of them in later
    versions); every figure it lists is compared as a file."""
    out = {}
    for p in sorted(site.rglob("*")):
        if p.is_file() and p.name not in (RESAMPLED, FORMS, FIGURE_INDEX):
            out[str(p.relative_to(site))] = p.read_bytes()
    return out


def _round(
    folder: Path, work: Path, source: Path, *, warm: bool
) -> tuple[Timing, Timing, Timing | None, dict[str, bytes]]:
    """(leaderboard, report, the report built again into its folder when `warm`, the site's
    files) with the harness of `source`."""
    board = harness("leaderboard", str(folder), "--format", "json", "--width", "0", source=source)
    site = work / "site"
    shutil.rmtree(site, ignore_errors=True)
    report = harness("report", str(folder), "--out", str(site), "--width", "0", source=source)
    files = _files(site)
    again = None
    if warm:
        again = harness("report", str(folder), "--out", str(site), "--width", "0", source=source)
        if _files(site) != files:
            print("the report built again wrote another site", flush=True)
    shutil.rmtree(site)
    return board, report, again, files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None, help="another checkout to time")
    parser.add_argument(
        "--folder", type=Path, default=REPO / "results" / "baselines" / "quickstart"
    )
    parser.add_argument("--warm", action="store_true", help="also time a second build")
    args = parser.parse_args()
    sources = [("this", REPO)] + ([("before", args.before.resolve())] if args.before else [])
    print(
        "| round | harness | leaderboard wall (s) | CPU (s) | report wall (s) | CPU (s) | "
        "report / leaderboard wall | CPU |"
        + (" again CPU (s) | again / report CPU |" if args.warm else "")
    )
    runs: dict[str, list[tuple[Timing, Timing, Timing | None]]] = {n: [] for n, _s in sources}
    with tempfile.TemporaryDirectory(prefix="bench-quickstart-") as tmp:
        for r in range(1, args.rounds + 1):
            sites = []
            # the two checkouts take turns going first: neither always meets a cold file cache
            for name, source in sources if r % 2 else sources[::-1]:
                board, report, again, files = _round(
                    args.folder.resolve(), Path(tmp), source, warm=args.warm
                )
                runs[name].append((board, report, again))
                sites.append(files)
                extra = (
                    "" if again is None else f" {again.cpu:.2f} | {again.cpu / report.cpu:.2f} |"
                )
                print(
                    f"| {r} | {name} | {board.wall:.2f} | {board.cpu:.2f} | {report.wall:.2f} | "
                    f"{report.cpu:.2f} | {report.wall / board.wall:.1f} | "
                    f"{report.cpu / board.cpu:.1f} |" + extra,
                    flush=True,
                )
            if len(sites) == 2:
                differ = sorted(k for k in sites[0].keys() | sites[1].keys()
                                if sites[0].get(k) != sites[1].get(k))  # fmt: skip
                print(f"round {r}: sites " + (f"DIFFER: {differ[:10]}" if differ else "identical"))
    _summary(runs)


def _summary(runs: dict[str, list[tuple[Timing, Timing, Timing | None]]]) -> None:
    """Medians over the rounds: report over leaderboard per harness, this over before."""

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f}"

    for name, rows in runs.items():
        line = (
            f"{name}: report / leaderboard, median: wall {med([r.wall / b.wall for b, r, _ in rows])}"
            f" CPU {med([r.cpu / b.cpu for b, r, _ in rows])}"
        )
        warm = [(b, a) for b, _r, a in rows if a is not None]
        if warm:
            line += (
                f"; warm report / leaderboard: wall {med([a.wall / b.wall for b, a in warm])}"
                f" CPU {med([a.cpu / b.cpu for b, a in warm])}"
            )
        print(line)
    if "before" in runs:
        pairs = list(zip(runs["this"], runs["before"], strict=True))
        print(
            "this / before, median: report wall "
            f"{med([t[1].wall / b[1].wall for t, b in pairs])} CPU "
            f"{med([t[1].cpu / b[1].cpu for t, b in pairs])}; leaderboard wall "
            f"{med([t[0].wall / b[0].wall for t, b in pairs])} CPU "
            f"{med([t[0].cpu / b[0].cpu for t, b in pairs])}"
        )


if __name__ == "__main__":
    main()
