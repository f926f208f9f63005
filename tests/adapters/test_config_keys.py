"""Adapter keys that change how a model is loaded or fed, each doing what docs/adapters.md says:
`sha256` pins a model file, `threads` sizes the ONNX session, `input_format` picks what a
callable receives, `max_length` truncates a text model's tokens, and `bounds` declares the
model's input box (checked by the plan: low < high)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.config.planner import build_plan
from harness.config.spec import parse_spec_text
from harness.core.errors import ModelLoadError, SpecError
from harness.core.hashing import file_sha256
from harness.run.plugins import installed_plugins
from tests.adapters.builders import build

FILE_MODELS = [  # kind, fixture with its file, the other fields its spec needs
    ("onnx", "onnx_path", {"input_shape": [1, 8, 8]}),
    ("torchscript", "torchscript_path", {"input_shape": [1, 8, 8]}),
    ("sklearn", "sklearn_paths", {"input_shape": [10]}),
]


def _model_file(request: pytest.FixtureRequest, fixture: str) -> Path:
    found = request.getfixturevalue(fixture)
    return Path(found["skops"] if isinstance(found, dict) else found)


@pytest.mark.parametrize(("kind", "fixture", "fields"), FILE_MODELS)
def test_sha256_pins_the_model_file(
    kind: str, fixture: str, fields: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    path = _model_file(request, fixture)
    digest = file_sha256(path)
    pinned = build(kind, {"path": str(path), **fields, "sha256": digest.upper()}, path.parent)
    assert pinned.describe()["sha256"] == digest  # any case; recorded in the model's identity
    stale = "0" * 64
    with pytest.raises(ModelLoadError) as err:
        build(kind, {"path": str(path), **fields, "sha256": stale}, path.parent, name="m")
    message = str(err.value)
    assert f"model 'm': {path} has sha256 {digest[:16]}" in message and "\n" not in message


def test_onnx_threads_size_the_session_and_change_no_output(onnx_path: Path) -> None:
    fields = {"path": str(onnx_path), "input_shape": [1, 8, 8]}
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    outputs = []
    for threads in (1, 3):
        adapter = build("onnx", {**fields, "threads": threads}, onnx_path.parent)
        options = adapter._session.get_session_options()  # type: ignore[attr-defined]
        assert options.intra_op_num_threads == threads
        outputs.append(adapter.logits(x))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)


@pytest.mark.parametrize(("input_format", "kind"), [("numpy", 0), ("torch", 1), (None, 0)])
def test_callable_input_format_picks_what_the_callable_receives(
    input_format: str | None, kind: int
) -> None:
    fields: dict[str, Any] = {"callable": "tests.adapters.callables:input_kind", "input_shape": [3]}
    if input_format is not None:  # left out: numpy, the default
        fields["input_format"] = input_format
    adapter = build("callable", fields, Path("."))
    assert adapter.logits(torch.zeros(4, 3)).argmax(dim=1).tolist() == [kind] * 4


def test_callable_input_format_is_part_of_the_identity() -> None:
    """The same callable gives other outputs on numpy and torch batches (input_kind: class 0
    or 1): a result cached under one input_format must not be served for the other."""
    fields: dict[str, Any] = {"callable": "tests.adapters.callables:input_kind", "input_shape": [3]}
    ids = {
        fmt: build("callable", {**fields, "input_format": fmt}, Path(".")).identity()
        for fmt in ("numpy", "torch")
    }
    assert ids["numpy"] != ids["torch"]
    assert build("callable", fields, Path(".")).identity() == ids["numpy"]  # the default


def test_hf_text_max_length_truncates_the_tokens(hf_text_dir: Path) -> None:
    texts = ["the movie was bad awful poor", "the movie was good great nice"]
    short = build("hf-text", {"path": str(hf_text_dir), "max_length": 4}, Path("."))
    assert short.describe()["max_length"] == 4
    same = short.logits(texts)  # [CLS] the movie [SEP]: the words after the second are cut
    torch.testing.assert_close(same[0], same[1], rtol=0, atol=0)
    whole = build("hf-text", {"path": str(hf_text_dir)}, Path(".")).logits(texts)
    assert not torch.allclose(whole[0], whole[1])  # the default (256) reads every word


@pytest.mark.parametrize(
    ("kind", "fields", "default"),
    [
        (
            "callable",
            {"callable": "tests.adapters.callables:tabular_logits", "input_shape": [10]},
            None,  # whatever the task gives
        ),
        ("hf-image", {"input_shape": [1, 8, 8]}, (0.0, 1.0)),  # its processor takes [0, 1]
    ],
)
def test_bounds_declare_the_input_box_and_the_plan_checks_them(
    kind: str,
    fields: dict[str, Any],
    default: tuple[float, float] | None,
    hf_image_dir: Path,
    tmp_path: Path,
) -> None:
    if kind == "hf-image":
        fields = {**fields, "path": str(hf_image_dir)}
    adapter = build(kind, {**fields, "bounds": [-1.0, 1.0]}, Path("."))
    assert adapter.input_spec.bounds == (-1.0, 1.0)
    assert build(kind, fields, Path(".")).input_spec.bounds == default
    entry = ", ".join(f"{k}: {_yaml(v)}" for k, v in {**fields, "bounds": [1.0, 0.0]}.items())
    spec = parse_spec_text(
        f"tasks: [digits]\nmodels: [{{name: m, adapter: {kind}, {entry}}}]\n"
        "suites: {accuracy: {}}\n",
        source="s.yaml",
    )
    with pytest.raises(SpecError, match=r"model 'm': bounds must be \[low, high\] with low < high"):
        build_plan(spec, base_dir=tmp_path, plugins=installed_plugins())


def _yaml(value: Any) -> str:
    return str(value) if isinstance(value, list) else f"'{value}'"


def test_callable_factory_args_naming_a_file_key_its_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A factory that loads its weights from a file an arg names: new weights in that file
    must miss the cache (a stale number otherwise); the arg's text alone does not change."""
    import numpy as np

    monkeypatch.chdir(tmp_path)  # the callable opens the path as given, from the working folder
    weights = tmp_path / "w.npy"
    fields: dict[str, Any] = {
        "callable": "tests.adapters.callables:weights_from_file",
        "factory": True,
        "args": {"path": "w.npy", "options": {"nested": ["w.npy"]}},
        "input_shape": [10],
    }
    np.save(weights, np.ones((10, 2), dtype=np.float32))
    first = build("callable", fields, tmp_path)
    assert build("callable", fields, tmp_path).identity() == first.identity()  # stable
    np.save(weights, np.zeros((10, 2), dtype=np.float32))
    second = build("callable", fields, tmp_path)
    assert second.identity() != first.identity()
    assert second.describe()["args_files_sha256"] == {"w.npy": file_sha256(weights)}
    # an absolute path is keyed as written; an arg that names no file adds nothing
    absolute = {**fields, "args": {"path": str(weights), "mode": "fast"}}
    keyed = build("callable", absolute, tmp_path).describe()["args_files_sha256"]
    assert keyed == {str(weights): file_sha256(weights)}
    plain = build(
        "callable",
        {
            **fields,
            "callable": "tests.adapters.callables:tabular_logits",
            "factory": False,
            "args": {},
        },
        tmp_path,
    )
    assert "args_files_sha256" not in plain.describe()


def test_a_callable_factory_that_raises_is_one_line_naming_the_model(tmp_path: Path) -> None:
    """A `factory: true` callable whose factory raises (its weights file is missing on a Ray
    worker whose working folder is not the driver's) is the model's failure, as a torch
    factory's is: before, the job failed with a bare `FileNotFoundError: ...` (no model named)
    and, as an unexpected error, its traceback was logged onto the user's terminal."""
    from harness.core.errors import ModelCallError

    fields: dict[str, Any] = {
        "callable": "tests.adapters.callables:weights_from_file",
        "factory": True,
        "args": {"path": "nowhere.npy"},
        "input_shape": [10],
    }
    with pytest.raises(ModelCallError) as caught:
        build("callable", fields, tmp_path, name="mine")
    message = str(caught.value)
    assert "model 'mine'" in message
    assert "tests.adapters.callables:weights_from_file" in message
    assert "FileNotFoundError" in message and "nowhere.npy" in message
    assert "\n" not in message
