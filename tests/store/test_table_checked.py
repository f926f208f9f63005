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
