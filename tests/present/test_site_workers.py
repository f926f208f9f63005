"""Parts of a report built in worker processes (harness.present.site_workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType

import pytest

from harness.core.errors import ResultsError
from harness.present import site_workers
from harness.present.figure_cache import FigureCache
from harness.present.page_cache import PageCache
from harness.present.report_views import Nav
from harness.run.interrupts import Interrupted, SignalLatch

FORKS = site_workers.can_fork()


def _parts(
    out: Path, figures: FigureCache, pages: PageCache
) -> list[Callable[[], tuple[str, int]]]:
    """Five parts, each writing a page and a figure, returning its name and process id."""

    def part(i: int) -> tuple[str, int]:
        page = out / f"page-{i}.html"
        pages.page(page, "models.html", title=f"page {i}", nav=Nav(), models=[], comparisons=[])

        def draw() -> Path:
            path = out / "figures" / f"figure-{i}.png"
            path.write_bytes(f"figure {i}".encode())
            return path

        figures.figure(out / "figures" / f"figure-{i}.png", ("shows", i), draw)
        return f"part {i}", os.getpid()

    return [partial(part, i) for i in range(5)]


def _build(out: Path) -> tuple[list[tuple[str, int]], FigureCache, PageCache]:
    (out / "figures").mkdir(parents=True)
    figures, pages = FigureCache(out / "figures", identity="x"), PageCache(out, identity="y")
    values = site_workers.run_parts(_parts(out, figures, pages), figures, pages)
    return values, figures, pages


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_parts_in_workers_return_their_values_in_order_and_their_pages_and_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers: each part's value comes back in the parts' order; the pages and figures the
    workers wrote are adopted by this process's caches, counted once each, as one process
    would have them."""
    monkeypatch.setattr(site_workers, "cores", lambda: 2)
    monkeypatch.setattr(site_workers, "alone", lambda: True)  # this test process runs others
    values, figures, pages = _build(tmp_path / "parallel")
    assert [v for v, _pid in values] == [f"part {i}" for i in range(5)]
    assert os.getpid() not in {pid for _v, pid in values}  # drawn in the workers
    monkeypatch.setattr(site_workers, "can_fork", lambda: False)
    serial, serial_figures, serial_pages = _build(tmp_path / "serial")
    assert {pid for _v, pid in serial} == {os.getpid()}
    assert pages.kept == serial_pages.kept and len(pages.kept) == 5
    assert (pages.rendered, pages.reused) == (5, 0)
    assert figures.kept.keys() == serial_figures.kept.keys() and len(figures.kept) == 5
    assert (figures.drawn, figures.reused) == (5, 0)
    for name in pages.kept:
        assert (tmp_path / "parallel" / name).read_bytes() == (
            tmp_path / "serial" / name
        ).read_bytes()


def test_one_core_runs_the_parts_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_workers, "cores", lambda: 1)
    values, figures, pages = _build(tmp_path)
    assert {pid for _v, pid in values} == {os.getpid()}
    assert len(pages.kept) == 5 and figures.drawn == 5


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_a_part_that_fails_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user error in a worker is raised here as itself (the CLI's one line), as it would be in
    one process."""
    monkeypatch.setattr(site_workers, "cores", lambda: 2)
    monkeypatch.setattr(site_workers, "alone", lambda: True)

    def broken() -> None:
        raise ResultsError("part 1: the per-sample tables cover different sample ids")

    pages = PageCache(tmp_path, identity="y")
    with pytest.raises(ResultsError, match="part 1: the per-sample tables"):
        site_workers.run_parts([lambda: None, broken], None, pages)


def _printed_by(script: str) -> str:
    """What `script` prints, run in a fresh interpreter with this checkout's harness (a hung
    report fails it after 60 s)."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


_IGNORING_SIGTERM = """
import signal, tempfile
from pathlib import Path
signal.signal(signal.SIGTERM, lambda *_: None)  # as Ray, or an application, may install
from harness.present import site_workers
from harness.present.page_cache import PageCache
site_workers.cores = lambda: 2
with tempfile.TemporaryDirectory() as folder:
    pages = PageCache(Path(folder), identity="y")
    for _ in range(40):  # a worker left waiting when its pool ends: a few percent of pools
        done = site_workers.run_parts([lambda: 1, lambda: 2, lambda: 3], None, pages)
    print(done)
"""


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_workers_end_with_their_pool_whatever_the_process_does_with_sigterm() -> None:
    """A process that handles SIGTERM (Ray's workers and drivers do) forks workers that would
    inherit the handler: a worker still waiting for work when the pool ends it stayed alive and
    the report waited for it for ever (7% of pools of two workers, three parts). Each worker
    restores the default action."""
    assert _printed_by(_IGNORING_SIGTERM) == "[1, 2, 3]"


_LATE_WORKER = """
import os, signal, tempfile, time
from pathlib import Path
signal.signal(signal.SIGTERM, lambda *_: None)  # as Ray, or an application, may install
forks = []
os.register_at_fork(before=lambda: forks.append(1))
# The second worker is slow to start: the first does every part, and the pool ends before the
# second ran its start (on a busy machine this happens by itself).
os.register_at_fork(after_in_child=lambda: time.sleep(1.5) if len(forks) == 2 else None)
from harness.present import site_workers
from harness.present.page_cache import PageCache
site_workers.cores = lambda: 2
with tempfile.TemporaryDirectory() as folder:
    print(site_workers.run_parts([lambda: 1, lambda: 2], None, PageCache(Path(folder), identity="y")))
"""


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_a_worker_ended_before_its_start_ran_still_ends() -> None:
    """The pool ended a worker that had not yet restored SIGTERM's default action: it ran the
    inherited handler, then its start, then waited for work for ever, and the report with it
    (a CI run timed out so). SIGTERM waits, blocked, until the worker's start."""
    assert _printed_by(_LATE_WORKER) == "[1, 2]"


