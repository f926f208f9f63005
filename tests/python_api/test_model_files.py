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
