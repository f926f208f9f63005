"""Python API: evaluate a model on a task or on data in memory, in-process (docs/python-api.md).

import harness
result = harness.evaluate(my_module, task="digits", suites=["accuracy"])
result = harness.evaluate(my_module, data=(x, y), suites=["accuracy", "adversarial"])
result.table.to_pandas()      # per-sample rows (sample_id, condition, label, prediction...)
result.metrics_frame()        # one row per metric with value, ci and n
result.save("results")        # a run folder that `harness leaderboard/report/check` read
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import os
import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import torch

from harness.config.model_file_entry import model_file_entry
from harness.config.planner import model_plan, not_shadowing, task_plan
from harness.config.spec import ModelSpec, field_value, names_value, setting_value
from harness.core.adapter import MinimalAdapter, ModelAdapter, check_fits_task, with_default_hooks
from harness.core.arguments import path_argument
from harness.core.edge_digits import fraction_off_the_edges
from harness.core.errors import ClassCountError, HarnessError, SpecError
from harness.core.group_context import is_worst_group, worst_group_records
from harness.core.metric_record import MetricRecord
from harness.core.model_calls import (
    CheckedAdapter,
    out_of_memory,
    out_of_memory_error,
    with_input_notes,
)
from harness.core.sample_table import SampleTable
from harness.core.suite import RunContext, Suite, SuiteResult
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.validation import format_validation_error
from harness.data.task_spec import TaskSpec
from harness.run.api_progress import progress_wanted, suite_progress
from harness.run.environment import resolve_device
from harness.run.evaluation import Evaluation, Provenance
from harness.run.grad_mode import autograd_on
from harness.run.memory_inputs import Columns, Groups, column_names, read_data
from harness.run.memory_task import (
    MEMORY_SOURCE,
    InMemoryDataError,
    Labeled,
    memory_task,
    with_train,
)
from harness.run.model_adapter import build_model_adapter
from harness.run.model_rng import seeded_global_rng
from harness.run.plugins import installed_plugins, suite_registry


class UnknownMetricError(HarnessError, KeyError):
    """`EvaluationResult.metric` of a key the result does not hold, or holds in several suites;
    a `HarnessError` (one line) and a `KeyError` (a lookup that found nothing)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _number_text(value: float, unit: str) -> str:
    """A value as `print(result)` writes it: a fraction to four decimals (0.9510 beside 0.0347),
    keeping, as the leaderboard does, the digits that tell one strictly between 0 and 1 from
    them (an OOD AUROC of 0.99998 is "0.99998", not a perfect "1.0000"; 4e-05 is not "0.0000");
    other units to four significant digits."""
    if unit != "fraction":
        return f"{value:.4g}"
    return fraction_off_the_edges(value, 4)


def _shown_n(record: MetricRecord, metrics: Sequence[MetricRecord]) -> str:
    """`n=` as `print(result)` gives it. A worst-group number (`worst_group_acc`) is one
    group's value and interval while its record's n counts every group's samples: it gets the
    worst group's n (the smallest of tied worst groups) beside every group's, as the leaderboard
    and the model card give them (`harness.analysis.leaderboard.worst_groups`)."""
    if not is_worst_group(record) or record.value is None:
        return f"n={record.n}"
    sizes = [m.n for m in worst_group_records(record, metrics)]
    if not sizes:
        return f"n={record.n} in all groups"
    return f"n={min(sizes)} (worst group; {record.n} in all groups)"


