"""The folder lock (harness/store/lock.py) never writes into a file outside its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.store.lock import FolderLock


def _lock(folder: Path) -> FolderLock:
    return FolderLock(folder, name=".report-lock", what="report folder", advice="wait")


def test_a_lock_file_hard_linked_to_another_file_is_refused_unwritten(tmp_path: Path) -> None:
    """`.report-lock` a hard link to a file elsewhere (O_NOFOLLOW does not see one): the holder
    truncated that file and wrote its pid into it ("precious" became 0 bytes, then JSON)."""
    folder = tmp_path / "site"
    folder.mkdir()
    mine = tmp_path / "mine.txt"
    mine.write_text("precious")
    os.link(mine, folder / ".report-lock")
    refused = pytest.raises(ResultsError, match=r"has 1 other name\(s\) \(hard links\)")
    with refused as err, _lock(folder):
        pass
    assert "\n" not in str(err.value) and str(folder / ".report-lock") in str(err.value)
    assert mine.read_text() == "precious"
    (folder / ".report-lock").unlink()  # as the line says: a new one is made
    with _lock(folder):
        assert (folder / ".report-lock").read_text().startswith("{")
    assert mine.read_text() == "precious"


def test_a_lock_file_that_is_not_a_plain_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".report-lock")
    with pytest.raises(ResultsError, match="is not a plain file"), _lock(tmp_path):
        pass
