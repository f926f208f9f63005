"""A model file's path goes into `harness.evaluate` as it is: an .onnx graph or a .skops
estimator, its adapter read off the suffix and its modality off the task. A pickle's path is
refused (loading it runs code, which a path alone must not opt into)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio  # type: ignore[import-untyped]
import torch
from sklearn.linear_model import LogisticRegression

import harness
from harness.core.errors import HarnessError
from tests.fixture_models import linear_digits

FAST = dict(task="digits", limit=200, device="cpu", bootstrap_resamples=0)


def test_an_onnx_path_is_read_by_the_onnx_adapter(tmp_path: Path) -> None:
    module = linear_digits()
    path = tmp_path / "linear.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.rand(1, 1, 8, 8),),
            path,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
            dynamo=False,
        )
    direct = harness.evaluate(module, **FAST)
    for given in (str(path), path):
        got = harness.evaluate(given, **FAST)
        assert got.metric("top1_acc").value == direct.metric("top1_acc").value
        assert got.model == "linear"
        assert got.provenance.model_description["adapter"] == "onnx"
    named = harness.evaluate(path, model_name="mine", **FAST)
    assert named.model == "mine"


def test_a_skops_path_is_read_by_the_sklearn_adapter(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    estimator = LogisticRegression(max_iter=2000).fit(digits.data / 16.0, digits.target)
    sio.dump(estimator, tmp_path / "lr.skops")
    got = harness.evaluate(tmp_path / "lr.skops", **FAST)
    held = harness.evaluate(estimator, **FAST)
    assert got.metric("top1_acc").value == held.metric("top1_acc").value
    assert np.isfinite(got.metric("nll").value)


def test_paths_a_path_alone_cannot_load_are_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"^model: .*m\.joblib is a pickle, and loading one"):
        harness.evaluate(tmp_path / "m.joblib", **FAST)
    with pytest.raises(HarnessError, match=r"^model: .*m\.bin is not a model file evaluate"):
        harness.evaluate(tmp_path / "m.bin", **FAST)


def test_the_pickle_refusals_advice_works_named_after_the_file(tmp_path: Path) -> None:
    """The refusal of a pickle's path advises `{'adapter': 'sklearn', 'path': ...,
    'allow_pickle': True}`; following it failed with "model: name: required key is missing". A
    mapping without a name takes `model_name`, else its file's stem, as a path alone does."""
    import joblib  # type: ignore[import-untyped]
    from sklearn.datasets import load_digits

    digits = load_digits()
    estimator = LogisticRegression(max_iter=2000).fit(digits.data / 16.0, digits.target)
    joblib.dump(estimator, tmp_path / "lr.joblib")
    entry = {"adapter": "sklearn", "path": str(tmp_path / "lr.joblib"), "allow_pickle": True}
    got = harness.evaluate(entry, **FAST)
    assert got.model == "lr"
    assert (
        got.metric("top1_acc").value == harness.evaluate(estimator, **FAST).metric("top1_acc").value
    )
    assert harness.evaluate(entry, model_name="mine", **FAST).model == "mine"
    with pytest.raises(HarnessError, match=r"^model_name: names an nn.Module"):
        harness.evaluate({**entry, "name": "own"}, model_name="mine", **FAST)


@pytest.mark.parametrize("suffix", [".pt", ".pt2"])
def test_a_torchscript_or_export_path_is_read_by_the_torchscript_adapter(
    suffix: str, tmp_path: Path
) -> None:
    """A `.pt` TorchScript file or a `.pt2` torch.export program, given as a str or a path:
    read by the torchscript adapter (a str was looked up as a zoo model name: "unknown model
    '/.../m.pt'; known models: digits-mlp, ...")."""
    module = linear_digits().eval()
    path = tmp_path / f"linear{suffix}"
    if suffix == ".pt":
        torch.jit.trace(module, torch.rand(2, 1, 8, 8)).save(str(path))
    else:
        batch = torch.export.Dim("batch", min=2, max=1 << 16)
        program = torch.export.export(
            module, (torch.rand(2, 1, 8, 8),), dynamic_shapes=({0: batch},)
        )
        torch.export.save(program, str(path))
    direct = harness.evaluate(module, **FAST)
    for given in (str(path), path):
        got = harness.evaluate(given, **FAST)
        assert got.metric("top1_acc").value == direct.metric("top1_acc").value
        assert got.model == "linear"
        assert got.provenance.model_description["adapter"] == "torchscript"


def test_an_existing_file_given_as_a_str_is_not_looked_up_as_a_zoo_name(tmp_path: Path) -> None:
    path = tmp_path / "m.pth"
    torch.save(linear_digits().state_dict(), path)
    with pytest.raises(HarnessError, match=r"^model: .*m\.pth is not a model file evaluate"):
        harness.evaluate(str(path), **FAST)


def test_a_str_too_long_for_a_file_name_is_looked_up_as_a_zoo_name() -> None:
    """The file check of a str with a suffix (90acebbb) raised OSError 'File name too long' out
    of evaluate (a raw traceback) for a 300-character name holding a dot."""
    from harness.config.model_file_entry import model_file_entry

    name = "a" * 300 + ".v1"
    assert model_file_entry(name) is None
    with pytest.raises(HarnessError, match="unknown model"):
        harness.evaluate(name, **FAST)
