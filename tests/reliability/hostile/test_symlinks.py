"""Nothing is written, truncated or removed through a symbolic link in a results folder.

A symbolic link is planted at every name the harness writes or removes (the lock, the manifest,
the spec copy, job folders and their files, temp files, leftovers of killed writers, write
probes, report pages, figures), pointing at a sentinel file or folder; the command refuses with
one line naming the link, exit 2, and the sentinel survives byte for byte. `harness run` checks
the whole run folder before it touches it; each writer also refuses a link planted later (the
store-level table), so a link that appears mid-run is refused too."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.core.manifest import RunManifest
from harness.core.sample_table import SampleTable
from harness.run.lock import RunLock
from harness.store import atomic, job_cache
from harness.store.links import LinkRefusedError
from harness.store.run_store import RunStore, StoredJob, read_job

SPEC = """
name: links
seed: 0
device: cpu
limit: 20
batch_size: 10
bootstrap_resamples: 0
tasks: [digits]
models:
  - {name: a, factory: "tests.fixture_models:linear_digits", input_shape: [1, 8, 8]}
  - name: b
    factory: "tests.fixture_models:linear_digits"
    factory_args: {seed: 1}
    input_shape: [1, 8, 8]
suites:
  accuracy: {}
"""
SENTINEL = b"precious bytes \x00\xff that no harness command may touch\n"
DEAD_PID = 2**22 + 12345  # above Linux's pid_max: never a live writer


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished results folder (two models, accuracy) to copy for each case."""
    folder = tmp_path_factory.mktemp("template")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(folder / "out")]) == 0
    return folder


def _copy(template: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """(spec, out, run folder) of a fresh copy of the template."""
    shutil.copytree(template, tmp_path / "case", symlinks=True)
    out = tmp_path / "case" / "out"
    (run_dir,) = (out / "runs").iterdir()
    return tmp_path / "case" / "spec.yaml", out, run_dir


def _job_dir(run_dir: Path) -> Path:
    return sorted(p for p in (run_dir / "jobs").iterdir() if not p.name.startswith("."))[0]


def _names(run_dir: Path) -> dict[str, Path]:
    """Every name the harness writes or removes in a run folder, by its place in the table."""
    job = _job_dir(run_dir)
    pid = os.getpid()
    return {
        "runs": run_dir.parent,
        "RUN": run_dir,
        "RUN/.lock": run_dir / ".lock",
        "RUN/manifest.json": run_dir / "manifest.json",
        "RUN/spec.yaml": run_dir / "spec.yaml",
        "RUN/jobs": run_dir / "jobs",
        "JOB": job,
        "JOB/job.json": job / "job.json",
        "JOB/metrics.json": job / "metrics.json",
        "JOB/artifacts.json": job / "artifacts.json",
        "JOB/samples.parquet": job / "samples.parquet",
        # temp files and leftovers of writers killed mid-write (removed by the next run)
        "RUN/.manifest.json.DEAD.tmp": run_dir / f".manifest.json.{DEAD_PID}.abc123.tmp",
        "RUN/.spec.yaml.DEAD.tmp": run_dir / f".spec.yaml.{DEAD_PID}.abc123.tmp",
        "RUN/.write-probe-DEAD": run_dir / f".write-probe-{DEAD_PID}",
        "RUN/jobs/.tmp-JOB-DEAD": run_dir / "jobs" / f".tmp-{job.name}-{DEAD_PID}",
        "RUN/jobs/.stale-JOB-DEAD": run_dir / "jobs" / f".stale-{job.name}-{DEAD_PID}",
        # names this process itself would write next (its pid is in them)
        "RUN/.write-probe-PID": run_dir / f".write-probe-{pid}",
        "RUN/jobs/.tmp-JOB-PID": run_dir / "jobs" / f".tmp-{job.name}-{pid}",
        "RUN/jobs/.stale-JOB-PID": run_dir / "jobs" / f".stale-{job.name}-{pid}",
    }


RUN_NAMES = [
    "runs",
    "RUN",
    "RUN/.lock",
    "RUN/manifest.json",
    "RUN/spec.yaml",
    "RUN/jobs",
    "JOB",
    "JOB/job.json",
    "JOB/metrics.json",
    "JOB/artifacts.json",
    "JOB/samples.parquet",
    "RUN/.manifest.json.DEAD.tmp",
    "RUN/.spec.yaml.DEAD.tmp",
    "RUN/.write-probe-DEAD",
    "RUN/jobs/.tmp-JOB-DEAD",
    "RUN/jobs/.stale-JOB-DEAD",
    "RUN/.write-probe-PID",
    "RUN/jobs/.tmp-JOB-PID",
    "RUN/jobs/.stale-JOB-PID",
]
FOLDERS = {"runs", "RUN", "RUN/jobs", "JOB"} | {n for n in RUN_NAMES if "/.tmp-" in n}
FOLDERS |= {n for n in RUN_NAMES if "/.stale-" in n}


def _sentinel(where: Path, folder: bool) -> Path:
    if folder:
        target = where / "sentinel-folder"
        target.mkdir()
        (target / "keep.bin").write_bytes(SENTINEL)
        (target / "job.json").write_bytes(SENTINEL)  # looks like a job folder's record
        return target
    target = where / "sentinel.bin"
    target.write_bytes(SENTINEL)
    return target


def _state(target: Path) -> object:
    if target.is_dir():
        return sorted((p.name, p.read_bytes()) for p in target.iterdir())
    return target.read_bytes()


def _plant(link: Path, target: Path) -> None:
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    elif link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(target, target_is_directory=target.is_dir())


def _one_refusal(err: str, link: Path) -> None:
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(
        f"error: refusing to write through symbolic link {link} (pointing to "
    ), err


def test_the_table_names_every_entry_a_run_writes(template: Path, tmp_path: Path) -> None:
    """A new file or folder the harness starts writing must get its row in the table."""
    _, _, run_dir = _copy(template, tmp_path)
    assert {p.name for p in run_dir.iterdir()} == {".lock", "manifest.json", "spec.yaml", "jobs"}
    for job in (run_dir / "jobs").iterdir():
        assert not job.name.startswith(".")
        files = {p.name for p in job.iterdir()}
        assert files == {n.split("/")[1] for n in RUN_NAMES if n.startswith("JOB/")}
    assert set(_names(run_dir)) == set(RUN_NAMES)


@pytest.mark.parametrize("name", RUN_NAMES)
def test_harness_run_refuses_a_link_at_every_name_it_writes_or_removes(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    spec, out, run_dir = _copy(template, tmp_path)
    link = _names(run_dir)[name]
    target = _sentinel(tmp_path, folder=name in FOLDERS)
    before = _state(target)
    _plant(link, target)
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(out)]) == 2
    _one_refusal(capsys.readouterr().err, link)
    assert _state(target) == before  # byte for byte
    assert link.is_symlink()  # left as it was: the user decides


