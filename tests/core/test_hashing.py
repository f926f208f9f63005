"""One file hash for weights, model files and stored results."""

from __future__ import annotations

import hashlib
from pathlib import Path

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
