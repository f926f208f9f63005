"""`MetricRecord`: one number with its unit, direction, sample size, interval and context."""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class MetricSpec:
    """A metric a suite declares: its name, unit and direction; headline ones go on boards.

    `label` is the metric in words for figures and the HTML report's headers (`top1_acc` ->
    `clean accuracy`); empty: the report shows the name itself."""

    name: str
    unit: str
    higher_is_better: bool
    headline: bool = False
    description: str = ""
    label: str = ""


@dataclass(frozen=True, kw_only=True)
class MetricRecord:
    """A computed metric. Fractions live in [0, 1]; `value` is None when undefined, never NaN.

    `condition` ties it to rows of the sample table; `context` holds the rest (attack, eps,
    group, batch size, precision...). `ci` is the 95% interval (None when not computed).
    """

    suite: str
    metric: str
    value: float | None
    unit: str
    higher_is_better: bool
    n: int
    condition: str = "clean"
    ci: tuple[float, float] | None = None
    ci_method: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    headline: bool = False
    note: str | None = None
    flags: tuple[str, ...] = ()  # reliability flags: the estimate may not be trustworthy

    def __post_init__(self) -> None:
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(
                f"metric {self.metric} of suite {self.suite} is {self.value}; report undefined "
                "values as None with a note"
            )
        problem = implausible_value(self.value, self.unit, self.ci, self.ci_method)
        if problem:
            raise ValueError(f"metric {self.metric} of suite {self.suite} has {problem}")

    @functools.cached_property
    def key(self) -> str:
        """Board column name: the metric, qualified by condition and context when present.
        Computed once per record (a frozen record's fields do not change; the gate asks for
        each record's key about eight times)."""
        return self.key_with(self.context)

    def key_with(self, context: dict[str, Any]) -> str:
        """The key this record would have with `context` in place of its own (what
        `replace(record, context=context).key` is, without building and validating a record)."""
        qual = [] if self.condition == "clean" else [self.condition]
        in_condition = set(self.condition.split("/"))
        qual += [
            f"{k}={v}"
            for k, v in sorted(context.items())
            if k not in _NON_KEY_CONTEXT and f"{k}={v}" not in in_condition
        ]
        return f"{self.metric}[{','.join(qual)}]" if qual else self.metric

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        d["flags"] = list(self.flags)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MetricRecord:
        d = dict(d)
        if d.get("ci") is not None:
            d["ci"] = (float(d["ci"][0]), float(d["ci"][1]))
        d["flags"] = tuple(d.get("flags") or ())
        return cls(**d)


_SLACK = 1e-9  # float rounding of a bound computed apart from its value (Wilson at k = n)


def implausible_value(
    value: float | None,
    unit: str,
    ci: tuple[float, float] | list[float] | None,
    ci_method: str | None,
) -> str | None:
    """What is wrong with a fraction no suite can produce: a value outside [0, 1], or outside
    its own interval; None when nothing is. Suites are refused such a record when they build it,
    and readers refuse a stored one as damaged (harness.store.run_store).

    Percentile-bootstrap intervals ("bootstrap" in the method) are exempt from the second rule:
    a biased statistic's estimate may lie outside them (a well-calibrated model's ECE falls
    below its interval in about 1 run in 13); every other interval method contains its estimate.
    """
    if value is None or unit != "fraction":
        return None
    if not -_SLACK <= value <= 1 + _SLACK:
        return f"value {value!r}, a fraction outside [0, 1]"
    bootstrap = "bootstrap" in (ci_method or "")
    if ci is not None and not bootstrap and not ci[0] - _SLACK <= value <= ci[1] + _SLACK:
        return f"value {value!r} outside its own interval [{ci[0]!r}, {ci[1]!r}]"
    return None


def spec_record(
    spec: MetricSpec, *, suite: str, value: float | None, n: int, **kwargs: Any
) -> MetricRecord:
    """A record carrying the unit, direction and headline flag of its declared spec."""
    return MetricRecord(
        suite=suite,
        metric=spec.name,
        value=None if value is None else float(value),
        unit=spec.unit,
        higher_is_better=spec.higher_is_better,
        headline=spec.headline,
        n=n,
        **kwargs,
    )


# Context keys that describe how a number was measured but do not make it a different column.
_NON_KEY_CONTEXT = frozenset({"note", "ci_resamples", "bins", "preset", "eot_draws"})
