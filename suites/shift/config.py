"""The shift suite's settings: `ShiftConfig` (validated at construction) and its entries.

`shifted_tasks` and `ood_sets` take a list (for every task) or a mapping from task name to a list;
an entry is a task name, a task spec, or (for OOD sets) a generated noise set. Each entry is
validated as the kind it evidently is, so an error names that kind's key alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, TypeAdapter, ValidationInfo, WrapValidator, field_validator

from harness.core.adapter import image_shape_advice
from harness.core.errors import ConfigError
from harness.core.suite import SuiteConfig
from harness.core.task import Task
from harness.core.validation import StrictModel
from harness.data.task_spec import TaskSpec
from harness.suites.shift import perturbations

OODTag = Literal["near", "far"]


class GeneratedOOD(StrictModel):
    """A generated OOD set: `n` noise inputs of the task's shape within its bounds (far OOD by
    nature: a sanity check that any detector should pass)."""

    generated: Literal["gaussian_noise", "uniform_noise"]
    n: int = Field(default=500, ge=2, le=100_000)
    tag: OODTag = "far"


E = TypeVar("E")
_TASK_LIKE = ("name", "source")  # keys that say an entry is a task spec


def _entry(value: Any, *, ood: bool) -> Any:
    """One `shifted_tasks` / `ood_sets` entry, validated as the kind it evidently is: a task
    name, a generated set (`generated:`, or a key close to it and no task key) or a task spec.
    Only that kind's errors are reported (`ood_sets.0.lable_column: unknown key (did you mean
    'label_column'?)`), not every member of the union's."""
    if isinstance(value, str | TaskSpec) or (ood and isinstance(value, GeneratedOOD | TaggedOOD)):
        return value
    if not isinstance(value, dict):
        kinds = "a task name or a task spec ({name, source, modality, ...})"
        if ood:
            kinds = (
                "a task name, a task spec ({name, source, modality, ...}), a tagged task "
                "({task: <name or spec>, tag: near or far}) or a generated set "
                "({generated: gaussian_noise or uniform_noise, n: ...})"
            )
        raise ValueError(f"an entry is {kinds}")
    if ood and "task" in value:
        return TaggedOOD.model_validate(value)
    if ood and "tag" in value and any(k in value for k in _TASK_LIKE):
        # an inline task spec with its tag beside its keys (`{name, source, ..., tag: near}`):
        # the tagged task it plainly means, `{task: {name, source, ...}, tag: near}`
        # The spec is validated first, so its errors name its own keys (`ood_sets.0.name`), as
        # written, not under a `task` key the entry does not have.
        spec = TaskSpec.model_validate({k: v for k, v in value.items() if k != "tag"})
        return TaggedOOD.model_validate({"task": spec, "tag": value["tag"]})
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


class TaggedOOD(StrictModel):
    """An OOD task (a name or a task spec) tagged `near` (semantic shift: new classes of the same
    kind of input) or `far` (another kind of input), as OpenOOD groups its sets."""

    # validated as the kind it evidently is (`_entry`): a spec's errors alone, with plain key
    # paths, not both union members' with pydantic's validator chain in the path
    task: TaskEntry
    tag: OODTag


OODEntry = Annotated[GeneratedOOD | TaggedOOD | str | TaskSpec, WrapValidator(_ood_entry)]
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


LOGIT_DETECTORS: tuple[str, ...] = ("msp", "energy", "max_logit", "neg_entropy", "gen")
FEATURE_DETECTORS: tuple[str, ...] = ("mahalanobis", "rmd", "knn", "she")
HEAD_DETECTORS: tuple[str, ...] = ("vim", "react", "ash", "dice")
GRADIENT_DETECTORS: tuple[str, ...] = ("odin",)
DETECTORS: tuple[str, ...] = (
    *LOGIT_DETECTORS,
    *GRADIENT_DETECTORS,
    *FEATURE_DETECTORS,
    *HEAD_DETECTORS,
)
DEFAULT_DETECTORS: tuple[str, ...] = tuple(d for d in DETECTORS if d != "odin")
"""Every detector but ODIN, whose input perturbation costs a backward and a second forward pass
per sample (about 3x the clean pass on its own): ask for it by name."""


class OODConfig(StrictModel):
    """OOD detectors and their settings (docs/shift.md, "OOD detection")."""

    detectors: list[str] | Literal["default", "all"] = "default"
    # the board's detector (and the report's histograms); checked against `detectors`
    headline: str = Field(default="energy", validate_default=True)
    fit_samples: int = Field(default=1000, ge=2, le=1_000_000)
    knn_k: int = Field(default=50, ge=1)
    react_percentile: float = Field(default=90.0, gt=0, lt=100)
    ash_percentile: float = Field(default=90.0, gt=0, lt=100)
    dice_sparsity: float = Field(default=90.0, ge=0, lt=100)
    vim_dim: int | None = Field(default=None, ge=1)
    gen_gamma: float = Field(default=0.1, gt=0)
    gen_top: int = Field(default=100, ge=1)
    odin_temperature: float = Field(default=1000.0, gt=0)
    odin_epsilon: float = Field(default=0.0014, ge=0)

    @field_validator("detectors", mode="before")
    @classmethod
    def _detectors_form(cls, v: Any) -> Any:
        """One line saying what the key takes, before the union of a list and a word would list
        each member's complaint with the validation library's tags in the key path."""
        words = ("default", "all")
        takes = "takes a list of detector names, 'default' or 'all'"
        if isinstance(v, list):
            odd = next((i for i, name in enumerate(v) if not isinstance(name, str)), None)
            if odd is None:
                return v
            raise ValueError(f"{takes}; entry {odd} is {v[odd]!r}, not a name")
        if v in words:
            return v
        if isinstance(v, str) and v in DETECTORS:
            raise ValueError(f"{takes}; for one detector: [{v}]")
        close = (
            difflib.get_close_matches(v, [*words, *DETECTORS], n=1) if isinstance(v, str) else []
        )
        raise ValueError(takes + (f" (did you mean {close[0]!r}?)" if close else ""))

    @field_validator("detectors")
    @classmethod
    def _known(cls, v: list[str] | str) -> list[str] | str:
        if isinstance(v, str):
            return v
        for name in v:
            if name not in DETECTORS:
                close = difflib.get_close_matches(name, DETECTORS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"{name!r} is not a detector{hint}; detectors: {', '.join(DETECTORS)}"
                )
        if len(set(v)) != len(v):
            raise ValueError("a detector is listed twice")
        if not v:
            raise ValueError(
                "names no detector, so no OOD set would be scored; list at least one, or use "
                "'default' or 'all'"
            )
        return v

    @field_validator("headline")
    @classmethod
    def _headline(cls, v: str, info: ValidationInfo) -> str:
        if v not in DETECTORS:
            close = difflib.get_close_matches(v, DETECTORS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{v!r} is not a detector{hint}")
        # the board's OOD columns are the headline detector's: one that is not run left the
        # board without any OOD number (the default energy beside `detectors: [msp]`)
        detectors = info.data.get("detectors")
        if isinstance(detectors, list) and v not in detectors:
            raise ValueError(
                f"{v!r} is not among the detectors run ({', '.join(detectors)}): the board shows "
                "the headline detector's AUROCs, so it would show none; set headline: to one of "
                "them (the default is energy), or add it to detectors"
            )
        return v

    @field_validator("odin_epsilon")
    @classmethod
    def _epsilon(cls, v: float) -> float:
        if v >= 1:
            raise ValueError(
                f"is a share of the input range (the default 0.0014); at {v:g} every input value "
                "moves to a bound of the range, so ODIN would score the signs of the gradient, "
                "not the input: give a share below 1"
            )
        return v

    def chosen(self) -> list[str]:
        if self.detectors == "default":
            return list(DEFAULT_DETECTORS)
        if self.detectors == "all":
            return list(DETECTORS)
        return list(self.detectors)


Families = list[str] | Literal["all"]


class ShiftConfig(SuiteConfig):
    # a list or "all" for every image task, or a mapping {task name: list or "all"} (a task not
    # in the mapping gets no corruption)
    corruptions: Families | dict[str, Families] = "all"
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
    ood: OODConfig = Field(default_factory=OODConfig)

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

    @field_validator("shifted_tasks", "ood_sets")
    @classmethod
    def _once_each(cls, v: Any, info: Any) -> Any:
        """Each set is one condition (`shifted=<name>`, `ood=<name>`): a name listed twice (the
        same task, or two generated sets of one kind) failed the job on duplicate rows."""
        name = ood_name if info.field_name == "ood_sets" else _shifted_name
        lists = v.items() if isinstance(v, dict) else [(None, v)]
        for task, entries in lists:
            names = [name(e) for e in entries]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                where = f"task {task!r}: " if task is not None else ""
                prefix = "ood" if info.field_name == "ood_sets" else "shifted"
                raise ValueError(
                    f"{where}{twice[0]!r} is listed twice; each set is one condition "
                    f"({prefix}={twice[0]}): list it once"
                )
        return v

    @field_validator("ood", mode="before")
    @classmethod
    def _ood_form(cls, v: Any) -> Any:
        """`ood` configures the detectors; a list there is most likely meant as `ood_sets`."""
        if isinstance(v, dict | OODConfig):
            return v
        sets = " (OOD sets go under ood_sets)" if isinstance(v, list) else ""
        empty = (
            " (left empty or null: leave the key out for the default detectors; OOD detection "
            "runs on the sets listed under ood_sets)"
            if v is None
            else ""
        )
        raise ValueError(
            "takes the OOD detectors' settings, a mapping such as {detectors: [energy, knn]}"
            f"{sets}{empty}"
        )

    @field_validator("corruptions", "tabular", "text", "mce_corruptions", mode="before")
    @classmethod
    def _family_form(cls, v: Any, info: Any) -> Any:
        """One line saying what the key takes, before the union of a list and a word would list
        each member's complaint in the validation library's own terms."""
        words = ("benchmark", "all") if info.field_name == "mce_corruptions" else ("all",)

        def valid(value: Any) -> bool:
            return value in words or (
                isinstance(value, list) and all(isinstance(n, str) for n in value)
            )

        if valid(v):
            return v
        if info.field_name == "corruptions" and isinstance(v, dict):
            bad = [str(k) for k, value in v.items() if not valid(value)]
            if not bad:
                return v
            raise ValueError(f"task {bad[0]!r}: takes a list of names or 'all'")
        takes = " or ".join(repr(w) for w in words)
        more = ", or a mapping from task name to either" if info.field_name == "corruptions" else ""
        raise ValueError(f"takes a list of names or {takes}{more}")

    @field_validator("corruptions", "tabular", "text", "mce_corruptions")
    @classmethod
    def _families(cls, v: Any, info: Any) -> Any:
        if isinstance(v, dict):  # corruptions per task: each value checked alone
            for name, value in v.items():
                try:
                    cls._families(value, info)
                except ValueError as err:
                    raise ValueError(f"task {name!r}: {err}") from None
            return v
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


def corruptions_for(cfg: ShiftConfig, task: Task) -> list[str] | str:
    """The corruption setting of one image task (a task a mapping leaves out: none)."""
    if isinstance(cfg.corruptions, dict):
        return cfg.corruptions.get(task.name, [])
    return cfg.corruptions


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


def _shifted_name(entry: TaskEntry) -> str:
    return entry if isinstance(entry, str) else entry.name


def ood_task(entry: OODEntry) -> str | TaskSpec | None:
    """The task an OOD entry reads (None for a generated set)."""
    if isinstance(entry, GeneratedOOD):
        return None
    return entry.task if isinstance(entry, TaggedOOD) else entry


def ood_tag(entry: OODEntry) -> str | None:
    """`near`, `far`, or None for an untagged task (in neither mean)."""
    return entry.tag if isinstance(entry, GeneratedOOD | TaggedOOD) else None


def ood_name(entry: OODEntry) -> str:
    if isinstance(entry, GeneratedOOD):
        return entry.generated
    task = ood_task(entry)
    return task if isinstance(task, str) else task.name if task is not None else ""


def refuse_unknown(key: str, name: str, known: Sequence[str], what: str, plural: str) -> None:
    """A ConfigError naming `suites.shift.<key>` when `name` is not in `known` (the first 20
    listed, and the closest as a suggestion)."""
    if name in known:
        return
    listed = ", ".join(known[:20]) + (f", ... ({len(known) - 20} more)" if len(known) > 20 else "")
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"suites.shift.{key}: {name!r} is not {what} ({plural}: {listed}){hint}")
