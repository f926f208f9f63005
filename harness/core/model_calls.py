"""Calls into a model's own code: whatever it does, the job fails with one line naming the model.

A model's factory and forward pass are code the harness does not control. When that code raises,
recurses without end, calls `sys.exit`, or returns a tuple, a dict, None, complex numbers or the
wrong number of rows, the job fails with one `ModelCallError` line naming the model and what it
did (its traceback goes to the manifest, not the terminal), and the run goes on to its next job.
The runner wraps every adapter a suite sees in `CheckedAdapter`; adapters check what a forward
returned with `check_forward_output` before converting it.

Model code also runs in its own room: every `logits` call gets its own copy of its inputs (a
model that edits its input in place, `x.mul_(0)`, changes nothing another model, suite or stage
reads: the shift suite hands the same cached batches to every model), and `keeping_process_state`
puts back what model code may change for the whole process (the working directory, autograd's
grad mode, torch's default dtype) once the code has run.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np
import torch

from harness.core import forward_repeats
from harness.core.adapter import (
    DelegatingAdapter,
    Features,
    ModelAdapter,
    Truncation,
    WordVectors,
    check_logits_shape,
)
from harness.core.board_notes import caveat_note
from harness.core.errors import ClassCountError, HarnessError, ModelCallError
from harness.core.signals import signal_received
from harness.core.suite import SuiteResult
from harness.core.task import Task

PROBE_SAMPLES = 2  # inputs of the probe forward (CheckedAdapter.probe)
TRACEBACK_FRAMES = 40  # the innermost frames kept in the manifest (a runaway recursion has 1000)


@contextmanager
def calling_model(model: str, during: str) -> Iterator[None]:
    """Run model code; its failures (other than a HarnessError) become a one-line ModelCallError.

    `during` says what was being done ("its forward pass on task 'digits'"). Every
    BaseException counts, KeyboardInterrupt, SystemExit, GeneratorExit and custom subclasses
    included: a model raising KeyboardInterrupt is still the model. Only a signal this process
    really received (`signal_received`: SIGINT and SIGTERM stop a run,
    harness/run/interrupts.py) passes through, as a KeyboardInterrupt, whatever exception the
    model's code turned it into.
    """
    try:
        yield
    except HarnessError:
        if signal_received():
            raise KeyboardInterrupt(f"a signal arrived during {during}") from None
        raise
    except BaseException as err:
        if signal_received():
            if isinstance(err, KeyboardInterrupt):
                raise
            raise KeyboardInterrupt(f"a signal arrived during {during}") from err
        if isinstance(err, Exception) and out_of_memory(err):
            with contextlib.suppress(AttributeError):  # whose it was, for its one line
                setattr(err, _MODEL_OOM, model)
            raise  # a condition suites handle (throughput's batch-size sweep), not a model bug
        raise model_failure(model, during, err) from err


def out_of_memory(err: BaseException) -> bool:
    """Out of memory on any device: torch's OOM error, MemoryError, or the allocators' message."""
    if isinstance(err, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


class ModelOutOfMemoryError(HarnessError, torch.OutOfMemoryError, MemoryError):
    """A model ran out of memory on its device (`harness.evaluate`'s one line, with what to
    change). Also a `torch.OutOfMemoryError` and a `MemoryError`, so a caller's `except` for the
    error it was still catches it; the original is its `__cause__`."""


_MODEL_OOM = "_harness_model_out_of_memory"  # set on an out-of-memory error model code raised


def out_of_memory_error(
    model: str, suite: str, task: str, batch_size: int, err: BaseException
) -> ModelOutOfMemoryError:
    """The one line of `model` running out of memory in `suite` on `task` (`err`, which
    `out_of_memory` says is one), naming the batch size to lower. One the suite's own code
    raised (not through the model's checked calls: a dataset-sized array of its own, or a
    white-box attack's forward through `module()`) names the suite first, and also the sample
    limit: the batch size may size nothing it allocated."""
    first = (str(err).strip().splitlines() or [""])[0][:200]
    if getattr(err, _MODEL_OOM, None) != model:
        return ModelOutOfMemoryError(
            f"suite {suite!r} ran out of memory on task {task!r} with model {model!r} at "
            f"batch_size={batch_size} ({type(err).__name__}: {first}); pass a smaller "
            "batch_size= or limit=, or a device with more memory"
        )
    return ModelOutOfMemoryError(
        f"model {model!r} ran out of memory in suite {suite!r} on task {task!r} at "
        f"batch_size={batch_size} ({type(err).__name__}: {first}); pass a smaller batch_size= "
        "or a device with more memory"
    )


def model_failure(model: str, during: str, err: BaseException) -> ModelCallError:
    """The one-line failure of model code that raised `err` (any BaseException) during `during`."""
    if isinstance(err, RecursionError):
        return ModelCallError(
            f"model {model!r} recursed without end during {during} (RecursionError); "
            "fix the model's code",
            detail=_trace(err),
        )
    if isinstance(err, SystemExit):
        return ModelCallError(
            f"model {model!r} called sys.exit({err.code!r}) during {during}; a model must "
            "return or raise, not end the process",
            detail=_trace(err),
        )
    if not isinstance(err, Exception):  # KeyboardInterrupt, GeneratorExit, custom subclasses
        return ModelCallError(
            f"model {model!r} raised {type(err).__name__} during {during} (no signal reached "
            f"the process: the model's own code raised it): {_first_line(err)}; a model must "
            "return or raise an Exception",
            detail=_trace(err),
        )
    # the model's own code: its failure is the job's, not a harness bug
    return ModelCallError(
        f"model {model!r} raised {type(err).__name__} during {during}: {_first_line(err)}",
        detail=_trace(err),
    )


def check_forward_output(out: object, *, model: str) -> torch.Tensor:
    """What a forward pass returned, refused unless it is a dense, real-valued tensor of numbers
    that holds its values (one line naming the model; nothing later meets a tensor it cannot
    read).

    Refused: anything but a tensor; complex logits (`.float()` would silently drop the imaginary
    part, and a classifier's scores are real numbers); true/false tensors (no scores to rank);
    sparse, mkldnn and nested tensors; quantized tensors; tensors on the meta device (shapes
    without values).
    """
    if not isinstance(out, torch.Tensor):
        raise ModelCallError(
            f"model {model!r} returned {describe_value(out)} from its forward pass, not a tensor "
            f"of logits; return the (batch, classes) logits tensor{_hint(out)}"
        )
    problem = _tensor_kind(out)
    if problem is not None:
        what, fix = problem
        raise ModelCallError(
            f"model {model!r} returned {what} from its forward pass; return dense real-valued "
            f"(batch, classes) logits{fix}"
        )
    return out


def logits_field(out: object, *, model: str) -> object:
    """The logits tensor a forward pass returned inside a mapping or an object: a transformers
    `ModelOutput`, a dict with key 'logits', a dataclass or any object with a `logits` attribute
    (what `AutoModelForImageClassification` and its kin return). A tensor, or an output with no
    `logits` at all, comes back as it is (`check_forward_output` refuses the latter, naming what
    was found); a `logits` field that holds no tensor (None, a numpy array) is refused in one
    line naming the model."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, Mapping) and "logits" in out:
        found = out["logits"]
    elif hasattr(out, "logits"):  # an object, or a ModelOutput whose logits is None
        found = out.logits
    else:
        return out
    if isinstance(found, torch.Tensor):
        return found
    kind = "a dict" if type(out) is dict else _a(type(out).__name__)
    raise ModelCallError(
        f"model {model!r} returned {kind} whose logits is {describe_value(found)}; its "
        "'logits' field must hold the (batch, classes) logits tensor"
    )


def _tensor_kind(out: torch.Tensor) -> tuple[str, str] | None:
    """(what the tensor is, how to fix it) for a kind of tensor that is not logits; else None."""
    if out.is_nested:
        return "a nested tensor", " (one row per input, the same classes in each)"
    if out.layout != torch.strided:
        layout = str(out.layout).removeprefix("torch.").strip("_")
        return f"a {layout} tensor", " (e.g. .to_dense())"
    dtype = str(out.dtype).removeprefix("torch.")
    if out.is_quantized:
        return f"a quantized tensor ({dtype})", " (e.g. .dequantize())"
    if out.device.type == "meta":
        return "a tensor on the meta device (a shape without values)", ""
    if out.is_complex():
        return f"complex logits ({dtype})", (
            ": class scores are real numbers (e.g. .abs() or .real, if that is what the model "
            "means)"
        )
    if out.dtype == torch.bool:
        return "a bool tensor", ": true/false values are not class scores"
    return None


def describe_value(value: object, *, depth: int = 0) -> str:
    """A short phrase for what a model returned ('a tuple of 2 (tensor (4, 10), ...)')."""
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if isinstance(value, tuple | list):
        kind = type(value).__name__
        if depth or not value:
            return f"a {kind} of {len(value)}"
        items = ", ".join(describe_value(v, depth=1) for v in value[:3])
        more = ", ..." if len(value) > 3 else ""
        return f"a {kind} of {len(value)} ({items}{more})"
    if isinstance(value, Mapping):  # a dict, or a subclass (a transformers ModelOutput)
        keys = [str(k)[:40] for k in list(value)[:5]]
        kind = "a dict" if type(value) is dict else _a(type(value).__name__)
        return f"{kind} with keys {keys}"
    if is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in fields(value)][:5]
        return f"{_a(type(value).__name__)} with fields {names}"
    return f"a {type(value).__name__}"


def _a(name: str) -> str:
    """`name` after its article: 'an ImageClassifierOutput', 'a Scores'."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _hint(value: object) -> str:
    if isinstance(value, tuple | list) and value and isinstance(value[0], torch.Tensor):
        return " (e.g. outputs[0])"
    if isinstance(value, dict) and "logits" in value:
        return " (e.g. outputs['logits'])"
    if hasattr(value, "logits"):
        return " (e.g. outputs.logits)"
    return ""


TORCHSCRIPT_FAILURE = "The following operation failed in the TorchScript interpreter."


def _first_line(err: BaseException) -> str:
    """The error's first line; for a TorchScript program's failure, whose first line is always
    `TORCHSCRIPT_FAILURE` (its code's traceback follows), the reason: its last line."""
    text = str(err).strip()
    lines = text.splitlines()
    line = lines[0] if text else "(no message)"
    if line == TORCHSCRIPT_FAILURE and len(lines) > 1:
        line = f"{lines[-1].strip()} (in the TorchScript program)"
    return line if len(line) <= 300 else line[:297] + "..."


def _trace(err: BaseException) -> str:
    return "".join(traceback.format_exception(err, limit=-TRACEBACK_FRAMES))


def _features_given(task: Task, *, shown: int = 8) -> str:
    """` (which gives 5 features: id, a, b, c, d)` for a table, so a model that fails on the
    width of its input sees what it was given (an id column left among the features, say)."""
    names = task.feature_names
    if task.modality != "tabular" or not names:
        return ""
    listed = ", ".join(names[:shown]) + (
        f", ... ({len(names) - shown} more)" if len(names) > shown else ""
    )
    return f" (which gives {len(names)} features: {listed})"


def private_inputs(inputs: torch.Tensor | list[str]) -> torch.Tensor | list[str]:
    """A copy of a batch that nothing but the model's call will read: a model may write into it
    (in place, through `.data`, through a numpy view) without changing what the caller holds.

    A tensor copy keeps its device, dtype and memory format (a channels-last batch stays so);
    a list of texts is a new list (strings cannot change). Cost: one copy of the batch, about 2%
    of the smallest zoo model's forward pass (benchmarks/bench_model_isolation.py).
    """
    if isinstance(inputs, torch.Tensor):
        return inputs.clone()
    return list(inputs)


@dataclass(frozen=True)
class ProcessState:
    """What model code can change for the whole process and the harness puts back afterwards."""

    cwd: str | None
    grad_enabled: bool
    default_dtype: torch.dtype

    @classmethod
    def now(cls) -> ProcessState:
        try:
            cwd: str | None = os.getcwd()
        except OSError:  # the working directory was deleted: nothing to go back to
            cwd = None
        return cls(cwd, torch.is_grad_enabled(), torch.get_default_dtype())

    def restore(self) -> None:
        if self.cwd is not None:
            with contextlib.suppress(OSError):  # a model deleted it: paths are absolute anyway
                os.chdir(self.cwd)
        torch.set_grad_enabled(self.grad_enabled)
        if torch.get_default_dtype() != self.default_dtype:
            torch.set_default_dtype(self.default_dtype)


@contextmanager
def keeping_process_state() -> Iterator[None]:
    """Run code (a job, a model's build) and put the process state back however it ends: a
    factory or forward that calls `os.chdir`, `torch.set_grad_enabled(False)` or
    `torch.set_default_dtype` changes nothing for the next job."""
    state = ProcessState.now()
    try:
        yield
    finally:
        state.restore()


BINARY_LOOK = 256
"""Samples whose scores `CheckedAdapter` looks at for a `binary_logit` model's note."""


class CheckedAdapter(DelegatingAdapter):
    """An adapter whose every `logits` call is a checked call into model code, on one task.

    `logits` hands the model its own copy of the inputs (`private_inputs`), runs it under
    `calling_model` and refuses outputs that are not a real (batch, num_classes) tensor with one
    row per input; every other member is forwarded. NaN and inf are left to the suites (some
    count them as failures of the model, others refuse them).
    """

    adapter: ModelAdapter

    def __init__(self, adapter: ModelAdapter, task: Task) -> None:
        super().__init__(adapter)
        self.task = task

    @property
    def unavailable_reason(self) -> str | None:  # type: ignore[override]
        return self.adapter.unavailable_reason

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        own = private_inputs(inputs)
        during = (
            f"its forward pass on task {self.task.name!r}{_features_given(self.task)} on a "
            f"batch of {len(inputs)} input{'s' if len(inputs) != 1 else ''}"
        )  # the size: a model that fails on large batches only needs a smaller batch_size
        with calling_model(self.name, during):
            out: Any = self.adapter.logits(own)
        logits = check_forward_output(out, model=self.name)
        self._check_shape(logits, len(inputs))
        return logits

    def _check_shape(self, logits: torch.Tensor, batch: int) -> None:
        try:
            check_logits_shape(
                logits,
                num_classes=self.task.num_classes,
                model=self.name,
                task=self.task.name,
                batch=batch,
            )
        except ClassCountError as err:
            raise with_label_space(err, self.task) from None

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """The model's `features` hook as a checked call on inputs of its own (a copy: nothing
        else reads what the model receives): logits checked as `logits` checks them, and one
        feature row per input (`FeaturesUnavailable` passes through as the reason)."""
        own = inputs.clone() if isinstance(inputs, torch.Tensor) else list(inputs)
        with calling_model(self.name, f"its forward pass with features on task {self.task.name!r}"):
            out: Any = self.adapter.features(own)
        logits = check_forward_output(out.logits, model=self.name)
        self._check_shape(logits, len(inputs))
        feats = check_forward_output(out.features, model=self.name)
        if feats.ndim != 2 or feats.shape[0] != len(inputs):
            raise ModelCallError(
                f"model {self.name!r} returned features of shape {tuple(feats.shape)} for a batch "
                f"of {len(inputs)} inputs on task {self.task.name!r}; expected (batch, d)"
            )
        return out  # type: ignore[no-any-return]

    def probe(self, batch_size: int = PROBE_SAMPLES) -> None:
        """One checked forward on the task's first inputs, before the suite runs (at most
        `batch_size` of them: the run's batch size, so a model that takes one input per call
        runs with `batch_size: 1`).

        Suites that time or attack `module()` call the network directly; the probe makes a model
        that returns the wrong thing (or raises, or exits) fail its job here with one line,
        whichever path the suite takes next. Global RNG state is restored afterwards, so a
        stochastic model's numbers do not move.
        """
        if len(self.task) == 0:
            return
        batch = next(self.task.batches(max(1, min(PROBE_SAMPLES, batch_size))))
        with forward_repeats.kept_global_rngs(self.device), torch.no_grad():  # no graph
            self.logits(batch.inputs)

    def check_task(self, task: Task) -> None:
        self.adapter.check_task(task)

    def count_tokens(self, inputs: list[str]) -> int | None:
        return self.adapter.count_tokens(inputs)

    def truncation(self, inputs: list[str]) -> Truncation | None:
        return self.adapter.truncation(inputs)

    def input_notes(self, batch_size: int = forward_repeats.LOOK) -> list[str]:
        """What the job's notes say about how the model reads the task's inputs and what it
        returns: the texts it truncates (`truncation`), on a text task; the scores of a model
        declared `outputs: binary_logit` that all look like probabilities; outputs that change
        when the same inputs are passed again or beside others (`forward_repeats`, on at most
        `batch_size` inputs: the run's)."""
        if len(self.task) == 0:
            return []
        notes = []
        if self.task.modality == "text":
            texts = [t for batch in self.task.batches(1024) for t in batch.inputs]
            cut = self.adapter.truncation(texts)
            note = cut.note(self.name) if cut is not None else None
            notes += [note] if note else []
        declared = self.adapter.describe().get("outputs") == "binary_logit"
        if declared and self.adapter.unavailable_reason is None:  # a skipped job runs nothing
            notes += self._probability_like_logits()
        if self.adapter.unavailable_reason is None:
            notes += self._unstable_outputs(batch_size)
        return notes

    def _unstable_outputs(self, batch_size: int) -> list[str]:
        """A caveat when the task's first inputs, passed again or beside other inputs at the
        same batch size, get other logits (a randomised or batch-dependent model)."""
        look = max(1, min(forward_repeats.LOOK, batch_size, len(self.task)))
        while True:
            batch = next(self.task.batches(look))
            try:
                repeated, dependent, n = forward_repeats.unstable_rows(
                    self.logits, batch.inputs, self.device
                )
                break
            except ClassCountError:  # the suites that read classes refuse it; throughput times it
                return []
            except Exception as err:
                # out of memory is a result of throughput's sweep, not a failed job: a model
                # that holds 8 inputs lost its measured batch sizes here at 32 (probe86)
                if look == 1 or not out_of_memory(err):
                    raise
                look //= 2
        text = forward_repeats.note_text(self.name, self.task.name, repeated, dependent, n)
        return [caveat_note(text)] if text else []

    def _probability_like_logits(self) -> list[str]:
        """A note when every one logit z of a `binary_logit` model on the task's first
        `BINARY_LOOK` samples lies in [0, 1]: a sigmoid applied inside its forward (which no
        module structure shows) returns such scores, read as logits they put every input in
        the second class. A model whose logits leave [0, 1] is not called out; one this
        uncertain on every sample is rare, and the note only says what to check."""
        batch = next(self.task.batches(min(BINARY_LOOK, len(self.task))))
        # no graph: a trainable module's look would build one for 256 inputs, for nothing
        with forward_repeats.kept_global_rngs(self.device), torch.no_grad():
            pair = self.logits(batch.inputs)
        z = (pair[:, 1] - pair[:, 0]).detach().float().cpu()
        z = z[torch.isfinite(z)]
        if len(z) < 2 or bool(((z < 0) | (z > 1)).any()):
            return []
        return [  # a caveat: the boards repeat it beside the numbers it qualifies
            caveat_note(
                f"every score of model {self.name!r} on the first {len(batch.inputs)} samples "
                f"of task {self.task.name!r} lies in [0, 1], as a probability's does: declared "
                "outputs: binary_logit, its scores are read as logits, and a sigmoid applied "
                "inside its forward would put every input in the second class; return the logit"
            )
        ]

    def word_vectors(self) -> WordVectors | None:
        return self.adapter.word_vectors()


def with_input_notes(
    result: SuiteResult, checked: CheckedAdapter, batch_size: int = forward_repeats.LOOK
) -> SuiteResult:
    """`result` with the notes on how its model read the task's inputs (`input_notes`: the
    texts it truncated), which every suite's job on those inputs carries."""
    return result.with_notes(checked.input_notes(batch_size))


def with_label_space(err: ClassCountError, task: Task) -> ClassCountError:
    """A class-count mismatch that names the task's classes (up to 12) and those no sample of
    the split holds: an empty class folder, or one only the training split holds, adds a class
    the user may not count ("outputs 3 classes but task 't' has 4")."""
    said = f"has {err.expected}; "
    text = str(err)
    if said not in text or not task.class_names or len(task.class_names) != err.expected:
        return err
    names = list(task.class_names)
    shown = ", ".join(names[:12]) + (f", ... ({len(names)} in all)" if len(names) > 12 else "")
    labels = task.data.with_format("arrow")[0 : len(task.data)].column(task.label_column)
    counts = np.bincount(
        np.asarray(labels.to_numpy(zero_copy_only=False), dtype=np.int64).clip(min=0),
        minlength=len(names),
    )
    empty = [names[i] for i in np.flatnonzero(counts[: len(names)] == 0)]
    if empty:
        more = f" and {len(empty) - 3} more" if len(empty) > 3 else ""
        shown += f"; no sample of class {', '.join(empty[:3])}{more} in this split"
    return ClassCountError(
        text.replace(said, f"has {err.expected} ({shown}); ", 1),
        outputs=err.outputs,
        expected=err.expected,
    )
