"""A typed record in a sealed JSON file: read it back failing closed, or render it for writing.

Reading checks, in order: the file is readable JSON, its `schema_version` is one this harness
knows (a newer one is refused with a message saying so, before anything else is trusted), its
checksum matches (harness.store.checksums), and the record validates against its type. Each
failure is one `ResultsError` line naming the file; a reader never sees a half-valid record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from harness.core.errors import ResultsError
from harness.core.manifest import SCHEMA_VERSION, Record
from harness.core.validation import format_validation_error
from harness.store import checksums

R = TypeVar("R", bound=Record)


def read_record(path: Path, kind: type[R]) -> R:
    """The record of type `kind` stored at `path`; any damage or mismatch is a ResultsError."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"results file {path} is unreadable ({err}); it was damaged") from None
    return parse_record(text, path, kind)


def parse_record(text: str | bytes, path: Path, kind: type[R]) -> R:
    """The record of type `kind` in `text`, read from `path` (named in errors): the checks of
    `read_record` on bytes already read (the result cache reads them without following links)."""
    try:
        raw = json.loads(text)
    except UnicodeDecodeError as err:
        raise ResultsError(f"results file {path} is unreadable ({err}); it was damaged") from None
    except json.JSONDecodeError as err:
        raise ResultsError(
            f"results file {path} is not valid JSON ({err.msg}); it was damaged"
        ) from None
    except RecursionError:
        raise ResultsError(
            f"results file {path} is nested too deeply to be a results record; it was damaged"
        ) from None
    _refuse_newer(raw, path)
    checksums.verify(raw, path)
    if "schema_version" not in raw:
        raise ResultsError(
            f"results file {path} has no schema_version; it was damaged or written by another "
            "tool — rerun to rewrite it"
        )
    try:
        return kind.model_validate(raw)
    except ValidationError as err:
        raise ResultsError(
            f"results file {path} is not a valid {_what(kind)}: "
            f"{format_validation_error(err, prefix='', limit=3)}; it was damaged or written by "
            "another tool — rerun to rewrite it"
        ) from None


def record_text(record: Record) -> str:
    """The JSON text of `record` as stored: its set fields plus a checksum, keys sorted."""
    return json.dumps(checksums.seal(record.to_json()), indent=2, sort_keys=True)


class NewerSchemaError(ResultsError):
    """A results file of a newer harness (its `schema_version` is above this one's): not
    damaged, only unreadable here."""

    def __init__(self, message: str, version: int) -> None:
        super().__init__(message)
        self.version = version


def _refuse_newer(raw: Any, path: Path) -> None:
    """A layout newer than this harness knows is refused before its checksum is trusted."""
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"results file {path} has schema version {version}, newer than this harness reads "
            f"(up to {SCHEMA_VERSION}); upgrade robustness-harness to read it",
            version,
        )


def _what(kind: type[Record]) -> str:
    """'RunManifest' -> 'run manifest' for messages."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.__name__).lower()
