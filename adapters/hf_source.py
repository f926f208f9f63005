"""Where a Hugging Face model comes from (local folder or hub id) and how its labels map to a task.

Shared by the image and text adapters: the spec fields (`path`, `revision`, `trust_remote_code`,
`label_map`), the safety rule that remote code needs an explicit opt-in *and* a pinned revision,
the "folder has no config.json" check, file hashing, and the label check against a task (at
each job, and at plan time from a local folder's config.json: `check_planned_tasks`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.adapters.model_files import resolve_path
from harness.core.errors import MissingDependencyError, ModelLoadError, ModelOutputError, SpecError
from harness.core.hashing import folder_sha256
from harness.core.model_calls import calling_model
from harness.core.task import Task
from harness.core.task_columns import TaskColumns
from harness.core.weights import check_safetensors

log = logging.getLogger(__name__)
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_DEFAULT_LABEL = re.compile(r"^LABEL_\d+$")
_PICKLED = ("*.bin", "*.pt", "*.pth", "*.ckpt")
T = TypeVar("T")


class HFSourceConfig(BaseModel):
    """Spec fields common to the Hugging Face adapters."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="local model folder (with config.json) or a hub id")
    revision: str | None = Field(default=None, description="hub commit/tag/branch to pin")
    trust_remote_code: bool = False
    label_map: list[str] | None = Field(
        default=None,
        description="model label names in the task's class order (selects and orders outputs)",
    )

    @model_validator(mode="after")
    def _remote_code_needs_revision(self) -> HFSourceConfig:
        """A hub id's remote code is pinned by a revision; a path written as a local one
        (`./folder`, `/abs`, `~/x`) has no revisions (its code is its files, in its identity)."""
        if self.trust_remote_code and not self.revision and hub_id_form(self.path):
            raise ValueError(
                "trust_remote_code: true runs code from the model repository; pin the exact "
                "code with `revision: <commit sha>` as well (write a local folder's path as "
                "./folder: a folder has no revisions)"
            )
        return self


def hub_id_form(path: str) -> bool:
    """Whether `path` is written as a hub id could be (`org/name`, `name`); a local folder of
    that name beside the spec is still taken first (`resolve_source`)."""
    return bool(_HUB_ID.match(path)) and not path.startswith((".", "/", "~"))


def remote_code_uses(config: BaseModel) -> list[str]:
    """`trust_remote_code: true` runs the model repository's code (harness validate lists it)."""
    assert isinstance(config, HFSourceConfig)
    if not config.trust_remote_code:
        return []
    if config.revision is None:  # a local folder's (the validator demands one of a hub id)
        return [f"code of the model folder {config.path} (trust_remote_code)"]
    return [f"remote code of {config.path} at revision {config.revision} (trust_remote_code)"]


def import_transformers(feature: str) -> Any:
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers", "hf", feature) from None
    transformers.logging.set_verbosity_error()
    return transformers


def resolve_source(config: HFSourceConfig, *, name: str, base_dir: Path) -> tuple[str, Path | None]:
    """(what to pass to from_pretrained, local folder or None for a hub id)."""
    local = resolve_path(Path(config.path), base_dir)
    if local.exists():
        if not local.is_dir():
            raise ModelLoadError(f"model {name!r}: path {local} is a file; give the model folder")
        if not (local / "config.json").is_file():
            raise ModelLoadError(
                f"model {name!r}: model folder {local} has no config.json; save the model with "
                "save_pretrained() or point `path` at the folder that holds config.json"
            )
        if config.revision:
            written = " and write path as ./folder" if config.trust_remote_code else ""
            raise ModelLoadError(
                f"model {name!r}: revision {config.revision!r} is given, but path "
                f"{config.path!r} is the local folder {local}, which has no revisions: its "
                f"files would load whatever revision says; drop revision{written} to evaluate "
                "the folder, or move the folder away to load the hub model at that revision"
            )
        return str(local), local
    if not hub_id_form(config.path):
        raise ModelLoadError(f"model {name!r}: model folder {local} does not exist")
    return config.path, None


