"""Exactly the documented types in specs and policies: what pydantic's lax mode would coerce
silently is refused, naming the key.

Lax validation turns `seed: true` into 1, `limit: true` into a run on one sample, `ignore: 1`
into true, `name: !!binary ...` into text and `timeout: .inf` into a limit that never ends.
`loose_values` walks the raw YAML value along a model's field types before pydantic sees it and
reports each value of the wrong kind:

- a number field (int, float, a Literal of numbers) takes a number, never true/false nor bytes;
  an int field takes a whole number (`3`, not `3.0`); a float field takes a finite one (not
  `.nan`, `.inf` nor the text 'nan'). Numeric text is left to pydantic: YAML 1.1 reads `1e-3`
  (no dot) as text, and pydantic reads it as the number it is;
- a true/false field takes true or false, never 0/1 nor text;
- a text or path field takes text, never bytes.

A union takes a value that fits one of its members exactly. Fields with a `before`, `wrap` or
`plain` validator of their own define what they accept (a duration written `90s`) and are left
to it; `Any` is left alone (a factory's own arguments). Values of other kinds (a list where a
number goes) are left to pydantic, whose message already says so.
"""

from __future__ import annotations

import enum
import math
import types
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, Any]  # where, what the key takes, the value given

_EXACT, _LOOSE, _OTHER = "exact", "loose", "other"


def loose_values(model: type[BaseModel], data: Any, *, nested: bool = True) -> list[Problem]:
    """Every value of `data` (the raw input of `model`) that pydantic would coerce from another
    kind. `nested=False` leaves nested models that check themselves (`checks_itself`) alone."""
    if not isinstance(data, Mapping):
        return []
    return list(_model_fields(model, data, (), nested))


def loose_value(value: Any, annotation: Any) -> list[Problem]:
    """The problems of one value against a type (for a field that validates itself)."""
    return list(_walk(value, annotation, (), True))


def checks_itself(model: type[BaseModel]) -> bool:
    """Models whose own validator runs `loose_values` (harness.core.validation.KnownKeys)."""
    return bool(getattr(model, "__checks_input_types__", False))


def _model_fields(
    model: type[BaseModel], data: Mapping[Any, Any], loc: Loc, nested: bool
) -> Iterator[Problem]:
    own = _self_validated(model)
    by_key = {(f.alias or name): name for name, f in model.model_fields.items()}
    for key, value in data.items():
        name = by_key.get(key, key if key in model.model_fields else None)
        if name is None or name in own:
            continue
        yield from _walk(value, model.model_fields[name].annotation, (*loc, key), nested)


def _self_validated(model: type[BaseModel]) -> set[str]:
    """Fields with a validator that sees the raw value (mode before, wrap or plain)."""
    names: set[str] = set()
    for dec in model.__pydantic_decorators__.field_validators.values():
        if dec.info.mode in ("before", "wrap", "plain"):
            names.update(dec.info.fields)
    return names


def _walk(value: Any, annotation: Any, loc: Loc, nested: bool) -> Iterator[Problem]:
    """Problems of `value` against `annotation` (a field's type)."""
    kind, inner = _match(value, annotation)
    if kind == _LOOSE:
        yield (loc, _wanted(inner), value)
    elif kind == _EXACT and inner is not None:
        yield from _inside(value, inner, loc, nested)


def _match(value: Any, annotation: Any) -> tuple[str, Any]:
    """How `value` fits `annotation`: exactly (with the member it fits, to look inside), loosely
    (pydantic would coerce it; with the type it was coerced to), or not at all."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _match(value, get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        fits = [(m, _match(value, m)) for m in get_args(annotation)]
        exact = next((r for _m, r in fits if r[0] == _EXACT), None)
        if exact is not None:
            return exact
        return next((r for _m, r in fits if r[0] == _LOOSE), (_OTHER, None))
    if origin is Literal:
        choices = get_args(annotation)
        if any(type(value) is type(c) and value == c for c in choices):
            return _EXACT, None
        loose = any(value == c and type(value) is not type(c) for c in choices)
        return (_LOOSE, annotation) if loose else (_OTHER, None)
    return _match_type(value, annotation, origin)


def _match_type(value: Any, annotation: Any, origin: Any) -> tuple[str, Any]:
    base = origin or annotation
    if annotation is Any or base is object or not isinstance(base, type):
        return _EXACT, None
    if value is None:
        return (_EXACT, None) if base is type(None) else (_OTHER, None)
    if base in (list, tuple, set, frozenset) or base in (dict, Mapping):
        container = (list, tuple) if base in (list, tuple, set, frozenset) else Mapping
        return (_EXACT, annotation) if isinstance(value, container) else (_OTHER, None)
    if issubclass(base, BaseModel):
        return (_EXACT, annotation) if isinstance(value, Mapping) else (_OTHER, None)
    kind = _match_leaf(value, base)
    return kind, (base if kind == _LOOSE else None)


def _match_leaf(value: Any, base: type) -> str:
    if base is bool:
        return _EXACT if isinstance(value, bool) else _LOOSE
    if base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _EXACT
        return _LOOSE if isinstance(value, bool | float | bytes | bytearray) else _OTHER
    if base is float:
        if isinstance(value, bool | bytes | bytearray):
            return _LOOSE
        if isinstance(value, int | float):
            return _EXACT if math.isfinite(value) else _LOOSE
        return _LOOSE if isinstance(value, str) and _non_finite_text(value) else _OTHER
    if base is str or issubclass(base, PurePath):
        if isinstance(value, str):
            return _EXACT
        return _LOOSE if isinstance(value, bytes | bytearray) else _OTHER
    if issubclass(base, enum.Enum):
        return _EXACT if isinstance(value, str | int) and not isinstance(value, bool) else _OTHER
    return _EXACT if isinstance(value, base) else _OTHER


def _non_finite_text(value: str) -> bool:
    """'nan', 'inf', '-Infinity', '1e999': text pydantic would read as a non-finite number.
    Other numeric text (`1e-3`, which YAML 1.1 reads as text) is pydantic's to read."""
    try:
        return not math.isfinite(float(value))
    except ValueError:
        return False


def _inside(value: Any, annotation: Any, loc: Loc, nested: bool) -> Iterator[Problem]:
    """Look inside a container or a nested model that `value` fits."""
    origin = get_origin(annotation) or annotation
    args = get_args(annotation)
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        if nested or not checks_itself(origin):
            yield from _model_fields(origin, value, loc, nested)
        return
    if origin in (dict, Mapping):
        key_type, item = args if len(args) == 2 else (Any, Any)
        for key, v in value.items():
            where = (*loc, key if isinstance(key, str | int) else repr(key))
            yield from _walk(key, key_type, where, nested)  # `!!binary` keys are not names
            yield from _walk(v, item, where, nested)
        return
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        for i, (v, a) in enumerate(zip(value, args, strict=False)):
            yield from _walk(v, a, (*loc, i), nested)
        return
    item = args[0] if args else Any
    for i, v in enumerate(value):
        yield from _walk(v, item, (*loc, i), nested)


def _wanted(annotation: Any) -> str:
    """What a key takes, in words, for its one-line message."""
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(c) for c in get_args(annotation))
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number"
    if annotation is float:
        return "a finite number"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "a path (text)"
    return "text"


def not_kind(value: Any) -> str:
    """`, not true/false` (bytes, text) after what a key takes; nothing for a number (the
    message's `(got ...)` shows it)."""
    if isinstance(value, bool):
        return ", not true/false"
    if isinstance(value, bytes | bytearray):
        return ", not bytes"
    if isinstance(value, str):
        return ", not text"
    return ""