@dataclass(frozen=True)
class EvaluationResult(Evaluation):
    """Per-suite results of one model on one task (the fields of `Evaluation`), with views of
    them and `save`."""

    def __repr__(self) -> str:
        """What `print(result)` shows: each suite's headline numbers with their interval and n,
        its flags and notes, each skipped suite's reason, and where the rest is (the generated
        dataclass repr printed every per-sample row and record whole)."""
        lines = [f"EvaluationResult: model {self.model!r} on task {self.task!r}"]
        for name, result in self.results.items():
            shown = [m for m in result.metrics if m.headline] or result.metrics[:3]
            width = max((len(m.key) for m in shown), default=0)
            for m in shown:
                value = "undefined" if m.value is None else _number_text(m.value, m.unit)
                ci = (
                    ""
                    if m.ci is None
                    else f" [{_number_text(m.ci[0], m.unit)}, {_number_text(m.ci[1], m.unit)}]"
                )
                flags = f"  flagged: {', '.join(m.flags)}" if m.flags else ""
                n = _shown_n(m, result.metrics)
                lines.append(f"  {name}  {m.key:<{width}}  {value}{ci}  {n}{flags}")
            lines.extend(f"  {name}  note: {note}" for note in result.notes)
        lines.extend(f"  {name}  skipped: {why}" for name, why in self.skipped.items())
        lines.append(
            f"  ({len(self.metrics)} metric records: result.metrics_frame(); "
            "per-sample rows: result.table)"
        )
        return "\n".join(lines)

    @property
    def table(self) -> SampleTable:
        """All suites' per-sample rows, with a `suite` column."""
        frames = [
            r.table.frame.assign(suite=name)
            for name, r in self.results.items()
            if r.table is not None
        ]
        if not frames:
            raise HarnessError("no suite produced results (all were skipped)")
        return SampleTable(pd.concat(frames, ignore_index=True))

    @property
    def metrics(self) -> list[MetricRecord]:
        return [m for r in self.results.values() for m in r.metrics]

    def metrics_frame(self) -> pd.DataFrame:
        """One row per metric record: its fields, the interval's bounds as `ci_low` and
        `ci_high` (None without an interval) and the record's `key`. Without records (every
        suite skipped) the frame has the same columns and no row."""
        columns = [f.name for f in fields(MetricRecord)] + ["ci_low", "ci_high", "key"]
        return pd.DataFrame(
            [
                {
                    **m.to_dict(),
                    "ci_low": m.ci[0] if m.ci is not None else None,
                    "ci_high": m.ci[1] if m.ci is not None else None,
                    "key": m.key,
                }
                for m in self.metrics
            ],
            columns=columns,
        )

    def metric(self, key: str, suite: str | None = None) -> MetricRecord:
        """The record whose key (`metrics_frame()["key"]`) is `key`, of `suite` when given; a key
        that several suites report (`clean_acc`: adversarial and shift, each on its own samples)
        needs `suite=`."""
        if suite is not None and suite not in self.results:
            raise UnknownMetricError(
                f"suite: no results of suite {suite!r}; have {', '.join(self.results) or 'none'}"
            )
        found = [
            (name, m)
            for name, r in self.results.items()
            if suite in (None, name)
            for m in r.metrics
            if m.key == key
        ]
        if not found:
            keys = sorted({m.key for m in self.metrics if suite in (None, m.suite)})
            named = [k for k in keys if _key_parts(k)[0] == key]
            of_suite = "" if suite is None else f", suite={suite!r}"  # the call keeps its suite
            if len(named) == 1:
                raise UnknownMetricError(
                    f"key: {key!r} is the metric of one record, named by its key with its "
                    f"context: ask for result.metric({named[0]!r}{of_suite})"
                )
            if named:  # the name of records qualified by a context: its keys, not the first 20
                raise UnknownMetricError(
                    f"key: {key!r} is the metric of {len(named)} records, each named by its key "
                    f"with its context: {', '.join(named)}; pick one (e.g. "
                    f"result.metric({named[0]!r}{of_suite}))"
                )
            same = [k for k in keys if _key_parts(k) == _key_parts(key)]  # context reordered
            hint = f"; did you mean {same[0]!r}?" if same else ""
            shown = ", ".join(keys[:20]) + (", ..." if len(keys) > 20 else "")
            where = f" in suite {suite!r}" if suite is not None else ""
            why = (
                " (top-5 accuracy is reported only on tasks of more than 5 classes: with 5 or "
                "fewer every label is in the top 5)"
                if key == "top5_acc" and "accuracy" in self.results
                else ""
            )
            raise UnknownMetricError(f"key: no metric {key!r}{where}{why}{hint}; have {shown}")
        suites = list(dict.fromkeys(name for name, _ in found))
        if len(suites) > 1:
            raise UnknownMetricError(
                f"key: metric {key!r} is reported by suites {', '.join(suites)}; pick one with "
                f"suite= (e.g. result.metric({key!r}, suite={suites[0]!r}))"
            )
        return found[0][1]

    @property
    def task_fingerprint(self) -> str:
        """The evaluated task's content fingerprint (what makes results comparable)."""
        if self.provenance is None:
            raise HarnessError("this result was not returned by harness.evaluate: no task")
        return self.provenance.task.fingerprint

    def save(self, out: str | Path = "results") -> Path:
        """Write these results as a run folder under `out` (`out/runs/<run_id>/`), which
        `harness leaderboard`, `report` and `check` read like a `harness run` of the same jobs;
        saving the same evaluation again rewrites the same folder. Returns the run folder."""
        from harness.run.api_store import write_run

        if self.provenance is None:
            raise HarnessError("this result was not returned by harness.evaluate: nothing to save")
        return write_run(self, self.provenance, path_argument("out", out))


@dataclass(frozen=True, kw_only=True)
class DataOptions:
    """The settings of data passed in memory (`harness.evaluate(data=...)`)."""

    name: str | None = None
    bounds: tuple[float, float] | None = None
    class_names: Sequence[str] | None = None
    num_classes: int | None = None
    groups: Groups = None
    columns: Columns = field(default_factory=Columns)
    train: Any = None  # the training split, in memory as data is

    def given(self) -> list[str]:
        """The settings that were set (they apply to data in memory only)."""
        names = ("name", "bounds", "class_names", "num_classes", "groups", "train")
        set_ = [n for n in names if getattr(self, n) is not None]
        return set_ + (["columns"] if self.columns != Columns() else [])


def _refuse_split_sets(given: Any, key: str) -> None:
    """A datasets `DatasetDict` (several splits) or `IterableDataset` (a stream) in one line
    saying what evaluate takes: one split, as a `Dataset`. The generic lines ("got a dict of
    'test', 'train'", the DataLoader's collate error on PIL images) did not say it."""
    import datasets

    if isinstance(given, datasets.DatasetDict):
        splits = list(given)
        raise InMemoryDataError(
            f"{key}: got a DatasetDict of the splits {', '.join(map(repr, splits))}; pass the "
            f"split to evaluate: {key}=ds[{splits[0] if len(splits) == 1 else 'test'!r}]"
        )
    if isinstance(given, datasets.IterableDataset):
        raise InMemoryDataError(
            f"{key}: got a datasets IterableDataset (a stream); pass a Dataset (load it without "
            "streaming=True, or save it as Parquet and evaluate it as a spec task)"
        )


def _refuse_a_path(given: Any, key: str, base_dir: Path) -> None:
    """A file's or folder's path as task= or data= is told to go in a task mapping's `source`
    (it was "unknown task 'my.csv'; known tasks: ..." or "data: got a str"); a task name that
    names a catalogue task stays that task, whatever the current folder holds; text naming a
    table file (`data/x.csv`) where nothing is there is a path to nothing, not a task name."""
    if isinstance(given, str) and key == "task":
        from harness.data.catalogue import task_registry

        if given.startswith("hf:") or given in task_registry():
            return
    elif not isinstance(given, str | os.PathLike):
        return
    text = os.fspath(given)
    path = Path(text) if Path(text).is_absolute() else base_dir / text
    if not isinstance(given, os.PathLike) and not path.exists() and not _names_a_table(text):
        return
    what = (
        "a folder"
        if path.is_dir()
        else "a file"
        if path.exists()
        else f"a path, and {path} does not exist"  # an os.PathLike or a table file's name
    )
    name = Path(text).stem or "mine"
    raise SpecError(
        f"{key}: {text!r} is {what}; evaluate reads files as a task spec mapping: "
        f"task={{'name': {name!r}, 'source': {text!r}, 'modality': ...}} (image, tabular or "
        "text, with the keys of a spec's task entry: docs/tasks.md), or pass the data read "
        "into memory as data="
    )


