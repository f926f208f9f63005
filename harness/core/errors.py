"""User-facing errors: the CLI prints their message on one line and exits 2.

Anything that is the user's to fix (a bad spec, an unknown name, a missing file, a model whose
shapes do not fit the task, a missing optional dependency) raises a `HarnessError` subclass whose
message names the key, file or column at fault and says what to do. Bugs are not wrapped.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HarnessError(Exception):
    """Base class for errors the user can fix; `str(err)` is the one line the CLI shows."""

    exit_code: int = 2


class SpecError(HarnessError):
    """The run spec (YAML) is malformed or names something invalid."""


class UnknownNameError(HarnessError):
    """A task, model, suite or adapter name that is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, scope: str = "") -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        where = f" {scope}" if scope else ""  # e.g. "in this spec": after the plural, not inside
        listing = f"known {kind}s{where}: {', '.join(known) if known else '(none)'}"
        super().__init__(
            f"unknown {kind}{where} {name!r}; " + (f"{hint} " if hint else "") + listing
        )
        self.kind = kind
        self.name = name
        self.close_matches = close


class DatasetError(HarnessError):
    """A dataset cannot be loaded or does not match what the task declares."""


class ModelLoadError(HarnessError):
    """Weights or a model definition cannot be loaded safely (missing, hash mismatch, pickle)."""


class ModelOutputError(HarnessError):
    """A model produced outputs that do not fit the task (wrong width, NaN or inf logits)."""


class ModelCallError(ModelOutputError):
    """The model's own code failed: it raised, recursed without end, called sys.exit or returned
    something that is not logits. `detail` keeps the traceback for the manifest (never printed)."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


class ClassCountError(ModelOutputError):
    """A model's logits have another number of classes than the task (`outputs`, `expected`)."""

    def __init__(self, message: str, *, outputs: int, expected: int) -> None:
        super().__init__(message)
        self.outputs = outputs
        self.expected = expected


class ConfigError(HarnessError):
    """A suite or adapter configuration is invalid."""


class DeviceError(HarnessError):
    """A requested device is not available."""


class ResultsError(HarnessError):
    """A results folder is missing, unwritable, corrupted or not comparable."""


class MissingDependencyError(HarnessError):
    """An optional dependency is needed for this feature."""

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {package!r}; "
            f"install it with: pip install 'robustness-harness[{extra}]'"
        )
