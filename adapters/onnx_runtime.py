"""ONNX Runtime adapter: `.onnx` files as black-box models (CPU, or CUDA when available).

Before a session is created the graph is read without its weights: initializers stored as
external data must stay inside the model's folder (no absolute paths, no `..`). A graph whose
opset the installed runtime cannot run is refused with the opset named. The input name and static
per-sample shape are checked against the spec and against every batch, with errors naming both sides.

Which output holds the scores: `output: <name>` in the spec, else the only output, else the one
score output (a float tensor or a ZipMap `seq(map)`; integer outputs are predicted labels, which
skl2onnx puts first), preferring one named like `prob`. What it holds: `outputs: auto` (the
default) reads probabilities from a ZipMap, an output named like `prob` (skl2onnx's
`output_probability` / `probabilities`) or one the graph computes with a final Softmax (a network
exported with its softmax), and logits otherwise; `logits` or `probabilities` say so, and
`binary_logit` reads one logit per input (shape (N,) or (N, 1)) as the pair (0, z). A graph
ending in a Sigmoid (per-class scores) is refused under `auto`; a classifier node's class labels
(skl2onnx's `classes_`) must be the task's class ids, or its class names in any order (the
columns are then put in the task's order by name).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.adapters.base import AdapterBase
from harness.adapters.class_labels import declare_names_advice, has_only_ids
from harness.adapters.model_files import checked_sha256, require_file, resolve_path, shown_path
from harness.adapters.score_outputs import to_logits
from harness.core.adapter import Capabilities, Features, FeaturesUnavailable, InputSpec
from harness.core.errors import (
    ConfigError,
    DeviceError,
    MissingDependencyError,
    ModelCallError,
    ModelLoadError,
    ModelOutputError,
    SpecError,
)
from harness.core.task import Task
from harness.core.task_columns import TaskColumns

log = logging.getLogger(__name__)


class OnnxConfig(BaseModel):
    """Model spec fields for `adapter: onnx`."""

    model_config = ConfigDict(extra="forbid")
    path: Path = Field(description=".onnx file")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    input_name: str | None = Field(default=None, description="graph input to feed (checked)")
    input_shape: list[int] | None = None
    bounds: tuple[float, float] | None = None  # the inputs it takes; None: the task's
    modality: Literal["image", "tabular"] = "image"
    output: str | None = Field(default=None, description="graph output with the scores (checked)")
    outputs: Literal["auto", "logits", "probabilities", "binary_logit"] = "auto"
    features_output: str | None = Field(
        default=None, description="graph output with the penultimate features (OOD detectors)"
    )
    threads: int | None = Field(default=None, ge=1, le=1024, description="intra-op threads")


def _import(feature: str) -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as err:
        raise MissingDependencyError(err.name or "onnxruntime", "onnx", feature) from None
    return onnx, onnxruntime


def external_data_files(graph_model: Any, folder: Path, *, name: str) -> list[Path]:
    """Files the model's external-data initializers point at; refuse any outside `folder`."""
    from onnx.external_data_helper import _get_all_tensors, uses_external_data

    files: list[Path] = []
    root = folder.resolve()
    for tensor in _get_all_tensors(graph_model):
        if not uses_external_data(tensor):
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        location = entries.get("location", "")
        rel = PurePosixPath(location.replace("\\", "/"))
        target = (folder / location).resolve()
        if (
            not location
            or rel.is_absolute()
            or ".." in rel.parts
            or not target.is_relative_to(root)
        ):
            raise ModelLoadError(
                f"model {name!r}: initializer {tensor.name!r} stores its data at {location!r}, "
                f"outside the model's folder {folder}; refusing to read it"
            )
        if target not in files:
            files.append(target)
    return files


def graph_opset(graph_model: Any) -> int:
    """The graph's default-domain (ai.onnx) opset version."""
    return max(
        (o.version for o in graph_model.opset_import if o.domain in ("", "ai.onnx")), default=0
    )


def read_graph(onnx: Any, path: Path, *, name: str) -> Any:
    """The graph without its weights (external data is checked before anything reads it)."""
    try:
        graph_model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises DecodeError / ValueError for a corrupt file
        raise ModelLoadError(f"model {name!r}: {path} is not a readable ONNX model: {err}") from err
    if not graph_model.HasField("graph"):  # an empty file decodes as an empty ModelProto
        raise ModelLoadError(
            f"model {name!r}: {path} holds no ONNX graph ({path.stat().st_size} bytes): not an "
            "ONNX model, or one whose writing was cut short; export it again"
        )
    return graph_model


