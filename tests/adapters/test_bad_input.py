"""Every user-error path of the adapters: one clear line naming the file, key or column."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from harness.cli.main import main
from harness.core.errors import ModelLoadError, ModelOutputError, SpecError
from harness.data.builtin import diabetes
from harness.run.plugins import adapter_registry
from tests.adapters.builders import build, text_task


def test_model_folder_without_config(tmp_path: Path) -> None:
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(ModelLoadError, match=r"model folder .*empty-model has no config.json"):
        build("hf-image", {"path": "empty-model"}, tmp_path)
    with pytest.raises(ModelLoadError, match="has no config.json"):
        build("hf-text", {"path": "empty-model"}, tmp_path)


def test_text_model_without_tokenizer(hf_text_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in hf_text_dir.iterdir():
        if "token" not in f.name and f.name != "special_tokens_map.json":
            shutil.copy(f, bare / f.name)
    with pytest.raises(ModelLoadError, match="tokenizer"):
        build("hf-text", {"path": str(bare)}, tmp_path)


def test_trust_remote_code_needs_a_pinned_revision() -> None:
    cls = adapter_registry().load("hf-text")
    with pytest.raises(ValueError, match="pin the exact code with `revision"):
        cls.config_model.model_validate({"path": "org/model", "trust_remote_code": True})
    ok = cls.config_model.model_validate(
        {"path": "org/model", "trust_remote_code": True, "revision": "abc123"}
    )
    assert ok.revision == "abc123"


def test_label_mapping_that_does_not_match_the_task(hf_text_dir: Path, text_csv: Path) -> None:
    task = text_task(text_csv)  # classes neg, pos
    adapter = build("hf-text", {"path": str(hf_text_dir)}, Path("."))
    adapter.check_task(task)  # id2label neg/pos matches
    swapped = task.__class__(**{**task.__dict__, "class_names": ("pos", "neg")})
    with pytest.raises(
        ModelOutputError, match=r"config.id2label \['neg', 'pos'\] does not match .*set label_map"
    ):
        adapter.check_task(swapped)
    # the same names in another order (an image folder's sorted folders): the hint is the
    # label_map that picks them, and that label_map passes the check
    with pytest.raises(ModelOutputError, match=r"another order .*set label_map: \['pos', 'neg'\]"):
        adapter.check_task(swapped)
    build("hf-text", {"path": str(hf_text_dir), "label_map": ["pos", "neg"]}, Path(".")).check_task(
        swapped
    )
    other = task.__class__(**{**task.__dict__, "class_names": ("good", "bad")})
    with pytest.raises(ModelOutputError) as info:
        adapter.check_task(other)
    assert "another order" not in str(info.value)
    with pytest.raises(
        ModelLoadError, match=r"label_map names \['positive'\] that the model does not have"
    ):
        build("hf-text", {"path": str(hf_text_dir), "label_map": ["neg", "positive"]}, Path("."))


def test_label_map_reorders_outputs(hf_text_dir: Path, text_csv: Path) -> None:
    task = text_task(text_csv)
    plain = build("hf-text", {"path": str(hf_text_dir)}, Path("."))
    flipped = build("hf-text", {"path": str(hf_text_dir), "label_map": ["pos", "neg"]}, Path("."))
    texts = ["the movie was good", "the movie was awful"]
    assert torch.equal(plain.logits(texts).flip(1), flipped.logits(texts))
    swapped = task.__class__(**{**task.__dict__, "class_names": ("good", "bad")})
    flipped.check_task(swapped)  # an explicit label_map is the user's mapping


def test_label_map_naming_a_model_label_twice_is_refused(hf_text_dir: Path) -> None:
    """Two task classes reading one model output tie on every sample: the second class could
    never be predicted, and its accuracy would read as the model's."""
    with pytest.raises(ModelLoadError, match=r"label_map names \['neg'\] more than once"):
        build("hf-text", {"path": str(hf_text_dir), "label_map": ["neg", "neg"]}, Path("."))


def test_label_map_matches_model_labels_up_to_case_as_the_id2label_check_does(
    hf_text_dir: Path,
) -> None:
    """id2label `neg`/`pos` matches task classes `NEG`/`POS`; label_map `[POS, NEG]` names the
    same labels and must choose the same outputs (it was refused as labels the model lacks)."""
    plain = build("hf-text", {"path": str(hf_text_dir)}, Path("."))
    upper = build("hf-text", {"path": str(hf_text_dir), "label_map": ["POS", " Neg"]}, Path("."))
    texts = ["the movie was good", "the movie was awful"]
    assert torch.equal(plain.logits(texts).flip(1), upper.logits(texts))
    with pytest.raises(ModelLoadError, match=r"names one model label twice in different case"):
        build("hf-text", {"path": str(hf_text_dir), "label_map": ["neg", "NEG"]}, Path("."))