def _names_a_table(text: Any) -> bool:
    """Whether text names a table file by its suffix (`data/x.csv`; no catalogue task's name has
    one): a path, not a task name, even where nothing is there."""
    from harness.data.table_sources import TABLE_BUILDERS

    return isinstance(text, str) and Path(text).suffix.lower() in TABLE_BUILDERS


def _resolve_task(task: Any, data: Any, base_dir: Path, options: DataOptions) -> tuple[Task, bool]:
    """The task, and whether its number of classes was inferred from the largest label."""
    if data is not None and task is not None:
        raise InMemoryDataError("data: pass the data as data= or as task=, not both")
    if data is None and task is None:
        raise InMemoryDataError(
            "task: evaluate needs task= (a task name, a task spec mapping or a Task) or data= "
            "(data in memory: docs/python-api.md)"
        )
    _refuse_a_path(task if data is None else data, "task" if data is None else "data", base_dir)
    if data is None and isinstance(task, str | Task | Mapping) and not _holds_arrays(task):
        if options.given():
            raise InMemoryDataError(
                f"{options.given()[0]}: applies to data passed in memory (data=...), not to "
                f"task={task if isinstance(task, str) else type(task).__name__!r}"
            )
        return _named_task(task, base_dir), False
    given = data if data is not None else task
    _refuse_split_sets(given, "data" if data is not None else "task")
    if isinstance(given, Mapping):
        raise InMemoryDataError(
            f"{'data' if data is not None else 'task'}: got a dict of "
            f"{', '.join(map(repr, list(given)[:4]))}; pass arrays as data=(x, y), or a task "
            "spec mapping of plain values as task="
        )
    _not_a_catalogue_name(options.name)
    labeled, groups = read_data(given, options.columns, options.groups, options.class_names)
    names = options.class_names
    declared = labeled.class_names  # a ClassLabel's names count the classes the data lacks too
    if names is not None and declared is not None and tuple(names) != declared:
        from harness.data.row_columns import class_label_way_out

        # class_names would rename the dataset's own classes (class 0 'zero' shown as 'nine')
        raise InMemoryDataError(
            f"class_names: {_first_names(names)} differ from the names the label column "
            f"{options.columns.label_column!r} declares (a ClassLabel: {_first_names(declared)}); "
            "leave class_names out to use them, " + class_label_way_out(names, declared)
        )
    if declared is not None and options.num_classes not in (None, len(declared)):
        # the names would be dropped and the count taken from num_classes without a word
        raise InMemoryDataError(
            f"num_classes: {options.num_classes} differs from the {len(declared)} classes the "
            f"label column {options.columns.label_column!r} declares (a ClassLabel: "
            f"{_first_names(declared)}); leave num_classes out to use them, or cast the column "
            "to the classes you mean"
        )
    if names is None and declared is not None:
        names = declared
    train, train_groups = _read_train(options, names)
    built = memory_task(
        labeled,
        name=options.name or "in-memory",
        bounds=options.bounds,
        class_names=names,
        num_classes=options.num_classes,
        groups=groups,
    )
    inferred = names is None and options.num_classes is None
    if train is not None:
        built = with_train(built, labeled, train, train_groups, inferred=inferred)
    return built, inferred


def _read_train(
    options: DataOptions, class_names: Sequence[str] | None
) -> tuple[Labeled | None, pd.DataFrame | None]:
    """The training split passed as `train=`, read as data is (the same columns; the sensitive
    attributes too where `groups` names columns of the data, which the split then must have),
    and its group frame. Every refusal names `train`."""
    if options.train is None:
        return None, None
    _refuse_split_sets(options.train, "train")
    named = column_names(options.groups)  # arrays of groups are the data's samples' alone
    if named and not _has_columns(options.train):
        shown = ", ".join(map(repr, named))
        raise InMemoryDataError(
            f"train: got a {type(options.train).__name__}, which has no columns, but groups names "
            f"columns of data ({shown}) that train must hold too; pass train as data is, a "
            "DataFrame or datasets.Dataset with those columns"
        )
    try:
        return read_data(options.train, options.columns, named or None, class_names)
    except InMemoryDataError as err:
        # the reader names its argument `data`; the ways out it gives ('data=(x, y)',
        # 'data.columns = ...') are about train here
        text = re.sub(r"\bdata(?==|\.columns)", "train", str(err).removeprefix("data: ")).replace(
            "not a column of data", "not a column of train"
        )
        raise InMemoryDataError(f"train: {text}") from None


def _has_columns(given: Any) -> bool:
    """Whether `given` holds named columns (a DataFrame or a datasets.Dataset)."""
    import datasets

    return isinstance(given, pd.DataFrame | datasets.Dataset)


def _first_names(names: Sequence[str]) -> str:
    shown = ", ".join(repr(str(n)) for n in list(names)[:3])
    return f"{shown}, ..." if len(names) > 3 else shown


def _not_a_catalogue_name(name: str | None) -> None:
    """`name=` for data in memory: a catalogue task's name would put a second board of that
    name beside the catalogue task's (a spec refuses it without override: true; data in
    memory never replaces the catalogue task, so there is no override here)."""
    from harness.data.catalogue import task_registry

    if name is not None and name in task_registry():
        raise InMemoryDataError(
            f"name: {name!r} is a catalogue task's name; boards would show your data as a "
            f"second {name!r} task beside the catalogue's; pass another name "
            f"(e.g. name={name + '-own'!r})"
        )


