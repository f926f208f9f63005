"""What is installed, read once per state of the import path: entry points and versions.

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
import sys
import threading
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
    global _state, _everything
    state = _path_state()
    if state != _state:
        _state, _everything = state, None
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
