"""Parts of a report built in worker processes: pages, and the figures they draw.

A report's costly parts (a task's page with its figures and variant deltas, a comparison page
with its paired tests, a model's page with its figures) depend only on the results read and the
boards built before them, not on each other. `run_parts` hands them to worker processes, one per
CPU core the report may use: forked on Linux, so each starts from this process's memory (the
tables read, the boards, the figure and page caches) without reading or importing anything
again, and matplotlib draws with its Agg backend in each. A worker takes the next part as soon as
it is done with one (the costly parts first keeps the cores busy to the end); each part returns
its value with the figures and pages it kept or drew, which go back to this process's caches.
Where forking is not available, or where this process runs other threads (a Ray driver's, an
application's: a fork copies the locks they hold, and a worker could wait on one for ever), the
parts run here, in order. What a part writes does not depend on the process it ran in: the same
site either way, byte for byte.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import multiprocessing.pool
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import numpy as np

from harness.core.signals import stop_if_signalled
from harness.present.figure_cache import FigureCache
from harness.present.page_cache import PageCache
from harness.present.resampled_cache import ResampledCache

T = TypeVar("T")


@dataclass(frozen=True)
class _Share:
    """What a part added to a cache: entries, and how many it made and reused."""

    kept: dict[str, dict[str, str]]
    made: int
    reused: int


@dataclass(frozen=True)
class _Parts(Generic[T]):
    """The parts of one `run_parts` call and the caches they write to (held for the workers)."""

    parts: Sequence[Callable[[], T]]
    figures: FigureCache | None
    pages: PageCache
    values: ResampledCache | None


_FORKED: _Parts[object] | None = None


def run_parts(
    parts: Sequence[Callable[[], T]],
    figures: FigureCache | None,
    pages: PageCache,
    values: ResampledCache | None = None,
) -> list[T]:
    """Each part's value, in order; the parts run in forked workers where there are cores for
    more than one (module docstring), and what they kept, drew or resampled is adopted by
    `figures`, `pages` and `values`."""
    stop_tqdm_monitor()
    workers = min(len(parts), cores()) if can_fork() and alone() else 1
    if workers < 2:
        return [_checked(part) for part in parts]
    global _FORKED
    _FORKED = _Parts(parts, figures, pages, values)
    try:
        with _pool(workers) as pool:
            pending = pool.map_async(_run_part, range(len(parts)), chunksize=1)
            while not pending.ready():  # a signal stops the wait (`_WAIT_S`)
                pending.wait(_WAIT_S)
                stop_if_signalled()
            done = pending.get()
    finally:
        _FORKED = None
    out: list[T] = []
    for value, figure_share, page_share, resampled in done:
        if figures is not None:
            figures.adopt(figure_share.kept, drawn=figure_share.made, reused=figure_share.reused)
        pages.adopt(page_share.kept, rendered=page_share.made, reused=page_share.reused)
        if values is not None:
            values.adopt(resampled)
        out.append(cast(T, value))  # what part i returned
    return out


_WAIT_S = 0.2
"""How long the report waits for its workers at a time before it looks at the signal latch.