def _not_shadowing_the_catalogue(task: Task, base_dir: Path) -> None:
    """A `Task` object named like a catalogue task must hold the catalogue task's rows (all of
    them, or a subset: `head`, `subset`); with other data it would be a second board of that
    name beside the catalogue's, so it is refused, as `name=` is for data in memory."""
    from harness.data.catalogue import task_registry

    if task.name not in task_registry() or _remembered(task) in _CATALOGUE_ROWS:
        return
    clash = (
        f"task: a Task named {task.name!r} (a catalogue task's name) holds other data than the "
        f"catalogue's {task.name!r}"
    )
    rename = (
        f"boards would show it as a second {task.name!r} task beside the catalogue's; rename it "
        f"(dataclasses.replace(task, name={task.name + '-own'!r})), or, for a task loaded from "
        "a spec entry, pass that mapping with 'override': True to stand in for the catalogue's"
    )
    try:
        catalogue = task_plan(task.name, base_dir).load()
    except HarnessError as err:
        raise InMemoryDataError(
            f"task: a Task named {task.name!r} (a catalogue task's name), and the catalogue's "
            f"{task.name!r} could not be loaded to compare ({err}); {rename}"
        ) from None
    if not _rows_of(task, catalogue):
        raise InMemoryDataError(
            f"{clash} (fingerprint {task.fingerprint[:12]}, the catalogue's "
            f"{catalogue.fingerprint[:12]}); {rename}"
        )
    # the fingerprint leaves the training split out; the shift suite's noise scale and OOD
    # detectors and the fairness suite's coverage read it: another one gives other numbers
    ours, theirs = task.train_fingerprint, catalogue.train_fingerprint
    if ours != theirs:
        raise InMemoryDataError(
            f"task: a Task named {task.name!r} (a catalogue task's name) holds another training "
            f"split than the catalogue's {task.name!r} (train fingerprint "
            f"{(ours or 'none')[:12]}, the catalogue's {(theirs or 'none')[:12]}): suites that "
            f"read it (shift, fairness) would score it otherwise; {rename}"
        )
    _CATALOGUE_ROWS.add(_remembered(task))


_CATALOGUE_ROWS: set[tuple[str, str, str | None]] = set()
"""(name, fingerprint, train fingerprint) of the Tasks found to hold catalogue rows in this
process: the next evaluate of the same task (a loop over models) neither reloads nor rehashes
the catalogue task (imagenet-val: 50,000 streamed images read per comparison)."""


def _remembered(task: Task) -> tuple[str, str, str | None]:
    return task.name, task.fingerprint, task.train_fingerprint


def _rows_of(task: Task, catalogue: Task) -> bool:
    """Whether `task` holds catalogue rows only (same content per row): the catalogue task, a
    subset of its rows (`head`, `subset`) or its rows in another order. Only the rows `task`
    holds are hashed: `head(100)` of a catalogue task of 950,000 images reads 100 of them."""
    if len(task) > len(catalogue):
        return False
    ids = task.sample_ids
    if len(set(ids)) != len(ids):
        return False
    position = {sid: i for i, sid in enumerate(catalogue.sample_ids)}
    if any(sid not in position for sid in ids):
        return False
    rows = [position[sid] for sid in ids]
    if rows == list(range(len(catalogue))):
        return task.fingerprint == catalogue.fingerprint
    picked = replace(catalogue, data=catalogue.data.select(rows), limit=task.limit)
    return picked.fingerprint == task.fingerprint


def _unique_sample_ids(task: Task) -> None:
    """Refuse a Task whose rows repeat a sample id (two heads concatenated): every table row
    and paired test is keyed by it, and the first suite failed with a bare ValueError."""
    seen: dict[str, int] = {}
    for row, sid in enumerate(task.sample_ids):
        if sid in seen:
            raise InMemoryDataError(
                f"task: the Task {task.name!r} holds sample id {sid!r} twice (rows {seen[sid]} "
                f"and {row}); every result row is keyed by its sample id: give each row its own"
            )
        seen[sid] = row


def _holds_arrays(task: Any) -> bool:
    return isinstance(task, Mapping) and any(
        isinstance(v, torch.Tensor | np.ndarray | pd.DataFrame | pd.Series) for v in task.values()
    )


def _named_task(task: str | Task | Mapping[str, Any], base_dir: Path) -> Task:
    if isinstance(task, Task):
        _unique_sample_ids(task)
        _not_shadowing_the_catalogue(task, base_dir)
        return task
    if isinstance(task, str):  # a catalogue task, with its declared headline threat model
        return task_plan(task, base_dir).load()
    from pydantic import ValidationError

    from harness.data.loader import load_task

    try:
        spec = TaskSpec.model_validate(dict(task))
    except ValidationError as err:
        raise SpecError(f"task: {format_validation_error(err, prefix='', limit=3)}") from None
    not_shadowing(spec)
    loaded = load_task(spec, base_dir=base_dir)
    if not loaded.labeled:
        raise HarnessError(
            f"task {loaded.name!r} is unlabeled (label_column: null): models cannot be scored on "
            "it; use it as an OOD set (suites.shift.ood_sets) or give its label column"
        )
    return loaded


@dataclass(frozen=True)
class ModuleOptions:
    """What the caller said about an `nn.Module`: what it returns (`outputs`), or the
    tokenizer or image processor of a transformers classifier with its `label_map`."""

    outputs: str = "logits"
    tokenizer: Any = None
    image_processor: Any = None
    label_map: Sequence[str] | None = None
    max_length: int | None = None  # a text classifier's token limit (hf-text's `max_length`)
    features_layer: str | None = None  # the OOD detectors' features layer (the spec's key)


