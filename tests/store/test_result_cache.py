"""The result cache shared by every results folder (harness/store/result_cache.py): entries
published whole, verified before reuse, damaged ones logged and replaced, concurrent writers
of one key both succeeding, no symlink followed, and pruning by age and size."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.store import nofollow
from harness.store.result_cache import ResultCache, entry_key
from harness.store.run_store import RunStore, read_job
from tests.store.records import job_record

JOB_KEY = "a" * 64
NAMES = ("m", "digits", "accuracy")
KEY = entry_key(job_key=JOB_KEY, model="m", task="digits", suite="accuracy", context={"code": "c0"})


def finished_job(folder: Path, *, run_id: str = "first", job_key: str = JOB_KEY) -> Path:
    """A finished job folder written by the results store (a table, a metric, artifacts)."""
    store = RunStore.open_for_writing(folder, run_id)
    record = job_record("m", "accuracy", run_id=run_id, key=job_key)
    table = SampleTable.build(
        {
            "sample_id": [f"s{i}" for i in range(6)],
            "condition": ["clean"] * 6,
            "label": [0, 1, 2, 0, 1, 2],
            "prediction": [0, 1, 1, 0, 2, 2],
            "correct": [True, True, False, True, False, True],
            "confidence": [0.9, 0.8, 0.6, 0.7, 0.5, 0.9],
        }
    )
    metric = MetricRecord(
        suite="accuracy",
        metric="top1_acc",
        value=4 / 6,
        unit="fraction",
        higher_is_better=True,
        n=6,
    )
    return store.write_job(record=record, table=table, metrics=[metric], artifacts={"bins": [1]})


def restore(cache: ResultCache, out: Path, key: str = KEY, run_id: str = "second") -> Path | None:
    """Restore `key` into a new run folder under `out`; the job folder, or None on a miss."""
    store = RunStore.open_for_writing(out, run_id)
    dirname = store.job_dirname(*NAMES, JOB_KEY)
    record = cache.restore(key=key, job_key=JOB_KEY, names=NAMES, store=store, dirname=dirname)
    return None if record is None else store.jobs_dir / dirname


@pytest.fixture
def cache(tmp_path: Path) -> ResultCache:
    return ResultCache(tmp_path / "cache")


def test_a_saved_job_is_restored_whole_into_another_results_folder(
    cache: ResultCache, tmp_path: Path
) -> None:
    source = finished_job(tmp_path / "a")
    assert restore(cache, tmp_path / "b") is None  # empty cache: a miss
    assert cache.save(key=KEY, job_dir=source)
    assert (cache.root / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")
    copied = restore(cache, tmp_path / "c")
    assert copied is not None
    job = read_job(copied)  # checksums verified
    assert job.record.run_id == "second" and job.record.reused_from == f"first/{source.name}"
    assert job.record.key == JOB_KEY and job.metrics == read_job(source).metrics
    assert job.table().frame.equals(read_job(source).table().frame)
    # another key (another job key, names or code) is a miss
    for other in (
        entry_key(
            job_key="b" * 64, model="m", task="digits", suite="accuracy", context={"code": "c0"}
        ),
        entry_key(
            job_key=JOB_KEY, model="m2", task="digits", suite="accuracy", context={"code": "c0"}
        ),
        entry_key(
            job_key=JOB_KEY, model="m", task="digits", suite="accuracy", context={"code": "c1"}
        ),
    ):
        assert other != KEY
        assert restore(cache, tmp_path / f"miss-{other[:6]}", key=other) is None


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _link_to_copy(path: Path) -> None:
    """Replace a file by a symlink to an identical copy (its checksum would still match)."""
    copy = path.parent.parent / f"outside-{path.name}"
    shutil.copyfile(path, copy)
    path.unlink()
    path.symlink_to(copy)


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: _flip_byte(e / "samples.parquet"),
        lambda e: (e / "metrics.json").unlink(),
        lambda e: (e / "job.json").write_text((e / "job.json").read_text().replace('"m"', '"x"')),
        lambda e: _link_to_copy(e / "samples.parquet"),
        lambda e: (e / "metrics.json").write_text("[]"),
    ],
    ids=["flipped-byte", "missing-file", "edited-record", "file-symlink", "metrics-replaced"],
)
def test_a_damaged_entry_is_logged_never_served_and_rewritten(
    cache: ResultCache, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: object
) -> None:
    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)
    entry = cache.entry_path(KEY)
    damage(entry)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="harness.store.result_cache"):
        assert restore(cache, tmp_path / "b") is None
    (message,) = [r.getMessage() for r in caplog.records]
    assert f"result cache: entry {entry} is damaged (" in message
    assert "ignored, the job runs again" in message
    assert not entry.exists()
    assert not list((tmp_path / "b" / "runs" / "second" / "jobs").iterdir())  # nothing published
    assert cache.save(key=KEY, job_dir=source)  # the job's fresh results replace it
    assert restore(cache, tmp_path / "c") is not None


def test_an_entry_folder_replaced_by_a_symlink_is_not_followed(
    cache: ResultCache, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)
    entry = cache.entry_path(KEY)
    elsewhere = tmp_path / "elsewhere"
    entry.rename(elsewhere)
    entry.symlink_to(elsewhere)  # an intact entry, but reached through a link
    with caplog.at_level(logging.WARNING, logger="harness.store.result_cache"):
        assert restore(cache, tmp_path / "b") is None
    assert "not a plain folder" in caplog.text
    assert not entry.is_symlink() and elsewhere.is_dir()  # the link went, its target stayed


def test_writes_never_go_through_a_symlink(cache: ResultCache, tmp_path: Path) -> None:
    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)  # makes the folders
    shard = cache.entries_dir / KEY[:2]
    shutil.rmtree(shard)
    outside = tmp_path / "outside"
    outside.mkdir()
    shard.symlink_to(outside, target_is_directory=True)
    with pytest.raises(OSError):
        cache.save(key=KEY, job_dir=source)
    assert list(outside.iterdir()) == []
    assert restore(cache, tmp_path / "b") is None  # a shard behind a link is not read either
    # a link where the entry should be is replaced by a real entry, its target left alone
    shard.unlink()
    shard.mkdir()
    (shard / KEY).symlink_to(outside, target_is_directory=True)
    assert cache.save(key=KEY, job_dir=source)
    assert not (shard / KEY).is_symlink() and list(outside.iterdir()) == []
    assert restore(cache, tmp_path / "c") is not None


def _save_at_once(root: str, job_dir: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    ok = ResultCache(Path(root)).save(key=KEY, job_dir=Path(job_dir))
    os._exit(0 if ok else 1)


def test_concurrent_writers_of_one_key_both_succeed(cache: ResultCache, tmp_path: Path) -> None:
    source = finished_job(tmp_path / "a")
    ctx = multiprocessing.get_context("fork")
    for _ in range(3):
        barrier = ctx.Barrier(4)
        procs = [
            ctx.Process(target=_save_at_once, args=(str(cache.root), str(source), barrier))
            for _ in range(4)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        contents = cache.contents()
        assert [e.key for e in contents.entries] == [KEY] and contents.leftovers == []
        assert restore(cache, tmp_path / f"b{_}") is not None
        cache.prune(everything=True)


def test_an_interrupted_write_publishes_nothing(
    cache: ResultCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = finished_job(tmp_path / "a")
    real = nofollow.copy_file
    calls = []

    def dies_on_second_file(src_fd: int, name: str, dst_fd: int) -> str:
        calls.append(name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(src_fd, name, dst_fd)

    monkeypatch.setattr(nofollow, "copy_file", dies_on_second_file)
    with pytest.raises(KeyboardInterrupt):
        cache.save(key=KEY, job_dir=source)
    monkeypatch.undo()
    assert cache.contents().entries == [] and cache.contents().leftovers == []
    # a dead writer's leftover (killed before it could clean up) is never read, and prune
    # removes it; a live writer's is kept
    shard = cache.entries_dir / KEY[:2]
    dead = shard / f".tmp-{KEY[:16]}-{_dead_pid()}-0a1b"
    live = shard / f".tmp-{KEY[:16]}-{os.getpid()}-0a1c"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "job.json").write_text("{")
    assert restore(cache, tmp_path / "b") is None
    result = cache.prune(max_bytes=10**9)
    assert [x.name for x in result.leftovers] == [dead.name]
    assert not dead.exists() and live.exists()


def _dead_pid() -> int:
    proc = multiprocessing.get_context("fork").Process(target=os._exit, args=(0,))
    proc.start()
    proc.join()
    assert proc.pid is not None
    return proc.pid


def test_prune_by_age_size_and_all(cache: ResultCache, tmp_path: Path) -> None:
    keys = []
    for i in range(4):
        job_key = f"{i}" * 64
        source = finished_job(tmp_path / f"src{i}", run_id=f"run{i}", job_key=job_key)
        key = entry_key(
            job_key=job_key, model="m", task="digits", suite="accuracy", context={"code": "c"}
        )
        cache.save(key=key, job_dir=source)
        os.utime(cache.entry_path(key), (1000.0 * i, 1000.0 * i))  # last used at 0, 1000, ...
        keys.append(key)
    size = cache.contents().entries[0].size
    assert all(e.size == size and e.problem is None for e in cache.contents().entries)
    now = 3500.0
    dry = cache.prune(unused_for=1800, dry_run=True, now=now)  # unused for > 1800 s: 0 and 1000
    assert {e.key for e in dry.removed} == {keys[0], keys[1]} and len(cache.contents().entries) == 4
    # least recently used first, until the rest fit: two entries' worth keeps the newest two
    fit = cache.prune(max_bytes=2 * size, now=now)
    assert {e.key for e in fit.removed} == {keys[0], keys[1]}
    assert {e.key for e in fit.kept} == {keys[2], keys[3]}
    assert {e.key for e in cache.contents().entries} == {keys[2], keys[3]}
    (cache.entry_path(keys[2]) / "job.json").write_text("{}")  # damaged: always pruned
    assert [e.problem is not None for e in cache.contents().entries].count(True) == 1
    assert {e.key for e in cache.prune(unused_for=10**9, now=now).removed} == {keys[2]}
    assert {e.key for e in cache.prune(everything=True).removed} == {keys[3]}
    assert cache.contents().entries == []


def test_an_unreadable_cache_is_a_miss_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    afile = tmp_path / "not-a-folder"
    afile.write_text("")
    cache = ResultCache(afile)
    with caplog.at_level(logging.WARNING, logger="harness.store.result_cache"):
        assert restore(cache, tmp_path / "b") is None
        assert restore(cache, tmp_path / "c", run_id="third") is None
    assert len(caplog.records) == 1 and "is unusable" in caplog.text
    with pytest.raises(OSError):
        cache.save(key=KEY, job_dir=finished_job(tmp_path / "a"))
    with pytest.raises(ResultsError, match="is unreadable"):
        cache.contents()


def test_an_entry_of_a_newer_harness_is_kept_not_called_damaged(
    cache: ResultCache, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two harness versions share one user cache (two virtual environments): an entry whose
    job.json has a newer schema is not damaged. It was listed as damaged and removed by every
    `prune` (and by a run that looked it up); now it is shown as a newer harness's, left alone
    by a run and pruned only as any other entry (by age, size or --all)."""
    import json

    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)
    entry = cache.entry_path(KEY)
    raw = json.loads((entry / "job.json").read_text())
    raw["schema_version"] = 99  # a layout this harness does not know (its checksum unchecked)
    (entry / "job.json").write_text(json.dumps(raw))
    (shown,) = cache.contents().entries
    assert shown.problem is None and shown.record is None and shown.newer == "schema version 99"
    assert cache.prune(unused_for=10**9).removed == []  # damaged entries always go: not this
    with caplog.at_level(logging.WARNING, logger="harness.store.result_cache"):
        assert restore(cache, tmp_path / "b") is None  # a miss
    assert "damaged" not in caplog.text and entry.is_dir()
    assert [e.key for e in cache.prune(everything=True).removed] == [KEY]


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_a_shard_that_is_no_folder_is_shown_damaged_and_pruned(
    cache: ResultCache, tmp_path: Path, kind: str
) -> None:
    """A link or a file in place of a shard folder (`v1/entries/<ab>`) was left out of `harness
    cache` (3 entries, none damaged) and of every prune, while each run that stored a job under
    that shard logged "cannot be written (Not a directory)" and used no cache for the rest of
    the run: the damage was invisible and could not be repaired with `harness cache prune`. It is
    now listed as damaged and a prune removes the link or file (never what a link points to)."""
    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)
    shard = cache.entries_dir / KEY[:2]
    outside = tmp_path / "outside"
    shard.rename(outside)
    if kind == "symlink":
        shard.symlink_to(outside, target_is_directory=True)
    else:
        shard.write_text("x")
    (shown,) = cache.contents().entries
    assert shown.problem is not None and str(shard) in shown.problem
    assert cache.prune(unused_for=10**9, dry_run=True).removed == [shown]
    assert shard.exists() or shard.is_symlink()
    (gone,) = cache.prune(unused_for=10**9).removed
    assert not shard.exists() and not shard.is_symlink()
    assert (outside / KEY / "job.json").is_file()  # the link's target is left alone
    assert cache.save(key=KEY, job_dir=source)  # the shard is made again: the cache works
    assert restore(cache, tmp_path / "b") is not None


