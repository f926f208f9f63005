"""The HTML report built from a synthetic run of every suite (with galleries, an upper bound, a
flag, unstable timing, a failed job, a variant and hostile names): pages, figures, provenance
links, caveats in words, escaping, and the Markdown summary. The real browser is in
test_browser.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.present.figure_style import png_size
from tests.present.markdown_check import live_links
from tests.present.synthetic import (
    FAILED_MESSAGE,
    FORMULA,
    HOSTILE,
    UPPER_BOUND_NOTE,
    write_synthetic_run,
)

VARIANT = "good-model@int8"
MODELS = {"good-model": 0.9, HOSTILE: 0.6, FORMULA: 0.88, VARIANT: 0.89}
SITE_URL = "https://example.org/reports/7"


def build(root: Path) -> Path:
    """The synthetic run and its site (CLI: an extra comparison pair and a site URL)."""
    write_synthetic_run(
        root / "res",
        models=MODELS,
        flag_model="good-model",
        extras=True,
        variants={VARIANT: "good-model"},
    )
    args = ["report", str(root / "res"), "--out", str(root / "site")]
    assert main([*args, "--compare", HOSTILE, "good-model", "--site-url", SITE_URL]) == 0
    return root / "site"


@pytest.fixture
def site(synthetic_site: Path) -> Path:
    return synthetic_site  # built once per session (conftest.py)


def _pages(site: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in site.glob("*.html")}


def test_pages_figures_and_galleries_exist(site: Path) -> None:
    names = sorted(_pages(site))
    for fixed in ("index.html", "provenance.html", "models.html"):
        assert fixed in names
    count = {k: sum(n.startswith(k) for n in names) for k in ("task-", "model-", "suite-")}
    assert count == {"task-": 1, "model-": 4, "suite-": 5}
    assert sum(n.startswith("compare-") for n in names) == 2  # leader vs runner-up, --compare
    figures = " ".join(p.name for p in (site / "figures").iterdir())
    for kind in (
        "pareto",
        "robust-eps",
        "severity",
        "throughput",
        "group-sex",
        "reliability",
        "corruptions",
        "attacks",
        "adversarial",
        "corruption-gallery",
    ):
        assert kind in figures, kind
    for name, text in _pages(site).items():
        for src, width, height in re.findall(
            r'<img src="([^"]+)" alt="[^"]*" width="(\d+)" height="(\d+)"', text
        ):
            assert (site / src).is_file(), (name, src)
            assert png_size(site / src) == (int(width), int(height))
        assert text.count("<img") == len(re.findall(r'<img src="[^"]+" alt=', text))


def test_every_number_links_to_provenance(site: Path) -> None:
    pages = _pages(site)
    prov = pages["provenance.html"]
    assert "deadbeef" in prov and "9999999999999999" in prov  # git sha, spec hash
    anchors = {
        a for text in pages.values() for a in re.findall(r'href="provenance.html#([^"]+)"', text)
    }
    assert anchors and all(f'id="{a}"' in prov for a in anchors)
    for name, text in pages.items():  # a number cell always carries its provenance link
        for cell in re.findall(r'<td class="num(?! missing)[^"]*"[^>]*>(.*?)</td>', text):
            assert 'href="provenance.html#' in cell, (name, cell)


def test_every_page_says_where_its_numbers_come_from(site: Path) -> None:
    """A page saved, printed or linked on its own still names its run (with the harness that
    ran it) and the harness that wrote the report, and, except a model page, its results folder;
    so does summary.md. A model page names only its own jobs' runs, so that it stays the same
    (and is kept by the page cache) when another model's run joins the folder."""
    from harness.core.version import __version__

    results = str(site.parent / "res")
    for name, text in _pages(site).items():
        (footer,) = re.findall(r"<footer>(.*?)</footer>", text, flags=re.S)
        if name.startswith("model-"):
            assert "Numbers from run synthetic-1 (" in footer, name
        else:
            assert f"Results folder {results}: run synthetic-1 (" in footer, name
        assert f"Report written by harness {__version__}." in footer, name
        assert 'href="provenance.html"' in footer, name
    summary = (site / "summary.md").read_text()
    assert f"Report written by harness {__version__}." in summary and "synthetic-1" in summary
    assert re.search(r"run synthetic-1 \([^)]*harness [^)]+\)", summary)


def test_index_is_the_headline_board(site: Path) -> None:
    index = _pages(site)["index.html"]
    heads = re.findall(r"<th data-sortable[^>]*>(.*?)<", index)
    assert heads == [
        "model",
        "clean accuracy ↑",
        "calibration error (ECE) ↓",
        "robust accuracy at L-inf 0.1 ↑",
        "mean corruption accuracy ↑",
        "worst-group accuracy ↑",
        "throughput ↑",
    ]
    assert "robust_acc[" not in index  # every other metric is on the drill-down pages
    assert "clean accuracy</b>: best" in index  # the verdict line above the board
    assert index.count("n=200") >= 20  # n in every cell


