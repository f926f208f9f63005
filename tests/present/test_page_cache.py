"""The report's page cache: an unchanged page is kept, one whose data, file or rendering code
changed is rendered again, and a site of another build keeps no page of its own; a report
built twice into one folder, or with its model pages written by several processes, is the same
site byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_scale import add_model
from harness.present import page_cache, site, site_workers
from harness.present.page_cache import INDEX, PageCache
from harness.run.suite_boards import installed_suite_boards
from harness.store.run_store import StoredJob
from tests.analysis.pinned_outputs import SCALE_BASE
from tests.present.test_figure_cache import harness_imports, module_file

BOARDS = installed_suite_boards()

TEMPLATE = "models.html"  # a small page: a title, the navigation and links


def _build(out: Path, pages: dict[str, str], identity: str = "code-1") -> list[str]:
    """One build writing a page per entry (its title: the data); returns the pages rendered."""
    cache = PageCache(out, identity)
    before = cache.rendered
    rendered = []
    nav = site.Nav(tasks=[], suites=[], comparisons=[])
    for name, title in pages.items():
        count = cache.rendered
        cache.page(
            out / name, TEMPLATE, reuse=True, title=title, nav=nav, models=[], comparisons=[]
        )
        if cache.rendered > count:
            rendered.append(name)
    cache.finish()
    assert cache.rendered - before == len(rendered)
    return rendered


def test_only_changed_pages_are_rendered(tmp_path: Path) -> None:
    pages = {"model-a.html": "A", "model-b.html": "B"}
    assert _build(tmp_path, pages) == ["model-a.html", "model-b.html"]
    text = (tmp_path / "model-a.html").read_text()
    assert _build(tmp_path, pages) == []
    assert (tmp_path / "model-a.html").read_text() == text
    assert _build(tmp_path, {**pages, "model-c.html": "C"}) == ["model-c.html"]
    assert _build(tmp_path, {**pages, "model-a.html": "A2", "model-c.html": "C"}) == [
        "model-a.html"
    ]
    assert "A2" in (tmp_path / "model-a.html").read_text()


def test_a_damaged_page_or_other_rendering_code_renders_again(tmp_path: Path) -> None:
    pages = {"model-a.html": "A", "model-b.html": "B"}
    _build(tmp_path, pages)
    (tmp_path / "model-a.html").write_text("tampered")
    (tmp_path / "model-b.html").unlink()
    assert _build(tmp_path, pages) == ["model-a.html", "model-b.html"]
    assert _build(tmp_path, pages, identity="code-2") == ["model-a.html", "model-b.html"]
    (tmp_path / INDEX).write_text("{not json")
    assert _build(tmp_path, pages, identity="code-2") == ["model-a.html", "model-b.html"]


def test_pages_no_longer_written_are_removed_also_from_another_version(tmp_path: Path) -> None:
    _build(tmp_path, {"model-a.html": "A", "model-b.html": "B"})
    _build(tmp_path, {"model-a.html": "A"}, identity="code-2")
    assert not (tmp_path / "model-b.html").exists()
    assert (tmp_path / "model-a.html").exists()
    outside = tmp_path / "keep.txt"
    outside.write_text("mine")
    index = {"format": 1, "identity": "code-2", "pages": {"../keep.txt": {"key": "", "sha256": ""}}}
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / INDEX).write_text(json.dumps(index))
    _build(tmp_path / "site", {"model-a.html": "A"}, identity="code-2")
    assert outside.read_text() == "mine"


def test_an_index_from_elsewhere_cannot_remove_other_files(tmp_path: Path) -> None:
    # a page index restored from a CI cache, or edited, naming files of the folder that no
    # build of this one wrote: a user's notes, and a page the user changed since
    _build(tmp_path, {"model-a.html": "A", "model-b.html": "B"})
    (tmp_path / "model-b.html").write_text("my edits")
    (tmp_path / "notes.txt").write_text("mine")
    index = json.loads((tmp_path / INDEX).read_text())
    index["pages"]["notes.txt"] = {"key": "", "sha256": ""}
    (tmp_path / INDEX).write_text(json.dumps(index))
    _build(tmp_path, {"model-a.html": "A"})
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "model-b.html").read_text() == "my edits"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "summary.md"  # the summary names its folder
    }


@pytest.mark.slow  # three reports of 12 models: about 20 s
def test_a_report_built_again_or_in_parallel_is_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same results into the same folder: every model page and figure is kept and the
    site is the same byte for byte; pages and figures written by two worker processes make the
    same site as one process; a model added draws and renders only its own."""
    monkeypatch.setattr(site_workers, "can_fork", lambda: False)
    serial = tmp_path / "serial"
    site.build_site(SCALE_BASE, serial, suite_boards=BOARDS)
    first = _files(serial)
    counts: list[tuple[int, int]] = []
    finish = site.PageCache.finish

    def spy(self: site.PageCache) -> None:
        counts.append((self.rendered, self.reused))
        finish(self)

    monkeypatch.setattr(site.PageCache, "finish", spy)
    site.build_site(SCALE_BASE, serial, suite_boards=BOARDS)
    assert _files(serial) == first
    assert counts[-1][1] == 12  # every model page kept
    if "fork" in site_workers.multiprocessing.get_all_start_methods():
        monkeypatch.setattr(site_workers, "can_fork", lambda: True)
        monkeypatch.setattr(site_workers, "cores", lambda: 2)
        parallel = tmp_path / "parallel"
        site.build_site(SCALE_BASE, parallel, suite_boards=BOARDS)
        assert _files(parallel) == first
    # one model added, as a run folder of its own: only its page is rendered (the other
    # pages' navigation and figures are unchanged), only its figure drawn
    grown = tmp_path / "grown"
    shutil.copytree(SCALE_BASE, grown)
    add_model(grown, 12, limit=100)
    drawn: list[int] = []
    finish_figures = site.FigureCache.finish

    def figures_spy(self: site.FigureCache) -> None:
        drawn.append(self.drawn)
        finish_figures(self)

    monkeypatch.setattr(site.FigureCache, "finish", figures_spy)
    monkeypatch.setattr(site_workers, "can_fork", lambda: False)
    parsed: list[str] = []
    read_table = StoredJob._read_table

    def table_spy(self: StoredJob) -> Any:
        parsed.append(self.record.model)
        return read_table(self)

    monkeypatch.setattr(StoredJob, "_read_table", table_spy)
    site.build_site(grown, serial, suite_boards=BOARDS)
    assert counts[-1][1] == 12 and drawn == [1]
    # the paired forms of the other models' tables are kept (harness/present/form_cache.py):
    # parsed are the added model's table and the compared pair's (its page, a chance level)
    assert "m0012" in parsed and len(set(parsed) - {"m0012"}) <= 2
    assert (serial / site.model_page("m0012")).is_file()


