"""The suite contract: a named, versioned evaluation with a validated config.

A suite turns (adapter, task, context) into a `SuiteResult`: a per-sample table plus metric
records. Bump `version` whenever a change could move a number: results of different versions or
configs are never compared on one board.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from pydantic import ValidationError

from harness.core.adapter import ModelAdapter
from harness.core.errors import ConfigError
from harness.core.metric_record import MetricRecord, MetricSpec
from harness.core.sample_table import SampleTable
from harness.core.suite_config import SuiteConfig as SuiteConfig  # re-exported for suites
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.threat_model import Headline
from harness.core.validation import format_validation_error

CONTINUED = "  "
"""How a line of `Suite.plan_summary` starts when it continues the line above it."""


class ProgressCallback(Protocol):
    """How a suite reports progress inside a job (shown live by the CLI, with a rate and ETA).

    `done`: samples finished since the last call (0 only announces a stage). `stage`: what the
    suite is doing now (an attack and budget, a corruption and severity); it stays shown until the
    next label. `total`: the samples the whole job will process, counting a sample once per
    condition it is evaluated under, when the suite knows it (it makes the ETA). Old-style calls
    `ctx.progress(n)` still work.
    """

    def __call__(self, done: int, stage: str | None = None, total: int | None = None) -> None: ...


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """What a suite may know about the run: seed, device, batch size, threads and a progress
    callback (`ProgressCallback`; None when nobody listens)."""

    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    batch_size: int = 256
    bootstrap_resamples: int = 1000
    progress: ProgressCallback | None = None
    threads: int | None = None  # intra-op CPU threads the job runs with (None: torch's default)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("harness.core.suite"))


@dataclass(frozen=True, kw_only=True)
class SuiteResult:
    """What a suite returns: the per-sample table, metric records and JSON-able artifacts.

    `table` is None only for suites with no per-sample outcome (throughput measures batches).
    """

    table: SampleTable | None
    metrics: list[MetricRecord]
    artifacts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # numeric artifacts (e.g. adversarial examples, corruption galleries) -> arrays.npz
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def with_notes(self, notes: Sequence[str]) -> SuiteResult:
        """This result with `notes` added after its own, each once."""
        added = [n for n in dict.fromkeys(notes) if n not in self.notes]
        return replace(self, notes=[*self.notes, *added]) if added else self


class Suite:
    """Base class for suites: validates the config at construction and hashes it.

    Optional members have typed defaults here, so the harness reads them as attributes:
    `skip_reason` (None: applies everywhere), `input_fingerprints` (none: the suite reads no
    data but the evaluated task's evaluation split) and sharding over samples (`shardable`, off, with
    `result_from_table`; see docs/ray.md).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""
    metrics: ClassVar[tuple[MetricSpec, ...]] = ()
    config_model: ClassVar[type[SuiteConfig]] = SuiteConfig
    shardable: ClassVar[bool] = False
    """True when running on a contiguous slice of a task gives exactly that slice's rows of the
    whole run, and `result_from_table` rebuilds the result from the merged rows: the runner may
    then split a job into shards over samples (docs/ray.md)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.shardable and cls.result_from_table is Suite.result_from_table:
            raise TypeError(
                f"suite class {cls.__qualname__} sets shardable = True but does not override "
                "result_from_table (see docs/ray.md)"
            )

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        try:
            self.config = self.config_model.model_validate(dict(config or {}))
        except ValidationError as err:
            raise ConfigError(format_validation_error(err, prefix=f"suites.{self.name}")) from None

    @property
    def config_hash(self) -> str:
        payload = json.dumps(self.config.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def metric_spec(self, name: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.name == name:
                return spec
        raise KeyError(f"suite {self.name!r} declares no metric {name!r}")

    def bind_spec_folder(self, base_dir: Path) -> None:
        """Called with the spec file's folder before any job runs (and by `harness validate`): a
        suite whose config names files resolves them against it and checks them there, so a bad
        path fails validation rather than the run. Nothing to do by default."""

    def bind_seed(self, seed: int) -> None:
        """Called with the run's seed (the `RunContext.seed` its jobs get) before any job runs:
        a suite whose `input_fingerprints` name only the rows a seeded choice reads (the shift
        suite's OOD fit subset of the training split) keeps it. Nothing to do by default."""

    def bind_modalities(self, modalities: Mapping[str, str | None]) -> None:
        """Called with the plan's tasks and their modality (None: known only once the task is
        loaded) before any job runs: a suite whose `plan_summary` differs by modality (the
        adversarial suite's text attacks) keeps it. Nothing to do by default."""

    def bind_model_gradients(self, gradients: Mapping[str, Mapping[str, bool | None]]) -> None:
        """Called before any job runs with the plan's tasks that run this suite, each with the
        models it pairs with and whether each gives input gradients, as known before it is
        built (the adapter class's `planned_gradients`; None: only the built model says): a
        suite whose `plan_summary` differs for black-box models (the adversarial suite's
        gradient-free attacks) keeps it. Nothing to do by default."""

    def check_model_word_vectors(
        self, word_vectors: Mapping[str, Mapping[str, bool | None]]
    ) -> None:
        """Called before any job runs (and by `harness validate`) with the plan's tasks that
        run this suite, each with the models it pairs with and whether each gives input
        embeddings, as known before it is built (the adapter class's `planned_word_vectors`;
        None: only the built model says): a suite whose attacks need them (the adversarial
        suite's `word_greedy` with `word_source: embedding`) refuses a pairing no job could run
        (raising ConfigError). Nothing to check by default."""

    def check_task_names(self, task_names: Sequence[str]) -> None:
        """Called with the names of the spec's tasks before any job runs (and by `harness
        validate`): a suite whose config names tasks refuses a name the spec does not define
        (raising ConfigError), so a typo fails validation instead of being ignored. Nothing to
        check by default."""

    def check_model_names(self, model_names: Sequence[str]) -> None:
        """Called with the names of the spec's models (variants `<model>@<variant>` included)
        before any job runs (and by `harness validate`): a suite whose config names models
        refuses a name the spec does not define (raising ConfigError), so a typo fails
        validation instead of leaving a metric silently missing. Nothing to check by default."""

    def check_task_columns(self, tasks: Mapping[str, TaskColumns]) -> list[str]:
        """Called with the columns and class count of each task the suite runs on, as known
        without loading it (`TaskColumns`), before any job runs (and by `harness validate`): a
        suite whose settings name a column or a label value refuses one the task lacks (raising
        ConfigError, one line naming the key, the task, the column and close matches). Returns
        one line for each setting it could not check on a task whose columns or classes are
        known only once loaded. Nothing to check by default."""
        return []

    def input_fingerprints(self, task: Task) -> dict[str, str]:
        """The content fingerprints (`Task.fingerprint`) of the other data this suite reads when
        it runs on `task` (the shift suite's shifted tasks and OOD sets), by a name saying which
        setting each comes from. The runner calls it on the driver before the job runs: the
        prints enter the job key (`job_key`) and the job's header, so editing those files reruns
        the job instead of reusing results computed from the old data. A failure to read them
        fails the job like a failure in `run` (a HarnessError: its one-line message). A suite
        that reads `task.train` names `task.train_fingerprint` here (as `TRAIN_SPLIT`; or
        `task.train_columns_fingerprint` of the columns it reads, when it reads no input): the
        training split is not in `task.fingerprint`. None by default: a suite that reads only
        `task`'s evaluation split and its own config."""
        return {}

    def hub_models(self) -> dict[str, str]:
        """The Hugging Face hub models this suite loads itself (beyond the spec's models), by the
        setting naming each (`text.similarity_model` -> `org/encoder`), once its spec folder and
        tasks' modalities are bound: `harness validate` lists them with whether each is cached,
        and a run probes the hub once before its first job (unreachable: the cache only, at
        once). None by default."""
        return {}

    def skip_reason(self, adapter: ModelAdapter, task: Task) -> str | None:
        """Why this suite does not apply to this model and task (None: it applies)."""
        return None

    def plan_summary(
        self, headlines: Mapping[str, Headline | None], protocol: str | None = None
    ) -> list[str]:
        """What the suite will run and roughly what it costs, one line each: `harness run`
        prints it before the first job starts, so a costly default is visible up front. A line
        that starts with `CONTINUED` continues the one above it (printed indented under it,
        without the suite's name).
        `headlines` maps each task of the plan to its headline threat model(s), known without
        loading data (`()`: none; None: the loaded task object says); `protocol` names the
        protocol preset that filled in the suite's config, if any. None by default."""
        return []

    def run(self, adapter: ModelAdapter, task: Task, ctx: RunContext) -> SuiteResult:
        raise NotImplementedError

    def result_from_table(self, table: SampleTable, task: Task, ctx: RunContext) -> SuiteResult:
        """Metrics, artifacts and notes computed from a per-sample table alone (a sharded job's
        merged shards). Shardable suites override it; others are never sharded."""
        raise NotImplementedError(f"suite {self.name!r} is not shardable")
