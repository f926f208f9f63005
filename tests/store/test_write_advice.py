"""A refused write into a results folder says the fix for its cause: "free space" was the advice
for a file size limit too (`ulimit -f`, EFBIG), where freeing space changes nothing."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from harness.store.run_store import _write_error
from harness.store.write_advice import write_advice


@pytest.mark.parametrize(
    ("code", "said", "not_said"),
    [
        (errno.EFBIG, "ulimit -f", "free space"),
        (errno.ENOSPC, "free space", "writable"),
        (errno.EDQUOT, "quota", "writable"),
        (errno.EACCES, "writable", "free space"),
        (errno.EROFS, "writable", "free space"),
        (errno.EIO, "free space or make the folder writable", "ulimit"),
    ],
)
def test_the_advice_follows_the_cause(code: int, said: str, not_said: str) -> None:
    advice = write_advice(OSError(code, "refused"))
    assert said in advice and not_said not in advice


def test_a_results_file_over_the_size_limit_is_not_told_to_free_space() -> None:
    err = OSError(errno.EFBIG, "File too large", "out/manifest.json")
    message = str(_write_error(Path("out/manifest.json"), err))
    assert message.startswith("cannot write results file out/manifest.json: File too large; ")
    assert "ulimit -f" in message and "free space" not in message
    assert "finished jobs are kept" in message