def open_session(
    ort: Any, path: Path, *, name: str, device: torch.device, threads: int | None, opset: int
) -> Any:
    """An InferenceSession on `device`; a runtime that cannot run the graph is named with why."""
    providers = ["CPUExecutionProvider"]
    if device.type == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise DeviceError(
                f"model {name!r}: device cuda asked for, but this onnxruntime has no "
                "CUDAExecutionProvider; install onnxruntime-gpu or run with --device cpu"
            )
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    options = ort.SessionOptions()
    # fatal only: a node's failure is raised (and said in one line, `runtime_failure`), so
    # the runtime's own error log would print it again, with its C++ source path, on stderr
    options.log_severity_level = 4
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph/NotImplemented
        if "ValidateOpsetForDomain" in str(err) or "opset" in str(err).lower():
            raise ModelLoadError(
                f"model {name!r}: {path.name} uses ONNX opset {opset}, which the installed "
                f"onnxruntime {ort.__version__} cannot run; re-export it with a lower opset "
                "(torch.onnx.export(..., opset_version=...)) or upgrade onnxruntime"
            ) from err
        raise ModelLoadError(
            f"model {name!r}: onnxruntime {ort.__version__} cannot run {path.name} "
            f"(opset {opset}): {str(err).splitlines()[0][:300]}"
        ) from err


def chosen_input(session: Any, config: OnnxConfig, *, name: str, path: Path) -> Any:
    """The graph input that takes the task's samples: `input_name`, or the only input."""
    inputs = session.get_inputs()
    names = [i.name for i in inputs]
    if config.input_name is not None and config.input_name not in names:
        raise ModelLoadError(not_in_graph(name, "input_name", config.input_name, names, path))
    if config.input_name is None and len(inputs) != 1:
        raise ModelLoadError(
            f"model {name!r}: {path.name} has inputs {names}; set input_name to the one "
            "that takes the task's samples"
        )
    chosen = next(i for i in inputs if i.name == (config.input_name or names[0]))
    if config.input_shape is not None:
        _check_shape(
            list(chosen.shape),
            tuple(config.input_shape),
            name=name,
            input_name=chosen.name,
            what="input_shape",
        )
    return chosen


# graph input element types the harness feeds (task samples are real numbers), as numpy dtypes
INPUT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
}


def input_dtype(chosen: Any, *, name: str, path: Path) -> Any:
    """The numpy dtype to feed the chosen input (a float16 export takes float16 arrays); an
    integer, boolean or bfloat16 input is refused: casting real-valued samples to it would
    change them (images in [0, 1] read as bytes, say)."""
    kind = str(chosen.type)
    if kind not in INPUT_TYPES:
        raise ModelLoadError(
            f"model {name!r}: ONNX input {chosen.name!r} of {path.name} takes {kind}; the "
            "harness feeds the task's real-valued samples to a float, float16 or double input: "
            "export the model with one"
        )
    return INPUT_TYPES[kind]


def _is_score(output: Any) -> bool:
    """A float tensor or a ZipMap (sequence of class -> probability maps); not integer labels."""
    kind = str(output.type)
    return kind.startswith("seq(map(") or kind in ("tensor(float)", "tensor(double)")