def load_pretrained(
    load: Callable[[], T], *, source: str, local: Path | None, name: str, what: str
) -> T:
    """Run a `from_pretrained` call; a damaged or hostile model file is one line naming it.

    In a local folder every safetensors file's header is checked first (harness.core.weights:
    truncation, a broken header, sizes the file does not hold). A pickled checkpoint
    (`pytorch_model.bin`) that transformers' `weights_only` loading refuses is named as such;
    any other failure of the loading code (remote code included) is one line as well.
    """
    if local is not None:
        for path in sorted(local.rglob("*.safetensors")):
            try:
                check_safetensors(path)
            except ModelLoadError as err:
                raise ModelLoadError(f"model {name!r}: {err}") from None
    try:
        with calling_model(name, f"the loading of {what} from {source!r}"):
            try:
                return load()
            except pickle.UnpicklingError as err:
                pickled = [
                    str(p) for pattern in _PICKLED for p in sorted((local or Path()).glob(pattern))
                ]
                where = ", ".join(pickled[:3]) if local is not None and pickled else repr(source)
                raise ModelLoadError(
                    f"model {name!r}: {where} could not be loaded with weights_only=True: it holds "
                    "code or objects other than tensors (a pickle can run code when loaded); "
                    "convert the weights to safetensors"
                ) from err
            except RuntimeError as err:
                shapes = _mismatched_shapes(err)
                if shapes is None:
                    raise
                raise ModelLoadError(
                    f"model {name!r}: the weights in {source!r} do not fit its config.json: "
                    f"{shapes}; a classifier head whose size differs from config.json's "
                    "id2label / num_labels is the usual cause (fix config.json)"
                ) from err
            except (OSError, ValueError, KeyError, TypeError, EOFError) as err:
                first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
                raise ModelLoadError(
                    f"model {name!r}: cannot load {what} from {source!r}: {first}"
                    + (_offline_advice() if local is None and isinstance(err, OSError) else "")
                ) from err
    except ModelLoadError:
        raise
    except ModelOutputError as err:  # a ModelCallError: the loading code failed otherwise
        raise ModelLoadError(str(err)) from err


def _offline_advice() -> str:
    """What to do when a hub id did not load while the hub cannot be reached: transformers then
    read the local cache only, and its line says a file is missing ("does not appear to have a
    file named model.safetensors") or that it could not connect, not how to get the files."""
    from harness.data.hub_access import hub_status
    from harness.data.hub_cache import hub_cache_root

    status = hub_status()
    if status.reachable:
        return ""
    return (
        f" (the hub cannot be reached: {status.reason}; only the local hub cache "
        f"{hub_cache_root()} was read: connect once to cache the model there, set HF_HUB_CACHE "
        "to a cache that holds it, or give the model as a local folder written by "
        "save_pretrained)"
    )


def _mismatched_shapes(err: RuntimeError) -> str | None:
    """The tensors whose checkpoint shape differs from the model's, from transformers' refusal
    ("You set `ignore_mismatched_sizes` to `False` ... look at the above report!", a report the
    harness does not show): read from its loading report in the raising frame; None for any
    other RuntimeError."""
    if "ignore_mismatched_sizes" not in str(err):
        return None
    mismatched: set[tuple[str, Any, Any]] = set()
    tb = err.__traceback__
    while tb is not None:
        info = tb.tb_frame.f_locals.get("loading_info")
        mismatched |= set(getattr(info, "mismatched_keys", None) or ())
        tb = tb.tb_next
    if not mismatched:
        return "some tensors have other shapes than the config gives them"
    rows = sorted(mismatched, key=lambda row: str(row[0]))
    shown = ", ".join(
        f"{key} is {list(ckpt)} in the weights, {list(model)} by the config"
        for key, ckpt, model in rows[:2]
    )
    more = f" (and {len(rows) - 2} more)" if len(rows) > 2 else ""
    return shown + more


def source_files(local: Path | None, loaded: Any) -> dict[str, str]:
    """sha256 of the model's files: the local folder, or the hub snapshot the loader used."""
    folder = local
    if folder is None:
        name_or_path = getattr(getattr(loaded, "config", None), "_name_or_path", "")
        folder = Path(name_or_path) if name_or_path and Path(name_or_path).is_dir() else None
    if folder is None:
        return {}
    return folder_sha256(folder)


def loaded_origin(
    model: Any, *, name: str, source: str, local: Path | None, shown: str, revision: str | None
) -> dict[str, Any]:
    """Where a model loaded by `from_pretrained` came from (`path` as shown, `revision`, its
    files' sha256), once its config passed `check_single_label` and the label-map check."""
    check_single_label(model.config, name=name)
    check_loaded_label_maps(model.config, name=name, source=source, local=local)
    return {"path": shown, "revision": revision, "files_sha256": source_files(local, model)}


