"""Typed records that cross from the runner to the store and on to every reader.

`RunManifest` is `runs/<run_id>/manifest.json`: what ran (the resolved spec and its hash), where
(versions, device, git sha), with which seed, and how each job ended (`JobEntry`). `JobRecord`
is `jobs/<job>/job.json`: one job's identity (key, model, task, suite version and config, task
summary, model description) and outcome. Readers use attributes, never string keys.

On disk a record is the JSON of the fields that were set (`to_json`), so a key that the runner
did not write (the `reason` of a completed job, a run's `interrupted_by`) stays absent, exactly
as in folders written before these types existed. `schema_version` says which layout a file
has; the store refuses a version newer than `SCHEMA_VERSION`. Free-form payloads (the resolved
spec, a suite's config, package versions, execution settings) stay mappings; every field a
reader uses is a typed attribute. No torch here: the store and every reader import this module.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.core.threat_model import Headline

SchemaVersion = Literal[1]
SCHEMA_VERSION: SchemaVersion = 1
Modality = Literal["image", "tabular", "text"]


class JobStatus(StrEnum):
    """How a job ended. job.json exists for `completed` and `skipped` jobs only."""

    COMPLETED = "completed"
    SKIPPED = "skipped"  # the suite does not apply to this model and task (reason stated)
    CACHED = "cached"  # results with the same key were already stored; not rerun
    FAILED = "failed"  # a user error or a bug; the message (and a bug's traceback) is kept


class RunStatus(StrEnum):
    """Where a run stands: `running` while it runs, then how it ended."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # finished, with at least one failed job
    INTERRUPTED = "interrupted"  # SIGINT / SIGTERM (see `RunManifest.interrupted_by`)
    STOPPED_FAIL_FAST = "stopped (fail-fast)"  # a job failed and --fail-fast stopped the run


class Record(BaseModel):
    """Base of the stored records: frozen; written as the fields that were set.

    Keys a reader does not know are ignored (a newer harness may add optional fields without a
    new schema version); a missing required field or a wrong type is a validation error.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_json(self) -> dict[str, Any]:
        """The record as it is written: the fields that were set, nested records included."""
        return self.model_dump(exclude_unset=True)

    def replace(self, **changes: Any) -> Self:
        """A validated copy with `changes` applied (what `dataclasses.replace` does)."""
        data = {name: getattr(self, name) for name in self.model_fields_set}
        data.update(changes)
        return self.model_validate(data)


class TaskSummary(Record):
    """What a job records about its task (`Task.summary()`): the fingerprint decides comparability."""

    name: str
    modality: Modality
    n: int
    num_classes: int
    input_shape: tuple[int, ...]
    bounds: tuple[float, float] | None
    group_columns: tuple[str, ...]
    fingerprint: str
    source: str
    limit: int | None
    # readable labels of group values per group column, in display order (absent in older runs)
    group_labels: dict[str, dict[str, str]] = Field(default_factory=dict)
    class_names: tuple[str, ...] = ()
    # per group column, why its values are shown as recorded (absent in older runs)
    group_notes: dict[str, str] = Field(default_factory=dict)
    # the threat model(s) robust accuracy is headlined at (absent in older runs: none stored)
    headline: Headline = ()


class ModelDescription(Record):
    """An adapter's `describe()` output: open (each adapter adds its own keys), with the keys
    readers use typed. Variants (docs/variants.md) add lineage and size."""

    model_config = ConfigDict(frozen=True, extra="allow")

    weights_sha256: str | None = None
    parameters: int | None = None
    # a variant of another model: its lineage, why it could not be built, its size vs the parent
    parent: str | None = None
    variant: str | None = None
    variant_notes: tuple[str, ...] = ()
    unavailable_reason: str | None = None
    gradients: bool | None = None
    size_bytes: int | None = None
    size_format: str | None = None
    nonzero_parameters: int | None = None
    parent_size_bytes: int | None = None
    parent_parameters: int | None = None
    parent_nonzero_parameters: int | None = None

    @property
    def lineage(self) -> tuple[str, str] | None:
        """(parent model, variant name) when this model is a variant of another."""
        if self.parent and self.variant:
            return self.parent, self.variant
        return None


class ProtocolRef(Record):
    """The protocol preset a job ran under (harness/config/protocols.py; docs/protocols.md)."""

    name: str
    version: int

    @property
    def label(self) -> str:
        """`<name> v<version>`: how boards and reports name it."""
        return f"{self.name} v{self.version}"


class JobHeader(Record):
    """What the driver knows about a job before it runs: its identity and provenance."""

    key: str
    run_id: str
    model: str
    task: str
    suite: str
    suite_version: str
    suite_config: dict[str, Any]
    suite_config_hash: str
    task_summary: TaskSummary
    model_description: ModelDescription
    model_origin: str
    seed: int
    device: str  # device type (cpu, cuda, mps): throughput compares within one type only
    harness_version: str
    started: str  # ISO time, UTC
    # the protocol preset the job ran under (None: none, and every run before protocols existed);
    # part of the job key and of the leaderboard's board key
    protocol: ProtocolRef | None = None
    threads: int | None = None  # CPU threads the job ran with (never part of its key)
    # the fingerprints of the other tasks the suite read (the shift suite's shifted tasks and OOD
    # sets: `Suite.input_fingerprints`), by setting and name, and of the task's training split
    # when it read that (`train_split`), and of the task's bin edges the fairness suite applies
    # (`group_bins`); part of the job key. Absent when the suite read none,
    # and in every job written before the field existed
    input_fingerprints: dict[str, str] = Field(default_factory=dict)

    def finish(
        self,
        status: JobStatus,
        *,
        seconds: float,
        finished: str | None = None,
        reason: str | None = None,
        notes: list[str] | tuple[str, ...] | None = None,
        shards: int | None = None,
    ) -> JobRecord:
        """The job record of this job ended with `status` (None arguments are left out)."""
        data: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        data.update(status=status, seconds=seconds)
        extra = {"finished": finished, "reason": reason, "notes": notes, "shards": shards}
        data.update({k: v for k, v in extra.items() if v is not None})
        return JobRecord.model_validate(data)


class JobRecord(JobHeader):
    """`job.json`: a stored job's header, outcome and the sha256 of every file beside it."""

    status: JobStatus
    seconds: float
    finished: str | None = None  # completed jobs
    reason: str | None = None  # skipped jobs: why the suite does not apply
    notes: tuple[str, ...] = ()  # completed jobs: the suite's notes (e.g. samples evaluated)
    shards: int | None = None  # the job ran as this many shards (docs/ray.md)
    # the results were computed by another run with the same key and reused (job cache)
    reused_from: str | None = None  # "<run_id>/<job folder>"
    reused_at: str | None = None  # when the reused results were copied into this run (ISO, UTC)
    files: dict[str, str] = Field(default_factory=dict)  # file name -> sha256 (set by the store)
    schema_version: SchemaVersion = SCHEMA_VERSION
    checksum: str | None = None  # over the record's canonical JSON (harness.store.checksums)

    @field_validator("status")
    @classmethod
    def _stored_status(cls, status: JobStatus) -> JobStatus:
        if status not in (JobStatus.COMPLETED, JobStatus.SKIPPED):
            raise ValueError(f"a stored job is completed or skipped, not {status.value}")
        return status


