"""How long a report's publishing window lasts: the renames that replace the previous build.

A report is built in a staging folder and published into its site folder by renames with SIGINT
and SIGTERM held back (harness/present/site_publish.py); while they run, a reader can load a
page of the new build beside one of the previous. This builds the report of a results folder
(default: the quickstart baseline) `--rounds` times into one site folder and prints, per build,
the files published, the time inside the window (signals held) and the whole `publish` call
(the staging folder's removal after the window included). The first build has no previous one
to replace.

Run (from the repository root):
    python benchmarks/bench_site_publish.py [--rounds 3] [--folder FOLDER]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from harness.present import site, site_publish  # noqa: E402
from harness.run.suite_boards import installed_suite_boards  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--folder", type=Path, default=REPO / "results/baselines/quickstart")
    args = parser.parse_args()
    window: list[float] = []
    held = site_publish._signals_held

    @contextlib.contextmanager
    def timed_window() -> Iterator[None]:
        start = time.perf_counter()
        with held():
            yield
        window.append(time.perf_counter() - start)

    publish = site_publish.publish
    rows: list[tuple[int, float]] = []

    def timed_publish(stage: Path, live: Path, **kw: object) -> None:
        files = sum(1 for p in stage.rglob("*") if p.is_file())
        start = time.perf_counter()
        publish(stage, live, **kw)  # type: ignore[arg-type]
        rows.append((files, time.perf_counter() - start))

    site_publish._signals_held = timed_window  # type: ignore[assignment]
    site.publish = timed_publish  # type: ignore[assignment]
    boards = installed_suite_boards()
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            site.build_site(args.folder, Path(tmp) / "site", suite_boards=boards)
    for i, ((files, whole), inside) in enumerate(zip(rows, window, strict=True)):
        print(
            f"build {i + 1}: {files} files; window (signals held) {inside * 1000:.1f} ms; "
            f"publish with the staging folder's removal {whole * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
