"""A job's `metrics.json` read back: every metric record validated by a strict pydantic model.

A stored record is accepted only in the shape a suite writes it (`MetricRecord.to_dict`): the
fields of `MetricRecord` and no other, text as text, true/false as JSON booleans, `value` a
finite number or null, `n` a count, `ci` null or [low, high] of finite numbers, `context` an
object, `flags` a list of text (or null); then a fraction inside [0, 1] and inside its own
interval (`implausible_value`), and no two records under one board key. Anything else (a string
for a number, NaN, an interval of three numbers, a record twice) is one `ResultsError` line
naming the file, the record and what is wrong with it: never a record carrying a wrong number.
Strict: nothing is coerced (no "0.9" for 0.9, no 1 for true); an integer stays an integer.
"""

# no `from __future__ import annotations`: TypedDict reads NotRequired when the class is made
import json
from pathlib import Path
from typing import Annotated, Any, NotRequired, cast

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
    with_config,
)
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict  # pydantic takes typing's TypedDict from 3.12 on

from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord, implausible_value


def _ordered(ci: list[float]) -> list[float]:
    if not ci[0] <= ci[1]:
        raise ValueError("the low bound is above the high one")
    return ci


_Finite = Annotated[float, Field(allow_inf_nan=False)]
# an integer stays one (strict int first); one beyond a float's range is refused by both
_Number = Annotated[int, Strict(), Field(ge=-(2**1023), le=2**1023)] | _Finite
_Interval = Annotated[list[_Finite], Field(min_length=2, max_length=2), AfterValidator(_ordered)]


@with_config(ConfigDict(strict=True, extra="forbid"))
class StoredMetric(TypedDict):
    """One record of metrics.json as stored: `MetricRecord`'s fields, each of its JSON type (a
    field left out takes `MetricRecord`'s default). Validated into a plain dict: a reader of a
    thousand jobs' metrics builds no object per record besides the `MetricRecord`."""

    suite: str
    metric: str
    value: _Number | None
    unit: str
    higher_is_better: bool
    n: Annotated[int, Field(ge=0)]
    condition: NotRequired[str]
    ci: NotRequired[_Interval | None]
    ci_method: NotRequired[str | None]
    context: NotRequired[dict[str, Any]]
    headline: NotRequired[bool]
    note: NotRequired[str | None]
    flags: NotRequired[list[str] | None]


_RECORDS = TypeAdapter(list[StoredMetric])

# what each field must be, in words; in the order a record's faults are reported (after an
# unknown field, then a missing one)
_WANTED = {
    "suite": "text",
    "metric": "text",
    "unit": "text",
    "condition": "text",
    "ci_method": "text",
    "note": "text",
    "higher_is_better": "true/false",
    "headline": "true/false",
    "value": "a finite number or null",
    "n": "a count",
    "ci": "null or an interval [low, high]",
    "context": "an object",
    "flags": "a list of text",
}


def metric_records(raw: Any, path: Path) -> list[MetricRecord]:
    """The records of metrics.json (`raw`, as parsed from `path`), each validated; the first
    fault found is a ResultsError naming the file and the record."""
    try:
        stored = _RECORDS.validate_python(raw)
    except ValidationError as err:
        raise damaged(path, _fault(raw, err.errors())) from None
    records = []
    for i, d in enumerate(stored):
        fields = cast("dict[str, Any]", d)  # a plain dict of MetricRecord's own fields
        ci = fields.get("ci")
        problem = implausible_value(fields["value"], fields["unit"], ci, fields.get("ci_method"))
        if problem:
            raise damaged(path, f"{_where(i, fields['metric'])} has {problem}")
        if ci is not None:
            fields["ci"] = (ci[0], ci[1])
        fields["flags"] = tuple(fields.get("flags") or ())
        records.append(MetricRecord(**fields))
    # Two records under one board key: which one a board shows would depend on their order.
    first: dict[str, int] = {}
    for i, record in enumerate(records):
        j = first.setdefault(record.key, i)
        if j != i:
            raise damaged(path, f"records {j} and {i} both give {record.key[:80]!r}")
    return records


def damaged(path: Path, what: str) -> ResultsError:
    return ResultsError(
        f"results file {path} is damaged: {what}; it was edited or written by another tool — "
        "rerun the job (or restore the file)"
    )


def _fault(raw: Any, errors: list[ErrorDetails]) -> str:
    """What is wrong, in words, from the first record's errors: an unknown field, then a missing
    one, then a value of the wrong kind (in `_WANTED`'s order)."""
    loc = errors[0]["loc"]
    if not loc:
        return f"expected a JSON list of metric records, not {_kind(raw)}"
    i = int(loc[0])
    d = raw[i]
    if len(loc) == 1:
        return f"record {i} is {_kind(d)}, not a JSON object"
    mine = [(e["type"], str(e["loc"][1])) for e in errors if e["loc"][0] == i and len(e["loc"]) > 1]
    unknown = sorted(key for kind, key in mine if kind == "extra_forbidden")
    if unknown:
        return f"record {i} has unknown field {unknown[0]!r}"
    order = list(_WANTED)
    missing = [key for kind, key in mine if kind == "missing"]
    if missing:
        return f"record {i} has no {min(missing, key=order.index)!r} field"
    key = min((key for _, key in mine), key=order.index)
    return f"{_where(i, d.get('metric'))} has {key} {_kind(d.get(key))}, not {_WANTED[key]}"


def _where(i: int, metric: Any) -> str:
    return f"record {i} ({str(metric)[:60]!r})"


def _kind(x: Any) -> str:
    """A short description of a JSON value for a one-line message."""
    if isinstance(x, (dict, list)):
        return f"a JSON {'object' if isinstance(x, dict) else 'list'} of {len(x)}"
    text = json.dumps(x) if x is None or isinstance(x, (bool, str)) else repr(x)
    return text if len(text) <= 40 else text[:37] + "..."
