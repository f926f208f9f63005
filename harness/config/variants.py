"""A model's `variants:`: the grammar, and their expansion into models of their own.

Grammar: `fp16`, `bf16`, `int8`, `prune<percent>`, or `{prune: 0.3, scope: layer}`. Each variant
becomes a model named `<parent>@<variant name>` with adapter `variant`; its plan carries the
parent's adapter class and validated config, so the runner builds the parent and applies the
recipe (adapters/variants/adapter.py). Torch-free, so `harness validate` checks variants without
loading anything.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from harness.config.spec import ModelSpec
from harness.core.errors import SpecError, UnknownNameError

VariantKind = Literal["fp16", "bf16", "int8", "prune"]
PruneScope = Literal["global", "layer"]
SEPARATOR = "@"
ADAPTER_KIND = "variant"  # the registered adapter kind that builds a variant model
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


def _refuse_fraction_as_percent(raw: Any, variant: Variant, where: str) -> None:
    """`prune0.5` in a spec: a name takes a percent (0.5% of the weights), a mapping a fraction
    (`{prune: 0.5}`: half), so a name below 1 percent most likely means a fraction. Refused,
    naming both spellings (the mapping keeps tiny sparsities expressible)."""
    if not isinstance(raw, str) or variant.sparsity is None:
        return
    pct = variant.sparsity * 100
    if not 0 < pct < 1:
        return
    layer = variant.scope == "layer"
    suffix, scope = ("-layer", ", scope: layer") if layer else ("", "")
    raise SpecError(
        f"{where}: {raw!r} prunes {pct:g}% of the weights (a name takes a percent, a mapping "
        f"a fraction): write prune{pct * 100:g}{suffix} for {pct * 100:g}%, or "
        f"{{prune: {variant.sparsity:g}{scope}}} if {pct:g}% is meant"
    )


def variant_entries(entry: ModelSpec, index: int) -> list[tuple[str, dict[str, Any]]]:
    """(model name, recipe) for each of a model entry's variants, in spec order."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for j, raw in enumerate(entry.variants):
        where = f"models[{index}]({entry.name}).variants[{j}]"
        variant = parse_variant(raw, where=where)
        _refuse_fraction_as_percent(raw, variant, where)
        name = variant.model_name(entry.name)
        if name in seen:
            raise SpecError(
                f"{where}: variant {variant.name!r} repeats variants[{seen[name]}] of the same model"
            )
        seen[name] = j
        out.append((name, variant.to_dict()))
    return out


def check_collisions(
    parents: list[str], variants: dict[str, tuple[int, int]], named: frozenset[int] = frozenset()
) -> None:
    """Refuse a variant model name equal to a model the spec defines (`(index, j)` locate it);
    `named`: the indices of models given by a name alone (a string entry)."""
    for name, (i, j) in variants.items():
        if name in parents and parents.index(name) in named:
            # `- mynet@int8` beside `{name: mynet, variants: [int8]}`: listing the variant as a
            # model too, not a second model to rename
            raise SpecError(
                f"models[{parents.index(name)}]: {name!r} is the variant that "
                f"models[{i}].variants[{j}] asks for; a variant is listed only by its parent's "
                f"`variants:`, so remove models[{parents.index(name)}]"
            )
        if name in parents:
            raise SpecError(
                f"models[{i}].variants[{j}]: variant model name {name!r} collides with the model "
                f"models[{parents.index(name)}] of the same name; rename that model"
            )


def variant_model_spec(parent: ModelSpec, name: str, recipe: dict[str, Any]) -> ModelSpec:
    """The variant's own ModelSpec: same tasks as its parent, adapter `variant`."""
    return ModelSpec.model_validate(
        {
            "name": name,
            "adapter": ADAPTER_KIND,
            "tasks": parent.tasks,
            "description": f"{recipe['name']} variant of {parent.name}",
        }
    )
