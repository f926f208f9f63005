"""Hostile group values (from a dataset: untrusted) and metadata come out escaped in every report
format, and no output file lands outside its folder. Model/task names are restricted by the spec
(see the catalogue: html, newline, NUL, absolute-path names are refused)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from tests.present.markdown_check import live_links
from tests.reliability.conftest import cli

HOSTILE = [
    "<script>alert(1)</script>",
    "a|b|c",
    '=HYPERLINK("http://x")',
    "../../../tmp/escape",
    "/etc/passwd",
    "line\nbreak",
    "**bold** [x](javascript:alert(1))",
    "@SUM(1+1)",
    "[click](https://evil.example/)",
    "![x](https://evil.example/t.png)",
    "\x1b[31mred\x1b[0m",
]
FEATURES = [f"f{i}" for i in range(10)]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import save_weights
    from tests.fixture_models import linear_tabular

    d = tmp_path_factory.mktemp("names")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*FEATURES, "y", "grp"])
    for i in range(160):
        w.writerow(
            [f"{(i * 7 + j) % 10 / 10:.1f}" for j in range(10)] + [i % 2, HOSTILE[i % len(HOSTILE)]]
        )
    (d / "rows.csv").write_text(buf.getvalue())
    save_weights(linear_tabular(), d / "tab.safetensors")
    (d / "spec.yaml").write_text(
        "name: hostile\nseed: 1\ndevice: cpu\nbootstrap_resamples: 50\n"
        "tasks: [{name: rows, source: rows.csv, feature_columns: [" + ", ".join(FEATURES) + "], "
        "label_column: y, num_classes: 2, modality: tabular, bounds: [0, 1], group_columns: [grp]}]\n"
        "models: [{name: tab, factory: 'tests.fixture_models:linear_tabular', weights: tab.safetensors, "
        "input_shape: [10], description: '<img src=x onerror=alert(1)> | =1+1'}]\n"
        "suites: {accuracy: {}, fairness: {min_group_size: 5}}\n"
    )
    code, _, err = cli("run", d / "spec.yaml", "--out", d / "out")
    assert code == 0, err
    return d


def _md_rows_are_tables(text: str) -> None:
    for block in text.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        if rows:
            widths = {r.replace("\\|", "").count("|") for r in rows}
            assert len(widths) == 1, f"a cell broke a Markdown table: {rows}"


def _csv_cells_are_inert(text: str) -> None:
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@") or _number(cell), f"formula cell {cell!r}"


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_groups_outputs_escape_values(hostile_run: Path) -> None:
    results = hostile_run / "out"
    code, md, err = cli("groups", results, "--format", "md", "--resamples", "50")
    assert code == 0, err
    assert "<script>" not in md and "line\nbreak" not in md
    _md_rows_are_tables(md)
    assert live_links(md) == []
    code, text, _ = cli("groups", results, "--resamples", "50")
    assert code == 0 and "\x1b" not in text and "\\x1b[31mred" in text
    code, text, _ = cli("groups", results, "--format", "csv", "--resamples", "50")
    assert code == 0
    _csv_cells_are_inert(text)
    code, text, _ = cli("groups", results, "--format", "json", "--resamples", "50")
    assert code == 0 and "<script>alert(1)</script>" in json.dumps(
        json.loads(text)
    )  # data, not markup


def test_leaderboard_outputs_escape_values(hostile_run: Path) -> None:
    for fmt, check in (("md", _md_rows_are_tables), ("csv", _csv_cells_are_inert)):
        code, text, err = cli("leaderboard", hostile_run / "out", "--format", fmt, "--all-metrics")
        assert code == 0, err
        check(text)
        if fmt == "md":  # CSV is data: text stays text there, formulas are neutralised
            assert "<script>" not in text and "<img" not in text
            assert live_links(text) == []
    code, text, _ = cli("leaderboard", hostile_run / "out", "--all-metrics")
    assert code == 0 and "\x1b" not in text


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_report_escapes_and_stays_in_its_folder(hostile_run: Path) -> None:
    site = hostile_run / "site"
    code, _, err = cli("report", hostile_run / "out", "--out", site)
    assert code == 0, err
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert "<script>alert" not in text and "<img src=x" not in text, page
        assert "javascript:alert" not in text or 'href="javascript' not in text, page
    for md in site.rglob("*.md"):
        _md_rows_are_tables(md.read_text())  # the only links: the report's own pages
        assert all(re.fullmatch(r"a:[\w.-]+\.html", x) for x in live_links(md.read_text()))
    made = [p.resolve() for p in hostile_run.parent.rglob("*") if p.is_file()]
    root = hostile_run.resolve()
    assert all(p.is_relative_to(root) for p in made if "escape" in p.name or "passwd" in p.name)
    assert not Path("/tmp/escape").exists()
    for p in site.rglob("*"):
        assert p.resolve().is_relative_to(site.resolve())
        assert "\n" not in p.name and "<" not in p.name and "|" not in p.name