# operations that pass a tensor's values through unchanged (or only reshape or cast them), and
# Clip: probabilities clamped away from 0 before a log (softmax(x).clamp(1e-6, 1)) are still
# the network's probabilities (read as logits, their ECE was 0.757 for a 0.02 model)
_PASS_THROUGH = frozenset(
    {"Identity", "Cast", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Clip"}
)


def final_op(graph_model: Any, output: str) -> str | None:
    """The operation that computes `output`, looking through value-preserving operations such
    as Identity, Cast or Reshape (None: a graph input, or a loop). A final Softmax is a network
    exported with its softmax (probabilities, whatever the output is called); a final Sigmoid
    gives independent per-class scores, as a multi-label head does."""
    producers = {out: node for node in graph_model.graph.node for out in node.output}
    seen: set[str] = set()
    while output in producers and output not in seen:
        seen.add(output)
        node = producers[output]
        if node.op_type not in _PASS_THROUGH or not node.input:
            return str(node.op_type)
        output = node.input[0]
    return None


# attributes with which ai.onnx.ml classifiers (LinearClassifier, SVMClassifier,
# TreeEnsembleClassifier, ZipMap...) name the classes of their score columns, in column order
_CLASS_LABEL_ATTRIBUTES = ("classlabels_strings", "classlabels_ints", "classlabels_int64s")


def classifier_labels(graph_model: Any) -> list[tuple[str, list[int | str]]]:
    """(operator, labels) for each node of the graph that names its score columns' classes: a
    scikit-learn estimator converted by skl2onnx carries its `classes_` there, in column order."""
    from onnx import helper

    found: list[tuple[str, list[int | str]]] = []
    for node in graph_model.graph.node:
        for attribute in node.attribute:
            if attribute.name not in _CLASS_LABEL_ATTRIBUTES:
                continue
            values = helper.get_attribute_value(attribute)
            labels = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else int(v) for v in values
            ]
            if labels:
                found.append((node.op_type, labels))
    return found


def check_class_labels(
    labels: list[tuple[str, list[int | str]]], task: Task, *, name: str, path: str
) -> list[str] | None:
    """The graph's text class labels in score-column order, when its classifier names its
    columns by the task's class names (in any order: `OnnxRuntimeAdapter` puts the columns in
    the task's order by name, as the sklearn adapter does with string `classes_`); None for
    integer labels or none. Refused: integer labels other than the class ids 0..k-1, text
    labels that are not the task's class names. A scikit-learn model fitted on text labels
    orders its columns by sorting them (`classes_`), so `[high, low]` beside a task's `[low,
    high]` was read as the other class each, silently (a 0.91 model scored 0.065)."""
    text: list[str] | None = None
    for op, given in labels:
        shown = given[:10]
        if all(isinstance(v, int) for v in given):
            if given != list(range(len(given))):
                raise ModelOutputError(
                    f"model {name!r}: the ONNX graph {path} ({op}) labels its score columns "
                    f"{shown}, not the class ids 0..k-1 of task {task.name!r}; convert the "
                    "estimator fitted on the task's integer labels"
                )
            continue
        classes = list(task.class_names)
        named = [str(v) for v in given]
        if sorted(named) == sorted(classes) and len(set(named)) == len(named):
            text = named if text is None else text
            continue
        todo = (
            "convert the estimator fitted on the task's class names or its integer labels "
            "(0..k-1 in the task's class order)"
        )
        if has_only_ids(classes):
            todo = declare_names_advice("convert the estimator fitted on the class ids")
        raise ModelOutputError(
            f"model {name!r}: the ONNX graph {path} ({op}) labels its score columns {shown}, "
            f"not the task's class names {classes[:10]} (task {task.name!r}); {todo}"
        )
    return text


