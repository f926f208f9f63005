"""The one escaper: Markdown text renders as itself on GitHub (cmark-gfm), CSV cells cannot run
as formulas, terminal text cannot act on the terminal, HTML text is text."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.analysis.check import CheckReport, CheckRow
from harness.analysis.check_policy import MetricRule
from harness.present.escaping import csv_cell, md_code, md_text, slug, strip_control, terminal_text
from harness.present.figure_style import axis_label, label, plain_label
from harness.present.junit import render_junit
from harness.present.templating import environment
from tests.present.markdown_check import live_links, tags_and_text
from tests.present.synthetic import write_synthetic_run
from tests.reliability.hostile.corpus import cli

# Markdown's special characters, whitespace and letters (no `@`: an e-mail address becomes a
# mailto: link on GitHub whatever the escaping; see harness/present/escaping.py)
MARKUP = st.text(
    alphabet=st.sampled_from(list("\\`*_{}[]()#+-.!|~<>&:/=\"' \t\nwxyz019éW")), max_size=40
)
CONTEXTS = {  # where the harness puts escaped text, and the tags that container renders as
    "table": ("| h |\n|---|\n| {} |", {"table", "thead", "tr", "th", "tbody", "td"}),
    "quote": ("> {}", {"blockquote", "p"}),
    "heading": ("### {}", {"h3"}),
    "paragraph": ("note: {}", {"p"}),
}


def _plain(text: str) -> str:
    return " ".join(strip_control(text).split())


@pytest.mark.parametrize("context", sorted(CONTEXTS))
@settings(max_examples=300, deadline=None)
@given(text=MARKUP)
def test_markdown_text_renders_as_itself(context: str, text: str) -> None:
    template, container = CONTEXTS[context]
    tags, rendered = tags_and_text(template.format(md_text(text)))
    assert {t for t, _a in tags} <= container, (text, md_text(text), tags)
    expected = _plain(text)
    if context == "table":
        expected = " ".join(["h", expected]).strip()
    if context == "paragraph":
        expected = " ".join(["note:", expected]).strip()
    assert rendered == expected, (text, md_text(text))


@pytest.mark.parametrize(
    "hostile",
    [
        "[click](https://evil.example/)",
        "![x](https://evil.example/t.png)",
        "see https://evil.example/ or www.evil.example",
        "<img src=x onerror=alert(1)>",
        "[ref]: https://evil.example/",
        "`code` **bold** _it_ ~~gone~~",
    ],
)
def test_hostile_markdown_is_inert_in_every_context(hostile: str) -> None:
    for template, _container in CONTEXTS.values():
        md = template.format(md_text(hostile))
        assert live_links(md) == [], md
        assert _plain(hostile) in tags_and_text(md)[1]


def test_markdown_keeps_plain_names_readable() -> None:
    assert md_text("top1_acc") == "top1_acc"
    assert md_text("digits-cnn@prune50") == "digits-cnn@prune50"
    assert md_text("p (adj)") == "p (adj)"
    assert md_text("0.729 [0.667, 0.791]") == r"0.729 \[0.667, 0.791\]"
    assert md_text("a|b\nc") == r"a\|b c"


def test_code_span_cannot_be_closed_early() -> None:
    for text in ["abc123", "a`b", "``x``", "`"]:
        tags, rendered = tags_and_text(f"x {md_code(text)} y")
        assert [t for t, _a in tags] == ["p", "code"] and text in rendered


@pytest.mark.parametrize(
    "value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "\nx", "|x", '=HYPERLINK("http://x")']
)
def test_csv_formulas_are_neutralised(value: str) -> None:
    assert csv_cell(value) == "'" + value


def test_csv_leaves_numbers_and_plain_text() -> None:
    assert csv_cell(-1.5) == -1.5 and csv_cell(3) == 3 and csv_cell(None) is None
    assert csv_cell("model-a") == "model-a"


def test_terminal_text_shows_control_characters() -> None:
    assert terminal_text("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert terminal_text("line\nbreak\ttab\rcr") == "line\\nbreak\\ttab\\rcr"
    assert terminal_text("\x9b2J\x7f") == "\\x9b2J\\x7f"
    assert terminal_text("plain — text †1") == "plain — text †1"


def test_terminal_text_shows_invisible_bidi_and_zero_width_characters() -> None:
    """U+202E (right-to-left override) would show the rest of a table row reversed, numbers
    included ('0.850' as '058.0'); a zero-width space makes two names look the same."""
    assert terminal_text("m\u202e 0.850") == "m\\u202e 0.850"
    assert terminal_text("digits-cnn\u200b") == "digits-cnn\\u200b"
    for char in "\u061c\u200e\u200f\u2028\u2029\u202a\u2066\u2069\u2060\ufeff":
        assert terminal_text(char) == f"\\u{ord(char):04x}"
    assert terminal_text("ação, 数字, עברית") == "ação, 数字, עברית"  # visible text stays


def test_leaderboard_rows_cannot_be_reordered_by_a_stored_name(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path / "results", models={"evil\u202e": 0.9, "good\u200b": 0.8})
    code, text, err = cli("leaderboard", tmp_path / "results", "--width", "0")
    assert code == 0, err
    assert "\u202e" not in text and "\u200b" not in text
    assert "evil\\u202e" in text and "good\\u200b" in text


def test_html_is_escaped_and_control_characters_dropped() -> None:
    template = environment().from_string('<p title="{{ v }}">{{ v }}</p>')
    out = template.render(v='<script>"x"</script>\x1b\x00')
    assert (
        out
        == '<p title="&lt;script&gt;&#34;x&#34;&lt;/script&gt;">&lt;script&gt;&#34;x&#34;&lt;/script&gt;</p>'
    )


def test_slug_is_file_safe_and_distinct() -> None:
    a, b = slug("../../etc/passwd"), slug("..-..-etc-passwd")
    assert a != b and "/" not in a and not a.startswith(".")


@pytest.mark.parametrize(
    "char", list("\u202e\u202a\u2066\u2069\u200b\u200d\u200f\u2060\ufeff\u061c")
)
def test_html_markdown_and_figures_show_invisible_characters_as_the_terminal_does(
    char: str,
) -> None:
    """A group value `\\u202eevil` drew `(05=n) live` for `evil (n=50)` in the per-group figure
    (the override reversed the label, count included) and reversed the rest of a report note;
    `good\\u200b` and `good` were two groups that looked the same in HTML, Markdown and figures,
    while the terminal showed `good\\u200b`."""
    shown = f"\\u{ord(char):04x}"
    name = f"evil{char} (n=50)"
    assert strip_control(name) == f"evil{shown} (n=50)"
    assert md_text(name) == f"evil{shown.replace(chr(92), chr(92) * 2)} (n=50)"
    html = environment().from_string("<td>{{ v }}</td>").render(v=name)
    assert char not in html and shown in html
    for draw in (label, plain_label, axis_label):
        assert char not in draw(name) and shown in draw(name).replace("\\\\", "\\")


def test_visible_right_to_left_text_is_left_as_it_is() -> None:
    for text in ("עברית", "العربية", "ação 数字", "👍🏽"):
        assert strip_control(text) == text


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_the_report_and_markdown_board_show_invisible_characters(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path / "results", models={"evil\u202e": 0.9, "good\u200b": 0.8})
    code, md, err = cli("leaderboard", tmp_path / "results", "--format", "md")
    assert code == 0, err
    assert "\u202e" not in md and "\u200b" not in md
    code, _out, err = cli("report", tmp_path / "results", "--out", tmp_path / "site")
    assert code == 0, err
    for page in (tmp_path / "site").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "\u202e" not in text and "\u200b" not in text, page.name
    summary = (tmp_path / "site" / "summary.md").read_text(encoding="utf-8")
    assert "\u202e" not in summary and "\u200b" not in summary


def test_the_junit_report_parses_whatever_the_names_hold() -> None:
    """A group value `x\\uffff` (XML 1.0 forbids U+FFFE and U+FFFF) made `harness check --junit`
    write a file no XML parser reads ("not well-formed (invalid token)"): CI lost the gate's
    report (probe38)."""
    key = "group_acc[group=x\uffff,group_by=g]"
    row = CheckRow(
        "m\ufffe", "t", "fairness", key, 0.9, 0.5, "fail", "regression y\uffff",
        test="interval_z", p_value=0.001, p_adjusted=0.01, rule=MetricRule(alpha=0.05),
    )  # fmt: skip
    report = CheckReport(rows=[row], method="m", baseline=Path("b"), current=Path("c"))
    case = ET.fromstring(render_junit(report).split("\n", 1)[1]).find("testcase")
    assert case is not None
    assert case.get("name") == "fairness: group_acc[group=x\\uffff,group_by=g]"
    assert case.get("classname") == "harness.t.m\\ufffe"
    assert strip_control("x\uffff") == "x\\uffff" and md_text("\ufffe") == "\\\\ufffe"
    assert terminal_text("x\uffff") == "x\\uffff"


def test_figure_labels_cut_short_keep_their_end() -> None:
    """Group values (or model names) that differ only past the limit drew the same label:
    `CCC...&p (n=25)` and `CCC...&q (n=25)` both read `CCCC…` in the per-group figure, the
    groups and their n lost (and two long model names `...-fp16`, `...-int8` one legend
    entry). A label cut short keeps its start and its end."""
    for draw in (label, plain_label):
        p, q = draw("C" * 300 + "&p (n=25)", 40), draw("C" * 300 + "&q (n=25)", 40)
        assert p != q and len(p) == len(q) == 40, (p, q)
        assert p.startswith("CCCC") and p.endswith("&p (n=25)") and "…" in p, p
        assert draw("x" * 100 + "-fp16").endswith("-fp16")
        assert draw("short (n=3)", 40) == "short (n=3)"