# -- each writer on its own: a link planted after the run folder was checked -------------------


def _store(template: Path, tmp_path: Path) -> tuple[RunStore, Path]:
    _, out, run_dir = _copy(template, tmp_path)
    return RunStore(run_dir), out


OTHER = "other-000000000000"


@dataclass(frozen=True)
class Prior:
    """What the writers write again, read before the link was planted."""

    job: StoredJob
    manifest: RunManifest
    table: SampleTable


def _write_manifest(store: RunStore, _: Path, prior: Prior) -> None:
    store.write_manifest(prior.manifest)


def _write_job_again(store: RunStore, _: Path, prior: Prior) -> None:
    job = prior.job
    store.write_job(record=job.record, table=prior.table, metrics=job.metrics, artifacts={})


def _lock(store: RunStore, _: Path, prior: Prior) -> None:
    with RunLock(store.run_dir):
        pass


def _adopt(store: RunStore, out: Path, prior: Prior) -> None:
    """The job cache copying this run's job into another run folder of the same results."""
    job_cache.adopt(RunStore(out / "runs" / OTHER), prior.job)


def _other_jobs(store: RunStore, out: Path) -> Path:
    return RunStore.open_for_writing(out, OTHER).jobs_dir


def _spec_copy(store: RunStore, _: Path, prior: Prior) -> None:
    store.write_file("spec.yaml", "name: x\n")


def _atomic_write(store: RunStore, _: Path, prior: Prior) -> None:
    atomic.write_text(store.jobs_dir / "notes.txt", "x")


def _job_name(store: RunStore) -> str:
    return _job_dir(store.run_dir).name


