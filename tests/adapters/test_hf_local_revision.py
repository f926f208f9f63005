"""A `revision` beside a local model folder is refused: a folder has no revisions, and
transformers loads the folder's files whatever `revision` says. A spec pinning `path:
org/model` at `revision: <sha>` ran a folder `org/model` that happened to lie beside it (a clone at
another commit, say) under the pinned revision's name, with no word of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.core.errors import HarnessError
from tests.adapters.builders import build

pytest.importorskip("transformers")


def test_a_revision_beside_a_local_folder_is_refused(hf_text_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(hf_text_dir, tmp_path / "org" / "model")
    with pytest.raises(HarnessError) as info:
        build("hf-text", {"path": "org/model", "revision": "abc123"}, tmp_path, name="m")
    message = str(info.value)
    assert "\n" not in message and message.startswith("model 'm': revision 'abc123'")
    assert str(tmp_path / "org" / "model") in message and "drop revision" in message
    adapter = build("hf-text", {"path": "org/model"}, tmp_path, name="m")
    assert adapter.describe()["revision"] is None


def test_remote_code_in_a_local_folder_needs_no_revision(hf_text_dir: Path, tmp_path: Path) -> None:
    """trust_remote_code demands a pinned revision for a hub id. A local folder has none (its
    code is its files, hashed into the identity): it was refused without one, and the revision
    it then had to give was never read."""
    from harness.adapters.hf_source import HFSourceConfig, resolve_source

    config = HFSourceConfig(path=str(hf_text_dir), trust_remote_code=True)
    assert resolve_source(config, name="m", base_dir=tmp_path)[1] == hf_text_dir
    pinned = HFSourceConfig(path=str(hf_text_dir), trust_remote_code=True, revision="abc123")
    with pytest.raises(HarnessError, match="drop revision"):
        resolve_source(pinned, name="m", base_dir=tmp_path)
    with pytest.raises(ValueError, match=r"write a local folder's path as \./folder"):
        HFSourceConfig(path="org/model", trust_remote_code=True)
    from harness.adapters.hf_source import remote_code_uses

    assert remote_code_uses(config) == [
        f"code of the model folder {hf_text_dir} (trust_remote_code)"
    ]
