"""The one escaper: untrusted text for every output format the harness writes.

Everything that came from a spec, a dataset or a results file is untrusted (model names,
metadata, group values, notes). Per format:

- HTML: Jinja2 autoescape does the escaping; `strip_control` (the environment's `finalize`)
  drops control characters first (`harness.present.templating`) and shows the invisible
  bidirectional and zero-width characters as escapes (`\\u202e`), as every format does.
- Markdown: `md_text` makes one inert line: a `|` or newline cannot break a table, HTML stays
  text, and no link, image, emphasis or URL autolink (`https://`, `www.`) can render.
- CSV: `csv_cell` neutralises spreadsheet formulas (OWASP: prefix with a single quote).
- Terminal: `terminal_text` shows control characters as escapes (`\\n`, `\\x1b`), so a name
  cannot move the cursor, recolour the terminal or break a table line.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|")
# C0 controls except tab, newline and carriage return, and DEL: dropped from HTML and Markdown
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# every control character a terminal acts on (C0, DEL, C1), and the invisible formatting
# characters a terminal renders by: bidirectional overrides, embeddings, isolates and marks
# (U+202E reverses the rest of a table row, numbers included) and zero-width characters (two
# models that look the same), and the line and paragraph separators
_TERMINAL_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufffe\uffff]"
)
# the invisible formatting characters among them: shown as escapes in every format (HTML,
# Markdown, figures, JUnit too), since U+202E draws `evil (n=50)` as `(05=n) live` in a figure
# label or reverses the rest of a report's note, and `good\u200b` looks like `good`; with the
# noncharacters U+FFFE and U+FFFF, which XML 1.0 forbids (a JUnit report holding one does not parse)
_INVISIBLE = re.compile(
    r"[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufffe\uffff]"
)
_TERMINAL_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Markdown: characters that make markup anywhere in a line (code, emphasis, links, strikethrough,
# table cells); `_` only where it can open or close emphasis (not inside a word: `top1_acc` stays)
_MD_ALWAYS = re.compile(r"([\\`*\[\]~|])")
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# markup that only starts a line or ends a heading: `# x`, `x #`, `- x`, `+ x`, `1. x`
_MD_HASH = re.compile(r"(?:^|(?<=\s))#")
_MD_LIST = re.compile(r"^([-+])(?=\s|$)|^(\d{1,9})([.)])(?=\s|$)")
# what GitHub autolinks without markup: scheme://... and www.<domain> (an e-mail address still
# becomes a mailto: link: cmark-gfm finds those after unescaping, so no Markdown escape stops it)
_MD_URL_SCHEME = re.compile(r"://")
_MD_WWW = re.compile(r"(?i)(?<![a-z0-9])(www)\.")


def strip_control(value: Any) -> str:
    """The text of `value` without control characters (tab and newlines kept), its invisible
    bidirectional and zero-width characters shown as escapes (`\\u202e`, `\\u200b`) as the
    terminal shows them."""
    return _INVISIBLE.sub(_terminal_escape, _CONTROL.sub("", str(value)))


def md_text(value: Any) -> str:
    """Markdown text for a table cell, a heading or a quoted line: one line, inert.

    Markup characters are backslash-escaped and `&`, `<`, `>` become entities, so the text
    renders as itself (checked against GitHub's cmark-gfm in the tests); `://` and `www.` are
    escaped so that GitHub's URL autolinks cannot fire either.
    """
    text = strip_control(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    text = text.strip()  # Markdown drops outer whitespace; leading spaces would make a code block
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_HASH.sub(r"\\#", text)
    text = _MD_LIST.sub(_escape_list_marker, text)
    text = _MD_URL_SCHEME.sub(r"\\://", text)
    text = _MD_WWW.sub(r"\1\\.", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_list_marker(match: re.Match[str]) -> str:
    if match.group(1):
        return "\\" + match.group(1)
    return f"{match.group(2)}\\{match.group(3)}"


def md_code(value: Any) -> str:
    """An inline code span of one line (for hashes and identifiers): no backtick can close it."""
    text = strip_control(value).replace("\r", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (OWASP: prefix with a single quote)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def terminal_text(value: Any) -> str:
    """Text for a terminal: control characters shown as escapes (`\\n`, `\\x1b`), never acted on;
    invisible bidirectional and zero-width characters too (`\\u202e`, `\\u200b`)."""
    return _TERMINAL_CONTROL.sub(_terminal_escape, str(value))


def _terminal_escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    return _TERMINAL_NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def slug(value: str) -> str:
    """A file-name-safe, URL-safe page name for an untrusted name (stable, collision-resistant)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", value).strip("-.")[:40] or "x"
    return f"{base}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"
