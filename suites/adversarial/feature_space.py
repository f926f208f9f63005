"""Per-feature budgets on tabular tasks: the space the attacks work in.

A tabular task can give each feature its own range (`Task.feature_bounds`, `Task.feature_box()`,
docs/tasks.md). The attacks clip to one scalar box, so for such a task the suite runs them in an
attack space `u` with

    x = low + scale * u          (the model's input, per feature)

and hands them a task and an adapter that speak `u` (`FeatureSpace.task`, `FeatureSpace.adapter`):

- `eps_units: input` (the default): `low = 0`, `scale = 1`, so `u = x` and eps is in the input's
  own units (the same eps for every feature); the model sees `x` clipped to each feature's own
  box, and every candidate is projected into that box before it is verified (`project`), so a
  verified adversarial input lies inside every feature's range and its norm is measured after the
  projection (the projection only brings it closer to the clean input);
- `eps_units: feature_range`: `low` and `scale` are each feature's low end and width, so `u` is the
  position within the feature's range (0..1) and eps is a fraction of every feature's range
  (L-inf 0.05: each feature moves by at most 5% of its own range); the attack box [0, 1] is then
  each feature's own box. A constant feature (zero width) cannot move.

Stored adversarial examples are mapped back to the model's input (`to_model`), so they stay in the
task's units and anyone can re-verify them on the model directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import torch

from harness.core.adapter import AdapterHooks, Capabilities, InputSpec, ModelAdapter, WordVectors
from harness.core.board_notes import settings_note
from harness.core.errors import ConfigError
from harness.core.task import Task
from harness.suites.adversarial.board import MIXED_SCALES, SMALL_BUDGETS, UNREALISABLE
from harness.suites.adversarial.budgets import Norm

EpsUnits = Literal["input", "feature_range"]


@dataclass(frozen=True, kw_only=True)
class FeatureSpace:
    """The affine map from the attack space to the model's input, and the per-feature box."""

    units: EpsUnits
    low: np.ndarray  # shape input_shape: x = low + scale * u
    scale: np.ndarray
    box_low: np.ndarray  # each feature's box, in the model's units
    box_high: np.ndarray

    @property
    def bounds(self) -> tuple[float, float]:
        """The attacks' scalar box in attack space (their own clip; `project` does the rest)."""
        if self.units == "feature_range":
            return 0.0, 1.0
        return float(self.box_low.min()), float(self.box_high.max())

    def to_attack(self, x: torch.Tensor) -> torch.Tensor:
        low, scale = self._tensors(x)
        return (x - low) / scale

    def to_model(self, u: torch.Tensor) -> torch.Tensor:
        """The model's input for attack-space `u`, clipped to each feature's box."""
        low, scale = self._tensors(u)
        box_low, box_high = self._box(u)
        return torch.clamp(low + scale * u, box_low, box_high)

    def attack_box(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Each feature's box in attack space, float64 (what `projection.into_budget` clips to)."""
        low, high = (self.box_low - self.low) / self.scale, (self.box_high - self.low) / self.scale
        return (
            torch.as_tensor(low, dtype=torch.float64, device=device),
            torch.as_tensor(high, dtype=torch.float64, device=device),
        )

    def project(self, u: torch.Tensor) -> torch.Tensor:
        """`u` moved into the per-feature box (what the model sees; never farther from a point of
        the box than `u` was)."""
        low, scale = self._tensors(u)
        box_low, box_high = self._box(u)
        return torch.clamp(u, (box_low - low) / scale, (box_high - low) / scale)

    def task(self, task: Task) -> Task:
        """`task` with its inputs in attack space and the attack space's scalar bounds."""
        u = self.project(self.to_attack(task.all_inputs())).reshape(len(task), -1).numpy()
        data = task.data.remove_columns([task.input_column])
        data = data.add_column(task.input_column, list(u.astype(np.float32)))
        return replace(task, data=data, bounds=self.bounds, feature_bounds=None)

    def adapter(self, adapter: ModelAdapter) -> ModelAdapter:
        return _MappedAdapter(adapter, self)

    def describe(self) -> dict[str, Any]:
        return {
            "eps_units": self.units,
            "feature_low": self.box_low.ravel().tolist(),
            "feature_high": self.box_high.ravel().tolist(),
        }

    def _tensors(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _as(self.low, like), _as(self.scale, like)

    def _box(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _as(self.box_low, like), _as(self.box_high, like)


def feature_space(task: Task, units: EpsUnits) -> FeatureSpace | None:
    """The attack space for `task`: None when the attacks can work on the inputs as they are (no
    per-feature ranges and eps in input units); a `ConfigError` for `feature_range` on a task that
    is not tabular."""
    if units == "feature_range" and task.modality != "tabular":
        raise ConfigError(
            f"suites.adversarial.eps_units: feature_range applies to tabular tasks; task "
            f"{task.name!r} is {task.modality}: give its epsilons in input units (eps_units: input)"
        )
    box = task.feature_box()
    if box is None or task.modality != "tabular":
        return None
    if units == "input" and task.feature_bounds is None:
        return None
    box_low, box_high = box
    if units == "feature_range":
        width = box_high - box_low
        scale = np.where(width > 0, width, 1.0)  # a constant feature: its box pins it
        low = box_low
    else:
        scale, low = np.ones_like(box_low), np.zeros_like(box_low)
    return FeatureSpace(units=units, low=low, scale=scale, box_low=box_low, box_high=box_high)


SMALL_BUDGET_SHARE = 0.01  # a budget below 1% of the typical feature's spread moves nothing


def feature_spread(task: Task, units: EpsUnits) -> torch.Tensor | None:
    """Each feature's standard deviation over the evaluated samples (float64), which the budget
    notes below read; None where they do not apply (not tabular, eps not in input units, or
    fewer than 2 samples)."""
    if task.modality != "tabular" or units != "input" or len(task) < 2:
        return None
    return task.all_inputs().reshape(len(task), -1).double().std(dim=0)


def small_budget_note(
    task: Task,
    epsilons: Mapping[Norm, list[float]],
    units: EpsUnits,
    *,
    spread: torch.Tensor | None = None,
) -> str | None:
    """A board note when a tabular task's budgets, in input units, are negligible against its
    features' spread: a norm whose largest eps is below 1% of the median standard deviation of
    the features that vary. Robust accuracy at such a budget sits at clean accuracy whatever the
    model (an L-inf budget of 0.1 on an income in dollars), which reads like robustness; the note
    names the norms and the fix (`eps_units: feature_range`). None otherwise. `spread`:
    `feature_spread(task, units)` when already computed."""
    spread = feature_spread(task, units) if spread is None else spread
    if spread is None:
        return None
    varying = spread[spread > 0]
    if len(varying) == 0:
        return None
    typical = float(varying.median())
    small = {
        norm: max(values)
        for norm, values in sorted(epsilons.items())
        if values and max(values) < SMALL_BUDGET_SHARE * typical
    }
    if not small:
        return None
    shares = ", ".join(f"{norm} {eps:g} is {eps / typical:.2%}" for norm, eps in small.items())
    return settings_note(
        f"{SMALL_BUDGETS} task {task.name!r}'s features: the largest "
        f"eps ({shares} of the median feature's standard deviation, {typical:.4g}) can barely "
        "move a feature, so robust accuracy near clean accuracy there does not show robustness; "
        "give eps as a share of each feature's range with suites.adversarial.eps_units: "
        "feature_range"
    )


MIXED_SCALE_FLOOR = 0.01  # a budget below 1% of a feature's spread leaves that feature as it is


def mixed_scale_note(
    task: Task,
    epsilons: Mapping[Norm, list[float]],
    units: EpsUnits,
    *,
    spread: torch.Tensor | None = None,
) -> str | None:
    """A board note when one budget in input units means opposite things for a tabular task's
    features: a norm whose smallest eps is a standard deviation or more of the feature that
    varies least, yet below 1% of the standard deviation of the feature that varies most. An
    attack then spends the budget on the small-scale features (a fractal dimension of spread
    0.003 moved by 17 of its standard deviations) while the large-scale ones (an area of spread
    570) cannot move, so robust accuracy near 0 there shows the budget, not the model. The note
    names both features, the norms and the fix (`eps_units: feature_range`). None otherwise."""
    spread = feature_spread(task, units) if spread is None else spread
    if spread is None:
        return None
    deviations = spread.numpy()
    varying = np.flatnonzero(deviations > 0)
    if len(varying) < 2:
        return None
    least = int(varying[np.argmin(deviations[varying])])
    most = int(varying[np.argmax(deviations[varying])])
    low, high = float(deviations[least]), float(deviations[most])
    mixed = {
        norm: min(values)
        for norm, values in sorted(epsilons.items())
        if values and low <= min(values) < MIXED_SCALE_FLOOR * high
    }
    if not mixed:
        return None

    def named(i: int) -> str:
        names = task.feature_names
        return repr(names[i]) if len(names) == len(deviations) else f"feature {i}"

    moves = "; ".join(
        f"{norm} {eps:g}: {eps / low:.3g} and {eps / high:.2%}" for norm, eps in mixed.items()
    )
    return settings_note(
        f"{MIXED_SCALES} for the features of task {task.name!r}, "
        f"whose standard deviations run from {low:.3g} ({named(least)}) to {high:.4g} "
        f"({named(most)}): the smallest eps can move the first by that many of its standard "
        f"deviations and the second by that share of one ({moves}), so robust accuracy there "
        "measures the budget on the small-scale features more than the model; give eps as a "
        "share of each feature's range with suites.adversarial.eps_units: feature_range"
    )


def unrealisable_note(task: Task, x: torch.Tensor | None = None) -> str | None:
    """A board note when the attacks can move a tabular task's features to values no real row
    holds: its categorical features (`Task.categorical_features`: one-hot and ordinal codes, which
    an attack sets to 0.3 of a category or two categories at once) and the features that vary and
    hold whole numbers in every evaluated row (a count moved to 3.2). Every attack treats each
    feature as continuous within its box, so robust accuracy counts such inputs as adversarial and
    can sit below robust accuracy over inputs a real row could have. None when there are none
    (constant features cannot move: their box pins them). `x`: the evaluated inputs (default
    `task.all_inputs()`)."""
    if task.modality != "tabular" or len(task) == 0:
        return None
    names = task.feature_names
    x = (task.all_inputs() if x is None else x).reshape(len(task), -1).double()
    if len(names) != x.shape[1]:
        return None
    categorical = set(task.categorical_features)
    varies = (x.max(dim=0).values > x.min(dim=0).values).tolist()
    whole = (x == x.round()).all(dim=0).tolist()
    cats = [n for n, v in zip(names, varies, strict=True) if n in categorical and v]
    ints = [
        n for n, v, w in zip(names, varies, whole, strict=True) if n not in categorical and v and w
    ]
    if not cats and not ints:
        return None

    def listed(kind: str, found: list[str]) -> str:
        shown = ", ".join(repr(n) for n in found[:4])
        more = f" and {len(found) - 4} more" if len(found) > 4 else ""
        return f"{len(found)} {kind} ({shown}{more})"

    kinds = [
        *([listed("categorical feature(s)", cats)] if cats else []),
        *([listed("whole-number feature(s)", ints)] if ints else []),
    ]
    return settings_note(
        f"{UNREALISABLE} within each feature's range, so on task {task.name!r} they can set "
        f"{' and '.join(kinds)} to values no row holds (a fraction of a category, two categories "
        "at once, a fractional count); robust accuracy counts such inputs as adversarial and can "
        "sit below robust accuracy over inputs a real row could have"
    )


def _as(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(a, dtype=like.dtype, device=like.device)


class _ToModel(torch.nn.Module):
    """Attack space -> the model's input, differentiable (the per-feature clip included)."""

    def __init__(self, space: FeatureSpace) -> None:
        super().__init__()
        self.space = space

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.space.to_model(u)


class _MappedAdapter(AdapterHooks):
    """`adapter` seen from the attack space: logits and module take `u`, not `x` (no features:
    the `AdapterHooks` default)."""

    def __init__(self, inner: ModelAdapter, space: FeatureSpace) -> None:
        self.inner, self.space = inner, space
        self._module: torch.nn.Module | None = None
        self.unavailable_reason = inner.unavailable_reason

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def input_spec(self) -> InputSpec:
        return replace(self.inner.input_spec, bounds=self.space.bounds)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    @property
    def device(self) -> torch.device:
        return self.inner.device

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        assert isinstance(inputs, torch.Tensor)
        return self.inner.logits(self.space.to_model(inputs))

    def module(self) -> torch.nn.Module:
        if self._module is None:
            self._module = torch.nn.Sequential(_ToModel(self.space), self.inner.module())
        return self._module

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def identity(self) -> str:
        return self.inner.identity()

    def check_task(self, task: Task) -> None:
        self.inner.check_task(task)

    def count_tokens(self, inputs: list[str]) -> int | None:
        return self.inner.count_tokens(inputs)

    def word_vectors(self) -> WordVectors | None:
        return None  # tabular inputs: no words
