"""`harness.store.atomic` writes under a folder that is a link to nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.store.atomic import write_text
from harness.store.links import LinkRefusedError


def test_a_write_into_a_folder_linked_to_nothing_names_the_link(tmp_path: Path) -> None:
    """`mkdir(parents=True, exist_ok=True)` of a link to a missing folder raised
    `FileExistsError: [Errno 17] File exists: '<folder>'` before the link check ran, so the
    line a command printed (`error: File exists: cards/m`) did not say a link was in the way.
    The link is now refused first, naming it and where it points."""
    folder = tmp_path / "folder"
    folder.symlink_to(tmp_path / "nowhere")
    with pytest.raises(LinkRefusedError, match="refusing to write through symbolic link .*nowhere"):
        write_text(folder / "file.txt", "x")
    assert folder.is_symlink() and not (tmp_path / "nowhere").exists()
