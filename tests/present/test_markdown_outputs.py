"""Every Markdown output goes through the one escaper: hostile names never render as live
links, images or HTML on GitHub (cmark-gfm), and tables keep their shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.analysis.check import CheckReport, CheckRow
from harness.analysis.headline import headline_board
from harness.analysis.leaderboard import build_boards
from harness.analysis.variant_deltas import (
    HarmSlice,
    MetricDelta,
    VariantComparison,
    VariantSize,
)
from harness.core.errors import ConfigError
from harness.present.check_view import render_markdown as check_markdown
from harness.present.groups_view import render as groups_render
from harness.present.leaderboard_view import render_markdown as leaderboard_markdown
from harness.present.summary import check_site_url, summary_markdown
from harness.present.variants_view import render as variants_render
from harness.run.suite_boards import installed_suite_boards
from tests.present.markdown_check import live_links, tags_and_text
from tests.present.synthetic import write_synthetic_run

LINK = "[click](https://evil.example/)"
IMAGE = "![x](https://evil.example/t.png)"
HTML = "<img src=x onerror=alert(1)>"


def _inert(markdown: str, *names: str) -> None:
    """No link, image or HTML from the names."""
    links = live_links(markdown)
    assert links == [], markdown
    _tags, text = tags_and_text(markdown)
    for name in names:  # shown as text, whole
        assert name in text, name
    for block in markdown.split("\n\n"):  # every table row has as many cells as its header
        rows = [r for r in block.splitlines() if r.startswith("|")]
        assert len({r.replace("\\|", "").count("|") for r in rows}) <= 1, rows


@pytest.fixture(scope="module")
def hostile_boards(tmp_path_factory: pytest.TempPathFactory) -> list:
    root = tmp_path_factory.mktemp("md")
    write_synthetic_run(root / "res", models={LINK: 0.9, IMAGE: 0.8, HTML: 0.6}, flag_model=LINK)
    return build_boards(root / "res", suite_boards=installed_suite_boards())


def test_leaderboard_markdown(hostile_boards: list) -> None:
    _inert(leaderboard_markdown(hostile_boards), LINK, IMAGE, HTML)


def test_report_summary_markdown(hostile_boards: list) -> None:
    """Without a site URL nothing is a link (a relative one dies where the summary is pasted):
    the summary says in words where the report is."""
    summary = summary_markdown([headline_board(b) for b in hostile_boards], report="out/report")
    assert "unreliable (1)" in summary and "gradient masking suspected" in summary
    _inert(summary, LINK, IMAGE, HTML)
    _tags, text = tags_and_text(summary)
    assert "folder written by harness report in out/report" in text
    assert "--site-url" in text


def test_report_summary_links_to_the_published_site(hostile_boards: list) -> None:
    heads = [headline_board(b) for b in hostile_boards]
    summary = summary_markdown(heads, site_url=check_site_url("https://example.org/r/42"))
    links = live_links(summary)
    assert "a:https://example.org/r/42/index.html" in links
    assert all(x.startswith("a:https://example.org/r/42/") for x in links), links
    for bad in ("javascript:alert(1)", "https://x.org/a b", "https://x.org/(x)", "ftp://x"):
        with pytest.raises(ConfigError, match="not a plain http"):
            check_site_url(bad)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://example.org/r?x=1", "has a query (?x=1)"),
        ("https://example.org/r#top", "has a fragment (#top)"),
        ("https://ana:hunter2@example.org/r", "holds a user name or password"),
        ("https://ana@example.org/r", "holds a user name or password"),
        ("https:///r", "names no host"),
    ],
)
def test_a_site_url_that_the_page_links_would_break_or_publish_a_secret_is_refused(
    url: str, says: str
) -> None:
    """Pages are linked as the site URL + a page's file name: `https://example.org/r?x=1`
    gave `https://example.org/r?x=1/index.html` (every link the same page), `...#top` every
    link the site's root; `https://ana:hunter2@...` put the password in every link of a
    summary.md made to be pasted into a pull request. Refused, naming why, the password
    never shown."""
    with pytest.raises(ConfigError, match=re.escape(says)) as err:
        check_site_url(url)
    assert "hunter2" not in str(err.value) and str(err.value).count("\n") == 0
    assert (
        check_site_url("https://example.org/r/%C3%BCn%C3%AF")
        == "https://example.org/r/%C3%BCn%C3%AF/"
    )


def test_a_site_url_with_its_scheme_in_capitals_is_taken() -> None:
    """A URL's scheme is case-insensitive (RFC 3986): `HTTPS://example.org/r` was refused as
    not a plain http(s) URL. It is taken, written in lower case as schemes are."""
    assert check_site_url("HTTPS://example.org/r") == "https://example.org/r/"
    assert check_site_url("Http://example.org") == "http://example.org/"


def test_check_markdown() -> None:
    row = CheckRow(
        model=LINK,
        task=IMAGE,
        suite="accuracy",
        metric=f"acc[group={HTML}]",
        baseline=0.9,
        current=0.8,
        status="fail",
        reason=f"see {LINK}",
    )
    report = CheckReport(
        rows=[row], method="m", baseline=Path("b"), current=Path("c"), notes=[IMAGE]
    )
    _inert(check_markdown(report), LINK, IMAGE, HTML)


def test_groups_markdown() -> None:
    rows = [
        {
            "model": "m",
            "task": "t",
            "suite": "fairness",
            "condition": "clean",
            "group_by": "grp",
            "group": g,
            "metric": "acc",
            "n": 30,
            "value": 0.5,
            "ci_lo": 0.4,
            "ci_hi": 0.6,
            "flag": "",
            "note": "",
        }
        for g in (LINK, IMAGE, HTML, "a|b")
    ]
    _inert(groups_render(rows, "md"), LINK, IMAGE, HTML)


def _size(**known: object) -> VariantSize:
    fields = dict.fromkeys(
        [
            "size_bytes",
            "parent_size_bytes",
            "size_format",
            "parameters",
            "parent_parameters",
            "nonzero_parameters",
            "parent_nonzero_parameters",
            "gradients",
        ]
    )
    return VariantSize(**{**fields, **known})  # type: ignore[arg-type]


def test_variants_markdown() -> None:
    delta = MetricDelta(
        "accuracy",
        f"acc[group={IMAGE}]",
        "fraction",
        True,
        0.9,
        0.8,
        -0.1,
        "mcnemar_exact",
        100,
        0.01,
        0.01,
    )
    harm = HarmSlice("accuracy", "group", f"grp={LINK}", "clean", 20, 0.9, 0.5, 0.4, 0.01, 0.02)
    compared = VariantComparison(
        variant_model=f"{LINK}@int8",
        parent=LINK,
        variant="int8",
        task=IMAGE,
        size=_size(size_bytes=10, parent_size_bytes=20, size_ratio=0.5, size_format=HTML),
        notes=[HTML],
        deltas=[delta],
        worst={"group": harm},
        slices_tested=3,
    )
    skipped = VariantComparison(
        variant_model=f"{IMAGE}@fp16",
        parent=IMAGE,
        variant="fp16",
        task="t",
        size=_size(),
        status="skipped",
        reason=LINK,
    )
    _inert(variants_render([compared, skipped], "md"), LINK, IMAGE, HTML)
