"""The model adapter contract: how suites see any model (torch, Hugging Face, ONNX, sklearn...).

Normalisation lives inside the adapter, so suites always feed raw inputs within the task's bounds
(a model that declares another box in `input_spec.bounds` is refused by `check_fits_task`) and attacks and corruptions work in input space. Suites read `capabilities` to pick a white-box or
black-box path, or to skip with a stated reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from pydantic import BaseModel

from harness.core.board_notes import TRUNCATION_MARK
from harness.core.errors import ClassCountError, HarnessError, ModelOutputError
from harness.core.task import Task


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    """What the model takes: per-sample shape (None: whatever the task gives), dtype, and the input
    box it declares (None: whatever the task gives; `check_fits_task` refuses another box)."""

    shape: tuple[int, ...] | None
    dtype: str = "float32"
    bounds: tuple[float, float] | None = (0.0, 1.0)
    modality: str = "image"


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What a suite may ask of the model."""

    gradients: bool  # module() returns a differentiable torch module (white-box attacks)
    batching: bool = True
    devices: tuple[str, ...] = ("cpu",)
    probabilities: bool = True
    """The softmax of `logits` is the model's own class probabilities. False: the scores are
    decision margins (scikit-learn's `decision_function`), whose softmax the model never defines;
    the calibration numbers computed from it (NLL, ECE, Brier) carry the `decision_scores` flag."""


@dataclass(frozen=True, kw_only=True)
class Features:
    """One forward pass's logits with the penultimate features that produced them.

    `features` is (batch, d) float32: by default the input of the model's last linear layer.
    `weight` (classes, d) and `bias` (classes,) are that layer's, given only when
    `features @ weight.T + bias` reproduces the logits (checked on every call); otherwise
    `head_note` says why they are absent (detectors that rebuild logits from features need them).
    """

    logits: torch.Tensor
    features: torch.Tensor
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    head_note: str | None = None


class FeaturesUnavailable(HarnessError):
    """The model gives no penultimate features (its adapter kind has none, or they cannot be
    read): feature-based OOD detectors are left out, with this message as the reason."""


@dataclass(frozen=True, kw_only=True, eq=False)
class WordVectors:
    """A text model's input-embedding rows of its whole-word tokens (`words[i]` <-> row i): the
    offline source of substitute words for the adversarial suite's word-level attack."""

    words: tuple[str, ...]
    vectors: Any  # float array (len(words), dim)


@runtime_checkable
class MinimalAdapter(Protocol):
    """What a third-party adapter must implement; the harness adds default optional hooks.

    `logits` takes raw inputs in bounds and returns (batch, classes) float logits without
    autograd; `module()` returns a frozen differentiable module when `capabilities.gradients`,
    else raises a HarnessError; `describe()` is JSON-able; `identity()` names the model's weights
    and settings (it keys cached results). The four data members may be plain attributes.
    """

    @property
    def name(self) -> str: ...

    @property
    def input_spec(self) -> InputSpec: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def device(self) -> torch.device: ...

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor: ...

    def module(self) -> torch.nn.Module: ...

    def describe(self) -> dict[str, Any]: ...

    def identity(self) -> str: ...


@runtime_checkable
class ModelAdapter(MinimalAdapter, Protocol):
    """A model as the suites see it: the required members plus the optional hooks.

    Hooks (defaults in `AdapterHooks`): `unavailable_reason` (not None: every job of the model is
    recorded as skipped with this reason), `check_task(task)` (raise a HarnessError when the model
    cannot serve the task: label names, graph input shape...), `count_tokens(texts)` (tokens the
    model reads, for tokens/s; None when it does not count), `features(inputs)` (the logits and
    the penultimate features of one forward pass, `Features`; raises `FeaturesUnavailable` with
    the reason when the model has none: the default), `word_vectors()` (a text model's
    whole-word input embeddings, for word-substitution attacks; None when it has none),
    `truncation(texts)` (how many of these texts the model reads only in part, cut at its
    length limit: `Truncation`; None when it does not say).
    """

    @property
    def unavailable_reason(self) -> str | None: ...

    def check_task(self, task: Task) -> None: ...

    def count_tokens(self, inputs: list[str]) -> int | None: ...

    def features(self, inputs: torch.Tensor | list[str]) -> Features: ...

    def word_vectors(self) -> WordVectors | None: ...

    def truncation(self, inputs: list[str]) -> Truncation | None: ...


