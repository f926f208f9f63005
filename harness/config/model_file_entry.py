"""A model given as the path of its file: the model spec entry its suffix implies.

`harness.evaluate("m.onnx", ...)`, and `harness run --models ./m.onnx` (with `--protocol` or a
spec, as a spec's `models:` entry), read an .onnx graph with the ONNX adapter, a .skops
estimator with the scikit-learn adapter and a .pt TorchScript file or .pt2 torch.export
program with the torchscript adapter, named by the file's stem. A pickle's path is refused:
loading one runs whatever it holds, which a path alone must not opt into.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.core.errors import SpecError

# model files a path alone describes: the adapter by the file's suffix
FILE_ADAPTERS = {".onnx": "onnx", ".skops": "sklearn", ".pt": "torchscript", ".pt2": "torchscript"}
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def model_file_entry(
    model: object,
    *,
    name: str | None = None,
    modality: str | None = None,
    task: str | None = None,
    key: str = "model",
    pickle_advice: str = (
        "write a model entry that opts in: {adapter: sklearn, path: ..., allow_pickle: true}"
    ),
) -> dict[str, Any] | None:
    """The model spec mapping for `model` given as the path of a file `FILE_ADAPTERS` names (a
    str or a path object), named `name` or the file's stem, reading `modality` (the tasks';
    None: the adapter's default); None for anything else (a str without such a suffix that is
    not a file is a zoo name).

    A pickle's path is refused (`pickle_advice` says what to do instead), and so is a path
    object (or a str naming an existing file) of another suffix, or an ONNX graph or torch
    program on text (`task` names the text task). `key` names the setting in the refusal."""
    if not isinstance(model, str | os.PathLike):
        return None
    path = Path(model)
    if path.suffix in PICKLE_SUFFIXES:
        raise SpecError(
            f"{key}: {path} is a pickle, and loading one runs whatever it holds; {pickle_advice}"
        )
    adapter = FILE_ADAPTERS.get(path.suffix)
    if adapter is None:
        if isinstance(model, str) and not (path.suffix and _is_file(path)):
            return None  # a zoo name
        raise SpecError(
            f"{key}: {path} is not a model file evaluate reads by its path ("
            f"{', '.join(FILE_ADAPTERS)}); pass a model spec mapping naming its adapter"
        )
    entry: dict[str, Any] = {"name": name or path.stem, "adapter": adapter, "path": str(path)}
    if adapter in ("onnx", "torchscript"):
        if modality == "text":
            on = f"task {task!r} is" if task else "the tasks are"
            what = "an ONNX graph" if adapter == "onnx" else "a torch program"
            raise SpecError(f"{key}: {path} is {what}; {on} text")
        if modality is not None:
            entry["modality"] = modality
    else:
        entry["modality"] = "text" if modality == "text" else "tabular"
    return entry


def _is_file(path: Path) -> bool:
    """`path.is_file()`, False where the name cannot be a file's (too long: OSError)."""
    try:
        return path.is_file()
    except OSError:
        return False