def _resolve_adapter(
    model: Any,
    task: Task,
    device: torch.device,
    base_dir: Path,
    name: str | None = None,
    options: ModuleOptions = ModuleOptions(),
) -> ModelAdapter:
    from harness.adapters.python_callable import CallableModel
    from harness.adapters.sklearn_model import SklearnAdapter, is_estimator

    if isinstance(model, torch.export.ExportedProgram):  # not callable itself: its module is
        model = model.module()
    file_entry = _model_file_entry(model, task, name)
    if file_entry is not None:
        model = file_entry
    elif _is_function(model):  # a bare function or callable object: read as returning logits
        model = CallableModel(model, name=name)
    elif isinstance(model, CallableModel) and name is not None:
        model = replace(model, name=name)
    elif isinstance(model, Mapping) and "name" not in model:
        model = _named_entry(model, name)
    elif name is not None and not (isinstance(model, torch.nn.Module) or is_estimator(model)):
        raise HarnessError(
            "model_name: names an nn.Module, an estimator, a function or a model file; a zoo "
            "model, spec or adapter has its own name"
        )
    if isinstance(model, CallableModel):
        return model.adapter(
            modality=task.modality,
            bounds=None if task.modality == "text" else task.bounds,
            input_shape=task.input_shape,
            device=device,
        )
    if isinstance(model, torch.nn.Module):
        return _module_adapter(model, task, device, name or type(model).__name__, options)
    if isinstance(model, str):
        entry: str | ModelSpec = model  # a zoo name; model_plan refuses unknown names
    elif isinstance(model, Mapping):
        from pydantic import ValidationError

        try:
            entry = ModelSpec.model_validate(dict(model))
        except ValidationError as err:
            raise SpecError(f"model: {format_validation_error(err, prefix='', limit=3)}") from None
    elif isinstance(model, MinimalAdapter):
        return with_default_hooks(model)
    elif is_estimator(model):
        return SklearnAdapter.from_estimator(
            model, name=name or type(model).__name__, text=task.modality == "text"
        )
    else:
        raise HarnessError(
            f"cannot evaluate a {type(model).__name__}; pass an nn.Module, a fitted "
            "scikit-learn classifier, a function or callable object (logits out; "
            "harness.callable_model(fn, outputs=...) to say more), a model adapter, a zoo model "
            "name or a model spec mapping"
        )
    plan = model_plan(entry, 0, base_dir, installed_plugins())
    return build_model_adapter(plan, device=device, base_dir=base_dir)


MODULE_OUTPUTS = ("logits", "binary_logit")


def _module_adapter(
    model: torch.nn.Module, task: Task, device: torch.device, name: str, options: ModuleOptions
) -> ModelAdapter:
    """The adapter of an `nn.Module`: a transformers classifier with its image processor
    (`hf-image`) or, on texts, its tokenizer (`hf-text`), else the torch adapter."""
    from harness.adapters.torch_module import TorchModuleAdapter

    if options.tokenizer is not None and task.modality != "text":
        raise HarnessError(
            f"tokenizer: task {task.name!r} is {task.modality}, not text; a tokenizer goes with "
            "a text classifier on texts"
        )
    processed = options.image_processor is not None or task.modality == "text"
    if processed and options.outputs != "logits":
        raise HarnessError(
            f"outputs: {options.outputs!r} applies to a module that takes tensors and returns "
            "its own scores; a transformers classifier gives one score per class"
        )
    if options.image_processor is not None:
        return _image_module(model, options.image_processor, task, device, name, options.label_map)
    if task.modality == "text":
        return _text_module(model, options.tokenizer, device, name, options)
    return TorchModuleAdapter.from_module(
        model,
        name=name,
        device=device,
        bounds=task.bounds or (0.0, 1.0),
        input_shape=task.input_shape,
        modality=task.modality,
        outputs=options.outputs,
        features_layer=options.features_layer,
    )


def _image_module(
    model: Any,
    processor: Any,
    task: Task,
    device: torch.device,
    name: str,
    label_map: Sequence[str] | None,
) -> ModelAdapter:
    """A transformers image classifier held in memory with its image processor (the
    `hf-image` adapter's `from_objects`), on an image task."""
    if task.modality != "image":
        raise HarnessError(
            f"image_processor: task {task.name!r} is {task.modality}, not images; an image "
            "processor goes with an image classifier on images"
        )
    from harness.adapters.hf_image import HFImageAdapter

    return HFImageAdapter.from_objects(
        model,
        processor,
        name=name,
        device=device,
        input_shape=list(task.input_shape) if task.input_shape else None,
        label_map=list(label_map) if label_map is not None else None,
    )


def _text_module(
    model: torch.nn.Module, tokenizer: Any, device: torch.device, name: str, options: ModuleOptions
) -> ModelAdapter:
    """A transformers sequence classifier held in memory with its tokenizer (the `hf-text`
    adapter's `from_objects`); an nn.Module on texts without one is refused in one line."""
    if tokenizer is None:
        raise HarnessError(
            f"model {name!r} is an nn.Module and the data are texts: pass its tokenizer "
            "(harness.evaluate(model, tokenizer=tokenizer, ...)) for a transformers sequence "
            "classifier, or a function that takes a list of strings "
            "(harness.callable_model(fn, outputs=...))"
        )
    from harness.adapters.hf_text import HFTextAdapter

    label_map = options.label_map
    return HFTextAdapter.from_objects(
        model,
        tokenizer,
        name=name,
        device=device,
        label_map=list(label_map) if label_map is not None else None,
        **({"max_length": options.max_length} if options.max_length is not None else {}),
    )


