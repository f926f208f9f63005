"""Turn what a black-box model returns (probabilities, logits, decision scores) into logits.

Suites take the softmax of `logits`, so probabilities become log-probabilities (same softmax) and a
binary decision score d, or the one logit z of a binary model (`binary_logit`: shape (N,) or
(N, 1)), becomes the logit pair (0, d) (softmax = sigmoid(d)). Shapes and values are
checked here, so a callable that returns the wrong shape fails with one clear line.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from harness.adapters.binary_logit import logit_pair
from harness.core.errors import ModelOutputError
from harness.core.model_calls import check_forward_output
from harness.core.probability_outputs import PROBABILITY_FLOOR, sum_tolerance

OutputKind = Literal["logits", "probabilities", "decision", "binary_logit"]
PROB_TOLERANCE = 1e-3


def to_logits(
    raw: Any, *, outputs: OutputKind, n: int, model: str, read_as: str | None = None
) -> torch.Tensor:
    """(n, classes) float32 logits from a model's raw output for `n` samples. `read_as` says why
    the output is read as `outputs` where no spec declared it (an ONNX graph under
    `outputs: auto`), for the refusal of rows that are not what it was read as."""
    if raw is None:  # numpy reads None as a NaN scalar: "shape ()" said nothing of the cause
        raise ModelOutputError(
            f"model {model!r} returned None, not class scores; return its scores "
            "(batch, num_classes)"
        )
    if outputs == "binary_logit":
        _refuse_labels(raw, model=model)
    if isinstance(raw, torch.Tensor):  # a sparse, meta, bool... tensor: one line naming the model
        raw = check_forward_output(raw, model=model).detach().cpu().to(torch.float64).numpy()
    kind = getattr(getattr(raw, "dtype", None), "kind", None)  # numpy arrays and scalars
    if kind in ("b", "c"):
        what = "true/false values" if kind == "b" else "complex numbers"
        raise ModelOutputError(
            f"model {model!r} returned an array of {what} ({raw.dtype}), not class scores; "
            "return real-valued scores"
        )
    try:
        array = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ModelOutputError(
            f"model {model!r} returned {type(raw).__name__}, not an array of numbers"
        ) from err
    if outputs == "decision" and array.ndim == 1:
        array = np.stack([np.zeros_like(array), array], axis=1)
    if outputs == "binary_logit":
        pair = logit_pair(torch.from_numpy(array), model=model)  # one line for another shape
        array = pair.numpy()
    if array.ndim != 2 or array.shape[0] != n:
        _refuse_sequence(raw, outputs=outputs, model=model)
        labels = array.ndim == 1 and array.shape[0] == n
        hint = (
            ": one value per input looks like predicted labels or a single score; return one "
            "score per class (e.g. predict_proba or decision_function, not predict)"
            if labels
            else ""
        )
        raise ModelOutputError(
            f"model {model!r} returned {outputs} of shape {tuple(array.shape)} for {n} samples; "
            f"expected (batch, num_classes){hint}"
        )
    if outputs == "probabilities":
        # a row with NaN or inf goes on as it is (the model failed on that input): the suites'
        # finiteness checks name it (a failed job, a rejected attack candidate)
        rows = array[np.isfinite(array).all(axis=1)]
        sums = rows.sum(axis=1)
        # half-precision rows (float16, bfloat16) sum to one only within their rounding
        allowed = sum_tolerance(torch.from_numpy(rows), PROB_TOLERANCE).numpy() if len(rows) else 0
        if len(rows) and (rows.min() < -PROB_TOLERANCE or (np.abs(sums - 1) > allowed).any()):
            worst = float(np.abs(sums - 1).max())
            claim = read_as or "declares outputs: probabilities"
            raise ModelOutputError(
                f"model {model!r} {claim} but its rows are not "
                f"probability vectors (max |row sum - 1| = {worst:.3g}); set outputs: logits"
            )
        array = np.log(np.clip(array, PROBABILITY_FLOOR, None))
    return torch.from_numpy(_float32(array, model))


def _refuse_sequence(raw: Any, *, outputs: str, model: str) -> None:
    """A tuple or list of arrays (`return logits, features`; `return (logits,)`) stacks into a
    shape the model never built: say what it returned."""
    if not isinstance(raw, (tuple, list)) or not raw:
        return
    shapes = [tuple(getattr(item, "shape", ())) for item in raw]
    if not all(len(shape) >= 2 for shape in shapes):
        return  # a list of rows (or of numbers): the shape line says it
    kind = type(raw).__name__
    arrays = "array" if len(raw) == 1 else "arrays"
    raise ModelOutputError(
        f"model {model!r} returned a {kind} of {len(raw)} {arrays} (shapes "
        f"{', '.join(map(str, shapes[:4]))}), not one array of {outputs}; return the "
        "(batch, num_classes) array itself (e.g. outputs[0])"
    )


def _refuse_labels(raw: Any, *, model: str) -> None:
    """Integers declared one logit per input are predicted labels (predict's 0/1), whose
    reading as logits (0.5 and 0.73) would score as probabilities: one line."""
    if isinstance(raw, torch.Tensor):
        integer = not raw.dtype.is_floating_point and not raw.dtype.is_complex
        dtype = str(raw.dtype).removeprefix("torch.")
    else:
        array = raw if isinstance(raw, np.ndarray) else None
        if array is None and isinstance(raw, (list, tuple)):
            try:
                array = np.asarray(raw)
            except (TypeError, ValueError):
                return  # the conversion below says what it is
        if array is None:
            return
        integer, dtype = array.dtype.kind in ("i", "u"), str(array.dtype)
    if integer and dtype != "bool":  # true/false values have their own line
        raise ModelOutputError(
            f"model {model!r} declares outputs: binary_logit but returned integers ({dtype}): "
            "predicted labels, not a logit; return the score before the threshold (e.g. "
            "decision_function or the logit of the second class)"
        )


def _float32(array: np.ndarray, model: str) -> np.ndarray:
    """`array` as float32, which every suite computes in; finite scores beyond its range
    (|value| > 3.4e38, which the cast would turn into inf) are refused naming the largest."""
    finite = np.isfinite(array)
    largest = float(np.abs(array[finite]).max()) if finite.any() else 0.0
    if largest > float(np.finfo(np.float32).max):
        raise ModelOutputError(
            f"model {model!r} returned scores up to {largest:.3g} in magnitude, beyond float32's "
            "range (3.4e+38) that the suites compute in; return logits (e.g. subtract each "
            "row's maximum) or scaled scores"
        )
    return array.astype(np.float32)
