"""The identity of the harness's own code: a digest of the Python sources it runs.

The shared result cache (harness.store.result_cache) keys its entries by this digest besides
the job key, whose `harness_version` alone does not change when the code does (an edited
checkout, a development install): results computed by other code are never served. Reading
the sources takes about 20 ms; the runner computes it once, on its first cache lookup.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from harness.core.hashing import file_sha256

# the one package this distribution installs (pyproject.toml: tool.setuptools.packages.find)
PACKAGE = "harness"


def source_files() -> list[tuple[str, Path]]:
    """Every `.py` file of the package, with its path relative to the package folder, sorted.

    Links are followed: in a checkout `harness/suites`, `harness/adapters` and `harness/zoo` are
    links to the repository's top-level folders (in a wheel they are plain folders)."""
    spec = importlib.util.find_spec(PACKAGE)  # located, not imported
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    found: list[tuple[str, Path]] = []
    for folder in folders:
        root = Path(folder)
        for current, dirs, files in os.walk(root, followlinks=True):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            here = Path(current)
            found += [
                ((here / f).relative_to(root).as_posix(), here / f)
                for f in files
                if f.endswith(".py")
            ]
    return sorted(found)


def code_digest() -> str:
    """sha256 over every `.py` file of the harness's package (relative path and content)."""
    h = hashlib.sha256()
    for relative, path in source_files():
        h.update(f"{relative}\0{file_sha256(path)}\0".encode())
    return h.hexdigest()
