"""One-line messages for pydantic validation errors (spec keys, suite configs, stored records)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from harness.core.input_types import loose_values, not_kind

UNKNOWN_KEY = "unknown key (not allowed here)"
# the names a spec gives its tasks, models, run and protocol (they name folders and files)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
# the columns every loaded task keeps its rows in (`harness.core.task.SAMPLE_ID`, the labels, the
# inputs); a group column of the same name would replace them
RESERVED_COLUMNS = ("sample_id", "label", "input")


def group_column_problem(name: str) -> str | None:
    """Why `name` cannot name a group column (sensitive attribute), or None. Results name an
    intersection by joining its columns with '&' (`sex&age` is sex x age), so a column named
    `sex&age` would report its numbers under the intersection's name; an empty name leaves
    the grouping unnamed (`worst_group_acc[group_by=]`); `harness groups --by a,b` reads a
    column named `a,b` as the columns `a` and `b`."""
    if not name.strip():
        return "an empty column name; name each group column"
    if "&" in name:
        return (
            f"{name!r} has '&' in its name, which names an intersection of group columns "
            f"({name} is {' x '.join(name.split('&'))}); rename it"
        )
    if "," in name:
        return (
            f"{name!r} has ',' in its name, which separates group columns in harness groups "
            "--by; rename it"
        )
    return None


def format_validation_error(err: ValidationError, *, prefix: str, limit: int | None = None) -> str:
    """One line per problem: `prefix.key.path: message (got value)`; joined with '; '. A check
    of a whole mapping (a model validator: `bounds must be [low, high]...`) says its own value.

    `limit` keeps the first problems only and says how many more there were.
    """
    parts = []
    for e in _entries_together(err.errors()):
        path = ".".join(_loc_part(p) for p in (prefix, *e["loc"]) if p != "")
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            # `with_key_suggestions` words its own (`unknown key (did you mean 'seed'?)`)
            msg = msg if msg.startswith("unknown key") else UNKNOWN_KEY
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")  # pydantic's label for our own checks
        got = ""
        whole = e["type"] == "value_error" and isinstance(e.get("input"), Mapping)
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e and not whole:
            text = repr(e["input"])
            if f"got {text}" not in msg:  # a message that shows the value already says it once
                hint = _closest_choice(e) or _yaml_scalar_hint(e)
                got = f" (got {text[:60]}{'...' if len(text) > 60 else ''}{hint})"
        parts.append(f"{path}: {msg}{got}" if path else f"{msg}{got}")  # a whole-entry check
    if limit is not None and len(parts) > limit:
        parts = [*parts[:limit], f"(+{len(parts) - limit} more)"]
    return "; ".join(parts)


def _entries_together(errors: list[Any]) -> list[Any]:
    """The errors with those of several entries of one list that say the same thing folded into
    one: `size.0,1,4: Input should be a valid string (got 1, 2, 5)`, not one problem per entry."""
    out: list[Any] = []
    folded: dict[tuple[Any, ...], dict[str, Any]] = {}
    for e in errors:
        loc = e["loc"]
        if not loc or not isinstance(loc[-1], int) or "input" not in e:
            out.append(e)
            continue
        key = (loc[:-1], e["type"], e["msg"])
        if key not in folded:
            folded[key] = {**e, "entries": [loc[-1]], "inputs": [e["input"]]}
            out.append(folded[key])
        else:
            folded[key]["entries"].append(loc[-1])
            folded[key]["inputs"].append(e["input"])
    for e in out:
        if len(e.get("entries", ())) > 1:
            e["loc"] = (*e["loc"][:-1], _Entries(",".join(map(str, e["entries"]))))
            e["input"] = _Listed(e["inputs"])
    return out


class _Entries(str):
    """The positions of folded list entries (`0,1,4`), written as they are in the path."""


class _Listed(list[Any]):
    """The values of folded entries, shown as `1, 2, 5` (not as a list)."""

    def __repr__(self) -> str:
        return ", ".join(map(repr, self))


def _closest_choice(error: Mapping[str, Any]) -> str:
    """`; did you mean 'x'?` for a string close to one of a closed set's values (a Literal or
    an Enum: `generated: gaussian_nois`, `modality: imag`); else nothing."""
    if error["type"] not in ("literal_error", "enum") or not isinstance(error["input"], str):
        return ""
    choices = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
    close = difflib.get_close_matches(error["input"], choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


_TEXT_OR_MAPPING = ("string_type", "dict_type", "model_type")


def _yaml_scalar_hint(error: Mapping[str, Any]) -> str:
    """`; quote it` when YAML turned an unquoted name into a boolean or nothing (`name: no`,
    `models: [off]`, `name: ~`) where text or a mapping was expected: the value shown is then
    not what the user wrote."""
    values = error["input"] if isinstance(error["input"], _Listed) else [error["input"]]
    scalars = [v for v in values if isinstance(v, bool) or v is None]
    if error["type"] not in _TEXT_OR_MAPPING or not scalars:
        return ""
    value = scalars[0]
    read = (
        "yes/no/on/off/true/false as true/false"
        if isinstance(value, bool)
        else "~ and null as null"
    )
    return f"; YAML reads unquoted {read}: quote a name to keep it as text"


def _loc_part(part: object) -> str:
    """A key as written when it is plain; else its repr, so a hostile key (newline, control
    characters, markup) cannot break the one-line error or the terminal."""
    text = str(part)
    if isinstance(part, _Entries):
        return text
    return text if re.fullmatch(r"[\w.@+()\[\]-]+", text, flags=re.ASCII) else repr(text)


def closest_key(key: str, known: Sequence[str]) -> str | None:
    """The key of `known` a mistyped `key` most likely meant: the closest spelling (a typo,
    `severites`), else the one key that holds `key` as a whole part (`args` for
    `factory_args`, `layer` for `features_layer`: a key given without its qualifier). None
    when nothing is close, or several keys hold that part."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return close[0]
    holding = [k for k in known if key in k.split("_")[1:]]
    return holding[0] if len(holding) == 1 else None


