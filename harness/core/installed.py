"""What is installed, read once per state of the import path: entry points, versions, and the
import names of the libraries the harness depends on.

`importlib.metadata.entry_points()` reads every installed distribution's entry_points.txt on
each call (~25 ms here, 200+ distributions), and one `harness run` builds the suite, adapter,
board and task registries several times; `importlib.metadata.version()` searches the path on
each call, and manifests and cache keys ask for a dozen versions per job. Both answers are kept
for as long as the import path looks the same: the same `sys.path` entries, each entry that
holds distributions (`*.dist-info`, `*.egg-info`) with the same modification time (installing,
upgrading or removing a distribution adds or removes such a folder, which changes its folder's
time; prepending a plugin's folder changes the entries), and the same `sys.meta_path` finders.
An entry that holds no distribution (a spec's folder: `harness run` puts it on the path, and the
run writes into it) does not count until one appears in it: it changes no answer, and a process
that runs many specs (a test session, a notebook) put a new folder on the path for each and read
everything again each time (a new folder per test in tests/reliability/test_bad_input_catalogue.py:
177 reads for 216 tests, about 7% of its CPU time). A process therefore sees a
plugin installed while it runs, as `importlib.metadata` does; an entry_points.txt edited in place
inside an existing `.dist-info` folder is seen by the next process.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
import threading
from collections.abc import Iterable
from typing import Any

_State = tuple[tuple[tuple[str, int | None], ...], tuple[int, ...]]
_DIST_SUFFIXES = (".dist-info", ".egg-info")

_lock = threading.Lock()
_state: _State | None = None
# every installed entry point, read in one pass: EntryPoints (Python 3.12+) or SelectableGroups
# (3.11), both with `select(group=...)`
_everything: Any = None
_entry_points: dict[str, importlib.metadata.EntryPoints] = {}  # group -> its entry points
_versions: dict[str, str | None] = {}
_libraries: frozenset[str] | None = None
_core_libraries: frozenset[str] | None = None
_holds: dict[str, tuple[int, bool]] = {}  # entry -> (its time when listed, holds distributions)


def _entry_state(entry: str) -> tuple[str, int | None]:
    """(entry, its modification time), or (entry, None) for a folder without distributions
    (missing: (entry, None) too), which `_path_state` leaves out."""
    path = os.path.abspath(entry or ".")
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return path, None
    seen = _holds.get(path)
    if seen is None or seen[0] != mtime:
        if len(_holds) > 1000:  # a long session's spec folders come and go
            _holds.clear()
        try:
            names = os.listdir(path)
        except OSError:  # a zip file or an unreadable folder: count it by its time
            holds = True
        else:
            holds = path.lower().endswith(".egg") or any(
                n.lower().endswith(_DIST_SUFFIXES) for n in names
            )
        seen = _holds[path] = (mtime, holds)
    return path, (mtime if seen[1] else None)


def _path_state() -> _State:
    entries = tuple(s for s in map(_entry_state, sys.path) if s[1] is not None)
    return entries, tuple(id(finder) for finder in sys.meta_path)


def _current() -> None:
    """Drop what was kept when the import path no longer looks the same (hold `_lock`)."""
    global _state, _everything, _libraries, _core_libraries
    state = _path_state()
    if state != _state:
        _state, _everything, _libraries, _core_libraries = state, None, None, None
        _entry_points.clear()
        _versions.clear()


def entry_points(group: str) -> importlib.metadata.EntryPoints:
    """The installed entry points of `group`, as `importlib.metadata.entry_points(group=...)`."""
    global _everything
    with _lock:
        _current()
        if group not in _entry_points:
            if _everything is None:
                _everything = importlib.metadata.entry_points()
            _entry_points[group] = _everything.select(group=group)
        return _entry_points[group]


def version(name: str) -> str | None:
    """The installed version of distribution `name`; None when it is not installed."""
    with _lock:
        _current()
        if name not in _versions:
            try:
                _versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                _versions[name] = None
        return _versions[name]


HARNESS = "robustness-harness"  # the harness's distribution: its requirements start the walk
RUN_TIME_EXTRAS_LEFT_OUT = frozenset({"dev"})  # the test suite's tools: no run imports them
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA = re.compile(r"""\bextra\s*==\s*['"]([^'"]+)['"]""")


def _canonical(name: str) -> str:
    """A distribution's (or an extra's) name as comparisons need it (PEP 503, PEP 685)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _import_names(dist: importlib.metadata.Distribution) -> set[str]:
    """The top-level modules `dist` installs: its top_level.txt, else read off its RECORD."""
    text = dist.read_text("top_level.txt")
    if text is not None:
        return {name for name in text.split() if name.isidentifier()}
    names: set[str] = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        first, slash, _ = line.partition(",")[0].partition("/")
        if not slash:  # a module file, not a package folder
            first = first.partition(".")[0] if first.endswith((".py", ".so", ".pyd")) else ""
        if first.isidentifier():
            names.add(first)
    return names


