"""The user's own modules of one spec: its folder first on `sys.path`, for that run only.

A spec's `module:factory` references import the user's code from the spec's folder (as `python -m`
would from the current one). In one Python process that runs several specs (a notebook calling
`harness.run_spec`, a test session calling `main([...])`), leaving each folder on `sys.path` and
its modules in `sys.modules` let the second spec's `mymodel:build` get the first spec's
`mymodel`, already imported: the run reported the other model's numbers under this one's name,
and the result cache stored them under the other code's hash.

`user_code(folder)` puts the folder first on `sys.path` and sets aside, for the run, every module
of a name the folder provides (`name.py`, a `name/` package) that was imported from somewhere
else; on exit `sys.path` is what it was, the modules of those names the run imported are
forgotten and the ones set aside are back. Modules already imported from the folder itself stay.
`harness` itself is never set aside (a spec in a checkout of the harness), nor is a module
installed (the standard library's, site-packages' or dist-packages'; not any under `sys.prefix`,
where Debian's system Python keeps a project in /usr/src/app). A name the folder shares with a
library the harness depends on, directly or through another (`datasets`, the `threadpoolctl`
scikit-learn imports: harness/core/installed.py), stays the library's: it is imported before the
folder goes first on the path.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import os
import site
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from harness.core import installed
from harness.core.errors import ConfigError

KEPT = frozenset({"harness"})
"""Top-level names never set aside or forgotten, whatever folder provides them."""

_scopes: list[_Scope] = []


def _provided(folder: Path) -> set[str]:
    """Top-level module names `folder` provides: `name.py` files and `name/` packages (a folder
    without `__init__.py`, a `data/` or `datasets/`, is no module an installed one yields to)."""
    names: set[str] = set()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return names
    for entry in entries:
        if not entry.name.removesuffix(".py").isidentifier():
            continue
        try:
            if entry.suffix == ".py" and entry.is_file():
                names.add(entry.stem)
            elif (entry / "__init__.py").is_file():
                names.add(entry.name)
        except OSError:
            continue
    return names - KEPT


def _library_folders() -> tuple[Path, ...]:
    """Where installed modules live: the standard library and the site folders (site-packages,
    Debian's dist-packages, the user's), as this interpreter has them. Not every folder under
    `sys.prefix`: with Debian's system Python (prefix /usr) a project in /usr/src/app is one."""
    paths = sysconfig.get_paths()
    places = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    with contextlib.suppress(AttributeError):  # an old virtualenv's site module lacks them
        places.update(site.getsitepackages())
        places.add(site.getusersitepackages())
    places.update(e for e in sys.path if Path(e).name in ("site-packages", "dist-packages"))
    folders: set[Path] = set()
    for place in places:
        with contextlib.suppress(OSError, ValueError):
            folders.add(Path(place).resolve())
    return tuple(folders)


def _installed(module: ModuleType, libraries: tuple[Path, ...]) -> bool:
    """Whether `module` is built in, or installed in one of the `libraries` folders (stdlib,
    site-packages): never set aside, as a second copy of a library (torch) cannot be loaded."""
    where = getattr(module, "__file__", None)
    if where is None:
        if getattr(module, "__path__", None) is None:
            return True  # built in
        places = list(module.__path__)  # a namespace package: installed when all its parts are
    else:
        places = [where]
    for place in places:
        try:
            path = Path(place).resolve()
        except (OSError, ValueError):
            continue
        if not any(path.is_relative_to(folder) for folder in libraries):
            return False
    return bool(places)


def _top(name: str) -> str:
    return name.partition(".")[0]


def _loaded_under(names: set[str]) -> list[str]:
    """The names in `sys.modules` whose top-level name is one of `names` (`name`, `name.sub`):
    the same as `_top(key) in names` for each key, matched in C (thousands of keys once torch is
    in, each `harness` command in a process that already holds them: the tests' in-process
    calls from a checkout, whose folder provides `tests`: 15 of 42 ms a call, the suite loaded)."""
    dotted = tuple(f"{name}." for name in names)
    return [key for key in sys.modules if key in names or key.startswith(dotted)]


def _within(module: ModuleType, folder: Path) -> bool:
    """Whether `module` was imported from `folder` (a file of it, or a package path in it)."""
    places = [getattr(module, "__file__", None), *list(getattr(module, "__path__", None) or [])]
    for place in places:
        if place is None:
            continue
        try:
            if _inside(os.path.realpath(place), folder):
                return True
        except (OSError, ValueError):
            continue
    return False