def held_origin(model: Any, *, name: str, given: str, kind: str, **digests: str) -> dict[str, Any]:
    """What identifies a transformers classifier held in memory in place of its files: its
    weights' and config's sha256 and the `digests` of what came with it (a tokenizer's, an
    image processor's), once it is one (`given` names what was passed with it, `kind` what it
    must be) and its config passed the checks a loaded one's does."""
    from harness.adapters.torch_module import state_sha256

    if getattr(model, "config", None) is None or not hasattr(model.config, "id2label"):
        raise ModelLoadError(
            f"model {name!r}: {given} was given, but {type(model).__name__} is not a "
            f"transformers {kind} (no config with id2label)"
        )
    check_single_label(model.config, name=name)
    check_loaded_label_maps(model.config, name=name, source="the model's", local=None)
    return {
        "path": None,
        "revision": None,
        "files_sha256": {},
        "weights_sha256": state_sha256(model),
        "config_sha256": hashlib.sha256(model.config.to_json_string().encode()).hexdigest(),
        **digests,
    }


def check_single_label(model_config: Any, *, name: str) -> None:
    """Refuse a checkpoint trained for multi-label classification: its outputs are independent
    per-class sigmoid scores, and every suite reads a classifier's outputs as single-label logits
    (a softmax over classes): its NLL, ECE, Brier, attack losses and OOD scores would describe a
    distribution the model never gives."""
    if getattr(model_config, "problem_type", None) == "multi_label_classification":
        raise ModelLoadError(
            f"model {name!r}: config.problem_type is multi_label_classification (independent "
            "sigmoid scores per class); the harness evaluates single-label classifiers, whose "
            "outputs a softmax over classes reads: evaluate a single-label checkpoint, or wrap "
            "the model as a `callable` that returns the log-probabilities of one class per input"
        )


def label_names(model_config: Any) -> list[str]:
    id2label = getattr(model_config, "id2label", None) or {}
    return [str(id2label[i]) for i in sorted(id2label, key=int)]


def check_label_maps(id2label: Any, label2id: Any, *, name: str, source: str) -> None:
    """Refuse a config whose `label2id` sends a label to another output than the one `id2label`
    names it at (label2id {"cat": 0, "dog": 1} beside id2label {0: "dog", 1: "cat"}): which
    output is "cat" decides every accuracy number, and the file says both. The harness reads
    id2label; a label2id naming other labels (transformers' default LABEL_i, left behind when
    only id2label was set) contradicts nothing and is left alone. `source`: the config file."""
    if not isinstance(id2label, Mapping) or not isinstance(label2id, Mapping):
        return
    try:
        at = {str(label): int(i) for i, label in id2label.items()}
    except (TypeError, ValueError):
        return  # ids that are no integers: planned_labels and the load say so
    clashes = [
        (str(label), i, at[str(label)])
        for label, i in label2id.items()
        if str(label) in at and _as_int(i) is not None and _as_int(i) != at[str(label)]
    ]
    if clashes:
        label, given, named = clashes[0]
        more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
        raise ModelLoadError(
            f"model {name!r}: {source}: label2id gives {label!r} output {given} but id2label "
            f"names output {named} {label!r}{more}; the two disagree on which output is which "
            "class, so fix the checkpoint's config (the harness reads id2label)"
        )


def check_loaded_label_maps(
    model_config: Any, *, name: str, source: str, local: Path | None
) -> None:
    """`check_label_maps` on a loaded model's config: its file, the local folder's
    config.json, or the hub model's."""
    where = str(local / "config.json") if local is not None else f"{source} config.json"
    check_label_maps(
        getattr(model_config, "id2label", None),
        getattr(model_config, "label2id", None),
        name=name,
        source=where,
    )


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def label_indices(
    model_labels: list[str], label_map: list[str] | None, *, name: str
) -> list[int] | None:
    """Output columns to keep (in task order) when a label_map is given, else None."""
    if label_map is None:
        return None
    repeated = sorted({lab for lab in label_map if label_map.count(lab) > 1})
    if repeated:
        raise ModelLoadError(
            f"model {name!r}: label_map names {repeated[:5]} more than once; two task classes "
            "would read the same model output (and tie on every sample): give one model label "
            "per task class"
        )
    columns = [_label_column(lab, model_labels) for lab in label_map]
    missing = [lab for lab, col in zip(label_map, columns, strict=True) if col is None]
    if missing:
        raise ModelLoadError(
            f"model {name!r}: label_map names {missing[:5]} that the model does not have; "
            f"model labels: {model_labels[:20]}"
        )
    chosen = [c for c in columns if c is not None]
    if len(set(chosen)) < len(chosen):
        raise ModelLoadError(
            f"model {name!r}: label_map names one model label twice in different case "
            f"({label_map[:10]}); give one model label per task class"
        )
    return chosen


