"""A model's declared inputs against the tasks it is paired with, before anything is loaded.

`harness validate` refuses what `harness run` would refuse (or what would reach the model as a
shape it cannot take and be blamed on it: "mat1 and mat2 shapes cannot be multiplied"), wherever
the task's input shape is known without reading data: the built-in tasks (the catalogue states
their shape), catalogue hub tasks and inline tasks that declare `input_shape` or fix it with
their transform (`transform`, or `center_crop` / `resize: [h, w]` with `channels`), and tabular
tasks whose features are every column of the file's header but the label, id and group columns
(the planner counts them: `planner._header_width`).

Checked for each model/task pair of the plan, naming the model's key:
- `input_shape` equals the task's input shape (the run's own rule: check_fits_task); where only
  an image task's channels are known (declared `channels`, `transform: imagenet-eval`, an image
  folder's first image's mode from its header), its first dimension equals them;
- `normalize.mean` / `normalize.std` give one value or one per channel (the first dimension of
  the model's input_shape, else of the task's), and each other's count when neither is one;
- `normalize` without `input_shape` treats inputs as images [C, H, W]: a task whose inputs are
  not is refused with the input_shape to declare;
- `bounds` are [low, high] with low < high; `input_shape` dimensions are at least 1, and
  `normalize` values fit in float32 (the model's
  dtype: 1e300 would become infinity). NaN and infinity are refused before, with every number
  of the spec (harness.core.input_types).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.core.errors import SpecError
from harness.data.task_spec import TaskSpec

Shape = tuple[int, ...]
FLOAT32_MAX = 3.4028234663852886e38  # normalisation runs in float32 (adapters/torch_module.py)


def declared_shape(spec: TaskSpec, transform: str | None = None) -> Shape | None:
    """The input shape a task spec fixes without reading data; None when only data can tell."""
    if spec.input_shape is not None:
        return tuple(spec.input_shape)
    if spec.modality == "tabular":
        return _tabular_width(spec)
    if spec.modality != "image":
        return None
    from harness.data.image_transform import ImageTransform

    chosen = transform or spec.transform
    sizing = ImageTransform.from_spec(chosen, spec.resize, spec.center_crop)
    fixed = sizing.resize if isinstance(sizing.resize, tuple) else None
    size = sizing.center_crop or fixed
    channels = spec.channels or (3 if chosen is not None else None)
    return (channels, *size) if size is not None and channels else None


def _tabular_width(spec: TaskSpec) -> Shape | None:
    """A tabular task's feature count from its named features: one per column, one per
    declared category of a `one_hot` column; None when the data must tell (no feature_columns,
    an input_column of vectors, one_hot categories found in the data)."""
    if not spec.feature_columns or spec.input_column:
        return None
    width = 0
    for column in spec.feature_columns:
        if column not in spec.one_hot:
            width += 1
            continue
        categories = spec.one_hot[column]
        if categories is None:
            return None
        width += len(categories)
    return (width,)


def catalogued_shape(name: str, task: Any) -> Shape | None:
    """The input shape a catalogue task states: a built-in's catalogue entry, or a hub task's
    spec and transform; None for anything else (an entry point's task)."""
    from harness.data.catalogue import BUILTIN_INFO, BUILTIN_TASKS

    info = BUILTIN_INFO.get(name)
    if info is not None and getattr(task, "__module__", None) == BUILTIN_TASKS[name].split(":")[0]:
        return info.input_shape
    spec = getattr(task, "spec", None)
    if isinstance(spec, TaskSpec) and getattr(task, "tabular", None) is None:
        return declared_shape(spec, getattr(task, "transform", None))
    return None


def check_model_fits(
    models: Mapping[str, Any],
    task_shapes: Mapping[str, Shape | None],
    pairs: Sequence[tuple[str, str]],
    task_channels: Mapping[str, tuple[int, str] | None] | None = None,
) -> None:
    """Refuse the first model/task pair whose declared inputs cannot fit (a SpecError naming
    the model's key); `models` maps names to their validated adapter configs, `task_channels`
    an image task's channels and how they are known where its whole shape is not."""
    seen: set[tuple[str, str]] = set()
    for model, task in pairs:
        if (model, task) in seen:
            continue
        seen.add((model, task))
        config = models[model]
        shape = getattr(config, "input_shape", None)
        own = tuple(shape) if shape else None
        bounds = getattr(config, "bounds", None)
        if bounds is not None and not bounds[0] < bounds[1]:
            raise SpecError(
                f"model {model!r}: bounds must be [low, high] with low < high, got {list(bounds)}"
            )
        if own is not None and min(own) < 1:
            raise SpecError(
                f"model {model!r}: input_shape {list(own)} has a dimension below 1; each is a "
                "whole number of at least 1"
            )
        given = task_shapes.get(task)
        if own is not None and given is not None and own != given:
            raise SpecError(
                f"model {model!r}: input_shape {list(own)} does not fit task {task!r}, whose "
                f"inputs are {list(given)}; fix input_shape, or list the tasks the model is "
                "for (tasks: [...])"
            )
        known = (task_channels or {}).get(task)
        if own is not None and given is None and known is not None:
            _check_channels(model, task, own, known)
        _check_normalize(model, task, getattr(config, "normalize", None), own, given, known)


def _check_channels(model: str, task: str, own: Shape, known: tuple[int, str]) -> None:
    """An image model's `input_shape` channels against the channels the task's images decode
    to (the run refuses any other shape: check_fits_task)."""
    channels, how = known
    if len(own) != 3 or own[0] == channels:
        return
    decode = "grey" if own[0] == 1 else "RGB"
    fix = (
        f"declare channels: {own[0]} (decode as {decode}) on the task, or "
        if own[0] in (1, 3)
        else ""
    )
    raise SpecError(
        f"model {model!r}: input_shape {list(own)} takes {own[0]} channel"
        f"{'s' if own[0] != 1 else ''} but the images of task {task!r} have {channels} "
        f"({how}); {fix}fix the model's input_shape"
    )


def _check_normalize(
    model: str,
    task: str,
    normalize: Any,
    own: Shape | None,
    given: Shape | None,
    known: tuple[int, str] | None = None,
) -> None:
    if normalize is None:
        return
    counts = {"mean": len(normalize.mean), "std": len(normalize.std)}
    for key in counts:
        for i, v in enumerate(getattr(normalize, key)):
            if abs(v) > FLOAT32_MAX:
                raise SpecError(
                    f"model {model!r}: normalize.{key}.{i} is {v:g}, beyond what float32 holds "
                    f"(±{FLOAT32_MAX:.4g}); the model would see infinities"
                )
    if min(counts.values()) < 1:
        raise SpecError(f"model {model!r}: normalize.mean and normalize.std need a value each")
    if own is None and given is not None and len(given) != 3:
        raise SpecError(
            f"model {model!r}: normalize without input_shape treats inputs as images "
            f"[channels, height, width], but task {task!r} gives {list(given)}; declare "
            f"input_shape: {list(given)}"
        )
    shape = own or given
    channels = shape[0] if shape else None
    for key, count in counts.items():
        if channels is not None and count not in (1, channels):
            raise SpecError(
                f"model {model!r}: normalize.{key} has {count} values but the inputs of task "
                f"{task!r} have {channels} channel{'s' if channels != 1 else ''} "
                f"({list(shape or ())}); give 1 value" + (f" or {channels}" if channels > 1 else "")
            )
    if shape is None and known is not None:  # an image folder: its first image's channels
        _check_normalize_channels(model, task, counts, known)
    if 1 not in counts.values() and counts["mean"] != counts["std"]:
        raise SpecError(
            f"model {model!r}: normalize.mean has {counts['mean']} values and normalize.std "
            f"{counts['std']}; give both one per channel"
        )


def _check_normalize_channels(
    model: str, task: str, counts: Mapping[str, int], known: tuple[int, str]
) -> None:
    """`normalize` against the channels an image task's images decode to, where its whole
    shape is not known (no input_shape): 3 values on grey images would broadcast the one
    channel to three, and the model would score an RGB set decoded as grey without a word."""
    channels, how = known
    for key, count in counts.items():
        if count in (1, channels):
            continue
        fix = (
            f"declare channels: {count} (decode as {'RGB' if count == 3 else 'grey'}) on the "
            "task, or "
            if count in (1, 3)
            else ""
        )
        raise SpecError(
            f"model {model!r}: normalize.{key} has {count} values but the images of task "
            f"{task!r} have {channels} channel{'s' if channels != 1 else ''} ({how}); {fix}give "
            "normalize 1 value" + (f" or {channels}" if channels > 1 else "")
        )
