"""The source files a model's own code comes from, and their digest, which enters its identity.

A torch factory model's identity hashes its parameters; without its code an edit to `forward`
that leaves the parameters alone kept the identity, and the result cache served the numbers of
the old code. The digest covers the file that defines the factory and the files that define the
class of every module in the network (and their base classes). Left out: torch's own files and
the harness's (their versions and the harness's code digest are in the cache's key already),
and objects without a source file (built-ins, classes typed into an interactive session).
Code that those files import from other files is not covered (docs/cache.md).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.core.hashing import file_sha256

COVERED_ELSEWHERE = ("torch", "harness", "builtins")  # top-level packages whose files are skipped


def defining_files(objects: Iterable[Any]) -> list[Path]:
    """The source files that define `objects` (functions, classes, instances: the classes of
    a torch module's submodules), their base classes included, sorted and without repeats."""
    items = {id(item): item for obj in objects for item in _defining_objects(obj)}
    files: set[Path] = set()
    for item in items.values():
        module = getattr(item, "__module__", None) or ""
        if module.split(".")[0] in COVERED_ELSEWHERE:
            continue
        path = _source_file(item)
        if path is not None:
            files.add(path)
    return sorted(files)


def source_sha256(objects: Iterable[Any]) -> str | None:
    """sha256 over the defining files' contents (each named by its file name), or None when no
    file defines any of them outside torch and the harness."""
    files = defining_files(objects)
    if not files:
        return None
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path.name}\0{file_sha256(path)}\0".encode())
    return h.hexdigest()


def _defining_objects(obj: Any) -> list[Any]:
    """What defines `obj`: a function itself; a class and its bases; an instance's class and
    its bases, and for a module with submodules (torch) each submodule's class and bases."""
    if isinstance(obj, functools.partial):
        return _defining_objects(obj.func)
    if inspect.ismethod(obj):
        return [obj.__func__, *_classes(type(obj.__self__))]
    if inspect.isfunction(obj):
        return [inspect.unwrap(obj)]
    if inspect.isclass(obj):
        return _classes(obj)
    modules = getattr(obj, "modules", None)
    if callable(modules) and not inspect.isclass(obj):
        try:
            return [c for m in modules() for c in _classes(type(m))]
        except Exception:  # noqa: BLE001 - a `modules` that is not torch's: the class alone
            pass
    return _classes(type(obj))


def _classes(cls: type) -> list[type]:
    return [c for c in inspect.getmro(cls) if c is not object]


def _source_file(obj: Any) -> Path | None:
    try:
        source = inspect.getsourcefile(obj)
    except (TypeError, OSError):
        return None
    if source is None:
        return None
    path = Path(source)
    return path.resolve() if path.is_file() else None