class JobEntry(Record):
    """One job's line in the manifest: how it ended, how long it took and where it is stored."""

    model: str
    task: str
    suite: str
    status: JobStatus
    seconds: float
    message: str  # the skip reason, the failure, or the suite's notes
    key: str | None  # None when the job failed before its key was known
    dir: str | None  # job folder under jobs/ (None: nothing stored)
    traceback: str | None = None  # an unexpected error (a bug)
    threads: int | None = None  # CPU threads the job ran with (harness/run/threads.py)

    @property
    def names(self) -> tuple[str, str, str]:
        """(model, task, suite): the job's place in the plan."""
        return self.model, self.task, self.suite


class PlannedJob(Record):
    """A job of the run's plan, by name: what a complete run has an outcome for."""

    model: str
    task: str
    suite: str


class Attempt(Record):
    """One invocation of `harness run` on this run folder (a resumed run adds one)."""

    started: str
    executor: str
    finished: str | None = None
    status: RunStatus | None = None


class RunManifest(Record):
    """`manifest.json`: the run's spec, provenance, attempts and every job's outcome."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    run_id: str
    spec_name: str
    spec_hash: str
    spec: dict[str, Any]  # the resolved spec (also written as spec.yaml)
    created: str
    updated: str
    harness_version: str
    versions: dict[str, str | None]  # package -> version (None: not installed)
    device: dict[str, Any]  # type, name, cpu, threads; GPU name, memory, CUDA and cuDNN versions
    seed: int
    git_sha: str | None
    execution: dict[str, Any]  # executor and sharding settings (they never change a number)
    status: RunStatus
    attempts: tuple[Attempt, ...]
    jobs: tuple[JobEntry, ...]
    # every job of the plan, written when the run starts (None: a manifest from before the field),
    # so a reader can name the jobs a running or interrupted run has not finished
    planned: tuple[PlannedJob, ...] | None = None
    interrupted_by: str | None = None  # SIGINT / SIGTERM (SIGPIPE: its output reader went away)
    checksum: str | None = None  # over the record's canonical JSON (harness.store.checksums)

    @property
    def partial(self) -> bool:
        """Still running, or interrupted: not every job has its final outcome."""
        return self.status in (RunStatus.RUNNING, RunStatus.INTERRUPTED)
