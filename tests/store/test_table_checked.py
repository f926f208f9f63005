"""A job's per-sample table is parsed from bytes checked against job.json: read_job checks the
file, and the table, parsed when first asked for (once, kept with the job), is parsed from
bytes read and checked again then (a folder's table bytes are not held between the two)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.store.run_store import TABLE_FILE, read_job
from tests.analysis.pinned_outputs import SCALE_BASE


def test_the_table_parsed_is_the_one_checked(tmp_path: Path) -> None:
    job_dir = next((SCALE_BASE / "runs").glob("*/jobs/*"))
    copy = tmp_path / job_dir.name
    shutil.copytree(job_dir, copy)
    job = read_job(copy)
    table = job.table()
    assert len(table) == 100 and job.table() is table  # parsed once, kept
    original = (copy / TABLE_FILE).read_bytes()
    (copy / TABLE_FILE).write_bytes(b"replaced after the check")
    assert job.table() is table  # kept: not read again
    job.forget_table()
    checksum = r"results file .*samples\.parquet does not match its checksum in .*job\.json"
    with pytest.raises(ResultsError, match=checksum):
        job.table()  # forgotten: read again, and checked again
    with pytest.raises(ResultsError, match=checksum):
        job.table_columns(lambda names: names)
    runs = SCALE_BASE / "runs"
    other = next(p for p in sorted(runs.glob(f"*/jobs/*/{TABLE_FILE}")) if p.parent != job_dir)
    (copy / TABLE_FILE).write_bytes(other.read_bytes())  # another valid table: refused too
    with pytest.raises(ResultsError, match=checksum):
        job.table()
    (copy / TABLE_FILE).write_bytes(original)
    fresh = read_job(job_dir)
    assert job.table().frame.equals(fresh.table().frame)  # the checked file again: read


def test_the_table_read_is_pandas_read_parquet(tmp_path: Path) -> None:
    """Parsed from the checked bytes, or from the file when forgotten, the frame (and a
    selection of its columns) is the one pandas.read_parquet gives, exactly."""
    import pandas as pd

    for job_dir in sorted((SCALE_BASE / "runs").glob("*/jobs/*"))[:3]:
        copy = tmp_path / job_dir.name
        shutil.copytree(job_dir, copy)
        want = pd.read_parquet(copy / TABLE_FILE)
        job = read_job(copy)
        picked = job.table_columns(lambda names: [c for c in names if c != "confidence"])
        pd.testing.assert_frame_equal(
            picked, pd.read_parquet(copy / TABLE_FILE, columns=list(picked.columns))
        )
        assert "confidence" not in picked.columns and "confidence" in want.columns
        for _ in range(2):  # from the bytes read_job checked, then from the file
            pd.testing.assert_frame_equal(job.table().frame, want, check_exact=True)
            job.forget_table()


def test_a_table_read_for_a_plan_is_parsed_from_that_read(tmp_path: Path) -> None:
    """`read_arrow` reads the whole checked file once and keeps it until `table()` parses it
    (`harness groups` plans from its columns, then breaks it down): the same frame as
    pandas.read_parquet, the file not read again; `forget_table` drops it, so a file replaced
    since is read again and refused."""
    import pandas as pd

    job_dir = next((SCALE_BASE / "runs").glob("*/jobs/*"))
    copy = tmp_path / job_dir.name
    shutil.copytree(job_dir, copy)
    want = pd.read_parquet(copy / TABLE_FILE)
    job = read_job(copy)
    arrow = job.read_arrow()
    assert job.read_arrow() is arrow and arrow.num_rows == len(want)
    original = (copy / TABLE_FILE).read_bytes()
    (copy / TABLE_FILE).write_bytes(b"replaced after the read")
    pd.testing.assert_frame_equal(job.table().frame, want, check_exact=True)  # from the read
    job.forget_table()
    (copy / TABLE_FILE).write_bytes(original)
    job.read_arrow()  # kept again, then forgotten: the file is read (and refused) again
    (copy / TABLE_FILE).write_bytes(b"replaced again")
    job.forget_table()
    checksum = r"results file .*samples\.parquet does not match its checksum in .*job\.json"
    with pytest.raises(ResultsError, match=checksum):
        job.table()
    with pytest.raises(ResultsError, match=checksum):
        job.read_arrow()
    (copy / TABLE_FILE).write_bytes(original)


def test_groups_reads_each_table_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`stored_group_rows` plans from each table and breaks it down from one read of it,
    and holds no table afterwards."""
    from harness.analysis.stored_groups import GroupQuery, select_jobs, stored_group_rows
    from harness.store import run_store

    reads: list[Path] = []
    real = run_store.StoredJob._arrow_table

    def counted(self: run_store.StoredJob):  # noqa: ANN202
        reads.append(self.path)
        return real(self)

    monkeypatch.setattr(run_store.StoredJob, "_arrow_table", counted)
    query = GroupQuery(by=["label"], resamples=0)
    jobs = select_jobs(SCALE_BASE, query)
    rows = stored_group_rows(SCALE_BASE, query, jobs=jobs)
    assert rows and sorted(reads) == sorted(job.path for _m, job in jobs)
    assert not any(job._read or job._parsed for _m, job in jobs)


def test_groups_keeps_tables_from_the_plan_within_a_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables kept from the plan for the breakdown are bounded (`KEEP_BUDGET` bytes of
    Arrow, then at most one table more): past it a table is planned from its columns and read
    again at its breakdown, with the same rows. Without it a folder's every table was held at
    once (200 tables of a 1M-row corruption suite: ~15 GB)."""
    from harness.analysis import stored_groups
    from harness.analysis.stored_groups import GroupQuery, select_jobs, stored_group_rows

    query = GroupQuery(by=["label"], resamples=0)
    want = stored_group_rows(SCALE_BASE, query, jobs=select_jobs(SCALE_BASE, query))
    one = read_job(next((SCALE_BASE / "runs").glob("*/jobs/*"))).read_arrow().nbytes
    held: list[int] = []
    real = stored_groups.once_per_condition

    def seen(planned):  # noqa: ANN001, ANN202
        held.append(sum(t.nbytes for (_m, job), *_ in planned for t in job._read.values()))
        return real(planned)

    monkeypatch.setattr(stored_groups, "once_per_condition", seen)
    monkeypatch.setattr(stored_groups, "KEEP_BUDGET", 2 * one, raising=False)
    jobs = select_jobs(SCALE_BASE, query)
    assert len(jobs) > 4
    assert stored_group_rows(SCALE_BASE, query, jobs=jobs) == want
    assert held and held[0] <= 3 * one
    assert not any(job._read or job._parsed for _m, job in jobs)