def _label_column(label: str, model_labels: list[str]) -> int | None:
    """The model output named `label`: exactly, else the one model label equal to it up to case
    and surrounding spaces (as the id2label check compares); None when absent or ambiguous."""
    exact = [i for i, lab in enumerate(model_labels) if lab == label]
    if exact:
        return exact[-1]
    near = [i for i, lab in enumerate(model_labels) if lab.strip().lower() == label.strip().lower()]
    return near[0] if len(near) == 1 else None


def check_labels(
    model_labels: list[str], label_map: list[str] | None, task: Task, *, name: str
) -> None:
    """Refuse a model whose label names (or label_map) do not match the task's class names."""
    labels = label_map if label_map is not None else model_labels
    if (
        label_map is None
        and len(labels) == task.num_classes
        and all(_DEFAULT_LABEL.match(lab) for lab in labels)
    ):
        log.warning("model %s has unnamed labels (LABEL_i); assuming task order", name)
    mismatch = label_mismatch(
        model_labels,
        label_map,
        num_classes=task.num_classes,
        class_names=task.class_names,
        model=name,
        task=task.name,
    )
    if mismatch is not None:
        raise ModelOutputError(mismatch)


def label_mismatch(
    model_labels: Sequence[str],
    label_map: Sequence[str] | None,
    *,
    num_classes: int,
    class_names: Sequence[str] | None,
    model: str,
    task: str,
) -> str | None:
    """Why a model with these label names (or label_map) cannot be scored on a task of
    `num_classes` classes named `class_names` (None: only their count is known), or None.
    The run's check (`check_labels`) and the plan's (`check_planned_tasks`) say the same."""
    labels = label_map if label_map is not None else model_labels
    if label_map is not None and len(label_map) != num_classes:
        return (
            f"model {model!r}: label_map names {len(label_map)} model "
            f"label{'' if len(label_map) == 1 else 's'} but task {task!r} has {num_classes} "
            "classes; give one model label per task class, in task order"
        )
    if len(labels) == 1 and num_classes > 1:  # label_map cannot make one output several
        return (
            f"model {model!r} has one output (config num_labels 1: a regression head, or one "
            f"logit per input) but task {task!r} has {num_classes} classes; the harness "
            "evaluates classifiers with one output per class: fine-tune with num_labels "
            f"{num_classes}, or export the model and declare outputs: binary_logit on a torch, "
            "onnx or callable entry for one logit"
        )
    if len(labels) != num_classes:
        return (
            f"model {model!r} has {len(labels)} labels but task {task!r} has "
            f"{num_classes} classes; set label_map to choose the model labels in task order"
        )
    if label_map is not None or class_names is None:
        return None  # the user chose a model label for each task class, in task order
    if all(_DEFAULT_LABEL.match(lab) for lab in labels):
        return None  # unnamed labels (LABEL_i): task order assumed
    norm = [lab.strip().lower() for lab in labels]
    want = [c.strip().lower() for c in class_names]
    if norm == want:
        return None
    hint = "set label_map to the model label for each task class, in task order"
    if sorted(norm) == sorted(want) and len(set(norm)) == len(norm):
        # the same names in another order (an image folder's classes are its folder names
        # in sorted order): label_map picks the model's outputs by name
        listed = list(class_names) if len(want) <= 20 else "the task's class names"
        hint = (
            "the model has the task's class names in another order (an image folder's "
            f"classes are its folder names, sorted); set label_map: {listed} to pick the "
            "model's outputs by name in task order, or give the task class_names in the "
            "model's order"
        )
    return (
        f"model {model!r}: config.id2label {list(labels)[:10]} does not match the classes of "
        f"task {task!r} {list(class_names)[:10]}; {hint}"
    )


class HFSourceHooks:
    """The plan-time class hooks the Hugging Face adapters (hf-image, hf-text) share, read from
    their `HFSourceConfig`: the code a spec runs (`code_uses`) and the model's labels against the
    planned tasks' classes (`check_task_columns`)."""

    @classmethod
    def code_uses(cls, config: BaseModel) -> list[str]:
        return remote_code_uses(config)

    @classmethod
    def check_task_columns(
        cls, config: BaseModel, *, name: str, base_dir: Path, tasks: Mapping[str, TaskColumns]
    ) -> list[str]:
        """Its label names (a local folder's or the hub cache's config.json) against each
        planned task's classes, before any job (`check_planned_tasks`); the lines of what it
        could not check."""
        return check_planned_tasks(config, name=name, base_dir=base_dir, tasks=tasks)


