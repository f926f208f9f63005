"""Escaping of untrusted text (model names, metadata, group values) for HTML, Markdown and CSV.

Everything that came from a spec, a dataset or a results file is untrusted: a `|` or newline in
a model name must not break a Markdown table, `<script>` must stay text in HTML, and a cell that
starts like a formula must not run in a spreadsheet.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def html_text(value: Any) -> str:
    """Text for an HTML element body or a quoted attribute value."""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def md_cell(value: Any) -> str:
    """A Markdown table cell that cannot break the table or inject HTML/links."""
    text = _CONTROL.sub("", str(value)).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_text(value: Any) -> str:
    """Inline Markdown text (headings, notes): one line, special characters escaped."""
    return md_cell(value)


def csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (OWASP: prefix with a single quote)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def slug(value: str) -> str:
    """A file-name-safe, URL-safe page name for an untrusted name (stable, collision-resistant)."""
    import hashlib

    base = re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-.")[:40] or "x"
    return f"{base}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"


def url_component(value: str) -> str:
    """A path component for an href (percent-encoded)."""
    return quote(value, safe="")
