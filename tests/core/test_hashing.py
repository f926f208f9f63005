"""One file hash for weights, model files and stored results."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

from harness.core import hashing, weights
from harness.core.hashing import CHUNK_BYTES, file_sha256
from harness.store import run_store


def test_file_sha256_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * (CHUNK_BYTES // 256 * 2 + 3)  # two chunks and a partial one
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_sha256(empty) == hashlib.sha256(b"").hexdigest()


def test_weights_and_store_share_the_one_hash() -> None:
    assert weights.file_sha256 is hashing.file_sha256
    assert run_store.file_sha256 is hashing.file_sha256


def test_folder_digests_follow_every_file_outside_cache(tmp_path: Path) -> None:
    from harness.core.hashing import folder_digest, folder_sha256

    (tmp_path / "sub").mkdir()
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "sub" / "weights.bin").write_bytes(b"abc")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "lock").write_text("x")
    assert folder_sha256(tmp_path) == {
        "config.json": hashlib.sha256(b"{}").hexdigest(),
        "sub/weights.bin": hashlib.sha256(b"abc").hexdigest(),
    }
    before = folder_digest(tmp_path)
    (tmp_path / ".cache" / "lock").write_text("y")
    assert folder_digest(tmp_path) == before
    (tmp_path / "sub" / "weights.bin").write_bytes(b"abcd")  # another size: never the kept digest
    assert folder_digest(tmp_path) != before
    (tmp_path / "sub" / "weights.bin").rename(tmp_path / "weights.bin")
    assert "weights.bin" in folder_sha256(tmp_path)


def test_model_folders_share_the_one_folder_hash() -> None:
    from harness.adapters import hf_source
    from harness.suites.adversarial import suite

    assert hf_source.folder_sha256 is hashing.folder_sha256
    assert suite.folder_digest is hashing.folder_digest


def test_a_file_replaced_with_its_old_size_and_mtime_is_hashed_again(tmp_path: Path) -> None:
    """Each file's digest is kept while its stat stays. A checkpoint copied over the old one
    with the old one's size and modification time (`cp -p`, `rsync -a`, `shutil.copy2` and
    archives set the source's mtime; a fine-tuned model's weights keep their size) kept the old
    digest in a long-lived process (a notebook's `harness.evaluate`): the model's identity, and
    every job key, named the old weights. The inode's change time, which no tool sets, is kept
    with them."""
    import os

    from harness.core.hashing import folder_sha256

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"old weights")
    before = weights.stat()
    assert folder_sha256(tmp_path) == {
        "model.safetensors": hashlib.sha256(b"old weights").hexdigest()
    }
    weights.write_bytes(b"new weights")  # same size
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old mtime, as cp -p
    assert weights.stat().st_size == before.st_size
    assert folder_sha256(tmp_path) == {
        "model.safetensors": hashlib.sha256(b"new weights").hexdigest()
    }


def test_a_file_rewritten_within_one_tick_of_the_clock_is_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest kept per (path, inode, size, mtime, ctime) named the old bytes when the new
    ones came within one tick of the kernel's coarse clock (ctime is a jiffy clock, 1-10 ms,
    on ext4 and tmpfs before Linux 6.13; whole seconds on some filesystems): a same-size rewrite
    put back to the old mtime, as `cp -p` does, kept the old ctime too. As git does for its index
    ("racy clean" files), a file changed in the last seconds is hashed, not kept."""
    import os

    from harness.core.hashing import folder_sha256

    coarse = time.time_ns() // 10**9 * 10**9  # this second's tick: every change lands on it
    real_stat = Path.stat

    def stat(self: Path, *, follow_symlinks: bool = True) -> Any:
        return _Ctime(real_stat(self, follow_symlinks=follow_symlinks), coarse)

    monkeypatch.setattr(Path, "stat", stat)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"old weights")
    before = real_stat(weights)
    assert (
        folder_sha256(tmp_path)["model.safetensors"] == hashlib.sha256(b"old weights").hexdigest()
    )
    weights.write_bytes(b"new weights")  # same size, same inode, same (coarse) ctime
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))  # the old mtime, as cp -p
    assert (
        folder_sha256(tmp_path)["model.safetensors"] == hashlib.sha256(b"new weights").hexdigest()
    )


def test_a_file_left_alone_for_seconds_is_hashed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model folder's files, unchanged for seconds, are hashed once a process (every job of
    a spec keys the same folder)."""
    from harness.core import hashing

    settled = time.time_ns() - 60 * 10**9  # changed a minute ago
    real_stat = Path.stat
    monkeypatch.setattr(
        Path,
        "stat",
        lambda self, *, follow_symlinks=True: _Ctime(
            real_stat(self, follow_symlinks=follow_symlinks), settled
        ),
    )
    (tmp_path / "config.json").write_text("{}")
    hashed: list[Path] = []
    real_file_sha256 = hashing.file_sha256
    monkeypatch.setattr(
        hashing, "file_sha256", lambda path: hashed.append(path) or real_file_sha256(path)
    )
    assert hashing.folder_sha256(tmp_path) == hashing.folder_sha256(tmp_path)
    assert hashed == [tmp_path / "config.json"]


def test_a_settled_file_rewritten_with_its_old_size_and_mtime_is_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept digest (its file unchanged for a minute) is dropped when the change time moves,
    size and mtime as they were (`cp -p` over it): the key holds the ctime."""
    import os

    from harness.core.hashing import folder_sha256

    ctime = [time.time_ns() - 60 * 10**9]
    real_stat = Path.stat
    monkeypatch.setattr(
        Path,
        "stat",
        lambda self, *, follow_symlinks=True: _Ctime(
            real_stat(self, follow_symlinks=follow_symlinks), ctime[0]
        ),
    )
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"old weights")
    before = real_stat(weights)
    assert (
        folder_sha256(tmp_path)["model.safetensors"] == hashlib.sha256(b"old weights").hexdigest()
    )
    weights.write_bytes(b"new weights")
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    ctime[0] += 10**9  # the rewrite's change time, still long ago (the clock aside)
    assert (
        folder_sha256(tmp_path)["model.safetensors"] == hashlib.sha256(b"new weights").hexdigest()
    )


class _Ctime:
    """A stat result whose change time reads `ctime_ns` (a coarse or an old clock)."""

    def __init__(self, real: os.stat_result, ctime_ns: int) -> None:
        self._real, self.st_ctime_ns = real, ctime_ns

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
