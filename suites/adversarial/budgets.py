"""Perturbation budgets: parse epsilons given in input units (`0.1`, `"8/255"`) and sanity-check them.

Budgets are refused when they cannot mean what the user intended: negative or zero, or larger than
the input domain allows (an L-inf eps of 8 on [0, 1] inputs covers every image, so robust accuracy
would silently be zero and say nothing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Literal

from harness.core.errors import ConfigError
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.threat_model import Headline, eps_text

Norm = Literal["linf", "l2"]
NORMS: tuple[Norm, ...] = ("linf", "l2")

Budgets = dict[Norm, list[float]]
"""Epsilons per norm, each list sorted ascending."""

DEFAULT_BUDGETS: dict[str, list[float | str]] = {"linf": [0.05, 0.1], "l2": [0.5, 1.0]}
"""The budgets of a task without a headline threat model (and of the config check before any
task is known)."""


def default_budgets(task: Task | None) -> dict[str, list[float | str]]:
    """The budgets a spec without `epsilons` gets on `task`: its headline threat model(s)
    (`Task.headline`: digits L-inf 0.1, MNIST L-inf 0.3, CIFAR-10 L-inf 8/255 and L2 0.5), one
    budget each; `DEFAULT_BUDGETS` for a task without one, or before any task is known (None)."""
    if task is not None and task.headline:
        return headline_budgets(task.headline)
    return {norm: list(values) for norm, values in DEFAULT_BUDGETS.items()}


def headline_budgets(headline: Headline) -> dict[str, list[float | str]]:
    """`{norm: [eps, ...]}` of a task's headline threat models, in their order of norms."""
    budgets: dict[str, list[float | str]] = {}
    for threat in headline:
        budgets.setdefault(threat.norm, []).append(threat.eps)
    return budgets


def budgets_text(epsilons: Budgets) -> str:
    """`linf 0.05, 8/255; l2 0.5, 1` (what a note and the plan summary say)."""
    return "; ".join(
        f"{norm} {', '.join(eps_text(e) for e in values)}" for norm, values in epsilons.items()
    )


def parse_eps(value: float | int | str, *, key: str) -> float:
    """A positive finite epsilon from a number or an `a/b` fraction string such as `"8/255"`."""
    if isinstance(value, bool):
        raise ConfigError(
            f"{key}: epsilon must be a number or a fraction like '8/255' (got {value!r})"
        )
    if isinstance(value, str):
        text = value.strip()
        try:
            eps = float(Fraction(text)) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise ConfigError(
                f"{key}: cannot read epsilon {value!r}; write a number (0.1) or a fraction (8/255)"
            ) from None
    else:
        eps = float(value)
    if not math.isfinite(eps) or eps <= 0:
        raise ConfigError(f"{key}: epsilon must be a positive finite number (got {value!r})")
    return eps


def eps_label(eps: float) -> str:
    """The text used in condition names: shortest round-tripping decimal (0.1, 0.0313725...)."""
    return f"{eps:.6g}"


def max_budget(norm: Norm, bounds: tuple[float, float], input_shape: tuple[int, ...]) -> float:
    """The largest meaningful budget: the diameter of the input box in that norm."""
    width = bounds[1] - bounds[0]
    if norm == "linf":
        return width
    return width * math.sqrt(math.prod(input_shape))


def check_budgets(
    epsilons: dict[Norm, list[float]],
    *,
    bounds: tuple[float, float],
    input_shape: tuple[int, ...],
    task: str,
) -> None:
    """Refuse budgets that reach across the whole input domain (almost certainly a units mistake)."""
    for norm, values in epsilons.items():
        limit = max_budget(norm, bounds, input_shape)
        for eps in values:
            if eps >= limit:
                raise ConfigError(
                    f"suites.adversarial.epsilons.{norm}: eps {eps:g} is at least the whole input "
                    f"range of task {task!r} (bounds {list(bounds)}, largest {norm} distance "
                    f"{limit:.4g}); give epsilons in input units, e.g. 8/255 for images in [0, 1]"
                )


def check_planned_budgets(
    epsilons: dict[Norm, list[float]] | None, tasks: Mapping[str, TaskColumns], *, units: str
) -> None:
    """Before any job: the spec's budgets (`epsilons`; None: the task's defaults, which fit)
    against each task whose input bounds the plan knows (`TaskColumns.bounds`), as the job
    would check them (`check_budgets`). L2 needs the task's input shape too; budgets in
    feature-range units are checked by the job, against the features' own ranges."""
    if epsilons is None or units != "input":
        return
    for name, columns in tasks.items():
        if columns.bounds is None:
            continue
        known = {n: v for n, v in epsilons.items() if n == "linf" or columns.input_shape}
        check_budgets(
            known, bounds=columns.bounds, input_shape=columns.input_shape or (), task=name
        )