def with_key_suggestions(
    err: ValidationError, known: Iterable[str], data: Any
) -> ValidationError | None:
    """`err` with each unknown key of `data` (the mapping the model read: errors at its top
    level) saying the closest key the model takes (`unknown key (did you mean 'severities'?)`),
    and without the "required key is missing" of that key (the typo is the one mistake). None
    when `err` has no unknown key at the top level: keep it as it is."""
    if not isinstance(data, Mapping):
        return None
    errors = err.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
    if not unknown:
        return None
    free = sorted(set(known) - {str(k) for k in data})  # a key already given is no suggestion
    suggested: dict[str, str] = {}
    for e in unknown:
        close = closest_key(str(e["loc"][0]), free)
        if close is not None:
            suggested[str(e["loc"][0])] = close
    meant = set(suggested.values())
    details: list[InitErrorDetails] = []
    for e in errors:
        if e["type"] == "missing" and len(e["loc"]) == 1 and e["loc"][0] in meant:
            continue
        msg = e["msg"]
        if e in unknown and str(e["loc"][0]) in suggested:
            msg = f"unknown key (did you mean {suggested[str(e['loc'][0])]!r}?)"
        # the rendered message is kept as it is: a template without context is not formatted
        details.append(
            {"type": PydanticCustomError(e["type"], msg), "loc": e["loc"], "input": e["input"]}
        )
    return ValidationError.from_exception_data(err.title, details)


def refuse_loose_values(model: type[BaseModel], data: Any, *, nested: bool = True) -> None:
    """A ValidationError (one entry per key) for each value of `data` that is not of the kind
    its key documents: true/false or text where a number goes, bytes where text goes, NaN or
    infinity where a finite number goes, a number where true/false goes (input_types.py)."""
    problems = loose_values(model, data, nested=nested)
    if not problems:
        return
    details: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError("loose_type", f"expected {wanted}{not_kind(value)}"),
            "loc": loc,
            "input": value,
        }
        for loc, wanted, value in problems
    ]
    raise ValidationError.from_exception_data(model.__name__, details)


class KnownKeys(BaseModel):
    """Base for models whose unknown keys are errors: each names the closest key the model
    takes (a typo of `severities` reads `unknown key (did you mean 'severities'?)`), wherever
    the model sits in a spec (a list entry, a suite config). Values must be of the documented
    kind (`refuse_loose_values`): `seed: true` is refused, not read as 1."""

    model_config = ConfigDict(extra="forbid")
    __checks_input_types__ = True

    @model_validator(mode="wrap")
    @classmethod
    def _suggest_known_keys(cls, data: Any, handler: Any) -> Any:
        refuse_loose_values(cls, data, nested=False)
        try:
            return handler(data)
        except ValidationError as err:
            suggested = with_key_suggestions(err, cls.model_fields, data)
            if suggested is None:
                raise
            raise suggested from None


class StrictModel(KnownKeys):
    """Unknown keys are errors, each naming the closest key the model takes; frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
