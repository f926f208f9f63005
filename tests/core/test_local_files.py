"""What a key naming a file names instead, in words."""

from __future__ import annotations

import os
from pathlib import Path

from harness.core.local_files import not_a_file


def test_a_device_or_pipe_is_not_said_to_be_missing(tmp_path: Path) -> None:
    """A synonyms file or model file key naming a device (/dev/null) or a named pipe read
    "file not found", sending the user looking for a file where one exists."""
    fifo = tmp_path / "words.json"
    os.mkfifo(fifo)
    for path in (Path("/dev/null"), fifo):
        assert not_a_file(path, "synonyms file") == (
            "is a special file (a device, pipe or socket), not a synonyms file"
        )
    assert not_a_file(tmp_path / "nowhere.json") == "file not found"
    assert not_a_file(tmp_path, "synonyms file") == "is a folder, not a synonyms file"
    (tmp_path / "w.json").write_text("{}")
    assert not_a_file(tmp_path / "w.json") is None
