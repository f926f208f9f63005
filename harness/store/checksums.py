"""Self-checking JSON records: a `checksum` field over the record's canonical JSON.

job.json already lists the sha256 of every file beside it; sealing job.json and manifest.json
themselves closes the last gap, so a flipped byte anywhere in a results folder is detected and
every reader (leaderboard, report, check, groups) fails closed instead of showing wrong numbers.
The checksum lives inside the file (not in a sidecar), so one atomic rename publishes both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness.core.errors import ResultsError

FIELD = "checksum"
_PREFIX = "sha256:"


def _digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return _PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal(record: dict[str, Any]) -> dict[str, Any]:
    """The record as it will read back from JSON, plus its checksum field."""
    plain = json.loads(json.dumps(record, default=str, allow_nan=False))
    plain.pop(FIELD, None)
    plain[FIELD] = _digest(plain)
    return plain


def verify(record: Any, path: Path) -> dict[str, Any]:
    """Return `record` if it is a sealed JSON object whose checksum matches; else ResultsError."""
    if not isinstance(record, dict):
        raise ResultsError(f"results file {path} is damaged: expected a JSON object")
    stated = record.get(FIELD)
    if not isinstance(stated, str):
        raise ResultsError(
            f"results file {path} has no checksum field; it was damaged, or written by a "
            "harness older than the checksummed format — rerun to rewrite it"
        )
    try:
        actual = _digest(record)
    except ValueError:  # NaN/inf cannot have been written by seal()
        actual = ""
    if stated != actual:
        raise ResultsError(
            f"results file {path} does not match its own checksum; it was modified or damaged "
            "— rerun the run (or restore the file) before using it"
        )
    return record