OPTIONAL_HOOKS: tuple[str, ...] = (
    "unavailable_reason",
    "check_task",
    "count_tokens",
    "features",
    "word_vectors",
    "truncation",
)


@dataclass(frozen=True)
class Truncation:
    """Of `total` texts, `count` are longer than the `limit` (in `unit`s) the model reads: it
    sees their first `limit` only (`kept`: 'last' where it cuts on the left and keeps their
    end), so every number on them is that of the cut text."""

    count: int
    total: int
    limit: int
    unit: str = "tokens"
    kept: str = "first"

    def note(self, model: str) -> str | None:
        """The job note that says so (None when no text is cut)."""
        if self.count == 0:
            return None
        share = self.count / self.total if self.total else 0.0
        return (
            f"{self.count} of {self.total} texts ({share:.0%}) are longer than the "
            f"{self.limit} {self.unit} model {model!r}{TRUNCATION_MARK}its numbers "
            f"on them are those of their {self.kept} {self.limit} {self.unit} (max_length)"
        )


NO_FEATURES = (
    "its adapter gives no penultimate features (torch modules, Hugging Face image/text models "
    "and ONNX graphs with a `features_output` do)"
)


class AdapterHooks:
    """Defaults of the optional hooks: inherit them (adapters.base.AdapterBase does)."""

    unavailable_reason: str | None = None

    def check_task(self, task: Task) -> None:
        """Accept every task that `check_fits_task`'s shape check lets through."""
        return None

    def count_tokens(self, inputs: list[str]) -> int | None:
        """No token count: the throughput suite reports samples/s only."""
        return None

    def features(self, inputs: torch.Tensor | list[str]) -> Features:
        """No penultimate features: only logit-based OOD detectors apply."""
        raise FeaturesUnavailable(NO_FEATURES)

    def word_vectors(self) -> WordVectors | None:
        """No input embeddings: word attacks need another substitute source."""
        return None

    def truncation(self, inputs: list[str]) -> Truncation | None:
        """Nothing said about truncation (the model reads what it reads)."""
        return None


class DelegatingAdapter(AdapterHooks):
    """An adapter that stands for another: every member explicitly forwarded to `self.adapter`
    (no attribute proxying). Wrappers subclass it and override what they change."""

    def __init__(self, adapter: MinimalAdapter) -> None:
        self.adapter = adapter

    @property
    def name(self) -> str:
        return self.adapter.name

    @property
    def input_spec(self) -> InputSpec:
        return self.adapter.input_spec

    @property
    def capabilities(self) -> Capabilities:
        return self.adapter.capabilities

    @property
    def device(self) -> torch.device:
        return self.adapter.device

    def logits(self, inputs: torch.Tensor | list[str]) -> torch.Tensor:
        return self.adapter.logits(inputs)

    def module(self) -> torch.nn.Module:
        return self.adapter.module()

    def describe(self) -> dict[str, Any]:
        return self.adapter.describe()

    def identity(self) -> str:
        return self.adapter.identity()


class WithDefaultHooks(DelegatingAdapter):
    """A plugin adapter that implements only some hooks, completed with the defaults; hooks the
    plugin defines are its own."""

    def __init__(self, adapter: MinimalAdapter) -> None:
        super().__init__(adapter)
        own = {hook: getattr(adapter, hook) for hook in OPTIONAL_HOOKS if hasattr(adapter, hook)}
        if "unavailable_reason" in own:
            self.unavailable_reason = own["unavailable_reason"]
        if "check_task" in own:
            self.check_task = own["check_task"]  # type: ignore[method-assign]
        if "count_tokens" in own:
            self.count_tokens = own["count_tokens"]  # type: ignore[method-assign]
        if "features" in own:
            self.features = own["features"]  # type: ignore[method-assign]
        if "word_vectors" in own:
            self.word_vectors = own["word_vectors"]  # type: ignore[method-assign]
        if "truncation" in own:
            self.truncation = own["truncation"]  # type: ignore[method-assign]


