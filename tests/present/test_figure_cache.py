"""The report's figure cache: an unchanged figure is kept, one whose data, file or drawing code
changed is redrawn, and a site from another build leaves no figure of its own behind."""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
from pathlib import Path

import pytest

from harness.present import figure_cache
from harness.present.figure_cache import INDEX, FigureCache


def _build(figdir: Path, shown: dict[str, str], identity: str = "code-1") -> list[str]:
    """One build drawing a file per entry (its bytes: the data); returns the names drawn."""
    cache = FigureCache(figdir, identity)
    drawn: list[str] = []

    def draw(name: str, data: str) -> Path:
        drawn.append(name)
        (figdir / name).write_text(data)
        return figdir / name

    for name, data in shown.items():
        cache.figure(figdir / name, data, functools.partial(draw, name, data))
    cache.finish()
    return drawn


def test_only_changed_figures_are_redrawn(tmp_path: Path) -> None:
    figs = {"a.png": "A", "b.png": "B"}
    assert _build(tmp_path, figs) == ["a.png", "b.png"]
    assert _build(tmp_path, figs) == []  # nothing changed: nothing drawn
    assert _build(tmp_path, {**figs, "c.png": "C"}) == ["c.png"]  # a model added
    assert _build(tmp_path, {"a.png": "A2", "b.png": "B", "c.png": "C"}) == ["a.png"]


def test_a_damaged_or_replaced_file_is_redrawn(tmp_path: Path) -> None:
    _build(tmp_path, {"a.png": "A", "b.png": "B"})
    (tmp_path / "a.png").write_text("tampered")
    (tmp_path / "b.png").unlink()
    assert _build(tmp_path, {"a.png": "A", "b.png": "B"}) == ["a.png", "b.png"]
    assert (tmp_path / "a.png").read_text() == "A"


def test_other_drawing_code_or_a_damaged_index_redraws_everything(tmp_path: Path) -> None:
    figs = {"a.png": "A", "b.png": "B"}
    _build(tmp_path, figs)
    assert _build(tmp_path, figs, identity="code-2") == ["a.png", "b.png"]
    (tmp_path / INDEX).write_text("{not json")
    assert _build(tmp_path, figs, identity="code-2") == ["a.png", "b.png"]
    (tmp_path / INDEX).write_text(json.dumps({"format": 1, "identity": "code-2", "figures": []}))
    assert _build(tmp_path, figs, identity="code-2") == ["a.png", "b.png"]


def test_figures_no_longer_shown_are_removed(tmp_path: Path) -> None:
    _build(tmp_path, {"a.png": "A", "b.png": "B"})
    _build(tmp_path, {"a.png": "A"})
    assert not (tmp_path / "b.png").exists()
    assert (tmp_path / "a.png").exists()


def test_an_index_naming_paths_outside_the_folder_is_not_followed(tmp_path: Path) -> None:
    figdir = tmp_path / "figures"
    figdir.mkdir()
    victim = tmp_path / "keep.txt"
    victim.write_text("mine")
    entry = {"key": "k", "sha256": "s"}
    index = {"format": 1, "identity": "code-1", "figures": {"../keep.txt": entry}}
    (figdir / INDEX).write_text(json.dumps(index))
    _build(figdir, {"a.png": "A"})
    assert victim.read_text() == "mine"


def test_figures_of_another_version_not_shown_now_are_removed(tmp_path: Path) -> None:
    """A site drawn by other drawing code is rebuilt, not mixed: its figures that this build
    does not show go, the others are redrawn."""
    _build(tmp_path, {"a.png": "A", "b.png": "B"}, identity="code-1")
    assert _build(tmp_path, {"a.png": "A"}, identity="code-2") == ["a.png"]
    assert not (tmp_path / "b.png").exists()


def test_an_index_from_elsewhere_cannot_remove_other_files(tmp_path: Path) -> None:
    _build(tmp_path, {"a.png": "A", "b.png": "B"})
    (tmp_path / "b.png").write_text("replaced by hand")
    (tmp_path / "notes.txt").write_text("mine")
    index = json.loads((tmp_path / INDEX).read_text())
    index["figures"]["notes.txt"] = {"key": "", "sha256": ""}
    (tmp_path / INDEX).write_text(json.dumps(index))
    _build(tmp_path, {"a.png": "A"})
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "b.png").read_text() == "replaced by hand"


