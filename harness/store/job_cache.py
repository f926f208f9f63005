"""The job cache across run folders: a job whose key was already computed is reused, not rerun.

A job key (harness.config.plan.job_key) covers everything that can move a number: the model's
weights and adapter settings, the task's data, the data of the other tasks the suite reads (the
shift suite's shifted tasks and OOD sets: `Suite.input_fingerprints`), the suite's name, version
and config, the seed, the batch size, the device type and the harness version. So when any run
folder under the same results folder holds a finished job (completed or skipped) with the same
key, its results are those this run would compute. Editing one model in a spec changes the
spec's hash, hence the run folder, yet only that model's jobs rerun; the others are copied from
the run that computed them.

A reused job is copied (not linked: run folders stay independent) into the new run folder under
a temporary name and renamed into place, with its checksums verified on the way and no symlink
followed (harness.store.nofollow); its job.json names this run and records where the results
came from (`reused_from: <run_id>/<job folder>`) and when it was copied (`reused_at`, which
harness.store.recency reads). The shared result cache (harness.store.result_cache) copies its
entries in through the same `copy_job`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from harness.core.errors import ResultsError
from harness.core.manifest import JobRecord
from harness.store import atomic, links, nofollow
from harness.store.record_file import record_text
from harness.store.run_store import RunStore, StoredJob, read_job
from harness.store.write_advice import write_advice


def find_reusable(results_dir: Path, store: RunStore, dirname: str, key: str) -> StoredJob | None:
    """The newest intact finished job named `dirname` with exactly `key` in another run folder
    under `results_dir/runs` (None when there is none; damaged copies are passed over)."""
    runs = results_dir / "runs"
    if not runs.is_dir():
        return None
    here = store.run_dir.resolve()
    candidates = [
        p / "jobs" / dirname
        for p in runs.iterdir()
        if p.is_dir()
        and p.resolve() != here
        and (p / "jobs" / dirname / "job.json").is_file()
        and not _through_a_link(p / "jobs" / dirname)
    ]
    for path in sorted(candidates, key=lambda p: (p / "job.json").stat().st_mtime, reverse=True):
        try:
            job = read_job(path)
        except ResultsError:
            continue
        if job.record.key == key:
            return job
    return None


def _through_a_link(job_dir: Path) -> bool:
    """Whether reading the job folder would follow a symbolic link (its run folder, `jobs`, the
    folder or a file in it): such a copy is passed over, never read (harness/store/links.py)."""
    chain = [job_dir.parent.parent, job_dir.parent, job_dir]
    return any(links.is_link(p) for p in chain) or links.first_link(job_dir) is not None


class DamagedSource(ResultsError):
    """A job being reused does not match its own record (damaged, a link, or changed while it
    was copied): the copy is abandoned and nothing is published."""


def adopt(store: RunStore, source: StoredJob) -> Path:
    """Copy `source` (a job of another run folder) into `store`'s run folder atomically."""
    origin = f"{source.path.parent.parent.name}/{source.path.name}"
    try:
        src_fd = nofollow.open_dir(source.path)
    except OSError as err:
        raise DamagedSource(
            f"results folder {source.path} cannot be reused ({err.strerror or err}); rerun to "
            "compute the job afresh"
        ) from None
    try:
        return copy_job(
            src_fd,
            source.record,
            store,
            dirname=source.path.name,
            reused_from=source.record.reused_from or origin,
            where=source.path,
        )
    finally:
        os.close(src_fd)


def copy_job(
    src_fd: int,
    record: JobRecord,
    store: RunStore,
    *,
    dirname: str,
    reused_from: str,
    where: Path,
) -> Path:
    """Copy the files `record` lists from folder `src_fd` into `store`'s run folder as job folder
    `dirname`, each checked against its sha256 on the way, then write its job.json (naming this
    run and `reused_from`) and publish the folder in one rename.

    A source that does not match (a file missing, a link, other bytes) raises DamagedSource,
    naming `where`; a failure to write the run folder a ResultsError. Nothing is published then.
    """
    final = store.jobs_dir / dirname
    tmp = store.jobs_dir / f".tmp-{dirname}-{os.getpid()}"
    try:
        links.refuse_link(store.jobs_dir)
        links.refuse_link(tmp)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        dst_fd = nofollow.open_dir(tmp)
        try:
            for name, digest in record.files.items():
                if nofollow.copy_file(src_fd, name, dst_fd) != digest:
                    raise DamagedSource(
                        f"results file {where / name} does not match its checksum (damaged, or "
                        "changed while it was being reused); rerun to compute the job afresh"
                    )
            mine = record.replace(
                run_id=store.run_dir.name,
                reused_from=reused_from,
                reused_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            )
            nofollow.write_new(dst_fd, "job.json", record_text(mine).encode("utf-8"))
        finally:
            os.close(dst_fd)
        atomic.publish_dir(tmp, final)
    except nofollow.UnreadableSource as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DamagedSource(
            f"results file {where / str(err.filename)} cannot be reused ({err.strerror or err}); "
            "rerun to compute the job afresh"
        ) from None
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ResultsError(
            f"cannot copy reused results into {final}: {err.strerror or err}; "
            f"{write_advice(err)} or choose another --out"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
