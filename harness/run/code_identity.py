"""The identity of the harness's own code: a digest of the Python sources it runs.

The shared result cache (harness.store.result_cache) keys its entries by this digest besides
the job key, whose `harness_version` alone does not change when the code does (an edited
checkout, a development install): results computed by other code are never served. Reading
the sources takes about 20 ms; the runner computes it once, on its first cache lookup.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from harness.core.hashing import file_sha256

# the packages this distribution installs (pyproject.toml: tool.setuptools.packages.find)
PACKAGES = ("harness", "suites", "adapters", "zoo")


def code_digest() -> str:
    """sha256 over every `.py` file of the harness's packages (relative path and content)."""
    h = hashlib.sha256()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)  # a top-level name: located, not imported
        folders = list(spec.submodule_search_locations or ()) if spec is not None else []
        h.update(f"{package}:{len(folders)}\0".encode())
        for folder in folders:
            root = Path(folder)
            for path in sorted(root.rglob("*.py")):
                h.update(f"{path.relative_to(root).as_posix()}\0{file_sha256(path)}\0".encode())
    return h.hexdigest()