def chosen_output(
    session: Any, config: OnnxConfig, *, name: str, path: Path, graph_model: Any = None
) -> tuple[str, str]:
    """(output name, what it holds: logits or probabilities) per the module docstring."""
    outputs = session.get_outputs()
    described = [f"{o.name} ({o.type})" for o in outputs]
    if config.output is not None:
        found = [o for o in outputs if o.name == config.output]
        if not found:
            raise ModelLoadError(
                not_in_graph(
                    name, "output", config.output, described, path, [o.name for o in outputs]
                )
            )
        chosen = found[0]
    elif len(outputs) == 1:
        chosen = outputs[0]
    else:  # the features output is not the scores
        scores = [o for o in outputs if _is_score(o) and o.name != config.features_output]
        named = [o for o in scores if "prob" in o.name.lower()]
        if len(scores) == 1 or len(named) == 1:
            chosen = scores[0] if len(scores) == 1 else named[0]
        else:
            raise ModelLoadError(
                f"model {name!r}: {path.name} has outputs {described}; set `output:` to the one "
                "with the class scores"
            )
    kind = config.outputs
    sigmoid = graph_model is not None and final_op(graph_model, chosen.name) == "Sigmoid"
    if sigmoid and kind == "auto":
        raise ModelLoadError(
            f"model {name!r}: output {chosen.name!r} of {path.name} ends in a Sigmoid: "
            "independent per-class scores (a multi-label head), not one distribution over the "
            "classes, which every suite reads (softmax, NLL, ECE, attack losses); export the "
            "graph without the final Sigmoid (its input is the logits), or set outputs: logits "
            "to read the sigmoid scores as logits anyway"
        )
    if sigmoid and kind == "binary_logit":
        raise ModelLoadError(
            f"model {name!r}: output {chosen.name!r} of {path.name} ends in a Sigmoid: a "
            "probability, which outputs: binary_logit would read as a logit (putting every "
            "input in the second class); export the graph without the final Sigmoid"
        )
    if kind == "auto" and str(chosen.type) in _INTEGER_TYPES and len(chosen.shape or []) == 1:
        # one integer per input: predicted labels, which `outputs: logits` cannot read either
        floats = [o.name for o in outputs if _is_score(o) and o.name != chosen.name]
        todo = f"set output: {floats[0]}" if len(floats) == 1 else f"set output: to one of {floats}"
        if not floats:
            todo = "export the graph with its float class scores as an output (before the ArgMax)"
        raise ModelLoadError(
            f"model {name!r}: output {chosen.name!r} of {path.name} holds one integer per input "
            f"({chosen.type}): predicted labels, not class scores, which every suite reads; "
            f"{todo}"
        )
    if kind == "auto" and str(chosen.type) in _INTEGER_TYPES:
        raise ModelLoadError(
            f"model {name!r}: output {chosen.name!r} of {path.name} holds integers "
            f"({chosen.type}): predicted labels or quantised scores, whose unit no suite knows "
            "(softmax, NLL, ECE would read them as logits); export the graph with its float "
            "scores as the output (before an ArgMax, or after a DequantizeLinear), or set "
            "outputs: logits to read the integers as logits anyway"
        )
    if kind == "auto":
        kind = "probabilities" if probability_reasons(chosen, graph_model) else "logits"
    return chosen.name, kind


# integer element types: labels, or quantised scores without their scale and zero point
_INTEGER_TYPES = frozenset(
    f"tensor({t})"
    for t in ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
)


def probability_reasons(output: Any, graph_model: Any = None) -> list[str]:
    """Why `outputs: auto` reads the session output `output` as probabilities (empty: it reads
    it as logits): a ZipMap, a name holding 'prob', or a final Softmax."""
    why = []
    if str(output.type).startswith("seq(map("):
        why.append("it is a ZipMap")
    if "prob" in output.name.lower():
        why.append("its name holds 'prob'")
    if graph_model is not None and final_op(graph_model, output.name) == "Softmax":
        why.append("it ends in a Softmax")
    return why


def read_as(
    session: Any, config: OnnxConfig, *, output: str, graph_model: Any = None
) -> str | None:
    """Why `outputs: auto` reads `output` as probabilities (`probability_reasons`), for a
    refusal of its rows (None where the spec declared what it holds, or it is read as logits)."""
    found = [o for o in session.get_outputs() if o.name == output]
    if config.outputs != "auto" or not found:
        return None
    why = probability_reasons(found[0], graph_model)
    if not why:
        return None
    return f"output {output!r} is read as probabilities under outputs: auto ({', '.join(why)})"


