"""scikit-learn estimators saved with skops (`.skops`) or joblib/pickle, as black-box models.

skops files load without running code; types skops does not trust by default must be listed in the
spec's `trusted`. joblib/pickle files run code when loaded, so they need `allow_pickle: true`, the
same explicit opt-in as the torch adapter. Outputs come from `predict_proba` (or
`decision_function` when the estimator has no probabilities).
"""

from __future__ import annotations

import functools
import inspect
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.adapters.base import AdapterBase
from harness.adapters.class_labels import declare_names_advice, has_only_ids
from harness.adapters.model_files import checked_sha256, require_file, resolve_path, shown_path
from harness.adapters.score_outputs import OutputKind, to_logits
from harness.core.adapter import Capabilities, InputSpec
from harness.core.errors import (
    MissingDependencyError,
    ModelCallError,
    ModelLoadError,
    ModelOutputError,
    SpecError,
)
from harness.core.model_calls import calling_model
from harness.core.model_code import source_sha256
from harness.core.task import Task
from harness.core.task_columns import TaskColumns


class SklearnConfig(BaseModel):
    """Model spec fields for `adapter: sklearn`."""

    model_config = ConfigDict(extra="forbid")
    path: Path = Field(description=".skops file (safe), or joblib/pickle with allow_pickle")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    allow_pickle: bool = False
    trusted: list[str] = Field(default_factory=list, description="extra types skops may load")
    method: Literal["auto", "predict_proba", "decision_function"] = "auto"
    input_shape: list[int] | None = None
    bounds: tuple[float, float] | None = None  # the inputs it takes; None: the task's
    modality: Literal["tabular", "text"] = Field(
        default="tabular",
        description="tabular: numbers (images flattened); text: a pipeline that takes strings",
    )

    @model_validator(mode="after")
    def _text_takes_no_shape(self) -> SklearnConfig:
        """A text pipeline takes strings: a shape or bounds for it is a mistake that every job
        would fail on, so `harness validate` refuses it."""
        if self.modality == "text":
            for key in ("input_shape", "bounds"):
                if getattr(self, key) is not None:
                    raise ValueError(
                        f"{key} does not apply to modality: text (a text pipeline "
                        f"takes strings); remove {key}"
                    )
        return self


def check_loadable(path: Path, config: SklearnConfig, *, name: str) -> None:
    """Refuse, before anything is loaded, a file that `load_estimator` would refuse: a .skops
    file that is no skops archive or holds types neither skops nor the spec's `trusted:` trusts
    (read from its schema: no code runs), or a joblib/pickle file without `allow_pickle`."""
    if path.suffix == ".skops":
        sio = _skops()
        if not zipfile.is_zipfile(path):
            raise ModelLoadError(
                f"model {name!r}: {path} is not a skops file (not a zip archive; a pickle renamed "
                "to .skops?); save the estimator with skops.io.dump"
            )
        try:
            types = sio.get_untrusted_types(file=path)
        except Exception as err:  # skops parsing a damaged archive: any error means "not skops"
            raise _not_skops(path, name, err) from err
        untrusted = [t for t in types if t not in config.trusted]
        if untrusted:
            raise ModelLoadError(
                f"model {name!r}: {path.name} holds types skops does not trust: {untrusted[:5]}; "
                "list them under `trusted:` in the model spec if you trust this file"
            )
    elif not config.allow_pickle:
        raise ModelLoadError(
            f"model {name!r}: {path} is a joblib/pickle file, and loading a pickle can run "
            "arbitrary code; save the estimator with skops (.skops), or set allow_pickle: true "
            "if you trust the file"
        )


def _skops() -> Any:
    try:
        import skops.io as sio  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError("skops", "sklearn", "loading .skops models") from None
    return sio


