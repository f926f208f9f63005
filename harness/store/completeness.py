"""Whether the runs under a results folder are whole: which planned jobs have no stored result.

A job is missing when its run never finished it (the manifest says `running` or `interrupted`,
or the run stopped at the first failure), when the manifest lists its result but the job folder
is gone (deleted by hand, a broken copy), or when a rerun into the same folder stopped before
it: the folder an earlier invocation wrote was not checked by the latest one, whose key for the
job may differ (edited weights or code), so it does not stand in for its result. Publishing
readers (leaderboard, report, variants, groups, export) refuse a folder with missing jobs unless asked to publish it marked as partial; a
job that is missing from one run but completed in another run under the same folder is covered
when that result was recorded at least as recently as the run that misses it (so the boards,
which show the latest result, would show it anyway): an older result does not cover a gap in a
newer run, or the boards would show the older number as the current one.

A job that failed in a run that finished is not missing: the run recorded how it ended, and the
readers show it (the report in its cells and its list of failed jobs, the leaderboard in a note
under the board), so the gap is said, not hidden. Those are listed in `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import ResultsError
from harness.core.manifest import JobStatus, RunManifest, RunStatus
from harness.store.lock import RUN_LOCK_NAME, holder_gone
from harness.store.recency import invocation_time, recorded_times
from harness.store.record_file import read_record
from harness.store.run_store import LoadedJob, find_run_dirs

SHOWN = 5  # missing jobs named in a one-line message


@dataclass(frozen=True)
class MissingJob:
    """A planned job without a stored result, and why."""

    run: str  # run folder name
    model: str
    task: str
    suite: str
    why: str
    failed: bool = False  # recorded as failed by its run (not missing unless the run is unfinished)

    @property
    def label(self) -> str:
        return f"{self.model} × {self.task} × {self.suite}"

    def describe(self) -> str:
        return f"{self.label} ({self.why})"


@dataclass(frozen=True)
class Completeness:
    """The gaps of every run under a results folder (empty: everything planned is stored)."""

    missing: tuple[MissingJob, ...]
    unfinished_runs: tuple[str, ...]  # runs whose status says they did not finish
    failed: tuple[MissingJob, ...] = ()  # failed in a finished run: shown, not refused

    @property
    def whole(self) -> bool:
        return not self.missing and not self.unfinished_runs

    def summary(self) -> str:
        """One line: which runs are incomplete and the first missing jobs."""
        parts = []
        if self.unfinished_runs:
            parts.append(f"run(s) not finished: {', '.join(self.unfinished_runs[:SHOWN])}")
        if self.missing:
            shown = "; ".join(m.describe() for m in self.missing[:SHOWN])
            more = f"; and {len(self.missing) - SHOWN} more" if len(self.missing) > SHOWN else ""
            parts.append(f"{len(self.missing)} job(s) missing: {shown}{more}")
        return "; ".join(parts)

    def for_task(self, task: str) -> Completeness:
        """The gaps that touch `task` (unfinished runs touch every task)."""
        return Completeness(
            tuple(m for m in self.missing if m.task == task),
            self.unfinished_runs,
            tuple(m for m in self.failed if m.task == task),
        )

    def for_run(self, folder: str) -> Completeness:
        """The gaps of the run folder named `folder` (run folder names hold no spaces)."""
        return Completeness(
            tuple(m for m in self.missing if m.run == folder),
            tuple(r for r in self.unfinished_runs if r.partition(" ")[0] == folder),
            tuple(m for m in self.failed if m.run == folder),
        )

    def failed_note(self) -> str | None:
        """One line naming the failed jobs (None when none failed)."""
        if not self.failed:
            return None
        shown = "; ".join(m.describe() for m in self.failed[:SHOWN])
        more = f"; and {len(self.failed) - SHOWN} more" if len(self.failed) > SHOWN else ""
        return f"{len(self.failed)} job(s) failed and are not on this board: {shown}{more}"

    def refuse(self, root: Path, option: str = "--allow-partial") -> None:
        """Raise the one-line ResultsError of an incomplete results folder (nothing if whole);
        `option` is the way out as the caller spells it (`allow_partial=True` from Python)."""
        if self.whole:
            return
        raise ResultsError(
            f"results under {root} are incomplete — {self.summary()}; rerun the same command "
            f"to finish, or pass {option} to publish them marked as partial"
        )


def completeness(root: Path, loaded: list[LoadedJob]) -> Completeness:
    """Compare each run's plan with its stored jobs (`loaded`: what `load_jobs(root)` read).

    A run that has not finished (running, interrupted, stopped at the first failure) is flagged
    unless every job it planned has a stored result in another run under `root`; a missing job
    is listed unless another run stored the same model x task x suite.
    """
    stored: dict[tuple[str, str, str], set[Path]] = {}
    latest: dict[tuple[tuple[str, str, str], Path], str] = {}  # when each run recorded the job
    for (_, job), when in recorded_times(loaded):
        names = (job.record.model, job.record.task, job.record.suite)
        run = job.path.parent.parent.resolve()
        stored.setdefault(names, set()).add(run)
        latest[(names, run)] = max(latest.get((names, run), ""), when)
    missing: list[MissingJob] = []
    failed: list[MissingJob] = []
    unfinished: list[str] = []
    for run_dir in find_run_dirs(root):
        manifest = read_record(run_dir / "manifest.json", RunManifest)
        here = run_dir.resolve()
        since = invocation_time(manifest)

        def elsewhere(names: tuple[str, str, str], here: Path = here, since: str = since) -> bool:
            """Another run recorded the job, no earlier than this run's last invocation."""
            return any(latest[(names, run)] >= since for run in stored.get(names, set()) - {here})

        here_since = {
            names: when for (names, run), when in latest.items() if run == here
        }  # when this run recorded each job it stores
        for gap in _run_gaps(run_dir, manifest, stored, here_since, since):
            names = (gap.model, gap.task, gap.suite)
            if gap.failed:  # a board shows any completed result of it (with a note when older)
                if not stored.get(names, set()) - {here}:
                    failed.append(gap)
            elif not elsewhere(names):
                missing.append(gap)
        planned = _planned(manifest)
        if _unfinished(manifest) and not all(elsewhere(names) for names in planned):
            unfinished.append(f"{run_dir.name} ({_status_words(run_dir, manifest)})")
    return Completeness(tuple(missing), tuple(unfinished), tuple(failed))