def check_planned_tasks(
    config: BaseModel, *, name: str, base_dir: Path, tasks: Mapping[str, TaskColumns]
) -> list[str]:
    """The plan's check of a Hugging Face model against the tasks it runs on, before any job
    (`harness validate`; `harness run` fails with the same line): a local model folder's
    config.json (read as JSON: no weights, no code) gives its label names, which must fit each
    task's classes where the plan knows them (`label_mismatch`), as well as its `label_map` and
    `problem_type` (`label_indices`, `check_single_label`). Returns one line for what it could
    not check: a hub model, remote code, a task whose classes only its data names."""
    assert isinstance(config, HFSourceConfig)
    labels, why = planned_labels(config, name=name, base_dir=base_dir)
    if labels is None:
        return [why] if why else []
    label_indices(labels, config.label_map, name=name)
    lines = []
    for task, columns in tasks.items():
        if columns.num_classes is None:
            lines.append(
                f"model {name!r}: its labels were not checked against task {task!r}: "
                f"{columns.classes_unknown or 'its classes are known once loaded'}"
            )
            continue
        names = columns.class_names if columns.class_names else None
        mismatch = label_mismatch(
            labels,
            config.label_map,
            num_classes=columns.num_classes,
            class_names=names,
            model=name,
            task=task,
        )
        if mismatch is not None:
            raise SpecError(mismatch)
        named = config.label_map is None and not all(_DEFAULT_LABEL.match(x) for x in labels)
        if names is None and named:
            lines.append(
                f"model {name!r}: its label names were not checked against task {task!r}, whose "
                "class names only its data says (declare class_names on the task to have them "
                "checked)"
            )
    return lines


def _cached_hub_config(config: HFSourceConfig) -> Path | None:
    """A hub model's config.json in the local Hugging Face cache (`HF_HUB_CACHE`), at the
    model's revision (default `main`): the file its load reads when offline, read here without
    network. None when it is not cached or huggingface_hub is not installed."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(config.path, "config.json", revision=config.revision)
    except (ValueError, OSError):
        return None
    return Path(found) if isinstance(found, str) else None


def planned_labels(
    config: HFSourceConfig, *, name: str, base_dir: Path
) -> tuple[list[str] | None, str]:
    """The model's label names from its local folder's config.json (its `id2label`, in id
    order; LABEL_0.. for a `num_labels` without names, as transformers names them), or None and
    the line saying why they are read only when it loads. A local folder the run would refuse
    (missing, a file, no config.json) is refused here the same way (ModelLoadError)."""
    local = resolve_path(Path(config.path), base_dir)
    if not local.exists() and _HUB_ID.match(config.path) and not config.path.startswith("."):
        config_file = _cached_hub_config(config)
        if config_file is None:
            return None, (
                f"model {name!r}: its labels are checked against the tasks' classes when it "
                f"loads (a hub model, {config.path}, not in the local Hugging Face cache: "
                "validate reads no network)"
            )
    else:
        _source, folder = resolve_source(config, name=name, base_dir=base_dir)
        assert folder is not None
        config_file = folder / "config.json"
    if config.trust_remote_code:
        return None, (
            f"model {name!r}: its labels are checked against the tasks' classes when it loads "
            "(trust_remote_code: its own configuration code may set them)"
        )
    try:
        raw = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, f"model {name!r}: its config.json is not readable JSON; the load says why"
    if not isinstance(raw, dict):
        return None, f"model {name!r}: its config.json is not a JSON object; the load says why"
    check_single_label(SimpleNamespace(problem_type=raw.get("problem_type")), name=name)
    id2label = raw.get("id2label")
    check_label_maps(id2label, raw.get("label2id"), name=name, source=str(config_file))
    if isinstance(id2label, dict) and id2label:
        try:
            return [str(id2label[k]) for k in sorted(id2label, key=int)], ""
        except ValueError:
            return None, f"model {name!r}: its config.json id2label has keys that are not ids"
    count = raw.get("num_labels")
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        return [f"LABEL_{i}" for i in range(count)], ""
    return None, (
        f"model {name!r}: its config.json names no labels (id2label, num_labels); they are "
        "checked when it loads"
    )
