"""The regression gate's policy: per metric, a floor and/or a maximum allowed drop, and alpha;
per model, the reliability flags it accepts.

A rule is keyed by a metric name (applies to every column of that metric, e.g. all `robust_acc`
budgets) or by an exact board key (`robust_acc[attack=linf_pgd,eps=0.1]`). Names that the
baseline does not contain are refused, with close matches, so a typo cannot silently disable a
check. Without a policy file the defaults below apply to every headline metric. `default` holds
what means the same in every unit and direction: no `floor` (a ceiling on ECE, 0.8 ms on
latency), and a `max_drop` only where it reaches numbers on a probability's scale.

`accept_flags` maps a model name (or `"*"` for every model) to the flags the gate tolerates on
its checked metrics: `{digits-mlp@int8: [decision_attack_failed]}`. Any other flag on a checked
metric of the current run that the baseline did not have on the same model and metric fails the
gate. A flag the baseline already had there is `baseline_flags`' call: `still_flagged` (shown as
still flagged, the metric compared as usual, no failure for the flag; what the gate does without
a policy file) or `fail` (a policy file's default: a flagged baseline is no excuse). A model that
is in neither run, or a flag that is neither a known flag (harness.analysis.flags) nor raised in
the runs, is refused with close matches.

Every number is a finite number and every switch is true or false: `floor: .nan` or
`max_drop: .inf` would make a rule that never trips, so they are refused naming the key, as is
`alpha: true` (harness.core.input_types).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator

from harness.core.errors import ConfigError
from harness.core.metric_record import MetricRecord
from harness.core.safe_yaml import read_yaml_file
from harness.core.validation import KnownKeys, format_validation_error

DEFAULT_ALPHA = 0.05
MAX_ALPHA = 0.2
"""The largest alpha a policy may set. Alpha is the share of harmless reruns whose noise a test
calls significant: at 0.5 one metric in two would be "significant" on noise alone (Holm's
correction over a gate of 50 harmless metrics let 16 of 100 gates fail at 0.5, 5 at 0.2, 0 at
0.05; tests/analysis/test_gate_false_alarms.py's simulation)."""
DEFAULT_MAX_DROP_FRACTION = 0.01  # one percentage point for metrics in [0, 1]
DEFAULT_MAX_DROP_RELATIVE = 0.10  # 10% for metrics in other units (ms, samples/s, nats...)
ANY = "*"  # accept_flags key: every model
DROPS = {"max_drop", "max_drop_relative"}  # a metric naming either sets both (`rule_for`)
# units of numbers on the scale of a probability (harness.present.number_format's fixed-point
# units): a `default.max_drop` of 0.01 means about the same on each; not on ms, MiB, samples/s
SCORE_UNITS = frozenset({"fraction", "difference", "ratio", "score", "nats"})


def _sane_alpha(alpha: float | None) -> float | None:
    if alpha is not None and alpha > MAX_ALPHA:
        share = f"{alpha:.0%} of" if alpha < 1 else "every one of"
        raise ValueError(
            f"at most {MAX_ALPHA:g}: at alpha {alpha:g} noise alone is called a significant "
            f"change on {share} the harmless reruns of each metric (0.05 is usual, 0.01 strict)"
        )
    return alpha


def _hint(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""


class MetricRule(KnownKeys):
    """Tolerances for one metric; drops are measured in the metric's worse direction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    floor: float | None = Field(default=None, description="fail when the value is worse than this")
    max_drop: float | None = Field(
        default=None, ge=0, description="absolute tolerance, metric units"
    )
    max_drop_relative: float | None = Field(
        default=None, ge=0, description="tolerance as a fraction of the baseline"
    )
    alpha: float | None = Field(default=None, gt=0)
    churn: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of samples a retrained model of equal quality disagrees on (the "
        "power of McNemar's test; default: the baseline's error rate)",
    )
    ignore: bool = False

    _alpha = field_validator("alpha")(_sane_alpha)


class DefaultRule(MetricRule):
    """`default`: the rule of every metric without one of its own, whatever its unit and
    direction. A floor there would be one number for all of them: a ceiling on ECE or latency,
    0.8 samples/s on throughput. Floors go under `metrics.<name>`."""

    @field_validator("floor")
    @classmethod
    def _no_floor(cls, floor: float | None) -> float | None:
        if floor is not None:
            raise ValueError(
                "a floor here applies to every metric without a rule of its own, in that "
                "metric's unit and direction (a ceiling on ECE or on latency in ms, a rate on "
                "throughput); put floors under metrics.<name>, e.g. metrics: {top1_acc: "
                f"{{floor: {floor:g}}}}}"
            )
        return floor


class Policy(KnownKeys):
    """A gate policy (YAML). `include` picks the checked metrics: headline ones or all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=DEFAULT_ALPHA, gt=0)
    include: Literal["headline", "all"] = "headline"
    default: DefaultRule = DefaultRule()
    metrics: dict[str, MetricRule] = Field(default_factory=dict)
    accept_flags: dict[str, list[str]] = Field(default_factory=dict)
    # a flag the baseline had on the same model and metric: shown and tolerated, or failed
    baseline_flags: Literal["still_flagged", "fail"] = "fail"

    _alpha = field_validator("alpha")(_sane_alpha)

    @field_validator("metrics")
    @classmethod
    def _ignore_checks_nothing(cls, metrics: dict[str, MetricRule]) -> dict[str, MetricRule]:
        """A metric's `ignore: true` beside a tolerance would drop the tolerance without a word
        (in `default` they mean something: the tolerances of the metrics named on their own)."""
        for name, rule in metrics.items():
            given = sorted(rule.model_fields_set - {"ignore"})
            if rule.ignore and given:
                raise ValueError(
                    f"{name} says ignore: true, which leaves it unchecked, so its "
                    f"{', '.join(given)} would never apply; remove them or the ignore"
                )
        return metrics

    def accepts(self, model: str, flag: str) -> bool:
        """Whether the policy tolerates `flag` on `model`'s metrics."""
        return flag in self.accept_flags.get(model, ()) or flag in self.accept_flags.get(ANY, ())

    def verify_flags(self, models: set[str], flags: set[str], source: str) -> None:
        """Refuse `accept_flags` entries naming an unknown model or flag (with close matches)."""
        for model in sorted(self.accept_flags):
            if model != ANY and model not in models:
                raise ConfigError(
                    f"policy {source}: accept_flags.{model} names a model that is in neither "
                    f"run{_hint(model, models)} (models: {', '.join(sorted(models)) or '(none)'})"
                )
            for flag in self.accept_flags[model]:
                if flag not in flags:
                    raise ConfigError(
                        f"policy {source}: accept_flags.{model} names an unknown flag "
                        f"{flag!r}{_hint(flag, flags)} (known flags: {', '.join(sorted(flags))})"
                    )

    def rule_for(self, metric: str, key: str, unit: str, column: str = "") -> MetricRule:
        """The effective rule of a column: its board column (`column`: the key qualified by its
        suite, `clean_acc[suite=shift]`), else exact key, else metric name, else defaults."""
        base = self.default
        if base.max_drop is None and base.max_drop_relative is None:
            if unit == "fraction":
                base = base.model_copy(update={"max_drop": DEFAULT_MAX_DROP_FRACTION})
            else:
                base = base.model_copy(update={"max_drop_relative": DEFAULT_MAX_DROP_RELATIVE})
        specific = (
            (self.metrics.get(column) if column else None)
            or self.metrics.get(key)
            or self.metrics.get(metric)
        )
        if specific is None:
            return base.model_copy(update={"alpha": base.alpha or self.alpha})
        merged = {**base.model_dump(), **specific.model_dump(exclude_unset=True)}
        # a metric named on its own is checked unless its own rule says ignore (a default
        # `ignore: true` leaves out the metrics the policy does not name)
        merged["ignore"] = specific.ignore
        if (
            "max_drop" in specific.model_fields_set
            or "max_drop_relative" in specific.model_fields_set
        ):
            merged["max_drop"] = specific.max_drop
            merged["max_drop_relative"] = specific.max_drop_relative
        merged["alpha"] = merged.get("alpha") or self.alpha
        return MetricRule(**merged)

    def verify_range(
        self, m: MetricRecord, rule: MetricRule, source: str, column: str = ""
    ) -> None:
        """Refuse a tolerance a fraction (a value in [0, 1]) can never meet or never trip:
        `floor: 85` (a percentage) or `max_drop: 2` (percentage points) on `top1_acc` would
        make the gate fail every run, or pass every run without a word. So would
        `max_drop_relative: 5` (5% written as a percentage) on a higher-is-better number that
        cannot go below 0 (a fraction, a rate per second): it cannot drop by more than all of
        its baseline. `rule`: the record's effective rule (`rule_for`, `column` its board column
        as there); the message names the key that gave the value, looked up as `rule_for` does."""
        name = next((k for k in (column, m.key, m.metric) if k and k in self.metrics), None)
        own = self.metrics[name].model_fields_set if name is not None else set()

        def where(fields: set[str]) -> str:
            return f"metrics.{name}" if own & fields else "default"

        if m.unit not in SCORE_UNITS and rule.max_drop is not None and not own & DROPS:
            raise ConfigError(
                f"policy {source}: default.max_drop: {rule.max_drop:g} applies to {m.key}, "
                f"measured in {m.unit}, where it means {rule.max_drop:g} {m.unit} (an absolute "
                "tolerance under default is one number in every checked metric's unit); give "
                f"it a rule of its own under metrics.{m.metric} (or ignore: true), or use "
                "default.max_drop_relative"
            )
        relative = rule.max_drop_relative
        if relative is not None and relative >= 1 and m.higher_is_better and _non_negative(m):
            raise ConfigError(
                f"policy {source}: {where({'max_drop', 'max_drop_relative'})}.max_drop_relative: "
                f"{relative:g} applies to {m.key}, a higher-is-better {m.unit} that cannot drop "
                f"by more than all of its baseline (100%), so {relative:.0%} would pass every "
                f"run; write the relative drop as a fraction ({relative:g}% is {relative / 100:g})"
            )
        if m.unit != "fraction":
            return
        if rule.floor is not None and not 0 <= rule.floor <= 1:
            fails = (rule.floor > 1) == m.higher_is_better
            raise ConfigError(
                f"policy {source}: {where({'floor'})}.floor: {rule.floor:g} applies to {m.key}, "
                f"a fraction in [0, 1], so it would {'fail' if fails else 'pass'} every run; "
                "write a fraction (85% is 0.85)"
            )
        if rule.max_drop is not None and rule.max_drop >= 1:
            raise ConfigError(
                f"policy {source}: {where({'max_drop', 'max_drop_relative'})}.max_drop: "
                f"{rule.max_drop:g} applies to {m.key}, a fraction in [0, 1] that cannot drop by "
                "that much, so it would pass every run; write the drop as a fraction (2 "
                "percentage points is 0.02)"
            )

    def named(self) -> set[str]:
        return set(self.metrics)

    def verify_names(self, metrics: set[str], keys: set[str], source: str) -> None:
        """Refuse rules naming a metric the baseline does not contain."""
        known = metrics | keys
        for name in sorted(self.metrics):
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise ConfigError(
                    f"policy {source}: metrics.{name} names a metric the baseline does not contain"
                    f"{hint} (baseline metrics: {', '.join(sorted(metrics)) or '(none)'})"
                )


def _non_negative(m: MetricRecord) -> bool:
    """Whether the record's unit cannot go below 0: a fraction, or a rate per second."""
    return m.unit == "fraction" or m.unit.endswith("/s")


def load_policy(path: Path | None) -> Policy:
    """Read a policy YAML (None: the defaults); errors name the file and key."""
    if path is None:  # no policy file: a flag already in the baseline is not a regression
        return Policy(baseline_flags="still_flagged")
    data = read_yaml_file(path, source=f"policy file {path}", error=ConfigError)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"policy file {path} must be a mapping (alpha, include, default, metrics, accept_flags, "
            "baseline_flags)"
        )
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            f"policy file {path}: {format_validation_error(err, prefix='', limit=3)}"
        ) from None
