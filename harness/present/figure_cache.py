"""Figures kept between builds of a report into the same site folder.

Each figure is keyed by the sha256 of what it shows (its data and title, as passed to the cache,
and its file name) and of what draws it (the harness version, matplotlib's version and the
sources of the figure modules). A later build reuses a figure whose key is unchanged and whose
file still has the bytes it was written with; any other is redrawn, so a figure whose data,
drawing code or file changed is never reused. The index (`figure-index.json` in the figures
folder) is reused only when it is whole and was written by the same drawing code: otherwise every
figure is redrawn. Figures the previous build listed and this one did not show are removed (also
when another version drew them), so a site holds one build's figures, not a mix.

A report draws into the figures folder of its staging folder (`build`,
harness/present/site_publish.py): a kept figure is linked (or copied) there from the site's
figures folder, and the figures no longer shown are removed from the site when the build is
published (`remove_stale`). Without a staging folder figures are drawn in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.core.hashing import file_sha256
from harness.present.site_publish import keep_file
from harness.store import atomic, links

log = logging.getLogger(__name__)

INDEX = "figure-index.json"
FORMAT = 1
_DRAWING_MODULES = (
    "present/figures.py",
    "present/figure_style.py",
    "present/galleries.py",
    "present/ood_view.py",
    "present/report_figures.py",
    # what the drawing functions call as they draw: the reliability diagram's Wilson intervals,
    # a gallery's attack names, the labels' control characters (a figure drawn by their old
    # code was kept: tests/present/test_figure_cache.py checks the drawing modules' imports)
    "analysis/figure_data.py",
    "present/attack_names.py",
    "present/escaping.py",
)


def drawing_sources() -> list[Path]:
    """The source files whose code draws the figures (part of `drawing_identity`)."""
    package = Path(__file__).resolve().parents[1]
    return [package / name for name in _DRAWING_MODULES]


def drawing_identity() -> str:
    """The sha256 of what draws the figures: versions and the figure modules' sources."""
    import matplotlib

    try:
        harness_version = metadata.version("robustness-harness")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        harness_version = "not installed"
    digest = hashlib.sha256(f"{harness_version}\0{matplotlib.__version__}\0".encode())
    for path in drawing_sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class FigureCache:
    """The figures of a site folder's previous build, and those this build keeps or draws."""

    def __init__(
        self, figdir: Path, identity: str | None = None, *, build: Path | None = None
    ) -> None:
        self.figdir = figdir
        self.build = figdir if build is None else build
        self.identity = identity or drawing_identity()
        self.listed, self.previous = self._read()
        self.kept: dict[str, dict[str, str]] = {}
        self.reused = 0
        self.drawn = 0

    def _read(self) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
        """(every figure the previous index lists, those that may be reused: listed by the
        same drawing code)."""
        path = self.figdir / INDEX
        if links.is_link(path) or not path.is_file():
            return {}, {}
        try:
            raw: Any = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}, {}
        if not (isinstance(raw, dict) and isinstance(raw.get("figures"), dict)):
            return {}, {}  # damaged: every figure is redrawn
        entries = {
            name: entry
            for name, entry in raw["figures"].items()
            if isinstance(name, str)
            and Path(name).name == name
            and name != INDEX
            and isinstance(entry, dict)
            and isinstance(entry.get("key"), str)
            and isinstance(entry.get("sha256"), str)
        }
        same = raw.get("format") == FORMAT and raw.get("identity") == self.identity
        # another harness version: every figure is redrawn, and its figures this build does not
        # show are removed (`finish`)
        return entries, entries if same else {}

    def figure(self, path: Path, shows: object, draw: Callable[[], Path | None]) -> Path | None:
        """The figure at `path` (in the build's figures folder) showing `shows` (its data and
        title: compared by their repr), reused from the previous build when unchanged, else
        drawn by `draw`."""
        key = hashlib.sha256(f"{self.identity}\0{path.name}\0{shows!r}".encode()).hexdigest()
        old = self.previous.get(path.name)
        live = self.figdir / path.name
        if (
            old is not None
            and old["key"] == key
            and path.parent == self.build
            and not links.is_link(live)
            and live.is_file()
            and file_sha256(live) == old["sha256"]
            and keep_file(live, path)
        ):
            self.kept[path.name] = old
            self.reused += 1
            return path
        drawn = draw()
        if drawn is not None:
            self.kept[drawn.name] = {"key": key, "sha256": file_sha256(drawn)}
            self.drawn += 1
        return drawn

    def adopt(self, kept: dict[str, dict[str, str]], *, drawn: int, reused: int) -> None:
        """Figures another process kept or drew for this build (its pages' share)."""
        self.kept.update(kept)
        self.drawn += drawn
        self.reused += reused

    def finish(self) -> None:
        """Write the index in the build's figures folder; in place (no staging folder), also
        remove the figures this build did not keep (`remove_stale`)."""
        if self.build == self.figdir:
            self.remove_stale()
        index = {"format": FORMAT, "identity": self.identity, "figures": self.kept}
        atomic.write_text(self.build / INDEX, json.dumps(index, sort_keys=True), durable=False)
        log.info("figures: %d drawn, %d unchanged kept", self.drawn, self.reused)

    def remove_stale(self) -> None:
        """Remove the previous build's figures this one did not keep from the site's figures
        folder (only those still holding the bytes the index lists: an index from elsewhere
        cannot name other files)."""
        for name in sorted(self.listed.keys() - self.kept.keys()):
            stale = self.figdir / name
            if (
                stale.is_file()
                and not links.is_link(stale)
                and file_sha256(stale) == self.listed[name]["sha256"]
            ):
                links.remove_entry(stale)

    def leftovers(self) -> list[str]:
        """The figures in the site's figures folder that this build did not keep or draw (once
        it is published): as `PageCache.leftovers`, left in place."""
        if links.is_link(self.figdir) or not self.figdir.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.figdir.iterdir()
            if entry.name not in self.kept
            and entry.name != INDEX
            and not entry.name.startswith(".")
        )
