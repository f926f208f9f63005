"""The report's figure cache: an unchanged figure is kept, one whose data, file or drawing code
changed is redrawn, and a site from another build leaves no figure of its own behind."""

from __future__ import annotations

import functools
import json
from pathlib import Path

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
