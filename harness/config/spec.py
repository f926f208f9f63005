"""The run spec: YAML validated into typed objects; every error names its key path.

A spec names tasks, models and suites (by registered name, or inline), plus the run settings.
Unknown keys are errors. Model entries carry adapter-specific fields that the adapter's own
config model validates, so a typo in `weigths:` is caught before anything runs.
"""

from __future__ import annotations

import hashlib
import json
import operator
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.core.errors import SpecError
from harness.core.input_types import loose_value, not_kind
from harness.core.safe_yaml import MAX_YAML_BYTES, parse_yaml, read_yaml_file
from harness.core.threat_model import Headline, ThreatNorm, headline_from_mapping, parse_eps
from harness.core.validation import NAME_PATTERN, StrictModel, format_validation_error
from harness.data.task_spec import LATER_TASK_KEYS, TaskSpec

MAX_SPEC_BYTES = MAX_YAML_BYTES  # a spec is a short text; refuse megabyte YAML before reading it
MAX_TIMEOUT_S = 10_000_000.0  # about 16 weeks: a longer "limit" is a typo, and timers overflow


class ModelSpec(BaseModel):
    """A model: name, adapter kind, the tasks it is for, and adapter-specific fields."""

    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = Field(pattern=NAME_PATTERN)
    adapter: str = "torch"
    tasks: list[str] | None = None
    description: str = ""
    # compressed variants, each a model `<name>@<variant>` (see docs/variants.md)
    variants: list[str | dict[str, Any]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _not_a_hub_reference(cls, data: Any) -> Any:
        """`{name: hf:org/m, variants: [...]}` reads like `{name: digits-mlp, variants: [...]}`,
        but a hub reference is a list entry of its own; the name pattern's regex said nothing
        of how to write such a model as a mapping. (A model-level check: a field validator on
        `name` changed how the field reads bytes, which it refuses.)"""
        value = data.get("name") if isinstance(data, dict) else None
        if isinstance(value, str) and value.startswith("hf:"):
            repo = value[3:].partition("@")[0] or "<org>/<model>"
            raise ValueError(
                f"name {value!r} is a hub reference, a list entry of its own (`- {value}`); a model "
                "mapping (for variants, tasks) names the model and gives adapter: hf-image (or "
                f"hf-text), path: {repo} and revision: <commit>, e.g. "
                f"{{name: my-model, adapter: hf-image, path: {repo}, variants: [int8]}}"
            )
        return data

    def adapter_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ResourceSpec(StrictModel):
    """What one job (or shard) asks the cluster for; GPUs default to 1 when `device: cuda`."""

    cpus_per_job: float = Field(default=1.0, gt=0, le=1024)
    gpus_per_job: float | None = Field(default=None, ge=0, le=64)


def ray_address_problem(address: str) -> str | None:
    """Why `address` cannot name a Ray cluster, or None. Only its form is read: `auto`, `local`,
    `ray://host[:port]` or `host:port` (an IPv6 host in brackets, as Ray reads it: `[::1]:6379`);
    an HTTP address is refused (Ray does), another scheme (a client module's) left to Ray. Ray's
    own parser logs a traceback for an empty host (`:6379`) before it refuses it, so the form is
    refused here first, in one line."""
    forms = "give host:port (e.g. 127.0.0.1:6379), ray://host:port or auto"
    if not address.strip():
        return f"the address is empty; {forms}, or no address to start a local cluster"
    if address in ("auto", "local"):
        return None
    scheme, sep, _ = address.partition("://")
    if sep and scheme.lower() in ("http", "https"):  # Ray refuses it
        return (
            f"{address!r} is an HTTP address (a dashboard's or job server's, as `ray job "
            f"submit` takes), not a cluster's; {forms}"
        )
    if sep and scheme != "ray":  # a client module's scheme (anyscale://...): Ray imports it
        return None
    client = address.startswith("ray://")
    rest = address.removeprefix("ray://")
    bracketed = rest.startswith("[") and rest.endswith("]")  # [::1]: an IPv6 host alone
    host, sep, port = ("", "", "") if bracketed else rest.rpartition(":")
    if client and not sep:
        host = rest
    if not sep and not client:
        return f"{address!r} is not host:port; {forms}"
    if not host.strip():
        return f"{address!r} names no host; {forms}"
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        return f"{address!r}: an IPv6 host goes in brackets ([::1]:6379); {forms}"
    if sep and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        return f"{address!r}: port {port!r} is not a port number (1-65535); {forms}"
    return None


class ExecutionSpec(StrictModel):
    """Where and how jobs run (see docs/ray.md). Not part of the spec hash: results are identical
    whichever executor or shard count produced them, so a run resumes across executors."""

    executor: Literal["local", "ray"] = "local"
    address: str | None = Field(
        default=None, description="Ray cluster address; None starts a local one"
    )
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    shards: int | None = Field(
        default=None, ge=1, le=100_000, description="shards per shardable job"
    )
    shard_size: int | None = Field(
        default=None, ge=1, description="samples per shard (rounded up to whole batches)"
    )
    max_retries: int = Field(
        default=3, ge=0, le=100, description="retries of a unit whose worker died"
    )
    cache: bool = Field(
        default=True,
        description="read and write the shared result cache (docs/cache.md); false: neither",
    )

    @field_validator("address")
    @classmethod
    def _address_form(cls, value: str | None) -> str | None:
        if value is not None and (problem := ray_address_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _one_sharding(self) -> ExecutionSpec:
        if self.shards is not None and self.shard_size is not None:
            raise ValueError("set either shards or shard_size, not both")
        if self.address is not None and self.executor != "ray":
            raise ValueError("address is only used with executor: ray")
        return self


def _budget(value: float | str) -> float | str:
    """A headline budget: a positive number or a fraction such as `8/255`."""
    parse_eps(value)
    return value


def _entry_kind(value: Any) -> str:
    """A list entry is a registered name (str) or an inline spec (anything else)."""
    return "name" if isinstance(value, str) else ""


# Validate only the branch the entry's kind selects, so an inline task's error reads
# `tasks.0.source: ...` instead of also listing "not a valid string" and pydantic's union tags
# (the empty tag is dropped from key paths).
_BY_KIND = Discriminator(_entry_kind)


class RunSpec(StrictModel):
    """A whole run: what to evaluate and how."""

    name: str = Field(default="run", pattern=NAME_PATTERN)
    seed: int = Field(default=0, ge=0, lt=2**63)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    batch_size: int = Field(default=256, ge=1, le=1 << 20)
    limit: int | None = Field(default=None, ge=1)
    bootstrap_resamples: int = Field(default=1000, ge=0, le=100_000)
    tasks: list[Annotated[Annotated[str, Tag("name")] | Annotated[TaskSpec, Tag("")], _BY_KIND]] = (
        Field(min_length=1)
    )
    models: list[
        Annotated[Annotated[str, Tag("name")] | Annotated[ModelSpec, Tag("")], _BY_KIND]
    ] = Field(min_length=1)
    suites: dict[str, dict[str, Any] | None] = Field(min_length=1)
    execution: ExecutionSpec | None = None
    # a protocol preset (docs/protocols.md): fills in tasks, suites and the settings it fixes
    protocol: str | None = Field(default=None, pattern=NAME_PATTERN)
    protocol_sample_ids: str | None = Field(
        default=None, description="the file of image ids a protocol evaluates (docs/protocols.md)"
    )
    # per task: the threat model(s) its robust accuracy is headlined at, norm -> budget, most
    # important first (`{}`: none); replaces the catalogue's (harness/data/headlines.py)
    headline: dict[str, dict[ThreatNorm, Annotated[float | str, AfterValidator(_budget)]]] = Field(
        default_factory=dict,
        description="per task name: {norm: budget} headlined on boards, e.g. {linf: 8/255}",
    )

    @model_validator(mode="before")
    @classmethod
    def _protocol(cls, data: Any) -> Any:
        """A spec under a protocol gets the protocol's tasks, suites and settings (a key that
        contradicts the protocol is a SpecError naming it)."""
        if isinstance(data, dict) and data.get("protocol") is not None:
            from harness.config.protocol_spec import apply_protocol

            return apply_protocol(data)
        if isinstance(data, dict) and data.get("protocol_sample_ids") is not None:
            raise SpecError("protocol_sample_ids: only used with a protocol (protocol: <name>)")
        return data

    # how jobs run, never what they compute: both stay out of the spec hash (docs/throughput.md)
    threads: int | None = Field(
        default=None, ge=1, le=1024, description="CPU threads per job (None: chosen per job)"
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_S,
        description="per-job time limit in seconds, or '90s', '10m', '2h' (None: no limit)",
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else duration_value(value)

    @field_validator("models")
    @classmethod
    def _unique_models(cls, models: list[str | ModelSpec]) -> list[str | ModelSpec]:
        _refuse_duplicates([m if isinstance(m, str) else m.name for m in models], "model")
        return models

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: list[str | TaskSpec]) -> list[str | TaskSpec]:
        _refuse_duplicates([t if isinstance(t, str) else t.name for t in tasks], "task")
        for t in tasks:
            if isinstance(t, TaskSpec) and t.label_column is None:
                raise ValueError(
                    f"task {t.name!r} is unlabeled (label_column: null): models cannot be scored "
                    "on it; use it as an OOD set (suites.shift.ood_sets) or give its label column"
                )
        return tasks

    @field_validator("headline")
    @classmethod
    def _headline_tasks(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        tasks = info.data.get("tasks") or []
        names = [t if isinstance(t, str) else t.name for t in tasks]
        unknown = [t for t in value if t not in names]
        if tasks and unknown:
            raise ValueError(
                f"names task {unknown[0]!r}, which this spec does not list "
                f"(tasks: {', '.join(names)})"
            )
        return value

    def headline_of(self, task: str) -> Headline | None:
        """The spec's headline threat model(s) of `task` (None: the spec sets none)."""
        if task not in self.headline:
            return None
        return headline_from_mapping(self.headline[task], key=f"headline.{task}")

    def spec_hash(self) -> str:
        # a spec without a protocol hashes as it did before protocols existed (baselines match);
        # so does one without headline threat models
        unset = {k for k in ("protocol", "protocol_sample_ids") if getattr(self, k) is None}
        unset |= {"headline"} if not self.headline else set()
        dumped = self.model_dump(mode="json", exclude={"execution", "threads", "timeout", *unset})
        for task in dumped["tasks"]:
            if isinstance(task, dict):
                for key, default in LATER_TASK_KEYS.items():
                    if task.get(key) == default:
                        task.pop(key, None)
        payload = json.dumps(dumped, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


DURATION_FORMS = "expected a duration such as 90, 90s, 10m or 2h"


def parse_duration(text: str) -> float:
    """Seconds of a duration written `90`, `90s`, `10m` or `1.5h`; anything else a ValueError."""
    raw = text.strip().lower()
    number, unit = raw, "s"
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if raw.endswith(suffix):
            number, unit = raw[: -len(suffix)].strip(), suffix
            break
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"{DURATION_FORMS}, got {text!r}") from None
    return _duration_in_range(seconds, text)


def duration_value(value: Any) -> float:
    """Seconds of a duration as a spec holds it (`timeout:`): a number of seconds or text such
    as '90s'; true/false, NaN, infinity and anything else are a ValueError."""
    if isinstance(value, str):
        return parse_duration(value)
    if not isinstance(value, int | float) or loose_value(value, float):
        raise ValueError(f"{DURATION_FORMS}, got {value!r}")
    return _duration_in_range(float(value), value)


def flag_duration(text: str) -> float:
    """A duration flag (`--job-timeout`), read as the YAML value it would be in a spec."""
    return duration_value(_flag_scalar(text))


def _duration_in_range(seconds: float, given: object) -> float:
    if not 0 < seconds <= MAX_TIMEOUT_S:
        raise ValueError(
            f"a duration must be positive and at most {MAX_TIMEOUT_S:,.0f}s (about 16 weeks), "
            f"got {given!r}"
        )
    return seconds


def flag_value(model: type[BaseModel], key: str, text: str) -> Any:
    """The value of a command-line flag that overrides spec key `key` of `model`: `text` read as
    the YAML value it would be in a spec, checked by the key's own type and range. A ValueError
    says what is wrong in the words the spec's own message uses."""
    field = model.model_fields[key]
    annotation: Any = field.annotation
    if get_origin(annotation) in (Union, types.UnionType):  # `int | None`: a flag has a value
        annotation = Union[tuple(a for a in get_args(annotation) if a is not type(None))]  # noqa: UP007
    return _checked_flag(_flag_scalar(text), Annotated[annotation, *field.metadata])


def setting_value(key: str, value: Any) -> Any:
    """A run setting passed from Python (`harness.evaluate(seed=...)`): `value` checked by spec
    key `key`'s own type and range, exactly as in a spec (no true/false, no 1.5 for a whole
    number). A SpecError names the key."""
    return field_value(RunSpec, key, value)


def field_value(model: type[BaseModel], key: str, value: Any) -> Any:
    """`setting_value` for a key of another spec model (an adapter's `max_length`)."""
    field = model.model_fields[key]
    if not isinstance(value, int | float | str) and hasattr(type(value), "__index__"):
        value = operator.index(value)  # a count or seed computed with numpy (np.int64)
    try:
        return _checked_flag(value, Annotated[field.annotation, *field.metadata])
    except ValueError as err:
        raise SpecError(f"{key}: {err}") from None


def names_value(key: str, value: Any) -> list[Any] | None:
    """A list of names passed from Python (`run_spec(models=...)`): a string is one mistake
    away from a list of its letters, so it is refused naming the key."""
    if value is None:
        return None
    if isinstance(value, str):
        raise SpecError(
            f"{key}: got the string {value!r}; pass a list of names ({key}=[{value!r}])"
        )
    return list(value)


def flag_number(text: str, kind: type[int] | type[float], *, minimum: float) -> Any:
    """A numeric flag that is not a spec key, read and checked as a spec value would be."""
    return _checked_flag(_flag_scalar(text), Annotated[kind, Field(ge=minimum)])


def _flag_scalar(text: str) -> Any:
    try:
        return parse_yaml(text, source="command line", error=SpecError)
    except SpecError:
        return text  # not YAML: the type check says what it is


def _checked_flag(value: Any, annotation: Any) -> Any:
    problems = loose_value(value, annotation)
    if problems:
        _loc, wanted, given = problems[0]
        raise ValueError(f"expected {wanted}{not_kind(given)} (got {given!r})")
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as err:
        raise ValueError(format_validation_error(err, prefix="").removeprefix(": ")) from None


def _refuse_duplicates(names: list[str], kind: str) -> None:
    """Names are unique, also ignoring case: a job's folder is named after its model and task,
    and on a case-insensitive disk (macOS, Windows) `Model` and `model` would share one."""
    seen: dict[str, str] = {}
    for name in names:
        if name in seen.values():
            raise ValueError(f"duplicate {kind} name {name!r}; {kind} names must be unique")
        other = seen.get(name.casefold())
        if other is not None:
            raise ValueError(
                f"{kind} names {other!r} and {name!r} differ only in case: their result folders "
                "would be one on a case-insensitive disk (macOS, Windows); rename one"
            )
        seen[name.casefold()] = name


def parse_spec_text(text: str, *, source: str) -> RunSpec:
    """Parse and validate YAML text; errors name the file and the key path.

    The YAML is read strictly (harness.core.safe_yaml): size limit, no aliases, bounded nesting,
    no key given twice in one mapping.
    """
    raw = parse_yaml(text, source=source, error=SpecError, max_bytes=MAX_SPEC_BYTES)
    return _validate(raw, source)


def _validate(raw: Any, source: str) -> RunSpec:
    if raw is None:
        raise SpecError(f"{source}: spec is empty; it needs tasks, models and suites")
    if not isinstance(raw, dict):
        raise SpecError(
            f"{source}: spec must be a mapping with tasks, models and suites, got {type(raw).__name__}"
        )
    try:
        return RunSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(f"{source}: {format_validation_error(err, prefix='')}") from None
    except SpecError as err:  # a protocol's fixed key (harness/config/protocol_spec.py)
        raise SpecError(f"{source}: {err}") from None


def load_spec(path: Path) -> RunSpec:
    """Read and validate a spec file (its size is checked before it is read)."""
    if path.is_dir():
        raise SpecError(f"spec {path} is a folder; give the spec file (a .yaml inside it)")
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    raw = read_yaml_file(path, source=str(path), error=SpecError, max_bytes=MAX_SPEC_BYTES)
    return _validate(raw, str(path))