def load_estimator(path: Path, config: SklearnConfig, *, name: str) -> tuple[Any, str]:
    """(estimator, format): skops without code execution, else pickle only on opt-in."""
    check_loadable(path, config, name=name)
    if path.suffix == ".skops":
        try:
            return _skops().load(path, trusted=config.trusted or None), "skops"
        except Exception as err:  # as in check_loadable: a damaged or hand-made archive
            raise _not_skops(path, name, err) from err
    import joblib  # type: ignore[import-untyped]

    try:
        with calling_model(name, f"the unpickling of {path} (allow_pickle: true)"):
            return joblib.load(path), "joblib"
    except ModelCallError as err:
        raise ModelLoadError(str(err)) from err


def _text_spec() -> InputSpec:
    """A pipeline that takes the texts themselves (a vectoriser first)."""
    return InputSpec(shape=None, dtype="str", bounds=None, modality="text")


def is_estimator(model: Any) -> bool:
    """Whether `model` looks like a scikit-learn classifier (fitted or not): it has `fit` and
    `predict_proba` or `decision_function` (pipelines and xgboost/lightgbm wrappers too)."""
    scores = ("predict_proba", "decision_function")
    return callable(getattr(model, "fit", None)) and any(
        callable(getattr(model, m, None)) for m in scores
    )


def _checked_estimator(
    estimator: Any, method: str, *, name: str
) -> tuple[str, int, list[str] | None]:
    """(the scoring method, the number of classes, the class names when `classes_` are
    strings) of a fitted classifier whose classes are the task's integer ids 0..k-1 or names
    (matched to the task's `class_names` in `check_task`), or one line saying what is
    wrong."""
    if method == "auto":
        method = "predict_proba" if hasattr(estimator, "predict_proba") else "decision_function"
    if not callable(getattr(estimator, method, None)):
        raise ModelLoadError(
            f"model {name!r}: {type(estimator).__name__} has no {method}(); "
            "use a fitted classifier with predict_proba or decision_function"
        )
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise ModelLoadError(
            f"model {name!r}: {type(estimator).__name__} is not fitted (no classes_); fit it first"
        )
    classes = np.asarray(classes)
    if method == "decision_function" and len(classes) > 2:
        _not_one_vs_one(estimator, name=name)
    if classes.dtype.kind in "OUS" and all(isinstance(c, str) for c in classes.tolist()):
        named = [str(c) for c in classes.tolist()]
        if len(set(named)) == len(named):
            return method, len(named), named
    # ids 0..k-1 stored as floats (fitted on a pandas Int64 column or float labels) are the ids
    if classes.dtype.kind not in "iuf" or not np.array_equal(classes, np.arange(len(classes))):
        raise ModelLoadError(
            f"model {name!r}: estimator classes_ {classes.tolist()[:10]} must be the integer "
            "class ids 0..k-1 of the task, or its class names; refit with the task's labels"
        )
    return method, len(classes), None


def _not_one_vs_one(estimator: Any, *, name: str) -> None:
    """Refuse a multiclass SVC / NuSVC (alone or last in a Pipeline) whose decision function
    scores class pairs (`decision_function_shape='ovo'`: 0v1, 0v2, 1v2, ...), not classes: on
    three classes the pairs fit the (n, 3) shape and were read as class scores (iris 0.187 for
    a 0.973 model)."""
    final = getattr(estimator, "_final_estimator", estimator)  # a Pipeline's last step
    final = getattr(final, "best_estimator_", final)  # a fitted search's best model
    if getattr(final, "decision_function_shape", None) == "ovo":
        raise ModelLoadError(
            f"model {name!r}: {type(final).__name__} has decision_function_shape='ovo', whose "
            "decision_function scores pairs of classes, not classes; refit it with "
            "decision_function_shape='ovr' (the default) or probability=True"
        )


def _listed(names: list[str], most: int = 8) -> str:
    shown = ", ".join(repr(name) for name in names[:most])
    return f"[{shown}{', ...' if len(names) > most else ''}]"


def _not_skops(path: Path, name: str, err: Exception) -> ModelLoadError:
    cause = (str(err).strip().splitlines() or [""])[0][:200]
    return ModelLoadError(
        f"model {name!r}: {path} is not a readable skops file ({type(err).__name__}: {cause}); "
        "it is damaged or was not written by skops.io.dump"
    )