def test_a_process_running_other_threads_runs_the_parts_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork copies the locks other threads hold (a Ray driver runs dozens): with any other
    thread alive the parts run in this process, with the same pages and figures."""
    monkeypatch.setattr(site_workers, "cores", lambda: 2)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        values, figures, pages = _build(tmp_path)
    finally:
        stop.set()
        other.join()
    assert {pid for _v, pid in values} == {os.getpid()}
    assert len(pages.kept) == 5 and figures.drawn == 5


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_a_progress_bars_monitor_thread_does_not_keep_the_parts_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`harness run --report` drew tqdm bars before its report, and tqdm's monitor thread, alive
    after them, made every report of such a run build its pages in one process."""
    auto = pytest.importorskip("tqdm.auto")  # a subclass of tqdm's bar, as datasets draws
    monkeypatch.setattr(site_workers, "cores", lambda: 2)
    monkeypatch.setattr(auto.tqdm, "monitor_interval", 10)
    with open(os.devnull, "w") as sink:
        for _ in auto.tqdm(range(2), disable=False, file=sink):
            pass
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    assert any(t.name == "tqdm_monitor" for t in others)  # the bar started it
    if any(t.name != "tqdm_monitor" for t in others):
        pytest.skip("this test process runs other threads too")
    values, _figures, _pages = _build(tmp_path)
    assert os.getpid() not in {pid for _v, pid in values}  # drawn in the workers


class _LostLatch(SignalLatch):
    """A latch whose exception is lost: the handler ran inside a finalizer or a C callback,
    which swallowed what it raised (harness.core.signals). The latch still holds the signal."""

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum


_LOST_SIGNAL = """
import os, signal, tempfile, time
from pathlib import Path
from harness.run.interrupts import Interrupted
from tests.present.test_site_workers import _LostLatch
latch = _LostLatch()
signal.signal(signal.SIGTERM, latch.handler)
from harness.present import site_workers
from harness.present.page_cache import PageCache
site_workers.cores = lambda: 2
folder = Path(tempfile.mkdtemp())
hold = folder / "hold"
hold.touch()

def held():  # in a worker: signal the report, then stay busy (20 s at most)
    os.kill(os.getppid(), signal.SIGTERM)
    deadline = time.monotonic() + 20
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return 1

start = time.monotonic()
try:
    site_workers.run_parts([held, lambda: 2], None, PageCache(folder, identity="y"))
    print("finished")
except Interrupted as stopped:
    print(stopped.signal_name, time.monotonic() - start < 10)
finally:
    hold.unlink()
"""


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_a_signal_whose_exception_was_lost_stops_the_wait_for_the_workers() -> None:
    """SIGTERM while the report waits for its workers, its exception lost: the report waited
    until every part was done (for ever, if a part hangs), then went on and exited 0. It now
    looks at the signal latch while it waits."""
    assert _printed_by(_LOST_SIGNAL) == "SIGTERM True"


def test_parts_run_here_stop_at_a_signal_whose_exception_was_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(site_workers, "cores", lambda: 1)
    latch = _LostLatch()
    previous = signal.signal(signal.SIGTERM, latch.handler)
    ran: list[int] = []

    def first() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        ran.append(1)

    try:
        with pytest.raises(Interrupted):
            site_workers.run_parts(
                [first, lambda: ran.append(2)], None, PageCache(tmp_path, identity="y")
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert ran == [1]  # the second part did not start


_GROUP_KILLED = """
import sys, tempfile, time
from pathlib import Path
from harness.run.interrupts import Interrupted, interruptible
from harness.present import site_workers
from harness.present.page_cache import PageCache
site_workers.cores = lambda: 2
marker = Path(sys.argv[1])

def busy():  # in a worker, until the SIGTERM ends it
    marker.write_text("busy")
    time.sleep(60)
    return 1

with tempfile.TemporaryDirectory() as folder:
    try:
        with interruptible():
            site_workers.run_parts([busy, lambda: 2], None, PageCache(Path(folder), identity="y"))
        print("finished")
    except Interrupted as stopped:
        print(stopped.signal_name)
"""


@pytest.mark.slow  # a process group ended by SIGTERM, and the pool's end waits for its lock
@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_a_report_ends_when_sigterm_reaches_its_whole_process_group(tmp_path: Path) -> None:
    """`timeout 420 harness report ...` sends SIGTERM to the report and its workers at once: the
    worker waiting for its next part died holding the task queue's read lock, and ending the
    pool waited for that lock for ever (a report hung 8 minutes until killed). It ends, saying
    SIGTERM, within seconds."""
    import time

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    marker = tmp_path / "busy"
    child = subprocess.Popen(
        [sys.executable, "-c", _GROUP_KILLED, str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the busy part never started"
        time.sleep(0.5)  # the other worker has done its part and waits for the next
        os.killpg(child.pid, signal.SIGTERM)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert out.strip() == "SIGTERM"
