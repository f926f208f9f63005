"""Pages kept between builds of a report into the same site folder.

A page whose content depends only on its own view data (a model's page: its jobs' metrics,
figures and the navigation) is keyed by the sha256 of that data (the template's name and the
repr of everything passed to it: plain dataclasses, lists and text) and of what renders it (the
harness and Jinja2 versions, the templates and the rendering modules' sources). A later build
reuses a page whose key is unchanged and whose file still has the bytes it was written with;
any other is rendered again, so a page whose data, templates or file changed is never reused.
Other pages are rendered every build and only listed. The index (`page-index.json` in the site
folder) lists every page of the build with its key and sha256; pages the previous build listed
and this one did not write are removed (also when the previous build was another version: its
pages are rebuilt or removed, never mixed with this build's).

A report builds its site in a staging folder (`build`, harness/present/site_publish.py) while the
previous build stays whole in the site folder (`out`): a kept page is linked (or copied) from the
site folder into the staging folder, and the pages the previous build listed and this one did not
write are removed from the site folder when the build is published (`remove_stale`). Without a
staging folder (`build` is `out`) pages are written in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.core.hashing import file_sha256
from harness.present.site_publish import keep_file
from harness.present.templating import render
from harness.store import atomic, links

log = logging.getLogger(__name__)

INDEX = "page-index.json"
FORMAT = 1
# the templates read cell_view's star rule (tests/present/test_page_cache.py checks templating's
# imports)
_RENDERING_MODULES = ("templating.py", "escaping.py", "cell_view.py", "page_cache.py")
_PAGE_SUFFIXES = (".html",)  # what the pages this cache writes are


def rendering_sources() -> list[Path]:
    """The rendering modules and the templates (part of `rendering_identity`)."""
    here = Path(__file__).resolve().parent
    return [here / name for name in _RENDERING_MODULES] + sorted((here / "templates").iterdir())


def rendering_identity() -> str:
    """The sha256 of what renders the pages: versions, templates and the rendering modules."""
    versions = []
    for package in ("robustness-harness", "jinja2", "markupsafe"):
        try:
            versions.append(metadata.version(package))
        except metadata.PackageNotFoundError:  # run from a source tree that was never installed
            versions.append("not installed")
    digest = hashlib.sha256("\0".join(versions).encode())
    for path in rendering_sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class PageCache:
    """The pages of a site folder's previous build, and those this build keeps or renders
    (into `build`: the staging folder of the build, by default the site folder itself)."""

    def __init__(
        self, out: Path, identity: str | None = None, *, build: Path | None = None
    ) -> None:
        self.out = out
        self.build = out if build is None else build
        self.identity = identity or rendering_identity()
        self.listed, self.previous = self._read()
        self.kept: dict[str, dict[str, str]] = {}
        self.reused = 0
        self.rendered = 0

    def _read(self) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]]:
        """(every page the previous index lists, those it lists as this identity's)."""
        path = self.out / INDEX
        if links.is_link(path) or not path.is_file():
            return {}, {}
        try:
            raw: Any = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}, {}
        if not (isinstance(raw, dict) and isinstance(raw.get("pages"), dict)):
            return {}, {}
        entries = {
            name: entry
            for name, entry in raw["pages"].items()
            if isinstance(name, str)
            and Path(name).name == name
            and not name.startswith(".")
            and name != INDEX
            and isinstance(entry, dict)
            and isinstance(entry.get("key"), str)
            and isinstance(entry.get("sha256"), str)
        }
        same = raw.get("format") == FORMAT and raw.get("identity") == self.identity
        return entries, entries if same else {}

    def page(self, path: Path, template: str, *, reuse: bool = False, **context: Any) -> None:
        """Write `template` rendered with `context` at `path` (in the build folder); with
        `reuse`, keep the previous build's page when its key (module docstring) and file are
        unchanged."""
        key = ""
        if reuse:
            shown = repr(sorted(context.items()))
            what = f"{self.identity}\0{path.name}\0{template}\0{shown}"
            key = hashlib.sha256(what.encode("utf-8", errors="surrogatepass")).hexdigest()
            old = self.previous.get(path.name)
            live = self.out / path.name
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
                return
        data = render(template, **context).encode("utf-8")
        atomic.write_bytes(path, data, durable=False)
        self.kept[path.name] = {"key": key, "sha256": hashlib.sha256(data).hexdigest()}
        self.rendered += 1

    def adopt(self, kept: dict[str, dict[str, str]], *, rendered: int, reused: int) -> None:
        """Pages another process kept or rendered for this build (its share of the pages)."""
        self.kept.update(kept)
        self.rendered += rendered
        self.reused += reused

    def finish(self) -> None:
        """Write the index in the build folder; in place (no staging folder), also remove the
        previous build's pages this one did not write (`remove_stale`)."""
        if self.build == self.out:
            self.remove_stale()
        index = {"format": FORMAT, "identity": self.identity, "pages": self.kept}
        atomic.write_text(self.build / INDEX, json.dumps(index, sort_keys=True), durable=False)
        log.info("pages: %d rendered, %d unchanged kept", self.rendered, self.reused)

    def remove_stale(self) -> None:
        """Remove from the site folder the previous build's pages this one did not write.

        Only a page file still holding the bytes the index lists for it is removed: an index
        restored from elsewhere (a CI cache) or edited can name other files of the folder, and
        a file a user changed or put there under a page's name is not the report's to delete."""
        for name in sorted(self.listed.keys() - self.kept.keys()):
            stale = self.out / name
            if (
                stale.suffix in _PAGE_SUFFIXES
                and stale.is_file()
                and not links.is_link(stale)
                and file_sha256(stale) == self.listed[name]["sha256"]
            ):
                links.remove_entry(stale)

    def leftovers(self) -> list[str]:
        """The pages in the site folder that this build did not write (once it is published):
        a page of an earlier build that `remove_stale` could not prove its own (its index was
        damaged or of another format, or the page was edited since), or a user's own. They are
        left in place, and may show older results than the report's."""
        return sorted(
            entry.name
            for entry in self.out.iterdir()
            if entry.suffix in _PAGE_SUFFIXES
            and entry.name not in self.kept
            and not entry.name.startswith(".")
        )
