"""The shift suite's settings: `ShiftConfig` (validated at construction) and its entries.

`shifted_tasks` and `ood_sets` take a list (for every task) or a mapping from task name to a list;
an entry is a task name, a task spec, or (for OOD sets) a generated noise set. Each entry is
validated as the kind it evidently is, so an error names that kind's key alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, TypeAdapter, WrapValidator, field_validator

from harness.config.spec import StrictModel, TaskSpec
from harness.core.adapter import image_shape_advice
from harness.core.errors import ConfigError
from harness.core.suite import SuiteConfig
from harness.core.task import Task
from suites.shift import perturbations


class GeneratedOOD(StrictModel):
    """A generated OOD set: `n` noise inputs of the task's shape within its bounds."""

    generated: Literal["gaussian_noise", "uniform_noise"]
    n: int = Field(default=500, ge=2, le=100_000)


E = TypeVar("E")
_TASK_LIKE = ("name", "source")  # keys that say an entry is a task spec


def _entry(value: Any, *, ood: bool) -> Any:
    """One `shifted_tasks` / `ood_sets` entry, validated as the kind it evidently is: a task
    name, a generated set (`generated:`, or a key close to it and no task key) or a task spec.
    Only that kind's errors are reported (`ood_sets.0.lable_column: unknown key (did you mean
    'label_column'?)`), not every member of the union's."""
    if isinstance(value, str | TaskSpec) or (ood and isinstance(value, GeneratedOOD)):
        return value
    if not isinstance(value, dict):
        kinds = "a task name or a task spec ({name, source, modality, ...})"
        if ood:
            kinds = (
                "a task name, a task spec ({name, source, modality, ...}) or a generated set "
                "({generated: gaussian_noise or uniform_noise, n: ...})"
            )
        raise ValueError(f"an entry is {kinds}")
    if ood and _generated_like(value):
        return GeneratedOOD.model_validate(value)
    return TaskSpec.model_validate(value)


def _generated_like(value: dict[Any, Any]) -> bool:
    if "generated" in value:
        return True
    if any(k in value for k in _TASK_LIKE):
        return False
    return any(difflib.get_close_matches(str(k), ["generated"], n=1, cutoff=0.6) for k in value)


def _task_entry(value: Any, _handler: Any) -> Any:
    return _entry(value, ood=False)


def _ood_entry(value: Any, _handler: Any) -> Any:
    return _entry(value, ood=True)


TaskEntry = Annotated[str | TaskSpec, WrapValidator(_task_entry)]
OODEntry = Annotated[GeneratedOOD | str | TaskSpec, WrapValidator(_ood_entry)]
_ENTRY_LISTS: dict[str, tuple[TypeAdapter[Any], TypeAdapter[Any]]] = {
    "shifted task": (TypeAdapter(list[TaskEntry]), TypeAdapter(dict[str, list[TaskEntry]])),
    "OOD set": (TypeAdapter(list[OODEntry]), TypeAdapter(dict[str, list[OODEntry]])),
}


def _entries(what: str) -> WrapValidator:
    """A list of entries (for every task) or a mapping {task name: list}: validated as the one
    the value is, so an error is that form's alone, with its plain key path."""

    def validate(value: Any, _handler: Any) -> Any:
        as_list, per_task = _ENTRY_LISTS[what]
        if isinstance(value, list):
            return as_list.validate_python(value)
        if isinstance(value, dict):
            return per_task.validate_python(value)
        raise ValueError(
            f"a list of {what}s (for every task), or a mapping from task name to such a list"
        )

    return WrapValidator(validate)


