"""Which of several stored results is "the latest": the one the most recent invocation recorded.

A results folder can hold several results of one model, task and suite: one per run folder (an
edited spec writes another run folder) and, inside a run folder, folders of jobs that an
earlier invocation with other filters wrote. Every reader that shows one of them (boards, the
report, variant deltas, model comparisons, the model-index export, the outcome of a job) shows
the latest by this one rule:

- a job its run's manifest lists (completed, or cached: reused from a run folder or the result
  cache) was recorded by the run's last invocation, at the time that invocation started (its
  last `attempts` entry). The manifest's job list is rewritten by each invocation, so every job
  it lists belongs to that invocation;
- a job folder the manifest does not list was recorded by an earlier invocation: at the time it
  was copied into the run (`reused_at`) when it was reused, else when it was computed
  (`finished`).

So the results a user's newest `harness run` recorded are the ones shown, whether it computed
them or reused them: restoring good weights and running again shows the good numbers even when
their job is a copy of an older computation, never an intermediate run's. Times are ISO 8601 in
UTC, compared as text. Ties keep the order of the input (run folders in name order).
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.core.manifest import JobRecord, JobStatus, RunManifest
from harness.store.run_store import LoadedJob

_RECORDED = (JobStatus.COMPLETED, JobStatus.CACHED)


def invocation_time(manifest: RunManifest) -> str:
    """When the run's last invocation started: the time of every outcome its job list holds."""
    return manifest.attempts[-1].started if manifest.attempts else manifest.created


def listed_folders(manifest: RunManifest) -> frozenset[str]:
    """The job folders the run's last invocation recorded (completed or cached)."""
    return frozenset(e.dir for e in manifest.jobs if e.dir and e.status in _RECORDED)


def unlisted_time(record: JobRecord) -> str:
    """When an earlier invocation recorded a job folder its manifest no longer lists."""
    return record.reused_at or record.finished or record.started


def recorded_times(loaded: Iterable[LoadedJob]) -> list[tuple[LoadedJob, str]]:
    """Each job with the time the rule above gives it: when it was recorded."""
    listed: dict[int, tuple[str, frozenset[str]]] = {}

    def when(item: LoadedJob) -> str:
        manifest, job = item
        if id(manifest) not in listed:
            listed[id(manifest)] = (invocation_time(manifest), listed_folders(manifest))
        started, folders = listed[id(manifest)]
        return started if job.path.name in folders else unlisted_time(job.record)

    return [(item, when(item)) for item in loaded]


def oldest_first(loaded: Iterable[LoadedJob]) -> list[LoadedJob]:
    """The jobs from the earliest recorded to the latest: for each (model, task, suite, ...)
    slot, the last job of the list is the one to show."""
    return [item for item, _ in sorted(recorded_times(loaded), key=lambda pair: pair[1])]
