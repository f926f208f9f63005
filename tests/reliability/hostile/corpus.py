"""Helpers shared by the corpus: in-process CLI calls, the one-line rule, resealed edits."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cli.main import main
from harness.core.hashing import file_sha256
from harness.store.checksums import seal


def cli(*args: str | Path) -> tuple[int, str, str]:
    """`harness ...` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_error_line(stderr: str) -> str:
    """The single `error: ...` line a refusal prints; fails on a traceback or a second line."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and len(lines) == 1, stderr
    return errors[0]


def edit_metrics(job: Path, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    """Rewrite a job's metrics.json through `edit` and reseal job.json, as a tool that 'fixes
    up' a results folder would (so only the harness's own reading can catch it)."""
    path = job / "metrics.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    record = json.loads((job / "job.json").read_text())
    record["files"] = {name: file_sha256(job / name) for name in record["files"]}
    (job / "job.json").write_text(json.dumps(seal(record), indent=2, sort_keys=True))
