"""pytorch-ood 0.4.0's detector modules, imported without its package `__init__` (which imports
its datasets and models, and through them torchvision, which the CPU torch build here cannot
use). The tests' reference implementation; it is installed by `make install` (`--no-deps`)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


def detector_module(name: str) -> Any:
    """`pytorch_ood.detector.<name>`, its package `__init__`s replaced by empty modules."""
    if "pytorch_ood.detector" in sys.modules:
        return importlib.import_module(f"pytorch_ood.detector.{name}")
    spec = importlib.util.find_spec("pytorch_ood")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "pytorch-ood is the OOD detectors' reference: make install adds it "
            "(pip install --no-deps pytorch-ood==0.4.0)"
        )
    root = spec.submodule_search_locations[0]
    for package, folder in (("pytorch_ood", ""), ("pytorch_ood.detector", "/detector")):
        current = sys.modules.get(package)
        if current is None or not hasattr(current, "__path__"):
            stub = types.ModuleType(package)
            stub.__path__ = [root + folder]
            sys.modules[package] = stub
    return importlib.import_module(f"pytorch_ood.detector.{name}")