class ShiftConfig(SuiteConfig):
    corruptions: list[str] | Literal["all"] = "all"
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1)
    max_samples: int | None = Field(default=None, ge=1)
    shifted_tasks: Annotated[
        list[TaskEntry] | dict[str, list[TaskEntry]], _entries("shifted task")
    ] = Field(default_factory=list)
    ood_sets: Annotated[list[OODEntry] | dict[str, list[OODEntry]], _entries("OOD set")] = Field(
        default_factory=list
    )
    mce_baseline: str | None = None
    mce_corruptions: Literal["benchmark", "all"] | list[str] = "benchmark"
    effective_robustness_testbed: list[str] | None = Field(default=None, min_length=1)
    gallery_samples: int = Field(default=4, ge=0, le=64)
    tabular: list[str] | Literal["all"] = "all"
    text: list[str] | Literal["all"] = "all"
    energy_temperature: float = Field(default=1.0, gt=0)

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[int]) -> list[int]:
        bad = [s for s in v if s not in perturbations.SEVERITIES]
        if bad:
            listed = ", ".join(str(s) for s in bad)
            raise ValueError(
                f"severities are 1..5; {listed} {'is' if len(bad) == 1 else 'are'} not"
            )
        if len(set(v)) != len(v):
            raise ValueError("a severity is listed twice")
        return v

    @field_validator("corruptions", "tabular", "text", "mce_corruptions", mode="before")
    @classmethod
    def _family_form(cls, v: Any, info: Any) -> Any:
        """One line saying what the key takes, before the union of a list and a word would list
        each member's complaint in the validation library's own terms."""
        words = ("benchmark", "all") if info.field_name == "mce_corruptions" else ("all",)
        if v in words or (isinstance(v, list) and all(isinstance(n, str) for n in v)):
            return v
        takes = " or ".join(repr(w) for w in words)
        raise ValueError(f"takes a list of names or {takes}")

    @field_validator("corruptions", "tabular", "text", "mce_corruptions")
    @classmethod
    def _families(cls, v: list[str] | str, info: Any) -> list[str] | str:
        modality = {
            "corruptions": "image",
            "mce_corruptions": "image",
            "tabular": "tabular",
            "text": "text",
        }[info.field_name]
        if v in ("all", "benchmark"):
            return v
        if not v and info.field_name == "mce_corruptions":
            raise ValueError(
                "names no corruption: list the corruptions mCE averages, or use 'benchmark' (the "
                "15 ImageNet-C ones, the default) or 'all' (19)"
            )
        for name in v:
            try:
                perturbations.check(name, 1, modality, where=f"{modality} family")
            except ConfigError as err:
                raise ValueError(str(err)) from None
        if len(set(v)) != len(v):
            twice = sorted({n for n in v if v.count(n) > 1})
            raise ValueError(f"{', '.join(twice)} listed twice")
        return v


def for_task(value: list[E] | dict[str, list[E]], task: Task) -> list[E]:
    """A list setting, or its entry for this task when given per task name."""
    if isinstance(value, dict):
        return list(value.get(task.name, []))
    return list(value)


def entry_shape_advice(entry: TaskEntry | OODEntry, other: Task, task: Task, what: str) -> str:
    """What to declare on a shifted task's or OOD set's entry (a task spec) so its images decode
    to the task's shape: `channels: 3` for grey images beside an RGB task, a transform for
    another size (`image_shape_advice`)."""
    if not isinstance(entry, TaskSpec):
        return ""  # a catalogue task's decoding is fixed; nothing to declare on a name
    return image_shape_advice(
        other.input_shape, task.input_shape, task.modality, on=f"the {what}'s entry"
    )


def ood_name(entry: OODEntry) -> str:
    if isinstance(entry, GeneratedOOD):
        return entry.generated
    return entry if isinstance(entry, str) else entry.name


def refuse_unknown(key: str, name: str, known: Sequence[str], what: str, plural: str) -> None:
    """A ConfigError naming `suites.shift.<key>` when `name` is not in `known` (the first 20
    listed, and the closest as a suggestion)."""
    if name in known:
        return
    listed = ", ".join(known[:20]) + (f", ... ({len(known) - 20} more)" if len(known) > 20 else "")
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"suites.shift.{key}: {name!r} is not {what} ({plural}: {listed}){hint}")
