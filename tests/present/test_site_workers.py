"""Parts of a report built in worker processes (harness.present.site_workers)."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from harness.present import site_workers
from harness.present.figure_cache import FigureCache
from harness.present.page_cache import PageCache
from harness.present.report_views import Nav

FORKS = site_workers.can_fork()


def _parts(
    out: Path, figures: FigureCache, pages: PageCache
) -> list[Callable[[], tuple[str, int]]]:
    """Five parts, each writing a page and a figure, returning its name and process id."""

    def part(i: int) -> tuple[str, int]:
        page = out / f"page-{i}.html"
        pages.page(page, "models.html", title=f"page {i}", nav=Nav(), models=[], comparisons=[])

        def draw() -> Path:
            path = out / "figures" / f"figure-{i}.png"
            path.write_bytes(f"figure {i}".encode())
            return path

        figures.figure(out / "figures" / f"figure-{i}.png", ("shows", i), draw)
        return f"part {i}", os.getpid()

    return [partial(part, i) for i in range(5)]


def _build(out: Path) -> tuple[list[tuple[str, int]], FigureCache, PageCache]:
    (out / "figures").mkdir(parents=True)
    figures, pages = FigureCache(out / "figures", identity="x"), PageCache(out, identity="y")
    values = site_workers.run_parts(_parts(out, figures, pages), figures, pages)
    return values, figures, pages


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_parts_in_workers_return_their_values_in_order_and_their_pages_and_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers: each part's value comes back in the parts' order; the pages and figures the
    workers wrote are adopted by this process's caches, counted once each, as one process
    would have them."""
    monkeypatch.setattr(site_workers, "cores", lambda: 2)
    values, figures, pages = _build(tmp_path / "parallel")
    assert [v for v, _pid in values] == [f"part {i}" for i in range(5)]
    assert os.getpid() not in {pid for _v, pid in values}  # drawn in the workers
    monkeypatch.setattr(site_workers, "can_fork", lambda: False)
    serial, serial_figures, serial_pages = _build(tmp_path / "serial")
    assert {pid for _v, pid in serial} == {os.getpid()}
    assert pages.kept == serial_pages.kept and len(pages.kept) == 5
    assert (pages.rendered, pages.reused) == (5, 0)
    assert figures.kept.keys() == serial_figures.kept.keys() and len(figures.kept) == 5
    assert (figures.drawn, figures.reused) == (5, 0)
    for name in pages.kept:
        assert (tmp_path / "parallel" / name).read_bytes() == (
            tmp_path / "serial" / name
        ).read_bytes()


def test_one_core_runs_the_parts_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_workers, "cores", lambda: 1)
    values, figures, pages = _build(tmp_path)
    assert {pid for _v, pid in values} == {os.getpid()}
    assert len(pages.kept) == 5 and figures.drawn == 5


@pytest.mark.skipif(not FORKS, reason="worker processes are forked (Linux)")
def test_a_part_that_fails_fails_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in a worker is raised here, as it would be in one process."""
    monkeypatch.setattr(site_workers, "cores", lambda: 2)

    def broken() -> None:
        raise ValueError("part 1 is broken")

    pages = PageCache(tmp_path, identity="y")
    with pytest.raises(ValueError, match="part 1 is broken"):
        site_workers.run_parts([lambda: None, broken], None, pages)