def dependency_names(
    dists: Iterable[importlib.metadata.Distribution], *, extras: bool = True
) -> frozenset[str]:
    """Top-level import names of the distributions among `dists` the harness requires, directly
    or through another, with the extras each requirement asks for (all of the harness's own but
    `dev`; none of its own without `extras`); without the harness's distribution (a checkout on
    PYTHONPATH), of all of `dists`."""
    by_name: dict[str, tuple[importlib.metadata.Distribution, Any]] = {}
    for dist in dists:
        metadata = dist.metadata  # parsed on each access: once here
        name = metadata["Name"]
        if name:  # the first on the path, as imports take
            by_name.setdefault(_canonical(name), (dist, metadata))
    if HARNESS not in by_name:
        return frozenset(name for dist, _ in by_name.values() for name in _import_names(dist))
    offered = {_canonical(e) for e in by_name[HARNESS][1].get_all("Provides-Extra") or []}
    own = frozenset(offered - RUN_TIME_EXTRAS_LEFT_OUT) if extras else frozenset()
    todo = [(HARNESS, own)]
    walked: dict[str, frozenset[str]] = {}  # distribution -> the extras walked
    while todo:
        name, asked = todo.pop()
        if name not in by_name or (name in walked and asked <= walked[name]):
            continue  # not installed, or walked with these extras already
        walked[name] = asked | walked.get(name, frozenset())
        dist, metadata = by_name[name]
        # an .egg-info's are in requires.txt, which `requires` reads
        for requirement in metadata.get_all("Requires-Dist") or dist.requires or ():
            spec, _, marker = requirement.partition(";")
            wanted = {_canonical(e) for e in _EXTRA.findall(marker)}
            found = _REQUIREMENT.match(spec)
            if found is None or (wanted and not wanted & asked):
                continue
            more = {_canonical(e.strip()) for e in (found[2] or "").split(",") if e.strip()}
            todo.append((_canonical(found[1]), frozenset(more)))
    names = {name for dist in walked for name in _import_names(by_name[dist][0])}
    return frozenset(names - {"harness"})


def library_names(*, extras: bool = True) -> frozenset[str]:
    """Top-level import names of the installed libraries the harness depends on, directly or
    through another: those a run may import, lazily, that a user's same-named module must not
    shadow (harness/core/user_code.py). Without `extras`: through its required dependencies
    only (not what its optional extras bring: mlflow's `docker`, `flask`; GitPython's `git` is
    required, through foolbox)."""
    global _libraries, _core_libraries
    with _lock:
        _current()
        if extras:
            if _libraries is None:
                _libraries = dependency_names(importlib.metadata.distributions())
            return _libraries
        if _core_libraries is None:
            _core_libraries = dependency_names(importlib.metadata.distributions(), extras=False)
        return _core_libraries
