"""The common perturbation interface: families per modality and one `apply` for all of them.

`apply(inputs, name, severity, seeds, task)` perturbs a batch of a task's inputs with family
`name` at `severity` (1..5); `seeds` holds one int64 seed per sample (derive it with
`harness.core.seeding.sample_seeds(run_seed, sample_ids, family, severity)`). Image families are the
19 ImageNet-C corruptions (`image_corruptions`), tabular ones live in `tabular_shifts`, text ones
in `text_perturbations`. A family applied to a modality it does not fit is refused with a message
naming the modality and the valid families. New modalities or families slot in by adding an
entry to `FAMILIES` and a branch in `apply`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import torch

from harness.core.errors import ConfigError
from harness.core.task import Modality, Task
from harness.suites.shift import image_corruptions, tabular_shifts, text_perturbations

SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

FAMILIES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "image": image_corruptions.CORRUPTIONS,
        "tabular": tabular_shifts.TABULAR_FAMILIES,
        "text": text_perturbations.TEXT_FAMILIES,
    }
)


def families(modality: str) -> tuple[str, ...]:
    """The perturbation families that fit `modality`."""
    if modality not in FAMILIES:
        raise ConfigError(
            f"no perturbations for modality {modality!r}; known: {', '.join(FAMILIES)}"
        )
    return FAMILIES[modality]


def check(
    name: str, severity: int, modality: Modality | str, *, where: str = "perturbation"
) -> None:
    """Refuse an unknown family, one that does not fit `modality`, or a severity outside 1..5."""
    valid = families(modality)
    if name not in valid:
        fits = [m for m, names in FAMILIES.items() if name in names]
        if fits:
            raise ConfigError(
                f"{where}: {name!r} is a {'/'.join(fits)} perturbation and does not fit {modality} "
                f"inputs; valid {modality} families: {', '.join(valid)}"
            )
        close = difflib.get_close_matches(str(name), valid, n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise ConfigError(
            f"{where}: unknown {modality} perturbation {name!r}{hint}; valid: {', '.join(valid)}"
        )
    if (
        isinstance(severity, bool)
        or not isinstance(severity, int | np.integer)
        or severity not in SEVERITIES
    ):
        raise ConfigError(f"{where}: severity must be an integer in 1..5, got {severity!r}")


DISCRETE_MAX_VALUES = 10
"""A feature whose training values are all whole numbers, at most this many distinct ones, is
categorical (one-hot, binary, an integer code), as is one with at most two values of any kind
(a standardised binary column): `gaussian_noise` leaves it alone, as it does the features a
task spec declares categorical (`Task.categorical_features`)."""


CATEGORICAL_KEY = "categorical_features"
"""The name, among a shift job's input fingerprints, of the print of the features a tabular
task declares categorical (`ShiftSuite.input_fingerprints`)."""


OBSERVED_KEY = "observed_bounds"
"""The name, among a shift job's input fingerprints, of the print of which features' bounds are
only the data's range (`Task.observed_bounds`): gaussian_noise scales those by the training std."""


class FeatureStats(NamedTuple):
    """Per-feature training statistics of a tabular task (`feature_stats`)."""

    mean: torch.Tensor
    std: torch.Tensor
    continuous: torch.Tensor  # bool: the features noise may perturb (`continuous_features`)
    fill: torch.Tensor  # what `feature_dropout` imputes (`imputed_values`)
    group: torch.Tensor  # int64: the feature whose draw decides each one's dropout (`groups`)


def _training_matrix(task: Task) -> np.ndarray:
    """The training split's inputs (the evaluation split's when it has none), one row per
    sample, read in whole Arrow columns: datasets' numpy format of a list column reads it row
    by row (a minute for 200,000 rows)."""
    split = task.train if task.train is not None else task.data
    column = split.with_format("arrow")[task.input_column]
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64).reshape(len(column), -1)


def _continuous(x: np.ndarray) -> np.ndarray:
    whole = np.all(x == np.round(x), axis=0)
    levels = np.array([len(np.unique(x[:, j])) for j in range(x.shape[1])])
    binary = levels <= 2  # two values, whatever they are (a standardised 0/1 column)
    return ~((whole & (levels <= DISCRETE_MAX_VALUES)) | binary)


def _declared(task: Task, width: int) -> np.ndarray:
    """The features the task declares categorical (`Task.categorical_features`), by name."""
    names = task.feature_names
    if not task.categorical_features or len(names) != width:
        return np.zeros(width, dtype=bool)
    return np.isin(np.asarray(names, dtype=object), list(task.categorical_features))


