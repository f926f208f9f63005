"""One-line messages for pydantic validation errors (spec keys, suite configs, stored records)."""

from __future__ import annotations

import re

from pydantic import ValidationError


def format_validation_error(err: ValidationError, *, prefix: str, limit: int | None = None) -> str:
    """One line per problem: `prefix.key.path: message (got value)`; joined with '; '.

    `limit` keeps the first problems only and says how many more there were.
    """
    parts = []
    for e in err.errors():
        path = ".".join(_loc_part(p) for p in (prefix, *e["loc"]) if p != "")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")  # pydantic's label for our own checks
        got = ""
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e:
            text = repr(e["input"])
            got = f" (got {text[:60]}{'...' if len(text) > 60 else ''})"
        parts.append(f"{path}: {msg}{got}")
    if limit is not None and len(parts) > limit:
        parts = [*parts[:limit], f"(+{len(parts) - limit} more)"]
    return "; ".join(parts)


def _loc_part(part: object) -> str:
    """A key as written when it is plain; else its repr, so a hostile key (newline, control
    characters, markup) cannot break the one-line error or the terminal."""
    text = str(part)
    return text if re.fullmatch(r"[\w.@+()\[\]-]+", text, flags=re.ASCII) else repr(text)