def test_a_shard_that_is_no_folder_is_named_when_storing_fails(
    cache: ResultCache, tmp_path: Path
) -> None:
    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)
    shard = cache.entries_dir / KEY[:2]
    shutil.rmtree(shard)
    shard.write_text("x")
    with pytest.raises(OSError) as err:
        cache.save(key=KEY, job_dir=source)
    assert str(shard) in str(err.value.strerror) and "harness cache prune" in str(err.value)


def test_a_cache_in_a_folder_of_other_files_does_not_tag_that_folder(tmp_path: Path) -> None:
    """`HARNESS_CACHE=~/projects/app` (a folder holding the user's own files) got a CACHEDIR.TAG
    in that folder on the first stored job, so backup tools honouring the tag (tar
    --exclude-caches, borg, restic) skipped the user's whole folder from then on. The tag now
    goes into the cache's own `v1/` there; a folder the cache made (or holding only the
    cache's files) is tagged as before."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    cache = ResultCache(project)
    assert cache.save(key=KEY, job_dir=finished_job(tmp_path / "a"))
    assert not (project / "CACHEDIR.TAG").exists()
    assert (project / "v1" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")
    assert restore(cache, tmp_path / "b") is not None
    fresh = ResultCache(tmp_path / "made")
    assert fresh.save(key=KEY, job_dir=finished_job(tmp_path / "c"))
    assert (fresh.root / "CACHEDIR.TAG").is_file()


def test_the_default_cache_folder_is_tagged_beside_the_hubs_prepared_splits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Linux the default cache folder (`~/.cache/robustness-harness`) is also where hub tasks
    keep their prepared splits (`hub-tasks/`, harness/data/hub.py), which a first run writes
    before it stores its first job: that folder is the harness's own, and was left untagged
    (the tag only in `v1/`), so backups took in gigabytes of re-downloadable splits."""
    from harness.data.hub import cache_root
    from harness.store.result_cache import default_root

    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("HARNESS_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = default_root()
    assert root == cache_root()  # one folder for both
    (root / "hub-tasks" / "k").mkdir(parents=True)
    cache = ResultCache(root)
    assert cache.save(key=KEY, job_dir=finished_job(tmp_path / "a"))
    assert (root / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")


def _shard_refused(monkeypatch: pytest.MonkeyPatch, shard: str, error: OSError) -> None:
    """Opening shard folder `shard` fails with `error` (a folder this user may not open: as root
    the tests cannot take the permission away)."""
    real = nofollow.open_dir

    def open_dir(name: str | Path, **kwargs: object) -> int:
        if name == shard and kwargs.get("dir_fd") is not None:
            raise error
        return real(name, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(nofollow, "open_dir", open_dir)


def test_a_shard_folder_that_cannot_be_opened_is_not_called_no_folder(
    cache: ResultCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard folder this user may not open (made by a `sudo` run, mode 0700) was said to be
    "not a folder (Permission denied)", which `harness cache prune` removes: prune listed it as
    removed and left it, being a folder. It is said to be a folder that cannot be opened, and
    a prune neither lists nor touches it."""
    import errno

    source = finished_job(tmp_path / "a")
    cache.save(key=KEY, job_dir=source)
    shard = cache.entries_dir / KEY[:2]
    _shard_refused(monkeypatch, KEY[:2], PermissionError(errno.EACCES, "Permission denied"))
    with pytest.raises(OSError) as err:
        cache.save(key=KEY, job_dir=source)
    message = str(err.value.strerror)
    assert f"{shard} is a folder that cannot be opened (Permission denied)" in message
    assert "not a folder" not in message and "prune" not in message
    assert cache.contents().entries == []
    assert cache.prune(everything=True).removed == []
    assert (shard / KEY / "job.json").is_file()