def test_pages_a_damaged_index_cannot_remove_are_named_as_left_in_place(tmp_path: Path) -> None:
    # a model removed from the results after the page index was damaged: its page stays
    # published with its old numbers, so the report must name it (one warning line)
    _build(tmp_path, {"model-a.html": "A", "model-b.html": "B"})
    (tmp_path / INDEX).write_text('{"format": 1, "pag')
    cache = PageCache(tmp_path, "code-1")
    nav = site.Nav(tasks=[], suites=[], comparisons=[])
    cache.page(tmp_path / "model-a.html", TEMPLATE, title="A", nav=nav, models=[], comparisons=[])
    cache.finish()
    assert (tmp_path / "model-b.html").exists()
    assert cache.leftovers() == ["model-b.html"]
    line = site.leftovers_line(tmp_path, cache.leftovers(), ["job-b.png"])
    assert line is not None and "\n" not in line
    assert "1 page and 1 figure" in line and "model-b.html, figures/job-b.png" in line
    assert site.leftovers_line(tmp_path, [], []) is None
    (tmp_path / "model-b.html").unlink()  # removed by hand, as the warning says
    _build(tmp_path, {"model-a.html": "A"})
    assert PageCache(tmp_path, "code-1").leftovers() == ["model-a.html"]  # nothing written yet


def test_the_rendering_identity_covers_every_module_a_page_is_rendered_with() -> None:
    # the templates read the star rule from cell_view.py: with its source outside the identity,
    # a page rendered with the old legend was kept
    covered = {p.resolve() for p in page_cache.rendering_sources()}
    source = module_file("harness.present.templating")
    assert source in covered
    for name in sorted(harness_imports(source)):
        assert module_file(name) in covered, f"templating.py renders with {name}"
