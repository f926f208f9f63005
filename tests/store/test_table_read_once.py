"""A job's per-sample table is read from disk once: read_job checks the file's bytes against
job.json and the table is parsed from those bytes, once, and kept with the job."""

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
    (copy / TABLE_FILE).write_bytes(b"replaced after the check")  # not read again
    table = job.table()
    assert len(table) == 100 and job.table() is table  # parsed once, kept
    job.forget_table()
    with pytest.raises(ResultsError, match=r"results file .*samples\.parquet is unreadable"):
        job.table()  # forgotten: read again, from the file as it is now


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