def test_upper_bounds_and_flags_are_distinct_and_never_best(site: Path) -> None:
    index = _pages(site)["index.html"]
    rows = dict(re.findall(r'<tr><td class="model" data-sort="([^"]*)">(.*?)</tr>', index, re.S))
    bound = re.findall(r"<td [^>]*>.*?</td>", rows[VARIANT], re.S)[2]  # robust accuracy
    assert 'class="num muted"' in bound and "upper bound [1]" in bound and "★" not in bound
    flagged = re.findall(r"<td [^>]*>.*?</td>", rows["good-model"], re.S)[2]
    assert "muted" in flagged and "unreliable" in flagged and "★" not in flagged
    assert UPPER_BOUND_NOTE in index  # the reason in words, under the table
    assert "gradient masking suspected: the attack may have failed" in index
    assert "Left out:" in index and "upper bound, not ranked" in index
    # the left-out number itself: a board of one black-box model showed no number at all
    assert re.search(
        r"Left out: [^<]*? \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\], n=\d+: upper bound", index
    )
    task = next(t for n, t in _pages(site).items() if n.startswith("task-"))
    assert "upper bound" in task and UPPER_BOUND_NOTE in task


def test_failed_job_shows_its_reason(site: Path) -> None:
    index = _pages(site)["index.html"]
    first_line = FAILED_MESSAGE.split("\\n")[0].split("\n")[0]
    escaped = first_line.replace("<", "&lt;").replace(">", "&gt;")
    assert "Jobs that failed" in index and escaped in index
    assert "Traceback" not in index  # one line, not the traceback
    row = re.search(r'data-sort="good-model">.*?</tr>', index, re.S)
    assert row and 'class="num missing"' in row.group(0) and "failed" in row.group(0)


def test_task_page_order_and_collapsed_variants(site: Path) -> None:
    task = next(t for n, t in _pages(site).items() if n.startswith("task-"))
    order = [
        task.index(x)
        for x in ("<table class=\"sortable headline\"", "<h2>Trade-offs", "<h2>What the models saw",
                  "Every headline metric", 'id="variants"')
    ]  # fmt: skip
    assert order == sorted(order)
    variants = task[task.index('id="variants"') :]
    assert "<details>" in variants and VARIANT in variants


def test_comparison_page(site: Path) -> None:
    name, page = next(
        (n, t)
        for n, t in _pages(site).items()
        if n.startswith("compare-") and "good-model-" in n and "script" in n
    )
    assert "Where they differ" in page and "Every metric" in page
    assert "top1_acc" in page and "Newcombe" in page and "McNemar" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "group one" in page  # readable group label declared on the task
    assert "hostile &lt;i&gt;label&lt;/i&gt; &amp; more" in page


def test_untrusted_text_is_escaped_everywhere(site: Path) -> None:
    for name, text in _pages(site).items():
        assert "<script>alert" not in text and "<b>cpu</b>" not in text, name
        assert "<i>label</i>" not in text and "<b>bold</b>" not in text, name
        assert text.count("<script>") == 1, name  # the one inline sorter
    index = _pages(site)["index.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "&lt;b&gt;cpu&lt;/b&gt;" in index  # the device name, as text


def test_summary_is_the_headline_board_with_links(site: Path) -> None:
    summary = (site / "summary.md").read_text()
    assert len(summary) < 10_000 and "robust_acc[" not in summary
    assert summary.count("\n| ") == len(MODELS) + 1  # header + one row per model
    links = live_links(summary)  # rendered as GitHub renders a comment (cmark-gfm)
    assert f"a:{SITE_URL}/index.html" in links
    assert all(x.startswith(f"a:{SITE_URL}/") and x.endswith(".html") for x in links), links
    for link in links:  # absolute, and each names a page the report wrote
        assert (site / link.removeprefix(f"a:{SITE_URL}/")).is_file(), link
    assert "upper bound (" in summary and "failed" in summary
    assert "<script>" not in summary and HOSTILE not in summary


def test_page_names_are_the_documented_ones(site: Path) -> None:
    """docs/report.md's "Pages" list names every file a report writes at the top of its folder:
    `<hash>` is a slug's 8 hex digits, any other `<...>` a sanitised task, suite or model name."""
    from harness.suites import BUILTIN_SUITES

    doc = (Path(__file__).resolve().parents[2] / "docs" / "report.md").read_text()
    section = doc.split("### Pages", 1)[1].split("\n### ", 1)[0]
    names = [*MODELS, "digits", *BUILTIN_SUITES]
    bases = "|".join(re.escape(re.sub(r"[^A-Za-z0-9._-]+", "-", n).strip("-.")[:40]) for n in names)
    patterns = []
    for documented in re.findall(r"^- `([^`]+)`:", section, flags=re.M):
        parts = re.split(r"(<[a-z]+>)", documented)
        body = "".join(
            "[0-9a-f]{8}"
            if p == "<hash>"
            else f"(?:{bases})"
            if p.startswith("<")
            else re.escape(p)
            for p in parts
        )
        patterns.append(re.compile(body))
    written = [p.name for p in site.iterdir() if p.is_file() and p.suffix in (".html", ".md")]
    for name in written:
        assert any(p.fullmatch(name) for p in patterns), name
    for pattern in patterns:
        assert any(pattern.fullmatch(n) for n in written), pattern.pattern
