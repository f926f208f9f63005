"""How `harness run` shows progress on stderr: a live line on a terminal, plain lines otherwise.

On a terminal, one status line per job is redrawn in place: the job, its current stage (an
attack and budget, a corruption), samples done of the total, the rate and an ETA; the line is
cut to the terminal's width and replaced by the job's outcome when it ends. Elsewhere (CI logs,
a file) nothing is redrawn: each job gets one line when it ends, and a job still running after
`interval` seconds gets a plain progress line every `interval` seconds, so a slow job and a hung
one can be told apart in a log. Concurrent executors (Ray) print one whole line per event. A skip
reason is written out the first time only; a later job skipped for the same reason points back to
that line (the run's end lists each reason once with its count).

Log records and warnings written while a job runs never land on the progress line
(`beside_logs`): on a terminal the live line is cleared before the record (harness/run/quiet.py)
and redrawn after it; in a log an open `[i/n] job ...` line is ended first, and the job's outcome
then gets a line of its own.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from harness.config.plan import Job
from harness.present.tables import wrap
from harness.run.executors.work import UnitResult
from harness.run.progress import ProgressSnapshot
from harness.run.runner import JobOutcome, RunEvents

PLAIN_INTERVAL_S = 30.0  # between progress lines of one job in a log
REDRAW_S = 0.1  # at most this often on a terminal


def duration(seconds: float) -> str:
    """`42 s`, `3 min 05 s`, `2 h 04 min`."""
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(p: ProgressSnapshot) -> str:
    """`linf_pgd eps=0.1, 400/1200 samples, 85/s, ETA 9 s` (the parts that are known)."""
    parts = [p.stage] if p.stage else []
    parts.append(f"{p.done}/{p.total} samples" if p.total else f"{p.done} samples")
    if p.rate is not None:
        parts.append(f"{p.rate:.0f}/s" if p.rate >= 100 else f"{p.rate:.2g}/s")
    if p.eta is not None:
        parts.append(f"ETA {duration(p.eta)}")
    parts.append(f"{duration(p.elapsed)} elapsed")
    return ", ".join(parts)


def outcome_text(o: JobOutcome) -> str:
    return {
        "completed": f"done in {o.seconds:.1f} s",
        "cached": "cached (same key; skipped)"
        if o.message.startswith("results with the same key")
        else f"cached: {o.message}",
        "skipped": f"skipped: {o.message}",
        "failed": f"FAILED: {o.message}",
    }[o.status]


class ProgressDisplay:
    """Turns the runner's events into stderr output (see the module docstring)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        concurrent: bool = False,
        interval: float = PLAIN_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.err = stream
        self.live = live and not concurrent
        self.concurrent = concurrent
        self.interval = interval
        self.clock = clock
        self.width = width or (lambda: shutil.get_terminal_size((100, 24)).columns)
        self._open = False  # a plain `[i/n] job ...` line waits for its outcome
        self._prefix = ""  # what the open plain line holds so far
        self._reasons: dict[str, str] = {}  # skip reason -> the `[i/n]` that first gave it
        self._last = 0.0  # when the last progress line (plain) or redraw (live) was written
        self._started = 0.0
        self._line = ""  # the live line on screen ("" when none)
        self._running: dict[int, str] = {}  # concurrent: submitted jobs' lines not yet ended

    def events(self) -> RunEvents:
        return RunEvents(
            job_started=self.started,
            job_finished=self.finished,
            progress=self.progress,
            unit_finished=self.unit_done if self.concurrent else None,
        )

    def _write(self, text: str) -> None:
        self.err.write(text)
        self.err.flush()

    def _status(self, text: str) -> None:
        """Redraw the live line, cut to the terminal's width."""
        limit = max(20, self.width() - 1)
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        self._line = text
        self._write(f"\r\x1b[K{text}")

    @contextmanager
    def beside_logs(self) -> Iterator[None]:
        """For the run: the root logger's handlers (and Python warnings, through logging) write
        beside the progress line, never onto it (see the module docstring)."""
        root = logging.getLogger()
        originals = list(root.handlers)
        root.handlers = [_BesideProgress(h, self) for h in originals]
        logging.captureWarnings(True)
        try:
            yield
        finally:
            logging.captureWarnings(False)
            root.handlers = originals

    def before_record(self) -> None:
        """End an open plain line; clear the live line (quiet.py's formatter does it too)."""
        if self._open:
            self._write("\n")
            self._open = False
        elif self.live and self._line:
            self._write("\r\x1b[K")

    def after_record(self) -> None:
        """Redraw the live line below the record."""
        if self.live and self._line:
            self._write(f"\r\x1b[K{self._line}")

    def started(self, i: int, total: int, job: Job) -> None:
        self._started = self._last = self.clock()
        if self.concurrent:
            self._running[i] = f"[{i}/{total}] {job.label}"
            self._write(self._fit(f"{self._running[i]} submitted") + "\n")
        elif self.live:
            self._status(f"[{i}/{total}] {job.label} …")
        else:
            self._prefix = f"[{i}/{total}] {job.label} ..."
            self._write(self._prefix)
            self._open = True

    def progress(self, p: ProgressSnapshot) -> None:
        now = self.clock()
        if self.live:
            if now - self._last >= REDRAW_S:
                self._last = now
                self._status(f"[{p.index}/{p.jobs}] {p.job.label}: {progress_text(p)}")
            return
        if now - self._last >= self.interval:
            self._last = now
            if self._open:
                self._write("\n")
                self._open = False
            self._write(self._fit(f"[{p.index}/{p.jobs}] {p.job.label}: {progress_text(p)}") + "\n")

    def finished(self, i: int, total: int, o: JobOutcome) -> None:
        tail = outcome_text(o)
        self._line = ""
        self._running.pop(i, None)
        if o.status == "skipped":
            first = self._reasons.setdefault(o.message, f"[{i}/{total}]")
            if first != f"[{i}/{total}]":
                tail = f"skipped: same reason as {first}"
        if self.live:
            self._write("\r\x1b[K" + self._fit(f"[{i}/{total}] {o.job.label}: {tail}") + "\n")
        elif self._open:
            whole = self._fit(f"{self._prefix} {tail}")
            self._write(whole[len(self._prefix) :] + "\n")
        else:
            self._write(self._fit(f"[{i}/{total}] {o.job.label}: {tail}") + "\n")
        self._open = False

    def stopped(self, tail: str) -> None:
        """The run stopped inside a job (a signal, an error): end the job's open plain line or
        its live line with `tail`, so the run's next line (`results: ...`, `error: ...`) starts
        a line of its own; a concurrent run ends each submitted job still running with a line
        of its own. Nothing when no job line is open."""
        for started in self._running.values():
            self._write(self._fit(f"{started}: {tail}") + "\n")
        self._running.clear()
        if self._open:
            whole = self._fit(f"{self._prefix} {tail}")
            self._write(whole[len(self._prefix) :] + "\n")
        elif self.live and self._line:
            self._write("\r\x1b[K" + self._fit(f"{self._line} {tail}") + "\n")
        self._open = False
        self._line = ""

    def _fit(self, line: str) -> str:
        """A whole line wrapped to the width (continuation lines indented)."""
        return wrap(line, max(20, self.width()))

    def unit_done(self, i: int, total: int, u: UnitResult) -> None:
        state = (
            f"done in {u.seconds:.1f} s on {u.host} (pid {u.pid})"
            if u.ok
            else f"FAILED: {u.message}"
        )
        self._write(self._fit(f"[{i}/{total}]   {u.unit.label}: {state}") + "\n")


class _BesideProgress(logging.Handler):
    """A root handler that lets the progress display step aside around each record."""

    def __init__(self, inner: logging.Handler, display: ProgressDisplay) -> None:
        super().__init__(inner.level)
        self.inner = inner
        self.display = display

    def emit(self, record: logging.LogRecord) -> None:
        self.display.before_record()
        self.inner.handle(record)
        self.display.after_record()
