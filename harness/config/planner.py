"""Plan a run: resolve the spec's names and pair models with tasks and suites into jobs.

Everything that can be checked without loading data or weights is checked here (names, adapter
fields, suite configs, weights files exist, pickle opt-in), so `harness validate` catches it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.config.model_file_entry import model_file_entry
from harness.config.model_fit import catalogued_shape, check_model_fits, declared_shape
from harness.config.network import network_needs
from harness.config.plan import Job, ModelPlan, Plan, TaskPlan
from harness.config.plugins import Plugins
from harness.config.protocols import Protocol, get_protocol
from harness.config.spec import ModelSpec, RunSpec
from harness.config.variants import (
    ADAPTER_KIND,
    check_collisions,
    variant_entries,
    variant_model_spec,
)
from harness.core.errors import ModelLoadError, SpecError, UnknownNameError
from harness.core.local_files import not_a_file
from harness.core.registry import Registry
from harness.core.suite import Suite
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.threat_model import Headline
from harness.core.validation import (
    format_validation_error,
    refuse_loose_values,
    with_key_suggestions,
)
from harness.core.weights import check_safetensors, is_safetensors
from harness.data.catalogue import BUILTIN_INFO, check_catalogued, task_registry
from harness.data.group_value_labels import GROUP_VALUE_LABELS
from harness.data.headlines import HEADLINES
from harness.data.hub_access import use_hub
from harness.data.sources import PANDAS_INDEX, check_task_source
from harness.data.task_columns import catalogue_task_columns, spec_task_columns
from harness.data.task_spec import TaskSpec

HUB_PREFIX = "hf:"  # `hf:<repo id>[@revision]`: a hub checkpoint as a zoo entry


def _select(names: list[str], wanted: list[str] | None, kind: str) -> list[str]:
    if not wanted:
        return names
    for name in wanted:
        if name not in names:
            raise UnknownNameError(kind, name, names, scope="in this spec")
    return [n for n in names if n in wanted]


def _zoo_entry(name: str, index: int, plugins: Plugins) -> ModelSpec:
    """The zoo model `name` as a model entry; an unknown name is refused."""
    zoo = plugins.zoo_models()
    parent, _, variant = name.partition("@")
    if name not in zoo and variant and parent in zoo:
        # `- digits-mlp@int8`: the name the boards show a variant under, written as a model
        raise SpecError(
            f"models[{index}]: {name!r} names a variant of zoo model {parent!r}; ask for "
            f"it in a spec's models: {{name: {parent}, variants: [{variant}]}} (docs/variants.md)"
        )
    if name not in zoo:
        raise UnknownNameError("model", name, zoo)
    return ModelSpec.model_validate({"name": name, **zoo[name]})


def model_plan(
    entry: str | ModelSpec,
    index: int,
    base_dir: Path,
    plugins: Plugins,
    modality: str | None = None,
) -> ModelPlan:
    """A zoo name, a `hf:` hub reference, the path of an .onnx or .skops file (read with the
    tasks' `modality`, when they share one) or a spec's model entry (`models[index]`), its
    adapter config validated."""
    adapters = plugins.adapters
    origin = "spec"
    file = _file_entry(entry, modality=modality, key=f"models[{index}]")
    if isinstance(entry, str) and entry.startswith(HUB_PREFIX):
        entry = ModelSpec.model_validate(plugins.hub_model_spec(entry))
        origin = "hub"
    elif file is not None:
        entry = ModelSpec.model_validate(file)
    elif isinstance(entry, str):
        entry = _zoo_entry(entry, index, plugins)
        origin = "zoo"
    if entry.adapter == ADAPTER_KIND:
        raise SpecError(
            f"models[{index}]({entry.name}).adapter: {ADAPTER_KIND!r} models come from a model's "
            "`variants:` list (e.g. variants: [int8]); give the parent model's adapter instead"
        )
    adapter_cls = adapters.load(entry.adapter)
    try:
        refuse_loose_values(adapter_cls.config_model, entry.adapter_fields())
        config = adapter_cls.config_model.model_validate(entry.adapter_fields())
    except ValidationError as err:
        # a typo names the closest key of the entry: the adapter's fields or the model's own
        known = {*adapter_cls.config_model.model_fields, *ModelSpec.model_fields}
        given = {**entry.adapter_fields(), **{k: None for k in entry.model_fields_set}}
        err = with_key_suggestions(err, known, given) or err
        where = f"models[{index}]({entry.name})"
        raise SpecError(
            format_validation_error(err, prefix=where)
            + _default_adapter_note(entry, where, plugins)
        ) from None
    for key in getattr(adapter_cls, "model_file_keys", ()):
        value = getattr(config, key, None)
        if value is None:
            continue
        path = Path(value) if Path(value).is_absolute() else base_dir / value
        what = not_a_file(path)
        if what is not None:
            raise SpecError(f"models[{index}]({entry.name}).{key}: {what}: {path}")
    weights = getattr(config, "weights", None)
    if weights is not None:
        path = Path(weights) if Path(weights).is_absolute() else base_dir / weights
        what = not_a_file(path, "weights file")  # a folder is no "file not found"
        if what is not None:
            raise SpecError(f"models[{index}]({entry.name}).weights: {what}: {path}")
        if is_safetensors(path):
            try:
                check_safetensors(path)  # reads the header only: damage is caught by validate
            except ModelLoadError as err:
                raise SpecError(f"models[{index}]({entry.name}).weights: {err}") from None
        elif not getattr(config, "allow_pickle", True):
            raise SpecError(
                f"models[{index}]({entry.name}).weights: {path} is not safetensors (a pickle can "
                "run code when loaded); convert it, or set allow_pickle: true to load it with "
                "torch.load(weights_only=True)"
            )
    return ModelPlan(spec=entry, adapter_cls=adapter_cls, config=config, origin=origin)


def _default_adapter_note(entry: ModelSpec, where: str, plugins: Plugins) -> str:
    """An entry that names no adapter is read by the default one (torch): an ONNX or
    scikit-learn entry that forgot `adapter:` then misses `factory` and has unknown keys."""
    if "adapter" in entry.model_fields_set or "factory" in entry.adapter_fields():
        return ""  # a torch entry (the default) with a typo: the typo is the one mistake
    kinds = ", ".join(k for k in plugins.adapters.names() if k != ADAPTER_KIND)
    return (
        f"; {where} sets no adapter, so it was read as adapter: {entry.adapter} (the default); "
        f"set its adapter ({kinds})"
    )


def _names_zoo_model(entry: ModelSpec, plugins: Plugins) -> bool:
    """A mapping entry that names a zoo model and sets no adapter fields of its own."""
    return (
        entry.name in plugins.zoo_models()
        and "adapter" not in entry.model_fields_set
        and not entry.adapter_fields()
    )


def _model_name(entry: str | ModelSpec, plugins: Plugins) -> str:
    if isinstance(entry, ModelSpec):
        return entry.name
    if entry.startswith(HUB_PREFIX):
        return plugins.hub_model_name(entry)
    file = _file_entry(entry, key="models")
    return str(file["name"]) if file is not None else entry


def _file_entry(
    entry: str | ModelSpec, *, modality: str | None = None, key: str
) -> dict[str, Any] | None:
    """The model entry of a model file's path (`--models ./m.onnx`), as `harness.evaluate`
    reads one (model_file_entry.py); None for a zoo name, a `hf:` reference or a spec entry."""
    if not isinstance(entry, str) or entry.startswith(HUB_PREFIX):
        return None
    return model_file_entry(entry, modality=modality, key=key)


def _expanded_model_plans(
    spec: RunSpec, base_dir: Path, plugins: Plugins, modality: str | None = None
) -> dict[str, ModelPlan]:
    """Every model of the spec, each followed by its compressed variants (`<name>@<variant>`);
    a model file's path is read with `modality`, the tasks' when they share one."""
    names = [_model_name(m, plugins) for m in spec.models]
    expanded: list[tuple[int, str | ModelSpec, list[tuple[str, dict[str, Any]]], bool]] = []
    located: dict[str, tuple[int, int]] = {}
    named_zoo: dict[int, bool] = {}
    for i, entry in enumerate(spec.models):
        variants = variant_entries(entry, i) if isinstance(entry, ModelSpec) else []
        zoo_tasks = False
        named_zoo[i] = isinstance(entry, ModelSpec) and _names_zoo_model(entry, plugins)
        if isinstance(entry, ModelSpec) and named_zoo[i]:
            zoo_tasks = "tasks" not in entry.model_fields_set
            # `{name: digits-cnn, tasks: [...], variants: [...]}`: the zoo model, narrowed
            extra: dict[str, Any] = {
                k: getattr(entry, k)
                for k in ("tasks", "description")
                if k in entry.model_fields_set
            }
            zoo_entry = {"name": entry.name, **plugins.zoo_models()[entry.name], **extra}
            entry = ModelSpec.model_validate(zoo_entry)
        expanded.append((i, entry, variants, zoo_tasks))
        located.update({name: (i, j) for j, (name, _r) in enumerate(variants)})
    check_collisions(
        names, located, frozenset(i for i, m in enumerate(spec.models) if isinstance(m, str))
    )
    plans: dict[str, ModelPlan] = {}
    for i, entry, variants, zoo_tasks in expanded:
        parent = model_plan(entry, i, base_dir, plugins, modality)
        if named_zoo[i]:  # the zoo model (stored with each job as model_origin: zoo)
            parent = replace(parent, origin="zoo", zoo_tasks=zoo_tasks, narrowed=not zoo_tasks)
        plans[parent.spec.name] = parent
        if variants and planned_gradients(parent) is False:
            # the variant adapter compresses the parent's module, which an adapter without
            # gradients does not give: every job would be skipped while validate listed it
            raise SpecError(
                f"models[{i}]({parent.spec.name}).variants[0]: variant "
                f"{variants[0][0].partition('@')[2]} compresses a torch module, and adapter "
                f"{parent.spec.adapter!r} gives none; remove variants from this model"
            )
        for name, recipe in variants:
            plans[name] = _variant_plan(parent, name, recipe, plugins.adapters)
    return plans


def _variant_plan(
    parent: ModelPlan, name: str, recipe: dict[str, Any], adapters: Registry
) -> ModelPlan:
    """A variant model: the registered `variant` adapter around its parent's class and config."""
    variant_cls = adapters.load(ADAPTER_KIND)
    config = variant_cls.config_model.model_validate(
        {
            "parent": parent.spec.name,
            "parent_adapter": parent.adapter_cls,
            "parent_config": parent.config,
            "variant": recipe,
        }
    )
    return ModelPlan(
        spec=variant_model_spec(parent.spec, name, recipe),
        adapter_cls=variant_cls,
        config=config,
        origin=f"variant of {parent.spec.name} ({parent.origin})",
        zoo_tasks=parent.zoo_tasks,
        narrowed=parent.narrowed,
    )


def task_plan(entry: str | TaskSpec, base_dir: Path, headline: Headline | None = None) -> TaskPlan:
    """The task's plan; `headline` (the spec's, None when it sets none) wins over the
    catalogue's declaration and over the one the task object carries."""
    if isinstance(entry, str):
        registry = task_registry()
        factory = registry.load(entry)  # raises UnknownNameError with close matches
        check_catalogued(factory)
        origin = registry.entry(entry).origin
        labels = GROUP_VALUE_LABELS.get(entry, {}) if origin == "builtin" else {}
        if headline is None and origin == "builtin":
            headline = HEADLINES.get(entry)
        loaded = _with_labels(_with_headline(factory, headline), labels)
        info = BUILTIN_INFO.get(entry) if origin == "builtin" else None
        modality = info.modality if info is not None else getattr(factory, "modality", None)
        return TaskPlan(
            name=entry,
            load=loaded,
            origin=origin,
            headline=headline,
            modality=modality if isinstance(modality, str) else None,
            columns=catalogue_task_columns(entry, factory, origin),
        )

    not_shadowing(entry)
    source = None
    if entry.recipe is not None:  # a catalogue recipe on local files: files and layout
        from harness.data.recipe_files import recipe_files

        recipe_files(entry, base_dir)
    else:  # what `harness run` would refuse, without reading data
        source = check_task_source(entry, base_dir)

    def load() -> Task:
        from harness.data.loader import load_task

        return load_task(entry, base_dir=base_dir)

    return TaskPlan(
        name=entry.name,
        load=_with_headline(load, headline),
        origin=f"spec ({entry.source})",
        headline=headline,
        modality=entry.modality,
        columns=spec_task_columns(entry, source, base_dir),
    )


def _with_labels(
    load: Callable[[], Task], labels: Mapping[str, Mapping[str, str]]
) -> Callable[[], Task]:
    """`load`, whose task also labels the group values the catalogue documents
    (group_value_labels.py), for the group columns it has and does not label itself."""
    if not labels:
        return load

    def labelled() -> Task:
        task = load()
        extra = {
            column: dict(values)
            for column, values in labels.items()
            if column in task.group_columns and column not in task.group_labels
        }
        return replace(task, group_labels={**task.group_labels, **extra}) if extra else task

    return labelled


def _with_headline(load: Callable[[], Task], headline: Headline | None) -> Callable[[], Task]:
    """`load`, whose task carries `headline` (unchanged when None)."""
    if headline is None:
        return load
    declared: Headline = headline
    return lambda: replace(load(), headline=declared)


def not_shadowing(entry: TaskSpec) -> None:
    """An inline task named like a catalogue task replaces it only when it says so."""
    if entry.name in task_registry() and not entry.override:
        raise SpecError(
            f"task {entry.name!r}: an inline task with a catalogue task's name would replace it "
            f"in this run; rename it, or set override: true to replace the catalogue's "
            f"{entry.name!r}"
            + (f" (recipe: {entry.recipe} keeps its preparation)" if entry.recipe else "")
        )


def _jobs(
    models: dict[str, ModelPlan], task_names: list[str], tasks: list[str], suites: list[str]
) -> list[Job]:
    """Every chosen model on each chosen task it lists (all when it lists none), each suite."""
    jobs: list[Job] = []
    for model_name, mp in models.items():
        wanted = mp.spec.tasks
        absent = [t for t in wanted or [] if t not in task_names]
        if absent and not mp.narrowed and (mp.zoo_tasks or _from_zoo(mp.origin)):
            # a zoo entry's (or a variant's parent's) own tasks: not a list the spec wrote
            raise SpecError(
                f"model {model_name!r} ({_zoo_label(mp)}) runs only on task(s) "
                f"{', '.join(wanted or [])}"
                f" (its tasks:), which this spec does not define (tasks: "
                f"{', '.join(task_names)}); add them to the spec's tasks, or leave the model out"
            )
        for t in absent:
            raise SpecError(
                f"model {model_name!r} lists task {t!r}, which this spec does not define "
                f"(tasks: {', '.join(task_names)})"
            )
        for task_name in tasks:
            if wanted is not None and task_name not in wanted:
                continue
            jobs.extend(Job(model=model_name, task=task_name, suite=s) for s in suites)
    return jobs


def _zoo_label(mp: ModelPlan) -> str:
    """Where a model whose tasks are a zoo entry's comes from, in its refusal: its origin, or
    for a spec entry naming a zoo model (`{name: digits-mlp, variants: [...]}`) the zoo."""
    if _from_zoo(mp.origin):
        return mp.origin
    if mp.origin.endswith("(spec)"):  # a variant of such an entry
        return mp.origin.removesuffix("(spec)") + "(zoo)"
    return "zoo"


def _from_zoo(origin: str) -> bool:
    """Whether a model plan's entry (and so its `tasks`) is a zoo model's, not the spec's."""
    return origin == "zoo" or origin.startswith("zoo,") or origin.endswith("(zoo)")


def _catalogued_model(name: str, plugins: Plugins) -> bool:
    """A model `--models` adds to a spec that does not list it: a `hf:` reference, a zoo name
    or a model file's path."""
    return (
        name.startswith(HUB_PREFIX)
        or name in plugins.zoo_models()
        or _file_entry(name, key="--models") is not None
    )


def _unlisted(
    spec: RunSpec, models: list[str], tasks: list[str], plugins: Plugins
) -> tuple[list[str], list[str]]:
    """The catalogued models and tasks selected on the command line that the spec lacks."""
    listed_models = {_model_name(m, plugins) for m in spec.models}
    listed_tasks = {t if isinstance(t, str) else t.name for t in spec.tasks}
    extra_models = [m for m in models if _model_name(m, plugins) not in listed_models]
    extra_tasks = [t for t in tasks if t not in listed_tasks and t in task_registry()]
    catalogued = [m for m in extra_models if _catalogued_model(m, plugins)]
    return list(dict.fromkeys(catalogued)), extra_tasks


def with_selected_entries(
    spec: RunSpec, models: list[str] | None, tasks: list[str] | None, plugins: Plugins
) -> tuple[RunSpec, list[str] | None]:
    """The spec plus the `--models`/`--tasks` entries it does not list but the catalogues know
    (`hf:` hub checkpoints, zoo models, catalogue tasks), and the model filter in model names.

    So `harness run --models hf:<id> --tasks cifar10` runs with the quickstart's suites."""
    extra_models, new_tasks = _unlisted(spec, models or [], tasks or [], plugins)
    if new_tasks and spec.protocol is not None:
        raise SpecError(
            f"--tasks: protocol {spec.protocol} fixes the tasks "
            f"({', '.join(t for t in spec.tasks if isinstance(t, str))}); {new_tasks[0]} is not "
            "one of them"
        )
    if extra_models or new_tasks:
        spec = spec.model_copy(
            update={
                "models": [*spec.models, *extra_models],
                "tasks": [*spec.tasks, *dict.fromkeys(new_tasks)],
            }
        )
    return spec, None if models is None else [_model_name(m, plugins) for m in models]


def build_plan(
    spec: RunSpec,
    *,
    base_dir: Path,
    plugins: Plugins,
    models: list[str] | None = None,
    tasks: list[str] | None = None,
    suites: list[str] | None = None,
) -> Plan:
    """Resolve names and configs through `plugins`, apply CLI filters, and list the jobs.

    `base_dir` (the spec's folder) is made absolute first: every path the plan resolves stays
    where it is when model code changes the working directory (`os.chdir` in a factory)."""
    base_dir = Path(os.path.abspath(base_dir))
    spec, models = with_selected_entries(spec, models, tasks, plugins)
    suite_reg = plugins.suites
    suite_objs: dict[str, Suite] = {}
    unrun = [s for s in suites or [] if s not in spec.suites]
    if unrun and spec.protocol is not None:  # as --tasks: name the flag and the protocol
        raise SpecError(
            f"--suites: protocol {spec.protocol} runs only {', '.join(spec.suites)}; "
            f"{unrun[0]} is not one of them"
        )
    for name in _select(list(spec.suites), suites, "suite"):
        suite_cls = suite_reg.load(name)
        suite_objs[name] = suite_cls(spec.suites[name] or {})
        suite_objs[name].bind_spec_folder(base_dir)  # files its config names, checked here
        suite_objs[name].bind_seed(spec.seed)  # the seed every job's RunContext gets
    task_names = [t if isinstance(t, str) else t.name for t in spec.tasks]
    for suite in suite_objs.values():
        suite.check_task_names(task_names)  # a setting keyed by task name names a real one
    task_plans = {
        name: task_plan(entry, base_dir, spec.headline_of(name))
        for name, entry in zip(task_names, spec.tasks, strict=True)
        if name in _select(task_names, tasks, "task")
    }
    protocol = get_protocol(spec.protocol) if spec.protocol is not None else None
    if protocol is not None:
        task_plans = _protocol_task_plans(protocol, spec, task_plans, base_dir)
    for suite in suite_objs.values():  # what `harness run` says before the first job
        suite.bind_modalities({n: t.modality for n, t in task_plans.items()})
    modalities = {t.modality for t in task_plans.values()}
    shared = next(iter(modalities)) if len(modalities) == 1 else None
    all_plans = _expanded_model_plans(spec, base_dir, plugins, shared)
    for suite in suite_objs.values():
        suite.check_model_names(list(all_plans))  # a setting naming a model names one of these
    chosen = _select(list(all_plans), models, "model")
    model_plans = {name: mp for name, mp in all_plans.items() if name in chosen}
    jobs = _jobs(model_plans, task_names, list(task_plans), list(suite_objs))
    for name, suite in suite_objs.items():  # what `harness run` says runs on black-box models
        paired: dict[str, dict[str, bool | None]] = {}
        embedded: dict[str, dict[str, bool | None]] = {}
        for j in jobs:
            if j.suite == name:
                paired.setdefault(j.task, {})[j.model] = planned_gradients(model_plans[j.model])
                embedded.setdefault(j.task, {})[j.model] = planned_word_vectors(
                    model_plans[j.model]
                )
        suite.bind_model_gradients(paired)
        suite.check_model_word_vectors(embedded)  # a text attack no job could run: refused
    if not jobs:
        raise SpecError(
            "the spec (after --models/--tasks/--suites filters) pairs no model with a task; "
            "check each model's `tasks:` list"
        )
    check_model_fits(
        {name: mp.config for name, mp in model_plans.items()},
        _task_shapes(spec, task_plans),
        [(job.model, job.task) for job in jobs],
        {name: _channels(plan.columns) for name, plan in task_plans.items()},
    )
    unchecked = (
        *_check_models_on_tasks(model_plans, task_plans, jobs, base_dir),
        *_check_task_columns(suite_objs, task_plans, jobs),
    )
    plan = Plan(
        spec=spec,
        base_dir=base_dir,
        models=model_plans,
        tasks=task_plans,
        suites=suite_objs,
        jobs=jobs,
        protocol=protocol,
        unchecked=unchecked,
    )
    if network_needs(plan):  # probe the hub once: unreachable means the cache only, at once
        use_hub()
    return plan


def planned_gradients(plan: ModelPlan) -> bool | None:
    """Whether the model gives input gradients, as its adapter class says before it is built
    (`planned_gradients(config)`; None for an adapter that does not say)."""
    return _adapter_says(plan, "planned_gradients")


def planned_word_vectors(plan: ModelPlan) -> bool | None:
    """Whether the model gives input embeddings (`word_vectors()`), as its adapter class says
    before it is built (`planned_word_vectors(config)`; None for an adapter that does not say)."""
    return _adapter_says(plan, "planned_word_vectors")


def _adapter_says(plan: ModelPlan, hook_name: str) -> bool | None:
    """The adapter class's `hook_name(config)` answer; None where it has no such hook, the hook
    fails (a plugin's: the jobs decide from the built adapter instead) or answers no bool."""
    hook = getattr(plan.adapter_cls, hook_name, None)
    if hook is None:
        return None
    try:
        known = hook(plan.config)
    except Exception:
        return None
    return known if isinstance(known, bool) else None


def _check_task_columns(
    suites: Mapping[str, Suite], tasks: Mapping[str, TaskPlan], jobs: list[Job]
) -> tuple[str, ...]:
    """Each suite's settings that name a column or a label value, checked against the columns
    of the tasks it runs on (`Suite.check_task_columns`: a typo raises ConfigError before any
    job); the lines of the settings it could not check."""
    lines: list[str] = []
    for name, suite in suites.items():
        ran = {job.task for job in jobs if job.suite == name}
        columns = {
            t: plan.columns
            or TaskColumns(task=t, columns=None, unknown=f"task {t!r} is known only once loaded")
            for t, plan in tasks.items()
            if t in ran
        }
        lines.extend(suite.check_task_columns(columns))
    return tuple(lines)


def _channels(columns: TaskColumns | None) -> tuple[int, str] | None:
    if columns is None or columns.channels is None:
        return None
    return columns.channels, columns.channels_from


def _check_models_on_tasks(
    models: Mapping[str, ModelPlan], tasks: Mapping[str, TaskPlan], jobs: list[Job], base_dir: Path
) -> tuple[str, ...]:
    """Each model against the tasks it runs on, through its adapter's optional classmethod
    `check_task_columns(config, *, name, base_dir, tasks)` (a Hugging Face model's label names
    against the tasks' classes: a mismatch every job would refuse raises SpecError before any
    job); the lines of what it could not check."""
    lines: list[str] = []
    for name, model in models.items():
        hook: Callable[..., list[str]] | None = getattr(
            model.adapter_cls, "check_task_columns", None
        )
        if hook is None:
            continue
        ran = dict.fromkeys(job.task for job in jobs if job.model == name)
        columns = {
            t: tasks[t].columns
            or TaskColumns(task=t, columns=None, unknown=f"task {t!r} is known only once loaded")
            for t in ran
        }
        lines.extend(hook(model.config, name=name, base_dir=base_dir, tasks=columns))
    return tuple(dict.fromkeys(lines))


def _task_shapes(spec: RunSpec, plans: Mapping[str, TaskPlan]) -> dict[str, tuple[int, ...] | None]:
    """Each planned task's input shape where the catalogue or the spec states it, or a table
    file's header does (no rows)."""
    shapes: dict[str, tuple[int, ...] | None] = {}
    for entry in spec.tasks:
        name = entry if isinstance(entry, str) else entry.name
        if name not in plans:
            continue
        if isinstance(entry, TaskSpec):
            shapes[name] = declared_shape(entry) or _header_width(entry, plans[name].columns)
        else:
            shapes[name] = catalogued_shape(name, task_registry().load(name))
    return shapes


def _header_width(entry: TaskSpec, columns: TaskColumns | None) -> tuple[int, ...] | None:
    """A tabular task's feature count from its file's header, where the loader takes every
    column but the label, id and group columns (`tabular_tasks.feature_names`) and each is one
    input: no feature_columns, input_column or one_hot; None otherwise or when no header was
    read."""
    if (
        entry.modality != "tabular"
        or entry.recipe is not None
        or entry.feature_columns
        or entry.input_column
        or entry.one_hot
        or columns is None
        or not columns.source_columns
    ):
        return None
    skip = {entry.label_column, entry.id_column, *entry.group_columns}
    names = [c for c in columns.source_columns if c not in skip and not c.startswith(PANDAS_INDEX)]
    return (len(names),) if names else None


def _protocol_task_plans(
    protocol: Protocol, spec: RunSpec, plans: dict[str, TaskPlan], base_dir: Path
) -> dict[str, TaskPlan]:
    """The protocol's tasks, each loading only the rows the protocol evaluates."""
    from harness.config.protocol_rows import read_id_file, select_rows

    ids: list[str] | None = None
    if spec.protocol_sample_ids is not None:
        path = Path(spec.protocol_sample_ids)
        ids = read_id_file(path if path.is_absolute() else base_dir / path, protocol)
    out: dict[str, TaskPlan] = {}
    for name, plan in plans.items():
        rows = protocol.task(name)
        assert rows is not None  # the spec's tasks are the protocol's (protocol_spec.py)

        def load(plan: TaskPlan = plan, rows: Any = rows) -> Task:
            return select_rows(plan.load(), rows, ids)

        out[name] = TaskPlan(
            name=name,
            load=load,
            origin=f"{plan.origin}, protocol {protocol.ref.label}",
            headline=plan.headline,
            columns=plan.columns,
        )
    return out