def with_default_hooks(adapter: MinimalAdapter) -> ModelAdapter:
    """The adapter itself when it has every hook, else wrapped with the missing defaults.

    The one place where the harness asks which hooks an object defines: everything after it
    (runner, suites, parity, checks) calls the hooks as plain attributes.
    """
    if isinstance(adapter, ModelAdapter):
        return adapter
    return WithDefaultHooks(adapter)


class AdapterFactory(Protocol):
    """A registered adapter kind: validates its part of a model spec and builds adapters."""

    kind: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]

    @classmethod
    def build(
        cls, *, name: str, config: BaseModel, device: torch.device, base_dir: Path
    ) -> ModelAdapter: ...


def check_logits_shape(
    logits: torch.Tensor, *, num_classes: int, model: str, task: str, batch: int | None = None
) -> None:
    """Refuse logits that are not (batch, num_classes): one row per input, one column per class."""
    if not isinstance(logits, torch.Tensor):
        raise ModelOutputError(
            f"model {model!r} returned a {type(logits).__name__} on task {task!r}, not a tensor "
            "of logits"
        )
    if logits.ndim != 2:
        expected = f"({batch}, {num_classes})" if batch is not None else "(batch, num_classes)"
        labels = logits.ndim == 1 and (batch is None or logits.shape[0] == batch)
        hint = (
            ": one value per input looks like predicted labels or a single score; return one "
            "score per class (logits), e.g. the output before argmax"
            if labels
            else ""
        )
        raise ModelOutputError(
            f"model {model!r} returned logits of shape {tuple(logits.shape)} on task {task!r}; "
            f"expected {expected}{hint}"
        )
    if batch is not None and logits.shape[0] != batch:
        raise ModelOutputError(
            f"model {model!r} returned {logits.shape[0]} rows of logits for a batch of {batch} "
            f"inputs on task {task!r}; a classifier returns one row per input"
        )
    if logits.shape[1] == 1 and num_classes == 2:
        raise ClassCountError(
            f"model {model!r} returns one score per input on the two-class task {task!r}; if "
            "it is the logit of the second class (a model trained with BCEWithLogitsLoss), "
            "declare outputs: binary_logit (harness.evaluate(..., outputs='binary_logit')); if "
            "it is a probability (a final Sigmoid), evaluate the logit before the Sigmoid",
            outputs=1,
            expected=2,
        )
    if logits.shape[1] != num_classes:
        raise ClassCountError(
            f"model {model!r} outputs {logits.shape[1]} classes but task {task!r} has "
            f"{num_classes}; pair the model with a task of the same label space",
            outputs=int(logits.shape[1]),
            expected=num_classes,
        )


def check_logits(
    logits: torch.Tensor, *, num_classes: int, model: str, task: str, batch: int | None = None
) -> None:
    """Refuse outputs that do not fit the task: wrong shape, width or rows, NaN or inf values."""
    check_logits_shape(logits, num_classes=num_classes, model=model, task=task, batch=batch)
    if logits.is_complex():
        raise ModelOutputError(
            f"model {model!r} returned complex logits on task {task!r}; class scores must be real"
        )
    if not torch.isfinite(logits).all():
        bad = int((~torch.isfinite(logits)).any(dim=1).sum())
        raise ModelOutputError(
            f"model {model!r} returned NaN or inf logits for {bad} sample(s) of task {task!r}"
            + _non_finite_hint(logits)
        )


