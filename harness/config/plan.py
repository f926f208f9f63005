"""A run's plan as data: the models, tasks and suites it resolved, the jobs pairing them, and
each job's content key.

`harness.config.planner.build_plan` makes one from a spec; the runner, the executors and
`harness validate` read it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.config.protocols import Protocol
from harness.config.spec import ModelSpec, RunSpec
from harness.core.manifest import ProtocolRef
from harness.core.suite import CONTINUED, Suite
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.threat_model import Headline


@dataclass(frozen=True)
class ModelPlan:
    """A model ready to build: its spec, adapter class and validated adapter config."""

    spec: ModelSpec
    adapter_cls: Any
    config: BaseModel
    origin: str  # "zoo" or "spec"
    # its `tasks` are a zoo entry's (`{name: digits-mlp, variants: [...]}` too), not a list the
    # spec wrote: a spec without them says so (planner._jobs)
    zoo_tasks: bool = False
    # a spec entry naming a zoo model with its own `tasks:` (the zoo model, narrowed): origin
    # "zoo", but its tasks are a list the spec wrote (planner._jobs)
    narrowed: bool = False


@dataclass(frozen=True)
class TaskPlan:
    """A task ready to load (lazily: loading reads data).

    `headline` is the threat model(s) its robust accuracy is headlined at, known without loading
    data: the spec's `headline:` entry, else the catalogue's (harness/data/headlines.py);
    None for a task whose own object says (an entry-point or inline task without a spec entry).
    The loaded task carries it (`Task.headline`)."""

    name: str
    load: Callable[[], Task]
    origin: str
    headline: Headline | None = None
    modality: str | None = None  # known without loading (catalogue, inline entry); else None
    # its columns and classes as known without loading it (the suites' column checks)
    columns: TaskColumns | None = None


@dataclass(frozen=True)
class Job:
    """One unit of work: a model on a task through a suite."""

    model: str
    task: str
    suite: str

    @property
    def label(self) -> str:
        return f"{self.model} × {self.task} × {self.suite}"


@dataclass(frozen=True)
class Plan:
    spec: RunSpec
    base_dir: Path
    models: dict[str, ModelPlan]
    tasks: dict[str, TaskPlan]
    suites: dict[str, Suite]
    jobs: list[Job]
    protocol: Protocol | None = None  # the protocol preset the spec runs under
    # suite settings naming a column or label value that could not be checked without loading
    # a task (Suite.check_task_columns), one line each: `harness validate` prints them
    unchecked: tuple[str, ...] = ()

    def spec_hash(self) -> str:
        return self.spec.spec_hash()

    def suite_summaries(self) -> list[str]:
        """What each suite will run and its worst-case cost, one line each, prefixed by the
        suite's name (`Suite.plan_summary`; a line continuing the one above it, `CONTINUED`,
        keeps its indent instead): `harness run` prints them before the first job and `harness
        validate` after the jobs."""
        headlines = {name: task.headline for name, task in self.tasks.items()}
        # `protocol` only under one: a protocol runs only built-in suites, and an installed
        # suite may still override the one-argument `plan_summary(headlines)`
        return [
            line if line.startswith(CONTINUED) else f"{suite.name}: {line}"
            for suite in self.suites.values()
            for line in (
                suite.plan_summary(headlines)
                if self.protocol is None
                else suite.plan_summary(headlines, self.protocol.name)
            )
        ]


# How model code is kept from changing what other jobs see (harness/core/model_calls.py); bump it
# when a fix there means results computed before it may be wrong. 1: every forward reads its own
# copy of its inputs (before it, the shift suite's cached batches were shared by every model).
MODEL_ISOLATION = 1


def job_key(
    *,
    model_identity: str,
    task_fingerprint: str,
    suite: Suite,
    seed: int,
    device_type: str,
    bootstrap_resamples: int,
    harness_version: str,
    batch_size: int,
    protocol: ProtocolRef | None = None,
    input_fingerprints: Mapping[str, str] | None = None,
    headline: Headline = (),
    group_labels: Mapping[str, Mapping[str, str]] | None = None,
    group_notes: Mapping[str, str] | None = None,
    class_names: Sequence[str] = (),
) -> str:
    """Content key of a job's results: change any input and the cached result is not reused.

    Run folders share results by this key (harness/store/job_cache.py), so it holds every input
    that can move a number, the batch size included (a batched forward's floating-point result
    can depend on the batch); how a job runs (threads, executor, shards, time limit) is not in it.
    A job run under a protocol preset has the protocol in its key (a job without one keeps the
    key it had before protocols existed). `input_fingerprints` are the prints of the other tasks
    the suite reads for this job (`Suite.input_fingerprints`: the shift suite's shifted tasks and
    OOD sets), whose config entry alone (in the suite config hash) does not change when their
    files are edited; a job with none keeps the key it had before they entered it.
    The task's `class_names` are in it (not in its fingerprint: a board compares the same data
    whatever its classes are called) because a job stores them: its per-class records and its
    task summary, which reports and `harness groups` name the classes by; a task without names
    keeps its key. `MODEL_ISOLATION` is in every key: results computed before model code got its own copy of
    its inputs (a model editing its input in place could change another model's numbers) are
    never served by the job cache.
    """
    payload: dict[str, Any] = {
        "model": model_identity,
        "task": task_fingerprint,
        "suite": suite.name,
        "suite_version": suite.version,
        "suite_config": suite.config_hash,
        "seed": seed,
        "device": device_type,
        "bootstrap_resamples": bootstrap_resamples,
        "harness": harness_version,
        "batch_size": batch_size,
        "isolation": MODEL_ISOLATION,
    }
    if protocol is not None:
        payload["protocol"] = protocol.label
    if input_fingerprints:
        payload["inputs"] = dict(sorted(input_fingerprints.items()))
    if headline:
        payload["headline"] = [t.model_dump(mode="json") for t in headline]
    if group_labels:
        payload["group_labels"] = {k: dict(v) for k, v in group_labels.items()}
    if group_notes:
        payload["group_notes"] = dict(group_notes)
    if class_names:
        payload["class_names"] = list(class_names)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
