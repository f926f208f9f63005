"""Plan expansion: each model's `variants:` become models of their own, `<parent>@<variant>`.

Torch-free. A variant's plan carries its parent's adapter class and validated config, so the
runner builds the parent and applies the recipe (see adapters.variants.adapter).
"""

from __future__ import annotations

from typing import Any

from harness.config.spec import ModelSpec
from harness.config.variants import parse_variant
from harness.core.errors import SpecError


def variant_entries(entry: ModelSpec, index: int) -> list[tuple[str, dict[str, Any]]]:
    """(model name, recipe) for each of a model entry's variants, in spec order."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for j, raw in enumerate(entry.variants):
        where = f"models[{index}]({entry.name}).variants[{j}]"
        variant = parse_variant(raw, where=where)
        name = variant.model_name(entry.name)
        if name in seen:
            raise SpecError(
                f"{where}: variant {variant.name!r} repeats variants[{seen[name]}] of the same model"
            )
        seen[name] = j
        out.append((name, variant.to_dict()))
    return out


def check_collisions(parents: list[str], variants: dict[str, tuple[int, int]]) -> None:
    """Refuse a variant model name equal to a model the spec defines (`(index, j)` locate it)."""
    for name, (i, j) in variants.items():
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
            "adapter": "variant",
            "tasks": parent.tasks,
            "description": f"{recipe['name']} variant of {parent.name}",
        }
    )
