"""Loads the `imagecorruptions` reference (1.1.2) with small in-process patches for numpy 2 and
current scikit-image / setuptools; site-packages stay untouched.

Patches: a stand-in `pkg_resources.resource_filename`; `skimage.filters.gaussian(multichannel=)`
mapped to `channel_axis=-1`; `np.float_` (removed in numpy 2) seen as `np.float64` by the module.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from typing import Any

import numpy as np


def load_reference() -> Any:
    """Return the patched `imagecorruptions.corruptions` module, or raise ImportError."""
    if importlib.util.find_spec("imagecorruptions") is None:
        raise ImportError("imagecorruptions is not installed (pip install imagecorruptions==1.1.2)")
    if "pkg_resources" not in sys.modules:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package: str, name: str) -> str:
            spec = importlib.util.find_spec(package)
            assert spec is not None and spec.origin is not None
            return os.path.join(os.path.dirname(spec.origin), name)

        shim.resource_filename = resource_filename  # type: ignore[attr-defined]
        # pytest's monkeypatch.syspath_prepend calls this whenever `pkg_resources` is imported:
        # without it a later test of the same worker fails in its monkeypatch
        shim.fixup_namespace_packages = lambda *_args, **_kwargs: None  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    module = importlib.import_module("imagecorruptions.corruptions")
    if getattr(module, "_harness_patched", False):
        return module
    from skimage.filters import gaussian as sk_gaussian

    def gaussian(image: Any, sigma: Any = 1, multichannel: bool | None = None, **kw: Any) -> Any:
        if multichannel:
            kw["channel_axis"] = -1
        return sk_gaussian(image, sigma=sigma, **kw)

    numpy_ns = types.SimpleNamespace(
        **{k: getattr(np, k) for k in dir(np) if not k.startswith("__")}
    )
    numpy_ns.float_ = np.float64
    module.gaussian = gaussian
    module.np = numpy_ns
    module._harness_patched = True
    return module