def _inside(path: str, folder: Path) -> bool:
    """`Path(path).is_relative_to(folder)` for a `path` as `os.path.realpath` gives it (absolute,
    normalized), compared as text on POSIX: a command run from a checkout of the harness looks
    at every `tests.*` module loaded (hundreds in a test session), and pathlib's objects cost
    more than the look-up itself (27 -> 18 ms a call with the whole test suite loaded)."""
    if os.name != "posix":
        return Path(path).is_relative_to(folder)
    top = str(folder)
    return path == top or path.startswith(top if top.endswith("/") else top + "/")


def _checkout(folder: Path) -> bool:
    """Whether `folder` is a checkout of the harness (its `harness/` package): it provides the
    harness's own packages (`suites`, `adapters`, `tests`), never a library; `harness` run in
    it (the tests, the benchmarks) read the installed distributions for its `tests`, which
    some distribution also installs (0.1-0.5 s a command)."""
    return (folder / "harness" / "__init__.py").is_file()


def _import_installed(names: set[str], folder: Path, *, extras: bool = True) -> None:
    """Import the libraries of `names` the harness depends on (directly or through another:
    harness/core/installed.py) not imported yet, with `folder` off the path: the harness's own
    lazy `import datasets`, and a library's (scikit-learn's `import threadpoolctl`), then get
    the library, not the folder's file (a library that is not installed is left alone)."""
    pending = sorted(name for name in names if name not in sys.modules)
    if not pending or _checkout(folder):
        return
    saved = list(sys.path)

    def elsewhere(entry: str) -> bool:
        try:
            return Path(entry or ".").resolve() != folder
        except (OSError, ValueError):
            return True

    def found(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except Exception:  # noqa: BLE001 - a broken finder or package: nothing to import
            return False

    without = [entry for entry in saved if elsewhere(entry)]

    @contextmanager
    def folder_off_the_path() -> Iterator[None]:
        sys.path[:] = without
        importlib.invalidate_caches()
        try:
            yield
        finally:
            sys.path[:] = saved
            importlib.invalidate_caches()

    with folder_off_the_path():
        # most of a folder's modules are found nowhere else (`mymodel`): the installed
        # distributions are read only for a name that is
        elsewhere_too = [name for name in pending if found(name)]
    if not elsewhere_too:
        return
    # read with the whole path, as every other call reads them: kept until the path changes
    # (read with the folder off it, a folder holding a distribution, a checkout's .egg-info,
    # read them all again on each call: 0.4 s)
    libraries = installed.library_names(extras=extras)
    wanted = [name for name in elsewhere_too if name in libraries]
    if not wanted:
        return
    with folder_off_the_path():
        for name in wanted:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - broken: the import stays lazy
                sys.modules.pop(name, None)


class _Scope:
    def __init__(self) -> None:
        self.path = list(sys.path)
        self.folders: list[Path] = []
        self.names: set[str] = set()
        self.set_aside: dict[str, ModuleType] = {}
        self.present: set[str] = set()

    def add(self, folder: Path) -> None:
        folder = folder.resolve()
        entry = str(folder)
        _import_installed(_provided(folder), folder)
        if entry in sys.path:
            sys.path.remove(entry)
        sys.path.insert(0, entry)
        if folder in self.folders:
            return
        self.folders.append(folder)
        new = _provided(folder) - self.names
        self.names |= new
        # a spec's folder mostly provides no module: nothing in `sys.modules` (thousands of
        # entries once torch and transformers are in) to look through, here or on restore
        libraries = _library_folders() if new else ()
        for key in _loaded_under(new) if new else []:
            module = sys.modules[key]
            if _within(module, folder) or _installed(sys.modules.get(_top(key), module), libraries):
                self.present.add(key)
            else:
                self.set_aside[key] = sys.modules.pop(key)
        importlib.invalidate_caches()

    def restore(self) -> None:
        sys.path[:] = self.path
        if self.names:
            libraries = _library_folders()
            for key in [k for k in _loaded_under(self.names) if k not in self.present]:
                # a submodule of the installed library of that name (`datasets.io.csv`, imported
                # within: `add` keeps the library for the harness) stays, as its parent does:
                # dropped, the next import made a second copy of it
                if not _installed(sys.modules.get(_top(key), sys.modules[key]), libraries):
                    del sys.modules[key]
        sys.modules.update(self.set_aside)
        importlib.invalidate_caches()


@contextmanager
def user_code(*folders: Path) -> Iterator[None]:
    """Within: each folder first on `sys.path`, its modules the ones imported by their names;
    `add_user_folder` adds more. On exit: `sys.path` and those names' modules as before."""
    scope = _Scope()
    _scopes.append(scope)
    try:
        for folder in reversed(folders):
            scope.add(folder)
        yield
    finally:
        _scopes.remove(scope)
        scope.restore()


def add_user_folder(folder: Path) -> None:
    """Let `module:factory` references import modules from `folder`, first on `sys.path`: for
    the innermost `user_code` scope's time when one is open, else for the process's."""
    if _scopes:
        _scopes[-1].add(folder)
        return
    entry = str(folder)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _among(entry: str, folders: set[Path]) -> bool:
    try:
        return Path(entry or ".").resolve() in folders
    except (OSError, ValueError):
        return False


def _found_elsewhere(name: str, folder: Path) -> bool:
    """Whether the path without `folder` has a module `name` too (`sys.modules` aside): none
    when the folder holds the library itself (an editable install's checkout on the path)."""
    path = [entry for entry in sys.path if not _among(entry, {folder})]
    try:
        return importlib.machinery.PathFinder.find_spec(name, path) is not None
    except Exception:  # noqa: BLE001 - a broken finder or package: nothing to compare with
        return False


def libraries_ahead() -> None:
    """In the calling process (a notebook, a script; `harness.evaluate` and the other verbs):
    Python puts the working folder ("" in a notebook or `python -c`) or the script's folder
    first on `sys.path`, so a `datasets.py` or `tqdm.py` there broke the harness's own imports
    (`No module named 'datasets.table'; 'datasets' is not a package`). Each library the
    harness depends on that such a folder also provides, and that is not imported yet, is
    imported now from the libraries (as a spec's folder gets, `user_code`); the user's code
    importing that name afterwards gets the library too. One already imported from the user's
    file cannot be replaced in this process: a ConfigError names the file and what to do.
    Only the libraries of the harness's required dependencies count here (directly or through
    another: `tqdm`, `six`), not what an optional extra brings: a notebook's own `docker.py`
    stays its own (an MLflow export that needs the docker library would fail on it there)."""
    libraries = _library_folders()
    for entry in list(sys.path):
        try:
            folder = Path(entry or ".").resolve()
        except (OSError, ValueError):
            continue
        if any(folder.is_relative_to(place) for place in libraries):
            continue  # the standard library and site-packages: libraries, not users' files
        if _checkout(folder):
            continue
        names = _provided(folder)
        if not names:
            continue
        # the libraries of the harness's required dependencies only: the calling process is
        # the user's, and a name only an optional extra brings (mlflow's `docker`) is theirs
        _import_installed(names, folder, extras=False)
        for name in sorted(names):
            module = sys.modules.get(name)
            if module is None or not _within(module, folder) or _installed(module, libraries):
                continue
            needed = installed.library_names(extras=False)
            if name in needed and _found_elsewhere(name, folder):
                raise ConfigError(
                    f"module {name!r} was imported from {module.__file__ or folder}, which has "
                    f"the name of a library the harness needs; rename your file (e.g. "
                    f"my_{name}.py) and restart this Python process (a notebook's kernel)"
                )


def harness_root() -> Path:
    """The folder the running `harness` package is imported from: a checkout's root when the
    harness runs from one (`python -m harness` in it, not installed)."""
    return Path(__file__).resolve().parents[2]  # harness/core/user_code.py


@contextmanager
def libraries_first() -> Iterator[None]:
    """Within: `sys.path` with the open scopes' user folders last, for starting a child process
    (spawn, a fork server): the child imports its target's module, the harness and its
    libraries with the path it is started with, before any of its own code runs, so a folder's
    `datasets.py` or `tqdm.py` first broke it there. Last, not left out: a script that calls the
    harness is run again in the child as its main module, and its own `import mymodel` must
    still find the module beside it. The child takes the whole path with `take_path`.
    The folder the harness itself comes from stays in place (a checkout the command runs in):
    behind the libraries the child imported another harness (an installed one)."""
    folders = {folder for scope in _scopes for folder in scope.folders} - {harness_root()}
    saved = list(sys.path)
    if folders:
        users = [entry for entry in saved if _among(entry, folders)]
        sys.path[:] = [entry for entry in saved if entry not in users] + users
    try:
        yield
    finally:
        sys.path[:] = saved


def _behind(entry: str, path: list[str], now: list[str]) -> bool:
    """Whether `entry` of `path` is missing from `now`, or behind an entry it came before."""
    if entry not in now:
        return True
    later = path[path.index(entry) + 1 :]
    return any(e in now and now.index(e) < now.index(entry) for e in later)


def take_path(path: list[str]) -> None:
    """In a child process started under `libraries_first`: `sys.path` becomes the parent's
    `path`; a name one of its folders provides (a folder the child's path lacked, or had later,
    behind the libraries) that is a library the harness depends on is imported first, from the
    libraries, as `user_code` does."""
    now = list(sys.path)
    for entry in path:
        if _behind(entry, path, now):  # "" too: the working folder, a notebook's
            with contextlib.suppress(OSError, ValueError):
                folder = Path(entry or ".").resolve()
                _import_installed(_provided(folder), folder)
    sys.path[:] = path
    importlib.invalidate_caches()