def zipmap_rows(rows: Any, *, model: str, labels: list[str] | None = None) -> np.ndarray:
    """skl2onnx's ZipMap output (one {class: probability} map per sample) as an array: columns
    in class id order, or in the order of the graph's text `labels` (`check_class_labels`)
    for maps keyed by class names."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return np.asarray(rows)
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    keys = sorted(rows[0], key=str)
    if labels is not None and sorted(map(str, keys)) == sorted(labels):
        keys = list(labels)
    elif keys != list(range(len(keys))):
        raise ModelOutputError(
            f"model {model!r}: the ONNX graph's probability maps are keyed {keys[:10]}, not the "
            "class ids 0..k-1 or the task's class names; convert the estimator fitted on the "
            "task's class names or its integer labels"
        )
    return np.asarray([[r[k] for k in keys] for r in rows], dtype=np.float32)


class OnnxRuntimeAdapter(AdapterBase):
    """An ONNX graph run by ONNX Runtime: black-box (no gradients), batched when dims allow."""

    kind: ClassVar[str] = "onnx"
    config_model: ClassVar[type[BaseModel]] = OnnxConfig
    # where the files are, and how the session runs (`threads`): not part of the identity
    location_keys: ClassVar[tuple[str, ...]] = ("path", "providers", "threads")
    model_file_keys: ClassVar[tuple[str, ...]] = ("path",)

    def __init__(
        self,
        name: str,
        session: Any,
        *,
        device: torch.device,
        input_name: str,
        input_dtype: Any,
        model_shape: list[Any],
        output_name: str,
        outputs: str,
        input_spec: InputSpec,
        description: dict[str, Any],
        features_output: str | None = None,
        class_labels: list[tuple[str, list[int | str]]] | None = None,
        reopen: Callable[..., Any] | None = None,
        session_threads: int | None = None,
        outputs_read_as: str | None = None,
    ) -> None:
        batch_dim = model_shape[0] if model_shape else None
        super().__init__(
            name,
            device=device,
            input_spec=input_spec,
            capabilities=Capabilities(
                gradients=False, batching=not isinstance(batch_dim, int), devices=("cpu", "cuda")
            ),
            description=description,
        )
        self._session = session
        # without `threads:`, the session is reopened whenever the job's thread count (torch's
        # intra-op threads: `harness run`'s choice, the throughput suite's cpu_threads) differs
        self._reopen = reopen
        self._session_threads = session_threads
        self._input_name = input_name
        self._input_dtype = input_dtype
        self._model_shape = model_shape
        self._output_name = output_name
        self._outputs = outputs
        self._outputs_read_as = outputs_read_as  # not in the identity: the numbers are the same
        self._features_output = features_output
        self._class_labels = class_labels or []
        # text class labels (score-column order) and each task class's column, by name
        self._text_labels: list[str] | None = None
        self._order: np.ndarray | None = None

    @classmethod
    def planned_gradients(cls, config: BaseModel) -> bool | None:
        return False  # an ONNX graph: no autograd

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> OnnxRuntimeAdapter:
        assert isinstance(config, OnnxConfig)
        onnx, ort = _import("the onnx adapter")
        path = require_file(resolve_path(config.path, base_dir), model=name)
        digest = checked_sha256(path, expected=config.sha256, model=name)
        graph_model = read_graph(onnx, path, name=name)
        data_files = external_data_files(graph_model, path.parent, name=name)
        opset = graph_opset(graph_model)
        threads = config.threads or torch.get_num_threads()
        session = open_session(ort, path, name=name, device=device, threads=threads, opset=opset)
        reopen = (
            None
            if config.threads
            else functools.partial(open_session, ort, path, name=name, device=device, opset=opset)
        )
        chosen = chosen_input(session, config, name=name, path=path)
        dtype = input_dtype(chosen, name=name, path=path)
        output_name, outputs = chosen_output(
            session, config, name=name, path=path, graph_model=graph_model
        )
        outputs_read_as = read_as(session, config, output=output_name, graph_model=graph_model)
        features_output = _features_output(session, config, name=name, path=path)
        model_shape = list(chosen.shape)
        description = {
            "adapter": cls.kind,
            "path": shown_path(path, base_dir),
            "sha256": digest,
            "files_sha256": {
                p.name: checked_sha256(p, expected=None, model=name) for p in data_files
            },
            "opset": opset,
            "input_name": chosen.name,
            "input_type": str(chosen.type),
            "input_shape": [d if isinstance(d, int) else str(d) for d in model_shape],
            "output": output_name,
            "outputs": outputs,
            "providers": session.get_providers(),
            "onnxruntime": ort.__version__,
        }
        if features_output is not None:
            description["features_output"] = features_output
        if config.threads:  # the session's own count (throughput records it); not identity
            description["threads"] = config.threads
        spec = InputSpec(
            shape=tuple(config.input_shape) if config.input_shape else None,
            bounds=config.bounds,
            modality=config.modality,
        )
        return cls(
            name,
            session,
            device=device,
            input_name=chosen.name,
            input_dtype=dtype,
            model_shape=model_shape,
            output_name=output_name,
            outputs=outputs,
            input_spec=spec,
            description=description,
            features_output=features_output,
            class_labels=classifier_labels(graph_model),
            reopen=reopen,
            session_threads=threads,
            outputs_read_as=outputs_read_as,
        )

    @classmethod
    def check_task_columns(
        cls, config: BaseModel, *, name: str, base_dir: Path, tasks: Mapping[str, TaskColumns]
    ) -> list[str]:
        """Before any job (`harness validate`, and `harness run` with the same line): the
        graph's input shape against each task's per-sample shape, and its score output's fixed
        class count against the task's, where the plan knows them (the job refuses the same:
        `check_task`, the logits' class count). The graph is read without weights from files of
        up to `PLAN_READ_MAX` bytes; a larger one, a missing file or a graph the job would
        refuse for another reason is left to the job."""
        assert isinstance(config, OnnxConfig)
        path = resolve_path(config.path, base_dir)
        shaped = {t: c.input_shape for t, c in tasks.items() if c.input_shape is not None}
        counted = {t: c.num_classes for t, c in tasks.items() if c.num_classes is not None}
        if not path.is_file() or path.stat().st_size > PLAN_READ_MAX:
            return []
        graph = _planned_graph(path)
        if graph is None:
            return []
        _check_planned_names(graph, config, name=name, path=path)
        planned = _planned_input_shape(graph, config.input_name)
        for task, sample_shape in shaped.items():
            if planned is None:
                break
            input_name, dims = planned
            try:
                _check_shape(
                    dims, sample_shape, name=name, input_name=input_name, what=f"task {task!r}"
                )
            except ModelOutputError as err:
                raise SpecError(str(err)) from None
        scores = _planned_score_classes(graph, config)
        for task, classes in counted.items():
            if scores is None:
                break
            output, k = scores
            if k != classes and not (k == 1 and classes == 2):  # (N, 1): the job says more
                raise SpecError(
                    f"model {name!r} outputs {k} classes but task {task!r} has {classes} "
                    f"(output {output!r} of {path.name} has shape [batch, {k}]); evaluate it on "
                    "a task of its classes, or list the tasks the model is for (tasks: [...])"
                )
        return []

    def check_task(self, task: Task) -> None:
        """Refuse a task whose per-sample shape does not fit the graph's input, or whose classes
        the graph's classifier labels otherwise (`check_class_labels`)."""
        _check_shape(
            self._model_shape,
            task.input_shape,
            name=self.name,
            input_name=self._input_name,
            what=f"task {task.name!r}",
        )
        text = check_class_labels(
            self._class_labels, task, name=self.name, path=self._description["path"]
        )
        self._text_labels = text
        if text is not None:
            column = {c: i for i, c in enumerate(text)}
            self._order = np.array([column[str(c)] for c in task.class_names], dtype=np.int64)

    def _live_session(self) -> Any:
        """The session, with the job's intra-op threads unless the spec set `threads:`: ONNX
        Runtime's default pool (every physical core) ran beside a job given one thread, and the
        throughput records said threads=1 (90k against 173k samples/s on a busy 2-core CPU)."""
        want = torch.get_num_threads()
        if self._reopen is not None and want != self._session_threads:
            self._session = self._reopen(threads=want)
            self._session_threads = want
        return self._session

    def _run(self, inputs: torch.Tensor | list[str], names: list[str]) -> list[np.ndarray]:
        """The graph's outputs `names` for a batch (the first the scores, as rows)."""
        inputs = self.tensor_inputs(inputs)
        _check_shape(
            self._model_shape,
            tuple(inputs.shape[1:]),
            name=self.name,
            input_name=self._input_name,
            what="the batch",
        )
        array = inputs.detach().cpu().numpy().astype(self._input_dtype, copy=False)
        if self.capabilities.batching:
            chunks = [self._session_run(names, array)]
        else:
            chunks = self._fixed_batch_chunks(array, names, int(self._model_shape[0]))
        out = np.concatenate(
            [zipmap_rows(c[0], model=self.name, labels=self._text_labels) for c in chunks]
        )
        if self._order is not None and out.ndim == 2 and out.shape[1] == len(self._order):
            out = out[:, self._order]  # the task's class order (text labels matched by name)
        flat = out.ndim == 1 and self._outputs == "binary_logit"  # (batch,): one logit each
        if (out.ndim != 2 and not flat) or out.shape[0] != len(array):
            raise ModelOutputError(
                f"model {self.name!r}: the ONNX graph's output {self._output_name!r} has shape "
                f"{tuple(out.shape)} for {len(array)} samples; expected (batch, classes)"
            )
        rest = [np.concatenate([np.asarray(c[k]) for c in chunks]) for k in range(1, len(names))]
        return [out, *rest]

    def _session_run(self, names: list[str], array: np.ndarray) -> list[Any]:
        """The session's outputs `names` for `array`; a node that fails is one line naming it."""
        try:
            return list(self._live_session().run(names, {self._input_name: array}))
        except Exception as err:
            failure = runtime_failure(err, model=self.name, rows=len(array))
            if failure is None:
                raise
            raise failure from err

    def _fixed_batch_chunks(
        self, array: np.ndarray, names: list[str], step: int
    ) -> list[list[Any]]:
        """A graph with a fixed batch dimension (exported without a dynamic axis), fed in chunks
        of that size; a short last chunk is padded by repeating its last row (a valid input) and
        the padding's outputs are dropped."""
        step = max(1, step)
        chunks: list[list[Any]] = []
        for i in range(0, len(array), step):
            chunk = array[i : i + step]
            short = step - len(chunk)
            if short:
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], short, axis=0)])
            outputs = self._session_run(names, chunk)
            chunks.append([o[: step - short] for o in outputs])  # arrays or ZipMap lists
        return chunks

    def _as_logits(self, out: np.ndarray) -> torch.Tensor:
        if self._outputs == "probabilities":
            return self.on_device(
                to_logits(
                    out,
                    outputs="probabilities",
                    n=len(out),
                    model=self.name,
                    read_as=self._outputs_read_as,
                )
            )
        if self._outputs == "binary_logit":  # one logit per input: the pair (0, z)
            return self.on_device(
                to_logits(out, outputs="binary_logit", n=len(out), model=self.name)
            )
        # a true/false output is refused, and scores past float32's range named, as a
        # callable's are (a cast made booleans 0/1 logits and the job scored them)
        return self.on_device(to_logits(out, outputs="logits", n=len(out), model=self.name))

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        return self._as_logits(self._run(inputs, [self._output_name])[0])

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """Logits and the `features_output` of the same run of the graph (no weight and bias:
        detectors that rebuild logits from features do not apply)."""
        if self._features_output is None:
            raise FeaturesUnavailable(
                "the ONNX model names no `features_output` (the graph output with the "
                "penultimate features)"
            )
        out, feats = self._run(inputs, [self._output_name, self._features_output])
        flat = torch.from_numpy(np.ascontiguousarray(feats, dtype=np.float32))
        return Features(
            logits=self._as_logits(out),
            features=self.on_device(flat.reshape(len(flat), -1)),
            head_note="an ONNX graph's last layer is not read: no weight and bias",
        )