def test_image_label_count_mismatch(hf_image_dir: Path) -> None:
    adapter = build("hf-image", {"path": str(hf_image_dir)}, Path("."))
    with pytest.raises(ModelOutputError, match=r"has 10 labels but task 'diabetes' has 2 classes"):
        adapter.check_task(diabetes())


def test_onnx_input_name_and_shape_mismatch(onnx_path: Path) -> None:
    with pytest.raises(
        ModelLoadError,
        match=r"input_name 'image' is not an input of digits.onnx; the graph's inputs are \['pixels'\]",
    ):
        build("onnx", {"path": str(onnx_path), "input_name": "image"}, Path("."))
    with pytest.raises(
        ModelOutputError,
        match=r"ONNX input 'pixels' has shape \['batch', 1, 8, 8\] but input_shape gives samples of shape \[3, 8, 8\]",
    ):
        build("onnx", {"path": str(onnx_path), "input_shape": [3, 8, 8]}, Path("."))
    adapter = build("onnx", {"path": str(onnx_path)}, Path("."))
    with pytest.raises(
        ModelOutputError, match=r"but task 'diabetes' gives samples of shape \[10\]"
    ):
        adapter.check_task(diabetes())
    with pytest.raises(ModelOutputError, match=r"but the batch gives samples of shape \[10\]"):
        adapter.logits(torch.zeros(2, 10))


def _relu_model(opset: int) -> onnx.ModelProto:
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def test_onnx_opset_the_runtime_cannot_run(tmp_path: Path) -> None:
    onnx.save(_relu_model(99), tmp_path / "future.onnx")
    with pytest.raises(
        ModelLoadError,
        match=r"future.onnx uses ONNX opset 99, which the installed onnxruntime .* cannot run",
    ):
        build("onnx", {"path": "future.onnx", "input_shape": [2], "modality": "tabular"}, tmp_path)
    onnx.save(_relu_model(17), tmp_path / "ok.onnx")
    adapter = build("onnx", {"path": "ok.onnx", "modality": "tabular"}, tmp_path)
    assert adapter.logits(torch.tensor([[-1.0, 2.0]])).tolist() == [[0.0, 2.0]]


@pytest.mark.parametrize("content", [b"", b"\x08\x08"])
def test_an_onnx_file_without_a_graph_says_so_not_that_its_opset_cannot_run(
    tmp_path: Path, content: bytes
) -> None:
    """An empty file (or one that decodes as a ModelProto without a graph) read as
    `onnxruntime ... cannot run empty.onnx (opset 0)`: a version problem it is not."""
    (tmp_path / "empty.onnx").write_bytes(content)
    with pytest.raises(ModelLoadError) as caught:
        build("onnx", {"path": "empty.onnx", "modality": "tabular"}, tmp_path)
    message = str(caught.value)
    assert "opset" not in message
    assert f"empty.onnx holds no ONNX graph ({len(content)} bytes)" in message