def _module_options(model: Any, given: ModuleOptions) -> ModuleOptions:
    """`given` checked against `model` and each other, each refused in one line naming its
    argument: `outputs` one an `nn.Module` declares, on an `nn.Module` (a function declares
    its own with `harness.callable_model`); a tokenizer or an image processor (one of them)
    with an `nn.Module`; `label_map` with one of them; `max_length` with a tokenizer, checked
    as the hf-text spec key. `label_map` comes back as a list of names."""
    module = isinstance(model, torch.nn.Module)
    if given.outputs != "logits" and given.outputs not in MODULE_OUTPUTS:
        raise HarnessError(
            f"outputs: {given.outputs!r} is not one of {', '.join(map(repr, MODULE_OUTPUTS))}"
        )
    if given.outputs != "logits" and not module:
        raise HarnessError(
            f"outputs: applies to an nn.Module, not to a {type(model).__name__}; declare a "
            "function's outputs with harness.callable_model(fn, outputs=...), a model spec's "
            "with its own `outputs:` key"
        )
    if given.tokenizer is not None and given.image_processor is not None:
        raise HarnessError("tokenizer, image_processor: pass one (a text or an image model)")
    layer = given.features_layer
    if layer is not None and not isinstance(layer, str):  # difflib raised on a number
        raise SpecError(
            f"features_layer: expected a string, got {type(layer).__name__} {str(layer)[:60]}"
        )
    if given.features_layer is not None and (
        not module or given.tokenizer is not None or given.image_processor is not None
    ):
        raise HarnessError(
            "features_layer: names a layer of an nn.Module that takes tensors (the torch "
            f"adapter's key), not of a {type(model).__name__}"
            + (" passed with its tokenizer or image processor" if module else "")
        )
    for key, what, kind in (
        ("tokenizer", given.tokenizer, "sequence"),
        ("image_processor", given.image_processor, "image"),
    ):
        if what is not None and not module:
            raise HarnessError(
                f"{key}: goes with a transformers {kind} classifier (an nn.Module), not with "
                f"a {type(model).__name__}"
            )
    if given.label_map is not None and given.tokenizer is None and given.image_processor is None:
        raise HarnessError(
            "label_map: goes with a model passed with its tokenizer or image processor; a "
            "model spec mapping takes its own `label_map:`"
        )
    label_map = names_value("label_map", given.label_map)
    odd = [v for v in label_map or [] if not isinstance(v, str)]
    if odd:
        raise HarnessError(
            f"label_map: the model's label (a name, as in its config's id2label) for each task "
            f"class; got {odd[0]!r} ({type(odd[0]).__name__})"
        )
    max_length = given.max_length
    if max_length is not None:
        if given.tokenizer is None:
            raise HarnessError(
                "max_length: goes with a text classifier passed with its tokenizer; a model "
                "spec mapping takes its own `max_length:`"
            )
        from harness.adapters.hf_text import HFTextConfig

        max_length = field_value(HFTextConfig, "max_length", max_length)
    return replace(given, label_map=label_map, max_length=max_length)


def _is_function(model: Any) -> bool:
    """A bare callable the `callable` adapter takes: a function, method, partial or callable
    object that is no class, module, estimator, adapter or other model the API knows."""
    from harness.adapters.python_callable import CallableModel
    from harness.adapters.sklearn_model import is_estimator

    if not callable(model) or inspect.isclass(model) or isinstance(model, CallableModel):
        return False
    return not (isinstance(model, (torch.nn.Module, MinimalAdapter)) or is_estimator(model))