def _continuous_of(task: Task, x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(_continuous(x) & ~_declared(task, x.shape[1]))


def continuous_features(task: Task) -> torch.Tensor:
    """Which features of a tabular task are continuous (bool per feature): not declared
    categorical by the task spec (`one_hot`, `ordinal`: `Task.categorical_features`), not
    every training value (evaluation split if none) a whole number with at most
    `DISCRETE_MAX_VALUES` distinct values, and more than two distinct values. One-hot and binary columns (0/1), ordinal and integer
    codes are categorical: noise would give them values a model never sees (sex = 0.37)."""
    return _continuous_of(task, _training_matrix(task))


def groups(task: Task, width: int) -> np.ndarray:
    """For each feature, the index of the first feature of its one-hot column (the features
    `<column>=<category>` a task spec's `one_hot` declares: `Task.categorical_features`), else
    its own index: one draw decides whether a one-hot column goes missing, as the column it
    encodes would."""
    out = np.arange(width)
    names = task.feature_names
    if not task.categorical_features or len(names) != width:
        return out
    declared = set(task.categorical_features)
    first: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in declared and "=" in name:
            out[j] = first.setdefault(name.split("=", 1)[0], j)
    return out


def imputed_values(x: np.ndarray, continuous: np.ndarray, group: np.ndarray) -> np.ndarray:
    """What a missing feature is imputed with: the training mean of a continuous feature; the
    most frequent training value of a categorical one (a code, a binary column: the mean would
    feed the model sex = 0.37, a value it never sees), and for a one-hot column the one-hot
    vector of its most frequent category."""
    fill = x.mean(axis=0)
    sizes = np.bincount(group, minlength=len(group))
    for j in np.flatnonzero(~continuous & (sizes[group] == 1)):
        values, counts = np.unique(x[:, j], return_counts=True)
        fill[j] = values[np.argmax(counts)]
    for head in np.flatnonzero(sizes > 1):
        members = np.flatnonzero(group == head)
        fill[members] = 0.0
        fill[members[np.argmax(x[:, members].sum(axis=0))]] = 1.0
    return fill


def feature_stats(task: Task) -> FeatureStats:
    """Per-feature mean and std of a tabular task's training split (evaluation split if none),
    which features are continuous (`continuous_features`), what `feature_dropout` imputes
    (`imputed_values`) and the one-hot columns that go missing together (`groups`)."""
    x = _training_matrix(task)
    continuous = _continuous_of(task, x)
    group = groups(task, x.shape[1])
    return FeatureStats(
        torch.as_tensor(x.mean(axis=0), dtype=torch.float32),
        torch.as_tensor(x.std(axis=0), dtype=torch.float32),
        continuous,
        torch.as_tensor(imputed_values(x, continuous.numpy(), group), dtype=torch.float32),
        torch.as_tensor(group, dtype=torch.int64),
    )


def _declared_box(task: Task) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Per-feature (low, high) of a task that declares feature bounds (`Task.feature_box()`)."""
    if task.feature_bounds is None:
        return None
    box = task.feature_box()
    assert box is not None, "a task with feature bounds has a box"
    low, high = (torch.as_tensor(b, dtype=torch.float32) for b in box)
    return low, high


def _corrupt_in_bounds(
    images: torch.Tensor,
    name: str,
    severity: int,
    seeds: torch.Tensor,
    bounds: tuple[float, float] | None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """An image corruption (defined on [0, 1] images) of a task's images in its ``bounds``:
    mapped to [0, 1], corrupted, mapped back. Images already in [0, 1] go straight through (the
    maps are exact identities there), and other bounds are mapped in place on the one fresh
    tensor each side has (the same values as ``(x - low) / (high - low)`` and
    ``y * (high - low) + low``): at the suite's 256-image step at 224 px, each fresh full-batch
    temporary cost about as much as a cheap corruption itself (page faults of 154 MB;
    `benchmarks/bench_shift_apply.py`). ``out``: `corrupt`'s buffer to write into."""
    low, high = bounds if bounds is not None else (0.0, 1.0)
    if (low, high) == (0.0, 1.0):
        return image_corruptions.corrupt(images, name, severity, seeds, out=out)
    unit = torch.sub(images, low).div_(high - low)
    corrupted = image_corruptions.corrupt(unit, name, severity, seeds, out=out)
    return corrupted.mul_(high - low).add_(low)


def apply(
    inputs: torch.Tensor | Sequence[str],
    name: str,
    severity: int,
    seeds: torch.Tensor | np.ndarray,
    task: Task,
    *,
    stats: FeatureStats | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor | list[str]:
    """Perturb a batch of `task`'s inputs with family `name` at `severity`.

    `stats` (tabular only) are the training statistics from `feature_stats`, computed when
    omitted. `out` (images only): a recycled buffer of the inputs' shape to write the result into
    (`image_corruptions.corrupt`). Returns a new tensor (images, tabular) or list of strings
    (text).
    """
    check(name, severity, task.modality)
    seeds_t = torch.as_tensor(np.asarray(seeds, dtype=np.int64))
    if task.modality == "image":
        assert isinstance(inputs, torch.Tensor)
        if inputs.dim() != 4 or inputs.shape[1] not in (1, 3):
            raise ConfigError(
                f"task {task.name!r}: image corruptions need (B, C, H, W) images with 1 or 3 "
                f"channels, got shape {tuple(inputs.shape)}"
            )
        return _corrupt_in_bounds(inputs, name, int(severity), seeds_t, task.bounds, out)
    if task.modality == "tabular":
        assert isinstance(inputs, torch.Tensor)
        fs = stats if stats is not None else feature_stats(task)
        if name == "gaussian_noise":
            return tabular_shifts.gaussian_noise(
                inputs,
                int(severity),
                seeds_t,
                std=fs.std,
                bounds=task.bounds,
                box=_declared_box(task),
                continuous=fs.continuous,
                observed=torch.tensor(task.observed_bounds) if task.observed_bounds else None,
            )
        return tabular_shifts.feature_dropout(
            inputs, int(severity), seeds_t, fill=fs.fill, group=fs.group
        )
    return text_perturbations.perturb_text(list(inputs), name, int(severity), seeds_t.tolist())