def _unfinished(manifest: RunManifest) -> bool:
    return manifest.partial or manifest.status == RunStatus.STOPPED_FAIL_FAST


def _gone(run_dir: Path, manifest: RunManifest) -> str | None:
    """The process of a run whose manifest says `running` when it no longer exists."""
    if manifest.status != RunStatus.RUNNING:
        return None
    return holder_gone(run_dir / RUN_LOCK_NAME)


def _status_words(run_dir: Path, manifest: RunManifest) -> str:
    """`status interrupted`; `status running, but its process pid N on HOST is gone (killed or
    crashed)` for a run that can no longer finish on its own."""
    gone = _gone(run_dir, manifest)
    words = f"status {manifest.status.value}"
    return f"{words}, but its process {gone} is gone (killed or crashed)" if gone else words


def _planned(manifest: RunManifest) -> list[tuple[str, str, str]]:
    if manifest.planned is not None:
        return [(p.model, p.task, p.suite) for p in manifest.planned]
    return [e.names for e in manifest.jobs]


def _run_gaps(
    run_dir: Path,
    manifest: RunManifest,
    stored: dict[tuple[str, str, str], set[Path]],
    recorded: dict[tuple[str, str, str], str],
    since: str,
) -> list[MissingJob]:
    """The run's planned jobs without a stored result in this run, and why. `recorded`: when
    this run recorded each job it stores; `since`: when its last invocation started."""
    entries = {e.names: e for e in manifest.jobs}
    here = run_dir.resolve()
    gaps = []
    for names in _planned(manifest):
        entry = entries.get(names)
        stopped = (
            "the run's process is gone"
            if _gone(run_dir, manifest)
            else f"the run is {manifest.status.value}"
        )
        if here in stored.get(names, set()) and (entry is None or entry.status != JobStatus.FAILED):
            if entry is None and _unfinished(manifest) and recorded.get(names, "") < since:
                # an earlier invocation's folder, which the latest one (a rerun, perhaps with
                # edited weights or code: new job keys) never checked: not its result
                why = (
                    f"not rerun before the run stopped ({stopped}); the stored result is an "
                    "earlier invocation's"
                )
                gaps.append(MissingJob(run_dir.name, *names, why=why))
            continue  # a whole job folder (published just before a kill counts too)
        if entry is None:
            why = f"not run: {stopped}"
        elif entry.status == JobStatus.FAILED:
            first = (entry.message.splitlines() or [""])[0]
            gaps.append(MissingJob(run_dir.name, *names, why=f"failed: {first[:120]}", failed=True))
            continue
        else:
            why = f"its job folder jobs/{entry.dir} is missing"
        gaps.append(MissingJob(run_dir.name, *names, why=why))
    return gaps
