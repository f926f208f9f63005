"""A data value as an error line quotes it: its repr, cut to a readable length.

A cell of a user's file can hold 10,000 characters (a review in the label column, a base64
image in an id column); quoted whole, the one-line error that names it is unreadable. A cut
value says how long it was, so the user can tell it from a short one."""

from __future__ import annotations

QUOTED_CHARS = 80
"""The most characters of a value's repr an error line shows."""


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """`repr(value)`, or its first `limit` characters, `...` and the value's length when the
    repr is longer (`'AAAA...' (10,000 characters)`)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{text[:limit]}...{size}"
