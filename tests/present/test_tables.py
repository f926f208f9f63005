"""The one table writer: terminal layout (as pandas printed it before), Markdown, CSV, JSON."""

from __future__ import annotations

import csv
import io
import textwrap

import numpy as np
import pandas as pd
import pytest

from harness.present.tables import Table, to_csv, to_json, to_markdown, to_text

TABLES = [
    Table(["#", "rank", "model", "v"], [[1, 1, "a", "0.5 [1]"], [2, "—", "bbbbbb", "x"]]),
    Table(["#", "rank", "model"], [[1, 1, "a"], [2, 2, "bb"]]),
    Table(["g", "n", "z"], [["a", 93, "q"], ["a", 177, ""]]),
    Table(["a", "bbbb"], [["x", "zzz"], ["yy", "w"]]),
    Table(["a", "b"], [["x", ""], ["yy", " "]]),
    Table(["n", "x"], [[np.int64(5), "a"], [np.int64(12), "b"]]),
]


@pytest.mark.parametrize("table", TABLES)
def test_terminal_layout_is_the_one_pandas_printed(table: Table) -> None:
    frame = pd.DataFrame([list(r) for r in table.rows], columns=list(table.header))
    assert to_text(table) == frame.to_string(index=False)


def test_terminal_cells_cannot_act_on_the_terminal() -> None:
    out = to_text(Table(["name"], [["\x1b[2Jx\ny"]]))
    assert "\x1b" not in out and out.splitlines()[1].strip() == "\\x1b[2Jx\\ny"


def test_left_aligned_layout_leaves_the_last_column_unpadded() -> None:
    out = to_text(
        Table(["a", "bb", "reason"], [["xxx", "y", "why"], ["z", "", ""]]), align="left", gap=2
    )
    assert out.splitlines() == ["a    bb  reason", "xxx  y   why", "z" + " " * 8]


def test_markdown_rows_keep_their_width_and_escape_cells() -> None:
    out = to_markdown(Table(["a|b", "c"], [["x|y\nz", 3], ["<b>", None]]))
    lines = out.splitlines()
    assert lines[1] == "|---|---|"
    assert {line.replace("\\|", "").count("|") for line in lines} == {3}
    assert "<b>" not in out and "&lt;b&gt;" in out


def test_csv_is_rfc4180_and_neutralises_formulas() -> None:
    out = to_csv(
        Table(["=h", "v"], [['=HYPERLINK("x")', 1.5], ["ok", None], ["-x", np.float64(-2.0)]])
    )
    assert out.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [["'=h", "v"], ['\'=HYPERLINK("x")', "1.5"], ["ok", ""], ["'-x", "-2.0"]]


def test_json_refuses_nan() -> None:
    assert to_json([{"a": 1}]) == '[\n  {\n    "a": 1\n  }\n]'
    with pytest.raises(ValueError):
        to_json([{"a": float("nan")}])


def test_wide_characters_keep_the_columns_aligned() -> None:
    """A CJK model name takes two terminal columns a character: widths counted in characters
    pushed the rest of its row two columns right of the others'."""
    from harness.present.tables import display_width

    table = Table(["model", "acc"], [["模型-a", "0.91"], ["plain-model", "0.85"], ["é", "1"]])
    tails = ["acc", "0.91", "0.85", "1"]
    right = to_text(table).splitlines()
    assert len({display_width(line) for line in right}) == 1, right  # right edges line up
    left = to_text(table, align="left").splitlines()
    starts = {display_width(line[: line.rindex(t)]) for line, t in zip(left, tails, strict=True)}
    assert len(starts) == 1, left  # the last column starts at one place
    assert display_width("模型") == 4 and display_width("e\u0301") == 1 and display_width("ab") == 2


def test_non_spacing_marks_take_no_column() -> None:
    """Thai and Devanagari vowel signs, variation selectors and enclosing marks are non-spacing
    (Unicode category Mn or Me) with canonical combining class 0: counted by the class alone
    they took a column each, so `ที่` (one cell on a terminal) padded its row one column short."""
    from harness.present.tables import display_width

    assert display_width("ที่") == 1  # THAI SARA II (Mn, class 0) and MAI EK (Mn, class 107)
    assert display_width("हिंदी") == 4  # DEVANAGARI SIGN ANUSVARA (Mn, class 0)
    assert display_width("1\u20dd") == 1  # COMBINING ENCLOSING CIRCLE (Me)
    assert display_width("a\ufe0e") == 1  # VARIATION SELECTOR-15 (Mn)
    table = Table(["model", "acc"], [["ที่-a", "0.91"], ["plain-model", "0.85"]])
    row = to_text(table).splitlines()[1]  # `plain-model` is 11 columns, `ที่-a` 3
    assert row.startswith(" " * 8 + "ที่-a "), row


def test_wide_text_wraps_within_the_width() -> None:
    """A wrapped last column, a record line and `wrap` measured their pieces in characters: a
    CJK reason beside a table wrapped to 40 columns printed a line of 74 (each character two
    columns). ASCII text wraps exactly as before."""
    from harness.present.tables import display_width, fit_text, wrap

    reason = "模型的输出在这个任务上无法读取因为它的形状不对" * 2
    table = Table(["model", "reason"], [["m1", reason], ["m2", "plain words that wrap here"]])
    for width in (30, 40, 41):
        text = fit_text(table, width, align="left")
        assert max(display_width(line) for line in text.splitlines()) <= width, text
        assert text.replace("\n", "").replace(" ", "").count("模型") == 2, text
        line = wrap(f"model m1: {reason} (模型 a-b)", width)
        assert max(display_width(piece) for piece in line.splitlines()) <= width, line
        assert line.replace("\n", "").replace(" ", "") == f"modelm1:{reason}(模型a-b)", line
    ascii_line = "word " * 30
    assert wrap(ascii_line, 33) == textwrap.fill(
        ascii_line, width=33, subsequent_indent="    ", break_on_hyphens=False
    )