def runtime_failure(err: Exception, *, model: str, rows: int) -> ModelCallError | None:
    """ONNX Runtime's failure of a node on a batch of `rows` samples as one line: the node, its
    operation and the runtime's reason without the C++ source path and function it carries
    (which cut the reason off in the job's line). None for what is not a node's failure (an
    allocation failure among them: left as raised)."""
    text = str(err)
    found = re.search(r"running (\S+) node\. Name:'([^']*)' Status Message: (.*)", text, re.S)
    if found is None or "allocate" in text.lower():
        return None
    op, node, reason = found.groups()
    reason = re.sub(r"^\S+\.(?:h|cc|cpp|cu):\d+ ", "", reason.strip())
    reason = re.sub(r"^[\w:~<>]+\([^)]*\)\s*(?:const\s*)?", "", reason)
    reason = re.sub(r"^.*? was false\. ", "", reason)
    reason = " ".join(reason.split())[:300]
    hint = ""
    if "shape" in reason.lower():
        hint = (
            "; a graph exported with a size fixed inside it (the export example's batch size "
            "in a Reshape) runs at that size only: export it again with a dynamic batch "
            "(x.reshape(len(x), -1), dynamic_axes or dynamic_shapes)"
        )
    return ModelCallError(
        f"model {model!r}: onnxruntime failed running node {node!r} ({op}) on a batch of "
        f"{rows} samples: {reason}{hint}",
        detail=text,
    )