def _named_entry(entry: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    """A model spec mapping given without `name`: named `name` (evaluate's `model_name`), else
    after its file (`path`'s stem), as a model file passed alone is. Without either, the
    mapping is left to the spec's own refusal of the missing key."""
    path = entry.get("path")
    if name is None and isinstance(path, (str, PurePath)) and PurePath(path).stem:
        name = PurePath(path).stem
    return dict(entry) if name is None else {**entry, "name": name}


def _model_file_entry(model: Any, task: Task, name: str | None) -> dict[str, Any] | None:
    """A model spec mapping for `model` given as the path of an .onnx or .skops file (a str or
    a Path), named `name` or the file's stem, reading the task's modality; None otherwise
    (harness/config/model_file_entry.py)."""
    return model_file_entry(
        model,
        name=name,
        modality=task.modality,
        task=task.name,
        pickle_advice=(
            "load it yourself (joblib.load) and pass the estimator, or pass {'adapter': "
            "'sklearn', 'path': ..., 'allow_pickle': True}"
        ),
    )


def evaluate(
    model: Any,
    *,
    task: Any = None,
    data: Any = None,
    train: Any = None,
    suites: Iterable[str] | Mapping[str, Mapping[str, Any] | None] = ("accuracy",),
    seed: int = 0,
    device: str | torch.device = "auto",
    batch_size: int = 256,
    limit: int | None = None,
    bootstrap_resamples: int = 1000,
    base_dir: Path | None = None,
    name: str | None = None,
    bounds: tuple[float, float] | None = None,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
    groups: Groups = None,
    input_column: str | None = None,
    label_column: str = "label",
    feature_columns: Sequence[str] | None = None,
    model_name: str | None = None,
    outputs: str = "logits",
    tokenizer: Any = None,
    label_map: Sequence[str] | None = None,
    image_processor: Any = None,
    max_length: int | None = None,
    features_layer: str | None = None,
    progress: bool | None = None,
) -> EvaluationResult:
    """Run suites on one model and one task, or on data in memory, and return the results.

    `task`: a catalogue name, a task spec mapping or a `Task`. `data` (or the same object as
    `task`): `(x, y)` tensors or arrays, `(texts, labels)`, a torch Dataset or DataLoader of
    `(x, y)`, a `datasets.Dataset` (`input_column`, `label_column`) or a pandas DataFrame
    (`label_column`, `feature_columns`); with `name`, `bounds` (default [0, 1] for images, the
    observed range for tables), `class_names`, `num_classes` and `groups` (sensitive
    attributes, one per sample: a DataFrame, a Series, a dict of named columns, a 1-D array or
    tensor, or columns of `data`). `train`: the training split beside `data`, in the same
    form (for the shift suite's OOD detector fits and tabular noise scale, and the fairness
    suite's group coverage, as a spec task's `train_split:`). `model` is an `nn.Module`, a
    fitted scikit-learn classifier, an adapter, a zoo name or a model spec mapping; `model_name`
    names a module or estimator in results (default: its class name); `outputs` says what an
    `nn.Module` returns: 'logits' (one score per class) or 'binary_logit' (one logit per input,
    that of the second class, as a `BCEWithLogitsLoss` model gives it); `tokenizer` is the
    tokenizer of a transformers sequence classifier held in memory, for texts (`max_length`:
    the most tokens it reads of each, default 256, as the spec's key), and
    `image_processor` the image processor of a transformers image classifier, for images
    (`label_map`: the model's label for each task class, in task order, as the spec's key).
    `features_layer` names the module of an `nn.Module` whose input is its penultimate
    features, for the shift suite's OOD feature detectors (default: the last nn.Linear), as
    the spec's key. `progress`: a bar per suite on stderr (samples done, stage, rate, ETA);
    default: shown on a terminal or in a notebook. docs/python-api.md.
    """
    shown = progress_wanted(progress)
    base = base_dir or Path.cwd()
    seed = setting_value("seed", seed)
    batch_size = setting_value("batch_size", batch_size)
    limit = setting_value("limit", limit)
    bootstrap_resamples = setting_value("bootstrap_resamples", bootstrap_resamples)
    configs = _suite_configs(suites)
    dev = resolve_device(_device_name(device))
    name = _text_value("name", name)
    model_name = _text_value("model_name", model_name)
    module_options = _module_options(
        model,
        ModuleOptions(outputs, tokenizer, image_processor, label_map, max_length, features_layer),
    )
    features = names_value("feature_columns", feature_columns)
    columns = Columns(
        input_column=input_column,
        label_column=label_column,
        feature_columns=tuple(features) if features is not None else None,
    )
    options = DataOptions(
        name=name,
        bounds=bounds,
        class_names=names_value("class_names", class_names),
        num_classes=num_classes,
        groups=groups,
        columns=columns,
        train=train,
    )
    resolved, inferred = _resolve_task(task, data, base, options)
    the_task = resolved.subset(limit, seed=seed, purpose="limit", per_source=True)
    # the adapter freezes the module: give it back as it was; attacks need autograd even when
    # the caller is inside torch.inference_mode() or no_grad()
    try:
        with _module_state_kept(model), _estimator_jobs_kept(model), autograd_on():
            return _evaluate(
                model,
                the_task,
                configs,
                dev,
                base,
                model_name,
                seed,
                batch_size,
                bootstrap_resamples,
                module_options,
                shown,
            )
    except ClassCountError as err:
        if not inferred or err.outputs <= err.expected:
            raise
        k = resolved.num_classes
        raise ClassCountError(
            f"num_classes: the model outputs {err.outputs} classes, but the labels of data "
            f"go up to {k - 1} only, so {k} classes were inferred; pass "
            f"num_classes={err.outputs} (or class_names=) when the data lacks the last classes",
            outputs=err.outputs,
            expected=err.expected,
        ) from None


def _evaluate(
    model: Any,
    the_task: Task,
    configs: dict[str, Mapping[str, Any] | None],
    dev: torch.device,
    base: Path,
    model_name: str | None,
    seed: int,
    batch_size: int,
    bootstrap_resamples: int,
    options: ModuleOptions,
    progress: bool = False,
) -> EvaluationResult:
    adapter = _resolve_adapter(model, the_task, dev, base, model_name, options)
    registry = suite_registry()
    ctx = RunContext(
        seed=seed, device=dev, batch_size=batch_size, bootstrap_resamples=bootstrap_resamples
    )
    check_fits_task(adapter, the_task)
    started = _now()
    loaded = {n: registry.load(n)(config or {}) for n, config in configs.items()}
    columns = {the_task.name: TaskColumns.of_task(the_task)}
    for suite in loaded.values():  # a setting naming a column it lacks: before any model call
        suite.check_task_columns(columns)
    out = EvaluationResult(model=adapter.name, task=the_task.name)
    seconds: dict[str, float] = {}
    for suite_name, suite in loaded.items():
        clock = time.perf_counter()
        with suite_progress(progress, suite_name, the_task.name) as bar:
            suite_ctx = replace(ctx, progress=bar)
            _run_suite(suite_name, suite, adapter, the_task, suite_ctx, base, out)
        seconds[suite_name] = time.perf_counter() - clock
    inputs: dict[str, dict[str, str]] | None = None  # read on save
    if the_task.source == MEMORY_SOURCE:
        # hashed now, not when first read: the inputs are a view of the caller's tensor, which
        # the next line of their script may change in place (the saved fingerprint and job keys
        # would then describe data these results were not computed on); a training split's
        # prints, what its suites read of it (the whole split, or a fit subset), with the rest
        _ = the_task.fingerprint
        inputs = {n: dict(s.input_fingerprints(the_task)) for n, s in loaded.items()}
    provenance = Provenance(
        task=the_task,
        model_identity=adapter.identity(),
        model_description=adapter.describe(),
        model_origin=_origin(model),
        suites=loaded,
        seconds=seconds,
        seed=seed,
        device=dev.type,
        batch_size=batch_size,
        bootstrap_resamples=bootstrap_resamples,
        started=started,
        finished=_now(),
        input_fingerprints=inputs,
    )
    return replace(out, provenance=provenance)


def _suite_configs(
    suites: Iterable[str] | Mapping[str, Mapping[str, Any] | None],
) -> dict[str, Mapping[str, Any] | None]:
    """`suites=` as suite name -> settings; a string (iterated, it would be one suite per
    letter) or settings that are not a mapping are refused naming the key."""
    if suites is None or not isinstance(suites, Iterable):
        raise SpecError(
            f"suites: got {suites!r}; pass a list of suite names (suites=['accuracy']) or a "
            "mapping of suite name to settings"
        )
    if isinstance(suites, str):
        raise SpecError(
            f"suites: got the string {suites!r}; pass a list of suite names "
            f"(suites=[{suites!r}]) or a mapping of suite name to settings"
        )
    configs = dict(suites) if isinstance(suites, Mapping) else dict.fromkeys(suites)
    for name, config in configs.items():
        if not isinstance(name, str):
            raise SpecError(f"suites: a suite name is text, got {name!r}")
        if config is not None and not isinstance(config, Mapping):
            raise SpecError(
                f"suites.{name}: settings are a mapping of the suite's keys (or None), "
                f"got {config!r}"
            )
    return configs


def _device_name(device: object) -> str:
    """`device=` as the name `resolve_device` reads: a string, or a `torch.device` (as a
    training script holds it)."""
    if isinstance(device, torch.device):
        return str(device)
    if not isinstance(device, str):
        raise SpecError(
            f"device: expected 'cpu', 'cuda', 'cuda:N' or 'auto' (or a torch.device), "
            f"got {device!r}"
        )
    return device


def _text_value(key: str, value: object) -> str | None:
    """A name passed from Python (`name`, `model_name`): text, or None for the default."""
    if value is not None and not isinstance(value, str):
        raise SpecError(f"{key}: expected a string, got {type(value).__name__} {value!r}")
    if value and not value.strip():  # an empty string is the default name; a blank one is not
        what = "model" if key == "model_name" else "task"
        raise SpecError(f"{key}: {value!r} is blank; name the {what} (or leave {key} out)")
    lone = next((c for c in value or "" if 0xD800 <= ord(c) <= 0xDFFF), None)
    if lone is not None:  # no file, table or report can hold it (UTF-8 cannot encode it)
        raise SpecError(
            f"{key}: {value!r} holds a lone surrogate (U+{ord(lone):04X}), which no results "
            "file can hold; pass the name as valid Unicode text"
        )
    control = next((c for c in value or "" if unicodedata.category(c) == "Cc"), None)
    if control is not None:  # a line break reads as a space in Markdown: 'T\nx' as 'T x'
        raise SpecError(
            f"{key}: {value!r} holds a control character (U+{ord(control):04X}), which tables, "
            "headings and file names cannot show as itself; pass the name on one line of "
            "printable text"
        )
    return value


@contextlib.contextmanager
def _estimator_jobs_kept(model: Any) -> Iterator[None]:
    """A scikit-learn estimator passed in comes back with the `n_jobs` it had: the adapter sets
    the job's thread count there while it runs (`SklearnAdapter._follow_threads`). Left at it, a
    forest of n_jobs=-1 came back with 2, and the next evaluate of the same fit hashed another
    identity and saved into a second run folder."""
    from harness.adapters.sklearn_model import is_estimator, parallel_params

    keys = parallel_params(model) if is_estimator(model) else []
    before = {key: model.get_params(deep=True)[key] for key in keys} if keys else {}
    try:
        yield
    finally:
        if before:
            with contextlib.suppress(ValueError, TypeError):  # as _follow_threads sets them
                model.set_params(**before)


@contextlib.contextmanager
def _module_state_kept(model: Any) -> Iterator[None]:
    """An `nn.Module` passed in comes back in its training mode, with each parameter's
    `requires_grad` and on its device, as it was before (the torch adapter puts it in eval mode,
    frozen, on the evaluation device): evaluating inside a training loop must not stop training."""
    if not isinstance(model, torch.nn.Module):
        yield
        return
    training = {name: m.training for name, m in model.named_modules()}
    grads = {name: p.requires_grad for name, p in model.named_parameters()}
    # a module of buffers only (a fixed filter bank, a lookup table) has no parameter to ask
    first: torch.Tensor | None = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    device = first.device if first is not None else None
    # a transformers config without a pad id gets the tokenizer's (hf_text_padding): undone
    config = getattr(model, "config", None)
    pad = getattr(config, "pad_token_id", None) if config is not None else None
    try:
        yield
    finally:
        if config is not None and hasattr(config, "pad_token_id"):
            config.pad_token_id = pad
        for name, m in model.named_modules():
            m.training = training.get(name, m.training)
        for name, p in model.named_parameters():
            # a parameter created under torch.inference_mode() takes requires_grad=True back
            # only inside it
            with torch.inference_mode(p.is_inference()):
                p.requires_grad_(grads.get(name, p.requires_grad))
        if device is not None:
            model.to(device)


def _key_parts(key: str) -> tuple[str, frozenset[str]]:
    """A record key (`group_acc[group=a,group_by=g]`) as its metric name and the set of its
    qualifiers, whatever their order."""
    name, _, rest = key.partition("[")
    return name, frozenset(rest.removesuffix("]").split(",")) if rest else frozenset()


def _run_suite(
    name: str,
    suite: Suite,
    adapter: ModelAdapter,
    task: Task,
    ctx: RunContext,
    base: Path,
    out: EvaluationResult,
) -> None:
    suite.bind_spec_folder(base)
    suite.bind_seed(ctx.seed)
    suite.check_task_names([task.name])
    reason = suite.skip_reason(adapter, task)
    if reason is not None:
        out.skipped[name] = reason
        return
    checked = CheckedAdapter(adapter, task)
    try:
        with seeded_global_rng(ctx.seed, suite.name, adapter.name, task.name, adapter.device):
            result = suite.run(checked, task, ctx)  # one-line failures
    except Exception as err:  # out of memory passes the model's check: suites may handle it
        if isinstance(err, HarnessError) or not out_of_memory(err):
            raise
        raise out_of_memory_error(adapter.name, name, task.name, ctx.batch_size, err) from err
    result = with_input_notes(result, checked, ctx.batch_size)
    out.results[name] = SuiteResult(
        table=result.table.with_groups(task.groups()) if result.table is not None else None,
        metrics=result.metrics,
        artifacts=result.artifacts,
        notes=[*result.notes, *task.load_notes],
        arrays=result.arrays,
    )


def _origin(model: Any) -> str:
    """Where the model came from, in the job record (`model_origin`)."""
    from harness.adapters.python_callable import CallableModel

    if isinstance(model, str):
        return f"zoo:{model}"
    if isinstance(model, CallableModel):
        model = model.fn
    if inspect.isfunction(model):
        return f"python:{model.__module__}.{model.__qualname__}"
    return f"python:{type(model).__module__}.{type(model).__qualname__}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