def _parts(estimator: Any) -> list[Any]:
    """`estimator` and its parts (a pipeline's steps and their parameters, at any depth); the
    estimator alone when it has no scikit-learn `get_params`."""
    try:
        return [estimator, *estimator.get_params(deep=True).values()]
    except Exception:  # not a scikit-learn estimator's get_params
        return [estimator]


def _trusted_code(estimator: Any, trusted: list[str]) -> list[Any]:
    """The classes of `estimator` and its parts (a pipeline's steps, at any depth), and the
    functions and classes given as their parameters (a FunctionTransformer's `func`, also inside
    a functools.partial), that the spec's `trusted:` names (`module.QualName`, as skops names
    them): their code runs."""
    named = set(trusted)
    found: dict[str, Any] = {}
    for part in _parts(estimator):
        inner = part
        while isinstance(inner, functools.partial):  # skops lists the partial and its func
            inner = inner.func
        given = [inner] if inspect.isfunction(inner) or inspect.isclass(inner) else []
        for obj in (type(part), *given):
            name = f"{obj.__module__}.{obj.__qualname__}"
            if name in named:
                found[name] = obj
    return [found[name] for name in sorted(found)]


def selects_by_name(estimator: Any) -> bool:
    """Whether a ColumnTransformer in `estimator` (itself, or a step at any depth) picks its
    columns by name or by a selector: such a model takes a DataFrame of its own columns only."""
    for part in _parts(estimator):
        if type(part).__name__ != "ColumnTransformer":
            continue
        for item in getattr(part, "transformers", None) or []:
            columns = item[2] if isinstance(item, tuple) and len(item) == 3 else None
            if isinstance(columns, str) or callable(columns):
                return True
            # names as any array-like (a list, a numpy array, a pandas Index), as sklearn takes
            if isinstance(columns, list | tuple | np.ndarray | pd.Index | pd.Series) and any(
                isinstance(c, str) for c in columns
            ):
                return True
    return False


def parallel_params(estimator: Any) -> list[str]:
    """The estimator's `n_jobs` parameters (a pipeline's steps' too: `step__n_jobs`) that ask
    for parallel work (not None or 1)."""
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # not a scikit-learn estimator's get_params
        return []
    return [
        key
        for key, value in params.items()
        if (key == "n_jobs" or key.endswith("__n_jobs")) and value not in (None, 1)
    ]


