"""Numeric artifacts (adversarial examples, image galleries): written to arrays.npz, checksummed,
read back exactly, never unpickled; a tampered file fails closed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import ResultsError
from harness.store.run_store import ARRAYS_FILE, RunStore, read_job
from tests.store.records import job_record


def test_arrays_round_trip_and_are_checksummed(tmp_path: Path) -> None:
    store = RunStore.open_for_writing(tmp_path, "r1")
    arrays = {
        "adv_clean": np.random.default_rng(0).random((8, 1, 8, 8), dtype=np.float32),
        "adv_label": np.arange(8, dtype=np.int64),
    }
    path = store.write_job(
        record=job_record("m", "adversarial"), table=None, metrics=[], artifacts={}, arrays=arrays
    )
    job = read_job(path)
    assert ARRAYS_FILE in job.record.files
    back = job.arrays()
    assert back.keys() == arrays.keys()
    for name, value in arrays.items():
        assert back[name].dtype == value.dtype and np.array_equal(back[name], value)
    raw = bytearray((path / ARRAYS_FILE).read_bytes())
    raw[-30] ^= 0xFF
    (path / ARRAYS_FILE).write_bytes(bytes(raw))
    with pytest.raises(ResultsError, match="does not match its checksum"):
        read_job(path)


def test_no_arrays_no_file(tmp_path: Path) -> None:
    store = RunStore.open_for_writing(tmp_path, "r1")
    path = store.write_job(record=job_record("m", "accuracy"), table=None, metrics=[], artifacts={})
    assert not (path / ARRAYS_FILE).exists()
    assert read_job(path).arrays() == {}


@pytest.mark.parametrize(
    "arrays",
    [{"../x": np.zeros(2)}, {"ok": np.array(["a", "b"], dtype=object)}, {"ok": [1, 2]}],
    ids=["bad-name", "object-dtype", "not-an-array"],
)
def test_arrays_must_be_plain_numbers(tmp_path: Path, arrays: dict) -> None:
    store = RunStore.open_for_writing(tmp_path, "r1")
    with pytest.raises(ValueError, match="array artifact"):
        store.write_job(
            record=job_record("m", "x"), table=None, metrics=[], artifacts={}, arrays=arrays
        )
    assert not list((tmp_path / "runs").glob("*/jobs/m*"))