def _features_output(session: Any, config: OnnxConfig, *, name: str, path: Path) -> str | None:
    """`features_output`, checked to be an output of the graph (with the closest names)."""
    wanted = config.features_output
    if wanted is None:
        return None
    names = [o.name for o in session.get_outputs()]
    if wanted not in names:
        raise ConfigError(not_in_graph(name, "features_output", wanted, names, path))
    return wanted


def not_in_graph(
    name: str,
    key: str,
    wanted: str,
    shown: list[str],
    path: Path,
    names: list[str] | None = None,
) -> str:
    """The line refusing `key: wanted` (an input or output name) that the graph of `path` does
    not have: the names it has (`shown`, with their types where known) and the closest ones."""
    import difflib

    what = "input" if key == "input_name" else "output"
    close = difflib.get_close_matches(wanted, names or shown, n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return (
        f"model {name!r}: {key} {wanted!r} is not an {what} of {path.name}; the graph's "
        f"{what}s are {shown}{hint}"
    )


PLAN_READ_MAX = 64 * 2**20  # the plan reads graphs up to this size for their input shape


def _planned_graph(path: Path) -> Any:
    """The graph of `path` without its weights, or None where the job must decide (unreadable)."""
    try:
        import onnx

        return onnx.load(str(path), load_external_data=False).graph
    except Exception:  # an unreadable graph: the job's refusal names what is wrong
        return None


def _check_planned_names(graph: Any, config: OnnxConfig, *, name: str, path: Path) -> None:
    """Refuse an `input_name`, `output` or `features_output` the graph (read without weights)
    lacks, as the job would (`chosen_input`, `chosen_output`, `_features_output`)."""
    weights = {t.name for t in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in weights]
    outputs = [o.name for o in graph.output]
    wanted = [
        ("input_name", config.input_name, inputs),
        ("output", config.output, outputs),
        ("features_output", config.features_output, outputs),
    ]
    for key, value, names in wanted:
        if value is not None and value not in names:
            raise SpecError(not_in_graph(name, key, value, names, path))


def _planned_input_shape(graph: Any, input_name: str | None) -> tuple[str, list[Any]] | None:
    """(name, dims) of the graph input that takes the samples, read from the graph alone: an
    int per fixed dim, the dim's name (or "?") otherwise; None where the job must decide
    (several inputs and no `input_name`, a name it does not have)."""
    weights = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    chosen = [i for i in inputs if i.name == input_name] if input_name else inputs
    if len(chosen) != 1 or not chosen[0].type.HasField("tensor_type"):
        return None
    dims = [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
        for d in chosen[0].type.tensor_type.shape.dim
    ]
    return chosen[0].name, dims


def _planned_score_classes(graph: Any, config: OnnxConfig) -> tuple[str, int] | None:
    """(name, class count) of the score output, read from the graph alone where the job's
    choice is plain (`output:`, or the only output) and its shape is [batch, k] with k fixed;
    None otherwise (several outputs, a ZipMap, `binary_logit`, another shape)."""
    if config.outputs == "binary_logit":
        return None
    outputs = list(graph.output)
    chosen = [o for o in outputs if o.name == config.output] if config.output else outputs
    if len(chosen) != 1 or not chosen[0].type.HasField("tensor_type"):
        return None
    dims = list(chosen[0].type.tensor_type.shape.dim)
    if len(dims) != 2 or not dims[1].HasField("dim_value") or dims[1].dim_value < 1:
        return None
    return chosen[0].name, int(dims[1].dim_value)


def _check_shape(
    model_shape: list[Any], sample_shape: tuple[int, ...], *, name: str, input_name: str, what: str
) -> None:
    per_sample = model_shape[1:]
    fits = len(per_sample) == len(sample_shape) and all(
        not isinstance(m, int) or m == s for m, s in zip(per_sample, sample_shape, strict=True)
    )
    if not fits:
        shown = (
            ["batch" if not isinstance(model_shape[0], int) else model_shape[0], *per_sample]
            if model_shape
            else []
        )
        raise ModelOutputError(
            f"model {name!r}: ONNX input {input_name!r} has shape {shown} but {what} gives "
            f"samples of shape {list(sample_shape)}; export the model for that shape"
        )