def _external_data_model(location: str) -> onnx.ModelProto:
    weight = numpy_helper.from_array(torch.ones(2, 2).numpy(), "w")
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        weight.external_data.add(key=key, value=value)
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 2])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../x.bin"])
def test_onnx_external_data_outside_the_model_folder_is_refused(
    tmp_path: Path, location: str
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    path = folder / "m.onnx"
    path.write_bytes(_external_data_model(location).SerializeToString())
    with pytest.raises(
        ModelLoadError,
        match=rf"initializer 'w' stores its data at '{location}', outside the model's folder",
    ):
        build("onnx", {"path": str(path), "modality": "tabular"}, tmp_path)


def test_onnx_external_data_inside_the_folder_loads(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(torch.eye(2).numpy().tobytes())
    (tmp_path / "m.onnx").write_bytes(_external_data_model("w.bin").SerializeToString())
    adapter = build("onnx", {"path": "m.onnx", "modality": "tabular"}, tmp_path)
    assert adapter.logits(torch.tensor([[1.0, 2.0]])).tolist() == [[1.0, 2.0]]
    assert "w.bin" in adapter.describe()["files_sha256"]


def test_callable_that_returns_the_wrong_shape() -> None:
    adapter = build(
        "callable", {"callable": "tests.adapters.callables:wrong_shape"}, Path("."), name="bad-fn"
    )
    with pytest.raises(
        ModelOutputError,
        match=r"model 'bad-fn' returned logits of shape \(4,\) for 4 samples; expected \(batch, num_classes\): one value per input looks like predicted labels",
    ):
        adapter.logits(torch.zeros(4, 10))
    liar = build(
        "callable",
        {"callable": "tests.adapters.callables:not_probabilities", "outputs": "probabilities"},
        Path("."),
    )
    with pytest.raises(ModelOutputError, match="rows are not probability vectors"):
        liar.logits(torch.rand(4, 10))


def test_sklearn_pickle_needs_opt_in(sklearn_paths: dict[str, Path]) -> None:
    with pytest.raises(
        ModelLoadError,
        match="loading a pickle can run arbitrary code; save the estimator with skops",
    ):
        build("sklearn", {"path": str(sklearn_paths["joblib"])}, Path("."))
    pickled = build(
        "sklearn", {"path": str(sklearn_paths["joblib"]), "allow_pickle": True}, Path(".")
    )
    safe = build("sklearn", {"path": str(sklearn_paths["skops"])}, Path("."))
    x = diabetes().all_inputs()
    assert torch.allclose(pickled.logits(x), safe.logits(x))


def test_unknown_spec_field_is_named(write_spec) -> None:  # noqa: ANN001 - fixture
    spec = write_spec(
        """\
        tasks: [digits]
        models:
          - name: m
            adapter: onnx
            path: m.onnx
            inptu_name: x
        suites: {accuracy: {}}
        """
    )
    with pytest.raises(SpecError, match=r"models\[0\]\(m\)\.inptu_name"):
        main(["--debug", "validate", str(spec)])


@pytest.mark.parametrize("adapter", ["onnx", "sklearn", "torchscript"])
def test_a_missing_model_file_is_refused_by_validate_and_run(
    adapter: str,
    write_spec,
    tmp_path: Path,
    capsys,  # noqa: ANN001
) -> None:
    """`validate` said "valid" for a model file that does not exist, and the run then failed
    every job of that model; both now refuse at planning, naming the key and the path."""
    spec = write_spec(
        f"""\
        device: cpu
        tasks: [digits]
        models:
          - {{name: m, adapter: {adapter}, path: nowhere.bin}}
        suites: {{accuracy: {{}}}}
        """
    )
    for command in (["validate", str(spec)], ["run", str(spec), "--out", str(tmp_path / "out")]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"error: models[0](m).path: file not found: {spec.parent / 'nowhere.bin'}"
    assert not (tmp_path / "out").exists()


def test_validate_gives_the_line_a_job_gives_for_a_model_labelled_in_another_order(
    tmp_path: Path,
) -> None:
    """A real saved ViT (id2label zero..nine) on class folders that sort eight, five, four...:
    the plan's check (config.json read as JSON) and the job's (the loaded model against the
    loaded task) refuse with the same line."""
    import contextlib
    import io

    from PIL import Image

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from tests.adapters.conftest import save_tiny_vit

    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    save_tiny_vit(tmp_path / "vit", id2label=dict(enumerate(words)), label2id={})
    for i, word in enumerate(words):
        (tmp_path / "words" / word).mkdir(parents=True)
        Image.new("RGB", (16, 16), (i * 20, 0, 0)).save(tmp_path / "words" / word / "a.png")
    adapter = build("hf-image", {"path": "vit"}, tmp_path, name="m")
    spec = {"name": "words", "source": "words", "modality": "image"}
    task = load_task(TaskSpec.model_validate(spec), base_dir=tmp_path)
    with pytest.raises(ModelOutputError) as job:
        adapter.check_task(task)
    (tmp_path / "spec.yaml").write_text(
        "models:\n  - {name: m, adapter: hf-image, path: vit}\n"
        "tasks:\n  - {name: words, source: words, modality: image}\nsuites: {accuracy: {}}\n"
    )
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["validate", str(tmp_path / "spec.yaml")])
    assert code == 2
    assert err.getvalue().strip() == f"error: {job.value}"
    assert "set label_map: ['eight', 'five', 'four'" in err.getvalue()


def test_a_model_path_that_is_a_folder_or_a_link_loop_says_so(tmp_path: Path) -> None:
    """`path:` naming a folder, or a symlink loop, was reported as "file not found", which sends
    the user looking for a file that exists."""
    from harness.adapters.model_files import require_file
    from harness.core.errors import ModelLoadError

    (tmp_path / "model.onnx").mkdir()
    with pytest.raises(ModelLoadError, match="path: is a folder, not a model file: "):
        require_file(tmp_path / "model.onnx", model="m")
    loop = tmp_path / "loop.onnx"
    loop.symlink_to(loop)
    with pytest.raises(ModelLoadError, match="is a link that leads to no file"):
        require_file(loop, model="m")
    with pytest.raises(ModelLoadError, match="path: file not found: "):
        require_file(tmp_path / "nowhere.onnx", model="m")