Where = Callable[[RunStore, Path], Path]
Write = Callable[[RunStore, Path, Prior], None]
WRITERS: list[tuple[str, Where, bool, Write]] = [
    ("lock", lambda s, _: s.run_dir / ".lock", False, _lock),
    ("manifest", lambda s, _: s.run_dir / "manifest.json", False, _write_manifest),
    ("spec copy", lambda s, _: s.run_dir / "spec.yaml", False, _spec_copy),
    ("job folder replaced", lambda s, _: _job_dir(s.run_dir), True, _write_job_again),
    (
        "job temp folder",
        lambda s, _: s.jobs_dir / f".tmp-{_job_name(s)}-{os.getpid()}",
        True,
        _write_job_again,
    ),
    (
        "stale name of a replaced job",
        lambda s, _: s.jobs_dir / f".stale-{_job_name(s)}-{os.getpid()}",
        True,
        _write_job_again,
    ),
    ("jobs folder", lambda s, _: s.jobs_dir, True, _write_job_again),
    ("folder of an atomic write", lambda s, _: s.jobs_dir, True, _atomic_write),
    ("job cache's target folder", _other_jobs, True, _adopt),
]


@pytest.mark.parametrize(("what", "where", "folder", "write"), WRITERS, ids=[w[0] for w in WRITERS])
def test_every_writer_refuses_a_link_planted_after_the_check(
    template: Path, tmp_path: Path, what: str, where: Where, folder: bool, write: Write
) -> None:
    store, out = _store(template, tmp_path)
    manifest = store.read_manifest()
    assert manifest is not None
    job = read_job(_job_dir(store.run_dir))
    prior = Prior(job, manifest, job.table())
    link = where(store, out)
    target = _sentinel(tmp_path, folder=folder)
    before = _state(target)
    _plant(link, target)
    with pytest.raises(LinkRefusedError) as refused:
        write(store, out, prior)
    assert str(refused.value).startswith(f"refusing to write through symbolic link {link} ")
    assert _state(target) == before
    assert link.is_symlink()


def test_leftovers_that_are_links_are_unlinked_never_followed(
    template: Path, tmp_path: Path
) -> None:
    store, _ = _store(template, tmp_path)
    file_target = _sentinel(tmp_path, folder=False)
    (tmp_path / "d").mkdir()
    dir_target = _sentinel(tmp_path / "d", folder=True)
    before = (_state(file_target), _state(dir_target))
    temp = store.run_dir / f".manifest.json.{DEAD_PID}.abc.tmp"
    temp_dir = store.jobs_dir / f".tmp-{_job_dir(store.run_dir).name}-{DEAD_PID}"
    temp.symlink_to(file_target)
    temp_dir.symlink_to(dir_target, target_is_directory=True)
    removed = store.remove_leftovers()
    assert set(removed) == {temp, temp_dir}
    assert not temp.is_symlink() and not temp_dir.is_symlink()
    assert (_state(file_target), _state(dir_target)) == before


def test_the_job_cache_never_reads_through_a_link(template: Path, tmp_path: Path) -> None:
    """A job folder of another run that is a link (or holds one) is passed over, not copied."""
    store, out = _store(template, tmp_path)
    job = _job_dir(store.run_dir)
    key = read_job(job).record.key
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(job, elsewhere)
    other = RunStore.open_for_writing(out, "other-000000000000")
    assert job_cache.find_reusable(out, other, job.name, key) is not None
    job.rename(tmp_path / "moved")
    job.symlink_to(elsewhere, target_is_directory=True)
    assert job_cache.find_reusable(out, other, job.name, key) is None
    job.unlink()
    (tmp_path / "moved").rename(job)
    (job / "metrics.json").unlink()
    (job / "metrics.json").symlink_to(elsewhere / "metrics.json")
    assert job_cache.find_reusable(out, other, job.name, key) is None


# -- the report site -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report to copy for each case, its parts built in this process (tests/conftest.py's
    `report_parts_here`, for the module): the same site as forked workers build
    (tests/present/test_site_workers.py), without forking a pool for a two-model run. The
    cases' own reports, the ones that must refuse, run as every user's do."""
    from harness.present import site_workers

    folder = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(site_workers, "cores", lambda: 1)
        assert main(["report", str(template / "out"), "--out", str(folder / "site")]) == 0
    return folder / "site"


# the site's folder of figures, one figure, the first page written and the last file written
REPORT_NAMES = ["figures", "FIGURE", "provenance.html", "summary.md"]


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_harness_report_refuses_a_link_at_a_page_figure_or_folder_it_writes(
    template: Path, site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    copy = tmp_path / "site"
    shutil.copytree(site, copy, symlinks=True)
    figures = sorted((copy / "figures").iterdir())
    assert figures, "the report drew figures"
    link = figures[0] if name == "FIGURE" else copy / name
    target = _sentinel(tmp_path, folder=name == "figures")
    before = _state(target)
    _plant(link, target)
    capsys.readouterr()
    assert main(["report", str(template / "out"), "--out", str(copy)]) == 2
    _one_refusal(capsys.readouterr().err, link)
    assert _state(target) == before
    assert link.is_symlink()