A SIGTERM or SIGINT must stop the report while it waits: the handler's exception can be lost
(`harness.core.signals`), and a wait that no signal wakes would last as long as the workers'
parts (for ever, if a worker hangs). Between waits this process runs Python code, so the
handler runs, and the latch is read."""


def _checked(part: Callable[[], T]) -> T:
    """One part here, then the signal latch (the parts' own code may have lost the exception)."""
    value = part()
    stop_if_signalled()
    return value


def _pool(workers: int) -> multiprocessing.pool.Pool:
    """Forked workers that end when the pool ends them (SIGTERM's default action), however this
    process handles SIGTERM: a handler it installed (an application's, Ray's) would otherwise be
    inherited and keep a worker alive, and the report waiting for it. A worker ignores SIGINT:
    Ctrl-C reaches every process of the terminal's group, and this process alone stops the
    report (ending the pool); a worker's own KeyboardInterrupt would print a stray
    `Process ForkPoolWorker-N:` traceback. Both are blocked while the workers are forked, so one
    sent before a worker set them (`_start`) waits for it instead of meeting the inherited
    handler; this process receives any it was sent meanwhile once the workers exist."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, set(_WORKER_SIGNALS))
    try:
        return _Pool(workers, initializer=_start, context=multiprocessing.get_context("fork"))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


_LOCK_WAIT_S = 3.0
"""How long ending the pool waits for its task queue's read lock (`_Pool`)."""


class _Pool(multiprocessing.pool.Pool):
    """A pool whose end does not wait for ever on a dead worker's lock.

    A worker waiting for its next part holds the task queue's read lock. A SIGTERM to the whole
    process group (`timeout`, a CI runner, systemd, Kubernetes) ends such a worker at once (its
    default action), and the lock stays held: ending the pool first takes that lock to empty the
    queue (`Pool._help_stuff_finish`), and the report hung there for ever. The lock is awaited
    `_LOCK_WAIT_S` at most (a live worker lets go of it within milliseconds of its end-of-work
    message); past that its holder is dead, the other workers wait on it, and this process is
    the queue's only reader: it empties the queue without it, and the pool ends its workers."""

    @staticmethod
    def _help_stuff_finish(inqueue: Any, task_handler: threading.Thread, size: int) -> None:
        inqueue._rlock.acquire(timeout=_LOCK_WAIT_S)
        while task_handler.is_alive() and inqueue._reader.poll():
            inqueue._reader.recv()
            time.sleep(0)


def _run_part(i: int) -> tuple[object, _Share, _Share, dict[str, np.ndarray]]:
    """In a worker: part `i`, the figures and pages it kept or drew, and the resampled values
    it used."""
    assert _FORKED is not None
    figures, pages, values = _FORKED.figures, _FORKED.pages, _FORKED.values
    fig_before = (set(figures.kept), figures.drawn, figures.reused) if figures else (set(), 0, 0)
    page_before = (set(pages.kept), pages.rendered, pages.reused)
    values_before = values.used() if values is not None else set()
    value = _FORKED.parts[i]()
    fig_share = _Share({}, 0, 0)
    if figures is not None:
        fig_share = _Share(
            {k: v for k, v in figures.kept.items() if k not in fig_before[0]},
            figures.drawn - fig_before[1],
            figures.reused - fig_before[2],
        )
    page_share = _Share(
        {k: v for k, v in pages.kept.items() if k not in page_before[0]},
        pages.rendered - page_before[1],
        pages.reused - page_before[2],
    )
    resampled = values.since(values_before) if values is not None else {}
    return value, fig_share, page_share, resampled


_WORKER_SIGNALS = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.SIG_IGN}


def _start() -> None:
    """A worker's start: it ends when the pool ends it (SIGTERM's default action), leaves SIGINT
    to the report's process (both then unblocked: `_pool`), and keeps its freed memory
    (`keep_heap`)."""
    for signum, action in _WORKER_SIGNALS.items():
        signal.signal(signum, action)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, set(_WORKER_SIGNALS))
    keep_heap()


_TRIM_THRESHOLD, _MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_KEEP = 256 << 20  # freed memory up to this much stays in the process for the next arrays


def keep_heap() -> None:
    """In a worker: keep freed memory for reuse instead of returning it to the system at once.

    A forked worker that computes resampled statistics allocates and frees arrays of a few MiB
    hundreds of times; glibc returned each freed top of the heap to the system and the next
    array faulted its pages in again (1.1 million page faults, 2.5 s of system time for one
    comparison page of the quickstart, against 200 faults in the report's own process). Raising
    the trim and mmap thresholds keeps those pages in the worker, which ends with the report.
    Only where the C library has `mallopt` (glibc); a no-op elsewhere."""
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    if mallopt is not None:
        mallopt(_TRIM_THRESHOLD, _KEEP)
        mallopt(_MMAP_THRESHOLD, 64 << 20)


def cores() -> int:
    """The CPUs this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def stop_tqdm_monitor() -> None:
    """Stop tqdm's monitor threads, if progress bars started any (`harness run --report`: the
    run's bars, before its report). They only sleep between checks of stalled bars, but alive
    they would keep the report's parts out of worker processes (`alone`); tqdm starts one again
    with its next bar."""
    monitor_module = sys.modules.get("tqdm._monitor")
    monitor_class = getattr(monitor_module, "TMonitor", None)
    if monitor_class is None:
        return
    for thread in threading.enumerate():
        if isinstance(thread, monitor_class):
            thread.exit()
            bar = getattr(thread, "tqdm_cls", None)
            if bar is not None and getattr(bar, "monitor", None) is thread:
                bar.monitor = None


def alone() -> bool:
    """No thread runs here but this one (a fork copies the locks other threads hold: module
    docstring)."""
    return threading.active_count() == 1


def can_fork() -> bool:
    """Forked workers (Linux): they start from this process's memory, without re-importing or
    re-reading anything."""
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
