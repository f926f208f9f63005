"""Render Markdown as GitHub does (cmark-gfm) and list what became markup."""

from __future__ import annotations

from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def render(markdown: str) -> str:
    """HTML as GitHub renders a comment (tables, autolinks, strikethrough; raw HTML kept)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def tags_and_text(markdown: str) -> tuple[list[tuple[str, dict[str, str | None]]], str]:
    """The tags of the rendered HTML and its text (whitespace runs folded to one space)."""
    parser = _Tags()
    parser.feed(render(markdown))
    return parser.tags, " ".join("".join(parser.text).split())


def live_links(markdown: str) -> list[str]:
    """Every href/src a reader could follow or a browser would load, and raw HTML elements."""
    tags, _ = tags_and_text(markdown)
    out = [f"{t}:{a.get('href') or a.get('src')}" for t, a in tags if t in {"a", "img"}]
    out += [t for t, _a in tags if t in {"script", "iframe", "b", "span", "div", "style"}]
    return out