@pytest.mark.slow  # builds three reports (make test-slow; CI runs it)
def test_a_report_built_again_keeps_task_figures_and_equals_a_fresh_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Task-page figures (trade-offs, robustness and throughput lines; OOD histograms:
    tests/suites/shift/ood/test_ood_cli.py) are kept between builds like a model's own: a second report of the same results draws no
    figure; after one model's results changed, the report built again into the same folder is
    the site a report into a new folder builds, byte for byte (a kept figure never shows old
    data or leaves another figure with other colours), and draws fewer figures than it."""
    import shutil

    from harness.cli.main import main
    from harness.present import figures, galleries, site, site_workers
    from tests.present.synthetic import write_synthetic_run

    drawn: list[int] = []
    finish = site.FigureCache.finish

    def spy(self: site.FigureCache) -> None:
        drawn.append(self.drawn)
        finish(self)

    monkeypatch.setattr(site.FigureCache, "finish", spy)
    monkeypatch.setattr(site_workers, "cores", lambda: 1)  # count the draws in this process
    task_draws: list[str] = []
    for name in ("pareto", "lines", "dot_rows"):

        def counted(
            *args: object, _name: str = name, _real: object = getattr(figures, name), **kw: object
        ) -> object:
            task_draws.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(figures, name, counted)
    gallery_draws: list[str] = []  # the galleries are kept too (they were drawn every build)
    for name in ("corruption_part", "adversarial_gallery"):

        def counted_gallery(
            *args: object, _name: str = name, _real: object = getattr(galleries, name), **kw: object
        ) -> object:
            gallery_draws.append(_name)
            return _real(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(galleries, name, counted_gallery)
    results, kept, fresh = tmp_path / "results", tmp_path / "kept", tmp_path / "fresh"

    def report(out: Path) -> dict[str, bytes]:
        assert main(["report", str(results), "--out", str(out)]) == 0
        return {
            str(p.relative_to(out)): p.read_bytes()
            for p in sorted(out.rglob("*"))
            if p.is_file() and p.name != "summary.md"  # the summary names its folder
        }

    write_synthetic_run(results, models={"a": 0.9, "b": 0.6, "c": 0.8}, extras=True)
    first = report(kept)
    assert drawn[-1] > 10 and {"pareto", "lines"} <= set(task_draws)
    assert {"corruption_part", "adversarial_gallery"} <= set(gallery_draws)
    task_draws.clear()
    gallery_draws.clear()
    assert report(kept) == first and drawn[-1] == 0 and task_draws == gallery_draws == []
    shutil.rmtree(results)  # model b's results change; a's and c's are the same
    write_synthetic_run(results, models={"a": 0.9, "b": 0.7, "c": 0.8}, extras=True)
    again = report(kept)
    partly = drawn[-1]
    assert again == report(fresh)
    assert 0 < partly < drawn[-1]
    assert again != first


def test_figures_a_damaged_index_cannot_remove_are_named_as_left_in_place(
    tmp_path: Path,
) -> None:
    # a truncated index lists nothing: the previous build's figures that this one does not
    # show cannot be told from a user's files, so they stay, and the report must say so
    _build(tmp_path, {"a.png": "A", "b.png": "B"})
    (tmp_path / INDEX).write_text('{"format": 1, "figu')
    cache = FigureCache(tmp_path, "code-1")
    cache.figure(tmp_path / "a.png", "A", lambda: tmp_path / "a.png")
    cache.finish()
    assert (tmp_path / "b.png").exists()
    assert cache.leftovers() == ["b.png"]
    (tmp_path / "b.png").unlink()  # removed by hand, as the warning says
    _build(tmp_path, {"a.png": "A"})  # an intact index: nothing left over
    cache = FigureCache(tmp_path, "code-1")
    cache.figure(tmp_path / "a.png", "A", lambda: None)
    cache.finish()
    assert cache.leftovers() == []


def harness_imports(source: Path) -> set[str]:
    """The harness modules `source` imports from (anywhere in it), but the store's (file writes:
    they draw nothing)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            for alias in node.names:  # `from harness.present import figures` names a module
                name = f"{node.module}.{alias.name}"
                found.add(name if _is_module(name) else node.module)
    return {m for m in found if not m.startswith("harness.store")}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).resolve()


def test_the_drawing_identity_covers_every_module_a_figure_is_drawn_with() -> None:
    # a helper the drawing functions call when they draw (the reliability diagram's Wilson
    # intervals, a gallery's attack names) changes the figure as much as the drawing modules do:
    # with its source outside the identity, a figure drawn by the old code was kept
    covered = {p.resolve() for p in figure_cache.drawing_sources()}
    for drawing in ("figures", "figure_style", "galleries"):
        source = module_file(f"harness.present.{drawing}")
        assert source in covered
        for name in sorted(harness_imports(source)):
            assert module_file(name) in covered, f"{drawing}.py draws with {name}"