def _non_finite_hint(logits: torch.Tensor) -> str:
    """What the non-finite values are and where they usually come from."""
    if not logits.isnan().any() and not torch.isposinf(logits).any():
        return (
            ": only -inf, as log(softmax(z)) gives where a probability underflows to 0; return "
            "the logits z or log_softmax(z)"
        )
    return ": NaN or +inf, from an overflow or 0/0 inside the model or from NaN weights"


def check_fits_task(adapter: ModelAdapter, task: Task) -> None:
    """Refuse a model/task pairing that cannot work, before any suite runs.

    Checks the declared input shape against the task, then the adapter's own `check_task(task)`
    (label mapping, ONNX input shape...).
    """
    spec = adapter.input_spec
    if spec.shape is not None and task.input_shape and tuple(spec.shape) != tuple(task.input_shape):
        raise ModelOutputError(
            f"model {adapter.name!r} takes inputs of shape {list(spec.shape)} but task "
            f"{task.name!r} provides {list(task.input_shape)}"
            + (
                image_shape_advice(
                    task.input_shape,
                    spec.shape,
                    task.modality,
                    on="the task",
                    otherwise="fix the model's input_shape",
                )
                if task.decoder is not None  # images decoded from files: decoding is declared
                else ""
            )
        )
    _check_bounds(adapter.name, spec.bounds, task)
    if adapter.describe().get("outputs") == "binary_logit" and task.num_classes != 2:
        raise ClassCountError(
            f"model {adapter.name!r} declares outputs: binary_logit (one logit per input: two "
            f"classes) but task {task.name!r} has {task.num_classes}; binary_logit is for "
            "two-class tasks, and a model of more classes returns one score per class",
            outputs=2,
            expected=task.num_classes,
        )
    adapter.check_task(task)


def _check_bounds(model: str, declared: tuple[float, float] | None, task: Task) -> None:
    """Suites feed the task's raw inputs (and attacks and corruptions move them anywhere in the
    task's box), so a model that declares a narrower input box (its `bounds`: [0, 1] for a model
    given byte images in [0, 255], say) would be scored on inputs it does not take; refuse the
    pairing instead of reporting those numbers. A wider box (a tabular model's whole valid range
    around the data's observed one) is fine."""
    if declared is None or task.bounds is None or task.modality == "text":
        return
    low, high = float(task.bounds[0]), float(task.bounds[1])
    slack = 1e-9 * max(1.0, abs(low), abs(high))
    if float(declared[0]) <= low + slack and high - slack <= float(declared[1]):
        return
    raise ModelOutputError(
        f"model {model!r} takes inputs in [{declared[0]:g}, {declared[1]:g}] (its bounds) but "
        f"task {task.name!r} gives inputs in [{low:g}, {high:g}]; suites feed the task's raw "
        "inputs, so rescale inside the model (normalize:) and widen or drop bounds, or pair it "
        "with a task in its range"
    )


def image_shape_advice(
    got: Sequence[int], want: Sequence[int], modality: str, *, on: str, otherwise: str = ""
) -> str:
    """What to declare `on` an image task (or a shift suite's image entry) so its images decode
    to `want` instead of `got`: `channels`, and a transform for the height and width (`; declare
    channels: 3 (decode as RGB) on the task, or fix the model's input_shape`). Empty when the
    shapes are not both images (C, H, W)."""
    if modality != "image" or len(got) != 3 or len(want) != 3 or want[0] not in (1, 3):
        return ""
    fixes = []
    if got[0] != want[0]:
        fixes.append(f"channels: {want[0]} (decode as {'RGB' if want[0] == 3 else 'grey'})")
    if tuple(got[1:]) != tuple(want[1:]):
        h, w = want[1], want[2]
        how = f"resize: [{h}, {w}]" + (f", or resize: N with center_crop: {h}" if h == w else "")
        if (h, w) == (224, 224):
            how = f"transform: imagenet-eval, or {how}"
        fixes.append(f"a transform giving {h} x {w} ({how})")
    if not fixes:
        return ""
    return f"; declare {' and '.join(fixes)} on {on}" + (f", or {otherwise}" if otherwise else "")
