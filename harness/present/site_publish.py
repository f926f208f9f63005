"""A report is published whole: the site folder keeps its previous build until the new one is done.

`harness report` (and `harness run --report`) renders every page and draws every figure into a
staging folder inside the site folder, `.report-build-<pid>` (hidden, so it never makes the
folder look like somebody else's: harness/present/site_folder.py), while the site folder keeps
the previous complete build for anyone reading it. A page or figure the caches keep from the
previous build (harness/present/page_cache.py, figure_cache.py) is hard-linked, else copied,
into the staging folder, so the staging folder holds the whole new site.

When every page is written, `publish` moves the staged files into the site folder by renames
(within one file system: no byte is copied) with SIGINT and SIGTERM held back until it is done:
the new figures first, then the pages and `summary.md`, then the previous build's pages and
figures that this one no longer has are removed, then the two indexes and `index.html` last.
Every destination is checked for a symbolic link and a folder before the first rename. A build that fails or
is interrupted before that removes its staging folder and leaves the site as it was; a build
killed outright (SIGKILL) leaves its staging folder, which the next build into the folder
removes. Two reports into one site folder never interleave: a build holds the folder's lock
(`site_lock`, the file `.report-lock`) from its staging folder to its publication, and a second
build waits for it (saying who holds it) before it starts its own. What a reader can still meet is the few milliseconds of renames (1.5 ms for the
quickstart's 121 files into a new folder, 5 ms over a previous build:
`python benchmarks/bench_site_publish.py`), never a site of two builds left standing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from harness.core.errors import ResultsError
from harness.core.signals import stop_if_signalled
from harness.store import links
from harness.store.liveness import alive
from harness.store.lock import FolderLock

PREFIX = ".report-build-"
LOCK = ".report-lock"
FIGURES = "figures"
LAST = ("figure-index.json", "page-index.json", "index.html")  # moved after the stale removal


def site_lock(live: Path) -> FolderLock:
    """The site folder's lock, held while a build is staged and published; waits when another
    report holds it (a lock file that is a symbolic link is refused)."""
    return FolderLock(
        live,
        name=LOCK,
        what="report folder",
        advice="wait for that report to finish or choose another --out",
        wait=True,
    )


def staging_folder(live: Path) -> Path:
    """A new, empty staging folder for this process's build inside the site folder `live`
    (with its `figures/`); what builds that are no longer running left there is removed."""
    for entry in live.iterdir():
        pid = _pid(entry.name)
        if pid is not None and (pid == os.getpid() or not alive(pid)):
            links.remove_entry(entry)  # a link is unlinked, never followed
    stage = live / f"{PREFIX}{os.getpid()}"
    stage.mkdir()
    (stage / FIGURES).mkdir()
    return stage


def discard(stage: Path) -> None:
    """Remove a staging folder (a build that failed or was interrupted)."""
    links.remove_entry(stage)


def keep_file(live: Path, staged: Path) -> bool:
    """Put the site folder's file `live` (checked: a plain file) at `staged` in the staging
    folder: a hard link, else a copy. True when it is there (the same path: nothing to do)."""
    if live == staged:
        return True
    try:
        os.link(live, staged, follow_symlinks=False)
    except OSError:
        try:
            shutil.copyfile(live, staged, follow_symlinks=False)
        except OSError:
            return False  # drawn or rendered again instead
    return True


def publish(stage: Path, live: Path, *, remove_stale: Sequence[Callable[[], None]]) -> None:
    """Move the complete build in `stage` into the site folder `live` (module docstring);
    `remove_stale` removes the previous build's pages and figures this one does not have."""
    figures = [p for p in sorted((stage / FIGURES).iterdir()) if p.name not in LAST]
    pages = [p for p in sorted(stage.iterdir()) if p.is_file() and p.name not in LAST]
    last = [stage / FIGURES / LAST[0], *(stage / name for name in LAST[1:])]
    moves = [(p, live / FIGURES / p.name) for p in figures]
    moves += [(p, live / p.name) for p in pages]
    final = [(p, live / p.relative_to(stage)) for p in last if p.is_file()]
    links.real_dir(live / FIGURES)
    held = stage / ".previous"
    held.mkdir()
    for i, (_src, dst) in enumerate([*moves, *final]):
        links.refuse_link(dst)
        if dst.is_dir():  # checked before the first rename: a rename onto it failed halfway
            raise ResultsError(
                f"report folder {live}: {dst} is a folder where the report writes a file; "
                "move it away or choose another --out (the site keeps its previous build)"
            )
        _hold_old(dst, held / str(i))
    stop_if_signalled()  # a signal whose exception was lost still stops the build unpublished
    with _signals_held():
        for src, dst in moves:
            os.replace(src, dst)
        for remove in remove_stale:
            remove()
        for src, dst in final:
            os.replace(src, dst)
    discard(stage)  # what is left: the links of kept files that already were in place


def _hold_old(dst: Path, held: Path) -> None:
    """Give the previous build's file at `dst` a second name, `held` (in the staging folder's
    `.previous/`), so that the rename over it frees no disk blocks inside the publishing window
    (ext4 frees them in the rename: about 2 ms a file on a busy disk); they are freed with the
    staging folder, after it."""
    # missing (a new page) or no hard links on this file system: the rename frees it, that is all
    with contextlib.suppress(OSError):
        os.link(dst, held, follow_symlinks=False)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done, then take effect (the first one caught,
    through the handler that was there before). Main thread only: elsewhere nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])


def _pid(name: str) -> int | None:
    if not name.startswith(PREFIX):
        return None
    digits = name[len(PREFIX) :]
    return int(digits) if digits.isdigit() else None
