"""Every key of a spec, a suite config and an adapter config is set by some test.

The keys are enumerated from the models themselves (the run spec with its execution settings,
the task entry, and the config model of every registered suite and adapter, nested models
included), so a new key is covered by this test the day it is added. A key counts as set when
one test module outside the hostile value tables (`tests/reliability/hostile/`, which check that
bad values are refused) holds it as a word of a string literal (a YAML text, a mapping key) or
as a keyword argument, and, for a suite's or an adapter's key, holds the suite's name or the
adapter's kind as well. The check is by module, not by call: it catches a key no test sets.
"""

from __future__ import annotations

import ast
import functools
import re
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path

from pydantic import BaseModel, create_model

from harness.config.spec import RunSpec
from harness.data.task_spec import TaskSpec
from harness.run.plugins import adapter_registry, suite_registry

TESTS = Path(__file__).resolve().parents[1]
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# configs no spec writes: the `variant` adapter's is built by the planner from a model's
# `variants:` list (tests/adapters/variants/ covers that list)
NOT_WRITTEN = {"adapter variant"}


def owners() -> dict[str, type[BaseModel]]:
    """`<kind> <name>` -> the model of its keys: the spec, the task entry, every suite and
    adapter config."""
    found: dict[str, type[BaseModel]] = {"spec run": RunSpec, "spec task": TaskSpec}
    for kind, registry in (("suite", suite_registry()), ("adapter", adapter_registry())):
        for name in registry.names():
            found[f"{kind} {name}"] = registry.load(name).config_model
    return found


def _models(annotation: object) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation holds (in unions, lists, mappings, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Every key path of `model` (`ood.knn_k`), nested models included; a task entry inside
    another model is the task entry's own (`spec task`)."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        yield prefix + key
        for nested in dict.fromkeys(_models(field.annotation)):
            if nested is not model and nested is not TaskSpec:
                yield from keys(nested, f"{prefix}{key}.")


def module_words(source: str) -> frozenset[str]:
    """The words of every string literal of a module and its keyword-argument names."""
    words: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            words.update(WORD.findall(node.value))
        elif isinstance(node, ast.keyword) and node.arg is not None:
            words.add(node.arg)
    return frozenset(words)


@functools.cache
def _test_modules() -> tuple[frozenset[str], ...]:
    """The words of every test module but the hostile tables and this one."""
    here = Path(__file__).resolve()
    return tuple(
        module_words(path.read_text())
        for path in sorted(TESTS.rglob("*.py"))
        if "hostile" not in path.relative_to(TESTS).parts and path.resolve() != here
    )


def missing_keys(models: Mapping[str, type[BaseModel]]) -> list[str]:
    """`<kind> <name>: <key path>` for every key no test module sets."""
    missing = []
    for owner, model in models.items():
        if owner in NOT_WRITTEN:
            continue
        kind, name = owner.split(" ", 1)
        for path in dict.fromkeys(keys(model)):
            leaf = path.rsplit(".", 1)[-1]
            if not any(
                leaf in words and (kind == "spec" or name in words) for words in _test_modules()
            ):
                missing.append(f"{owner}: {path}")
    return missing


def test_every_key_is_set_by_a_test() -> None:
    assert len(_test_modules()) > 100  # the walk found the test tree
    found = owners()
    assert {"suite shift", "adapter onnx", "spec task"} <= set(found)
    assert "ood.knn_k" in set(keys(found["suite shift"]))  # nested models are walked
    assert missing_keys(found) == []


def test_a_key_no_test_sets_is_reported() -> None:
    class Nested(BaseModel):
        depth_nobody_sets: int = 0

    planted = create_model(
        "Planted",
        __base__=suite_registry().load("accuracy").config_model,
        knob_nobody_sets=(int, 0),
        nested=(Nested, Nested()),
    )
    assert missing_keys({"suite accuracy": planted}) == [
        "suite accuracy: knob_nobody_sets",
        "suite accuracy: nested.depth_nobody_sets",
    ]