class SklearnAdapter(AdapterBase):
    """A fitted scikit-learn classifier: black-box, batched, CPU."""

    kind: ClassVar[str] = "sklearn"
    model_file_keys: ClassVar[tuple[str, ...]] = ("path",)
    config_model: ClassVar[type[BaseModel]] = SklearnConfig

    def __init__(
        self,
        name: str,
        estimator: Any,
        *,
        method: str,
        device: torch.device,
        input_spec: InputSpec,
        description: dict[str, Any],
    ) -> None:
        super().__init__(
            name,
            device=device,
            input_spec=input_spec,
            capabilities=Capabilities(
                gradients=False,
                batching=True,
                devices=("cpu",),
                probabilities=method == "predict_proba",
            ),
            description=description,
        )
        self._estimator = estimator
        self._method = method
        # `n_jobs` set to run in parallel: it follows the job's thread count (`_follow_threads`)
        self._parallel = parallel_params(estimator)
        self._jobs: int | None = None
        # the estimator's output column of each task class, when its classes_ are names
        self._order: np.ndarray | None = None
        # the columns it was fitted on (`feature_names_in_`), when the task names them alike:
        # its inputs go in as a DataFrame of them (`_check_column_order`)
        self._columns: list[str] | None = None

    @classmethod
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        return False  # an estimator: no autograd

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> SklearnAdapter:
        assert isinstance(config, SklearnConfig)
        path = require_file(resolve_path(config.path, base_dir), model=name)
        digest = checked_sha256(path, expected=config.sha256, model=name)
        estimator, fmt = load_estimator(path, config, name=name)
        method, classes, class_names = _checked_estimator(estimator, config.method, name=name)
        description: dict[str, Any] = {
            "adapter": cls.kind,
            "format": fmt,
            "path": shown_path(path, base_dir),
            "sha256": digest,
            "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            "method": method,
            "classes": classes,
        }
        if class_names is not None:  # matched to the task's class names by name
            description["class_names"] = class_names
        if fmt == "skops" and config.trusted:
            code = source_sha256(_trusted_code(estimator, config.trusted))
            if code is not None:  # the trusted types' code runs: an edit to it misses the cache
                description["source_sha256"] = code
        if config.modality == "text":
            description["modality"] = "text"
            if config.input_shape or config.bounds:
                key = "input_shape" if config.input_shape else "bounds"
                raise ModelLoadError(f"model {name!r}: {key} does not apply to modality: text")
            spec = _text_spec()
        else:
            spec = InputSpec(
                shape=tuple(config.input_shape) if config.input_shape else None,
                bounds=config.bounds,
                modality="tabular",
            )
        return cls(
            name, estimator, method=method, device=device, input_spec=spec, description=description
        )

    @classmethod
    def from_estimator(cls, estimator: Any, *, name: str, text: bool = False) -> SklearnAdapter:
        """Wrap a fitted classifier held in memory (Python API; `text`: a pipeline that takes
        strings, for a text task). Its identity is joblib's hash of the estimator (its pickle,
        sets and dicts in canonical order): the same fitted state, the same id in any process;
        a refit that moves any coefficient, a new one."""
        method, classes, class_names = _checked_estimator(estimator, "auto", name=name)
        import joblib

        try:
            # joblib's hash pickles with sets and dicts in a canonical order: a plain pickle of
            # a set of strings follows the process's string hashing, so the same fitted state
            # read in two processes would save under two ids
            digest = joblib.hash(estimator, hash_name="sha1")
        except Exception as err:  # a lambda in a FunctionTransformer, an open handle, ...
            raise ModelLoadError(
                f"model {name!r}: the {type(estimator).__name__} cannot be pickled "
                f"({type(err).__name__}: {str(err)[:120]}), so results cannot be told apart "
                "from another fit's; save it with skops and pass {'adapter': 'sklearn', "
                "'path': ...}"
            ) from None
        description = {
            "adapter": cls.kind,
            "format": "memory",
            "estimator_sha1": digest,  # joblib.hash of the fitted estimator
            "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            "method": method,
            "classes": classes,
        }
        if class_names is not None:  # matched to the task's class names by name
            description["class_names"] = class_names
        if text:
            description["modality"] = "text"
        spec = _text_spec() if text else InputSpec(shape=None, bounds=None, modality="tabular")
        return cls(
            name,
            estimator,
            method=method,
            device=torch.device("cpu"),
            input_spec=spec,
            description=description,
        )

    @classmethod
    def code_uses(cls, config: BaseModel) -> list[str]:
        """A joblib/pickle file runs whatever it holds when loaded (allow_pickle: true); a .skops
        file runs the code of the types its `trusted:` lists."""
        assert isinstance(config, SklearnConfig)
        if config.allow_pickle and config.path.suffix != ".skops":
            return [f"pickle {config.path} is unpickled (allow_pickle: true runs what it holds)"]
        if config.trusted and config.path.suffix == ".skops":  # their modules are imported
            return [
                f"skops file {config.path} loads the trusted types {config.trusted} (their "
                "modules are imported and their methods run)"
            ]
        return []

    @classmethod
    def check_task_columns(
        cls, config: BaseModel, *, name: str, base_dir: Path, tasks: Mapping[str, TaskColumns]
    ) -> list[str]:
        """Before any job (`harness validate`, and `harness run` with the same line): a model
        file every job would refuse to load (`check_loadable`). A missing file is left to the
        job, which names it."""
        assert isinstance(config, SklearnConfig)
        path = resolve_path(config.path, base_dir)
        if path.is_file():
            try:
                check_loadable(path, config, name=name)
            except ModelLoadError as err:
                raise SpecError(str(err)) from None
        return []

    def check_task(self, task: Task) -> None:
        text = self.input_spec.modality == "text"
        if text != (task.modality == "text"):
            raise ModelOutputError(
                f"model {self.name!r} takes texts; task {task.name!r} is {task.modality}"
                if text
                else f"model {self.name!r} takes numbers; task {task.name!r} is text: set "
                "modality: text for a pipeline that takes the strings (a vectoriser first)"
            )
        named = self._description.get("class_names")
        if named is not None:
            self._order = self._name_order(list(named), task)
        k = self._description["classes"]
        if k != task.num_classes:
            raise ModelOutputError(
                f"model {self.name!r} knows {k} classes but task {task.name!r} has {task.num_classes}"
            )
        if not text:
            self._check_column_order(task)

    def _name_order(self, named: list[str], task: Task) -> np.ndarray:
        """The estimator's output column of each of the task's classes, matched by name (its
        string `classes_` are sorted; the task's class names may come in any order); one line
        naming the names that differ when they are not the same set."""
        theirs = [str(c) for c in task.class_names]
        if sorted(named) != sorted(theirs):
            extra = [c for c in named if c not in theirs]
            missing = [c for c in theirs if c not in named]
            parts = []
            if extra:
                parts.append(f"not a class of the task: {', '.join(map(repr, extra[:5]))}")
            if missing:
                parts.append(f"unknown to the model: {', '.join(map(repr, missing[:5]))}")
            todo = "fit the model on the task's class names or its class ids 0..k-1"
            if has_only_ids(theirs):
                todo = declare_names_advice("fit the model on the class ids")
            raise ModelOutputError(
                f"model {self.name!r} knows the classes {_listed(named)} but task "
                f"{task.name!r} names its classes {_listed(theirs)} ({'; '.join(parts)}); {todo}"
            )
        column = {c: i for i, c in enumerate(named)}
        return np.array([column[c] for c in theirs], dtype=np.int64)

    def _check_column_order(self, task: Task) -> None:
        """An estimator fitted on a DataFrame knows its columns (`feature_names_in_`), but it
        gets arrays here: a task naming the same columns in another order would reach it
        shuffled and score as a broken model (iris: 0.02 for 0.96), without a word. A task that
        names them alike, in that order, gives it a DataFrame of them (`logits`)."""
        self._columns = None
        fitted = getattr(self._estimator, "feature_names_in_", None)
        if fitted is None or task.feature_names is None:
            return
        ours = [str(name) for name in fitted]
        theirs = [str(name) for name in task.feature_names]
        known, given = set(ours), set(theirs)
        # more or fewer columns, or names of its own beside others (one swapped for another),
        # or none of its names where it picks columns by name (it takes nothing but a frame)
        if (
            (theirs and len(ours) != len(theirs))
            or (known & given and known != given)
            or (theirs and known != given and selects_by_name(self._estimator))
        ):
            self._refuse_other_columns(ours, theirs, task)
        position = {name: i for i, name in enumerate(theirs)}
        if all(position.get(name, i) == i for i, name in enumerate(ours)):
            if ours == theirs:
                self._columns = ours
            return
        raise ModelOutputError(
            f"model {self.name!r} was fitted on the columns {_listed(ours)} in that order, but "
            f"task {task.name!r} gives them as {_listed(theirs)}; list the task's "
            "feature_columns in the model's order"
        )

    def _refuse_other_columns(self, ours: list[str], theirs: list[str], task: Task) -> None:
        """A task giving more or fewer features than the columns the estimator was fitted on
        (a second label column among the default features, a raw text column the task
        one-hot encodes) would fail inside its first batch with sklearn's counts alone; one
        giving as many, some of them other columns, would run on the wrong columns without a
        word (sklearn refuses both on a frame). Name the ones that differ."""
        known, given = set(ours), set(theirs)
        extra = [name for name in theirs if name not in known]
        missing = [name for name in ours if name not in given]
        parts = []
        if extra:
            verb = "is" if len(extra) == 1 else "are"
            parts.append(f"{_listed(extra)} {verb} not one of the model's columns")
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            parts.append(f"the model's {_listed(missing)} {verb} not one of the task's")
        todo = (
            "list the task's feature_columns as the model's columns (by default they are every "
            "column but the label, id and group columns)"
        )
        columns_of = {name: [t for t in extra if t.startswith(f"{name}=")] for name in missing}
        encoded = {name: cols for name, cols in columns_of.items() if cols}
        # pandas' get_dummies names the task's one-hot `color=a` `color_a`
        renamed = [
            (m, t) for t in extra for m in missing if "=" in t and m == t.replace("=", "_", 1)
        ]
        if renamed:
            m, t = renamed[0]
            todo = (
                f"the model's columns name the task's one-hot columns as pandas get_dummies does "
                f"({m!r} for the task's {t!r}): fit it on columns named as the task's "
                "(pd.get_dummies(..., prefix_sep='='))"
            )
        elif encoded:
            shown = "; ".join(
                f"the task encodes {name!r} ({', '.join(cols[:4])}{', ...' if len(cols) > 4 else ''})"
                for name, cols in encoded.items()
            )
            todo = (
                f"{shown}, and a model gets the task's numbers, not the raw column: fit it on "
                "the task's encoded columns"
            )
        said = (
            f"model {self.name!r} was fitted on {len(ours)} columns but task {task.name!r} gives "
            f"{len(theirs)} features"
            if len(ours) != len(theirs)
            else f"model {self.name!r} and task {task.name!r} name different columns "
            f"({len(ours)} each)"
        )
        raise ModelOutputError(f"{said}: {'; '.join(parts)}; {todo}")

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        x: Any
        self._follow_threads()
        if self.input_spec.modality == "text":
            if not isinstance(inputs, list):
                raise TypeError(f"model {self.name!r} takes texts, got {type(inputs).__name__}")
            x = list(inputs)
        else:
            batch = self.tensor_inputs(inputs)
            x = batch.detach().cpu().reshape(len(batch), -1).numpy()
            if self._columns is not None:
                # what it was fitted on: a ColumnTransformer selecting columns by name takes
                # nothing else ("Specifying the columns using strings is only supported for
                # dataframes"); the same numbers for every other estimator
                x = pd.DataFrame(x, columns=self._columns, copy=False)
        raw = getattr(self._estimator, self._method)(x)
        if self._order is not None:
            raw = self._in_task_order(np.asarray(raw))
        kind: OutputKind = "probabilities" if self._method == "predict_proba" else "decision"
        return self.on_device(to_logits(raw, outputs=kind, n=len(x), model=self.name))

    def _follow_threads(self) -> None:
        """Run a parallel estimator (`n_jobs=-1`, at any depth of a pipeline) with the job's
        thread count (torch's intra-op threads: `harness run`'s choice, the throughput suite's
        cpu_threads): threadpoolctl does not reach joblib's workers, so a forest saved with
        n_jobs=-1 predicted on every core beside a job given one thread."""
        want = torch.get_num_threads()
        if self._parallel and want != self._jobs:
            try:
                self._estimator.set_params(**dict.fromkeys(self._parallel, want))
            except (ValueError, TypeError):  # a wrapper that lists n_jobs but cannot set it
                self._parallel = []
            self._jobs = want

    def _in_task_order(self, raw: np.ndarray) -> np.ndarray:
        """Scores of string-named classes in the task's class order: columns reordered; a
        binary decision function (one score, for the second class) negated when the task
        names the classes the other way round."""
        assert self._order is not None
        if raw.ndim == 2 and raw.shape[1] == len(self._order):
            return raw[:, self._order]
        if raw.ndim == 1 and self._order.tolist() == [1, 0]:
            return -raw
        return raw
