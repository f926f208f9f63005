"""The variant grammar: `fp16`, `bf16`, `int8`, `prune<percent>`, or `{prune: 0.3, scope: layer}`.

A variant becomes a model of its own named `<parent>@<variant name>`. Torch-free, so `harness
validate` checks variants without loading anything.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from harness.core.errors import SpecError, UnknownNameError

VariantKind = Literal["fp16", "bf16", "int8", "prune"]
PruneScope = Literal["global", "layer"]
SEPARATOR = "@"
SIMPLE_KINDS: tuple[str, ...] = ("fp16", "bf16", "int8")
# Names offered as close matches for a typo (prune takes any percent in [0, 100)).
EXAMPLE_NAMES: tuple[str, ...] = (*SIMPLE_KINDS, "prune30", "prune50", "prune90", "prune50-layer")
_PRUNE_NAME = re.compile(r"^prune(?P<pct>\d+(?:\.\d+)?)(?:-(?P<scope>global|layer))?$")
_MAPPING_KEYS = ("prune", "scope")


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One compression recipe: kind, and for pruning the sparsity in [0, 1) and its scope."""

    kind: VariantKind
    sparsity: float | None = None
    scope: PruneScope = "global"

    @property
    def name(self) -> str:
        """Canonical name: `int8`, `prune50` (global), `prune30-layer`, `prune12.5`."""
        if self.kind != "prune":
            return self.kind
        assert self.sparsity is not None
        pct = round(self.sparsity * 100, 6)
        text = f"{pct:g}" if pct != int(pct) else str(int(pct))
        return f"prune{text}" + ("-layer" if self.scope == "layer" else "")

    def model_name(self, parent: str) -> str:
        return f"{parent}{SEPARATOR}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name}
        if self.kind == "prune":
            out.update(sparsity=self.sparsity, scope=self.scope)
        return out


def _sparsity(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}: sparsity must be a number in [0, 1), got {value!r}")
    s = float(value)
    if not math.isfinite(s) or not 0.0 <= s < 1.0:
        raise SpecError(
            f"{where}: sparsity must be in [0, 1) (the fraction of weights set to zero), got {value!r}"
        )
    return s


def parse_variant(entry: Any, *, where: str) -> Variant:
    """Parse one `variants:` entry; errors are SpecError/UnknownNameError naming `where`."""
    if isinstance(entry, str):
        if entry in SIMPLE_KINDS:
            return Variant(kind=entry)  # type: ignore[arg-type]
        m = _PRUNE_NAME.match(entry)
        if m:
            s = _sparsity(float(m["pct"]) / 100, f"{where} ({entry!r})")
            return Variant(kind="prune", sparsity=s, scope=m["scope"] or "global")  # type: ignore[arg-type]
        err = UnknownNameError("variant", entry, EXAMPLE_NAMES)
        raise SpecError(f"{where}: {err}; prune takes any percent in [0, 100), e.g. prune75")
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - set(_MAPPING_KEYS))
        if unknown:
            raise SpecError(
                f"{where}.{unknown[0]}: unknown key (a variant mapping takes prune and scope, "
                "e.g. {prune: 0.3, scope: layer})"
            )
        if "prune" not in entry:
            raise SpecError(f"{where}.prune: required key is missing (e.g. {{prune: 0.3}})")
        s = _sparsity(entry["prune"], f"{where}.prune")
        scope = entry.get("scope", "global")
        if scope not in ("global", "layer"):
            raise SpecError(f"{where}.scope: must be 'global' or 'layer', got {scope!r}")
        return Variant(kind="prune", sparsity=s, scope=scope)
    raise SpecError(
        f"{where}: a variant is a name (fp16, bf16, int8, prune50) or a mapping "
        f"{{prune: 0.3, scope: layer}}, got {type(entry).__name__}"
    )


def split_model_name(name: str) -> tuple[str, str] | None:
    """(`parent`, `variant`) for a variant model name, else None."""
    if SEPARATOR not in name:
        return None
    parent, _, variant = name.rpartition(SEPARATOR)
    return parent, variant
