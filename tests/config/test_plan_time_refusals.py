"""What every job of a model/task pair would fail on, refused when the plan is built: `harness
validate` says it in one line and `harness run` fails before any job with the same line
(exit 2, results already written untouched). Read without loading a model or a row: a table's
label column type (a Parquet schema, a delimited file's first block), a local Hugging Face
model's config.json, an image folder's class folders and its first image's header."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.reliability.hostile.corpus import cli, one_error_line

LINEAR = (
    "  - {name: lin, factory: 'torch.nn:Linear', factory_args: {in_features: 2, out_features: 2}, "
    "input_shape: [2]}\n"
)


def _reviews(tmp_path: Path, suffix: str, labels: list[str] | list[int]) -> Path:
    frame = pd.DataFrame({"text": ["good", "bad", "fine", "awful"], "label": labels})
    path = tmp_path / f"reviews.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _text_spec(tmp_path: Path, data: Path, task_keys: str = "") -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: labels\ndevice: cpu\nmodels:\n"
        "  - {name: words, adapter: callable, callable: 'builtins:len', modality: text}\n"
        f"tasks:\n  - {{name: reviews, source: {data.name}, modality: text, "
        f"input_column: text{task_keys}}}\n"
        "suites:\n  accuracy: {}\n"
    )
    return spec


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_text_label_column_without_class_names_is_refused_by_validate(
    tmp_path: Path, suffix: str
) -> None:
    data = _reviews(tmp_path, suffix, ["pos", "neg", "pos", "neg"])
    code, out, err = cli("validate", _text_spec(tmp_path, data))
    assert code == 2 and out == ""
    example = " (e.g. 'pos')" if suffix == "csv" else ""
    assert one_error_line(err) == (
        f"error: task 'reviews': source file {data}: label column 'label' holds text{example}; "
        "list the classes in class_names (class i is the model's output i) to map it to class ids"
    )


def test_text_labels_with_class_names_and_integer_labels_are_valid(tmp_path: Path) -> None:
    data = _reviews(tmp_path, "csv", ["pos", "neg", "pos", "neg"])
    code, _out, err = cli("validate", _text_spec(tmp_path, data, ", class_names: [neg, pos]"))
    assert code == 0, err
    data = _reviews(tmp_path, "parquet", [1, 0, 1, 0])
    code, _out, err = cli("validate", _text_spec(tmp_path, data))
    assert code == 0, err


WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _image_folder(root: Path, classes: list[str], mode: str = "L") -> Path:
    from PIL import Image

    for i, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for j in range(2):
            Image.new(mode, (8, 8), color=(i * 20 + j) if mode == "L" else (i, j, 9)).save(
                root / name / f"{j}.png"
            )
    return root


def _hf_folder(root: Path, config: dict[str, object]) -> Path:
    import json

    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps(config))  # no weights: validate reads none
    return root


def _hf_spec(tmp_path: Path, model_keys: str, task_keys: str = "") -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: hf\ndevice: cpu\nmodels:\n"
        f"  - {{name: vit, adapter: hf-image, path: vit{model_keys}}}\n"
        f"tasks:\n  - {{name: words, source: words, modality: image{task_keys}}}\n"
        "suites:\n  accuracy: {}\n"
    )
    return spec


def _id2label(names: list[str]) -> dict[str, object]:
    return {"id2label": {str(i): n for i, n in enumerate(names)}}


def test_an_hf_model_labelled_in_another_order_than_the_class_folders_is_refused(
    tmp_path: Path,
) -> None:
    _image_folder(tmp_path / "words", WORDS)
    _hf_folder(tmp_path / "vit", _id2label(WORDS))
    spec = _hf_spec(tmp_path, "")
    code, out, err = cli("validate", spec)
    assert code == 2 and out == ""
    folders = sorted(WORDS)
    assert one_error_line(err) == (
        f"error: model 'vit': config.id2label {WORDS} does not match the classes of task 'words' "
        f"{folders}; the model has the task's class names in another order (an image folder's "
        f"classes are its folder names, sorted); set label_map: {folders} to pick the model's "
        "outputs by name in task order, or give the task class_names in the model's order"
    )
    # the fix it names is valid; so is class_names in the model's order
    code, _out, err = cli("validate", _hf_spec(tmp_path, f", label_map: {folders}"))
    assert code == 0, err
    code, _out, err = cli("validate", _hf_spec(tmp_path, "", f", class_names: {WORDS}"))
    assert code == 0, err


def test_an_hf_config_whose_label2id_and_id2label_disagree_is_refused(tmp_path: Path) -> None:
    """label2id {"cat": 0, "dog": 1} beside id2label {0: "dog", 1: "cat"}: which output is
    "cat" decides every accuracy number, and validate passed it without a word (a task whose
    classes are unnamed checks only the count)."""
    _image_folder(tmp_path / "words", ["cat", "dog"])
    config = {"id2label": {"0": "dog", "1": "cat"}, "label2id": {"cat": 0, "dog": 1}}
    _hf_folder(tmp_path / "vit", config)
    spec = _hf_spec(tmp_path, ", label_map: [cat, dog]")
    code, out, err = cli("validate", spec)
    assert code == 2 and out == ""
    assert one_error_line(err) == (
        f"error: model 'vit': {tmp_path / 'vit' / 'config.json'}: label2id gives 'cat' output 0 "
        "but id2label names output 1 'cat' (and 1 more); the two disagree on which output is "
        "which class, so fix the checkpoint's config (the harness reads id2label)"
    )
    # transformers' default label2id (LABEL_i), left behind when only id2label was set, agrees
    # with anything
    _hf_folder(tmp_path / "vit2", {**config, "label2id": {"LABEL_0": 0, "LABEL_1": 1}})
    spec.write_text(spec.read_text().replace("path: vit,", "path: vit2,"))
    code, _out, err = cli("validate", spec)
    assert code == 0, err


def test_a_variant_run_without_its_parent_is_checked_as_its_parent(tmp_path: Path) -> None:
    """`--models vit@int8` plans the variant alone: its labels are checked as the parent's are
    (the variant adapter had no check, so every job would have failed on the mismatch)."""
    _image_folder(tmp_path / "words", WORDS[:3])
    _hf_folder(tmp_path / "vit", _id2label(["cat", "dog", "cow"]))
    spec = _hf_spec(tmp_path, ", variants: [int8]")
    code, out, err = cli("run", spec, "--models", "vit@int8", "--out", tmp_path / "results")
    assert code == 2 and out == ""
    assert one_error_line(err).startswith(
        "error: model 'vit@int8': config.id2label ['cat', 'dog', 'cow'] does not match the classes "
        "of task 'words'"
    )
    assert not (tmp_path / "results").exists()


def test_run_refuses_before_any_job_with_the_same_line_and_leaves_results_alone(
    tmp_path: Path,
) -> None:
    _image_folder(tmp_path / "words", WORDS[:3])
    _hf_folder(tmp_path / "vit", _id2label(["cat", "dog", "cow"]))
    spec = _hf_spec(tmp_path, "")
    results = tmp_path / "results"
    results.mkdir()
    (results / "kept.txt").write_text("earlier results")
    _code, _out, validated = cli("validate", spec)
    code, out, err = cli("run", spec, "--out", results)
    assert code == 2 and out == ""
    assert one_error_line(err) == one_error_line(validated)
    assert "config.id2label ['cat', 'dog', 'cow'] does not match" in err
    assert [p.name for p in results.iterdir()] == ["kept.txt"]


def test_a_label_count_that_differs_and_a_bad_label_map_are_refused(tmp_path: Path) -> None:
    _image_folder(tmp_path / "words", WORDS[:3])
    _hf_folder(tmp_path / "vit", {"num_labels": 5})
    code, _out, err = cli("validate", _hf_spec(tmp_path, ""))
    assert one_error_line(err) == (
        "error: model 'vit' has 5 labels but task 'words' has 3 classes; set label_map to "
        "choose the model labels in task order"
    )
    code, _out, err = cli("validate", _hf_spec(tmp_path, ", label_map: [LABEL_0, LABEL_9, x]"))
    assert code == 2
    assert "label_map names ['LABEL_9', 'x'] that the model does not have" in one_error_line(err)


def test_unnamed_labels_and_a_hub_model_pass_and_the_hub_model_is_said_unchecked(
    tmp_path: Path,
) -> None:
    _image_folder(tmp_path / "words", WORDS[:3])
    _hf_folder(tmp_path / "vit", {"num_labels": 3})
    code, out, err = cli("validate", _hf_spec(tmp_path, ""))
    assert code == 0, err
    assert "not checked" not in out and "checked against the tasks' classes when" not in out
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec.read_text().replace("path: vit", "path: someone/tiny-vit"))
    code, out, err = cli("validate", spec)
    assert code == 0, err
    assert (
        "model 'vit': its labels are checked against the tasks' classes when it loads (a hub "
        "model, someone/tiny-vit, not in the local Hugging Face cache: validate reads no network)"
        in " ".join(out.split())
    )


def test_a_hub_model_in_the_local_cache_is_checked_from_its_cached_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline users load hub models from the Hugging Face cache: its config.json (at the
    model's revision) is read as a local folder's is, so a mismatch is refused before any job."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    repo = cache / "models--someone--tiny-vit"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    _hf_folder(repo / "snapshots" / "abc123", _id2label(["cat", "dog", "cow"]))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    _image_folder(tmp_path / "words", WORDS[:3])
    spec = _hf_spec(tmp_path, "")
    spec.write_text(spec.read_text().replace("path: vit", "path: someone/tiny-vit"))
    code, out, err = cli("validate", spec)
    assert code == 2 and out == ""
    assert one_error_line(err).startswith(
        "error: model 'vit': config.id2label ['cat', 'dog', 'cow'] does not match the classes of "
        "task 'words'"
    )
    # another revision is not in the cache: said unchecked, not checked against main's config
    spec.write_text(spec.read_text().replace("someone/tiny-vit", "someone/tiny-vit, revision: v2"))
    code, out, err = cli("validate", spec)
    assert code == 0, err
    assert "not in the local Hugging Face cache" in " ".join(out.split())


def test_an_rgb_folder_against_a_one_channel_input_shape_is_refused(tmp_path: Path) -> None:
    _image_folder(tmp_path / "words", WORDS[:3], mode="RGB")
    _hf_folder(tmp_path / "vit", _id2label(sorted(WORDS[:3])))
    code, out, err = cli("validate", _hf_spec(tmp_path, ", input_shape: [1, 8, 8]"))
    assert code == 2 and out == ""
    first = tmp_path / "words" / "one" / "0.png"
    assert one_error_line(err) == (
        "error: model 'vit': input_shape [1, 8, 8] takes 1 channel but the images of task "
        f"'words' have 3 (its first image {first} is RGB (PIL mode RGB)); declare channels: 1 "
        "(decode as grey) on the task, or fix the model's input_shape"
    )
    # declared channels decide, as they decide the decoding
    code, _out, err = cli(
        "validate", _hf_spec(tmp_path, ", input_shape: [1, 8, 8]", ", channels: 1")
    )
    assert code == 0, err
    code, _out, err = cli(
        "validate", _hf_spec(tmp_path, ", input_shape: [3, 8, 8]", ", channels: 1")
    )
    assert code == 2
    assert "takes 3 channels but the images of task 'words' have 1 (channels: 1)" in err


def test_variants_of_a_model_that_has_no_torch_module_are_refused(tmp_path: Path) -> None:
    """A variant compresses a torch module; of a callable (or an estimator, an ONNX graph) every
    job was skipped at run time while `harness validate` listed them as jobs it would run and
    `harness run` exited 0. Refused before any job, naming the entry and its adapter."""
    data = _reviews(tmp_path, "csv", [1, 0, 1, 0])
    spec = _text_spec(tmp_path, data)
    spec.write_text(
        spec.read_text().replace("modality: text}", "modality: text, variants: [int8]}", 1)
    )
    code, _out, err = cli("validate", spec)
    assert code == 2, err
    assert one_error_line(err) == (
        "error: models[0](words).variants[0]: variant int8 compresses a torch module, and "
        "adapter 'callable' gives none; remove variants from this model"
    )


def test_a_zoo_model_without_its_tasks_names_where_its_tasks_come_from(tmp_path: Path) -> None:
    """`models: [digits-mlp]` beside an own task: the zoo entry's `tasks: [digits]` was reported
    as 'model lists task digits', a list the spec never wrote."""
    data = _reviews(tmp_path, "csv", [1, 0, 1, 0])
    spec = _text_spec(tmp_path, data)
    spec.write_text(spec.read_text().replace("models:\n", "models:\n  - digits-mlp\n", 1))
    code, _out, err = cli("validate", spec)
    assert code == 2, err
    assert one_error_line(err) == (
        "error: model 'digits-mlp' (zoo) runs only on task(s) digits (its tasks:), which this "
        "spec does not define (tasks: reviews); add them to the spec's tasks, or leave the "
        "model out"
    )


def test_a_zoo_model_with_variants_without_its_tasks_names_where_its_tasks_come_from(
    tmp_path: Path,
) -> None:
    """`{name: digits-mlp, variants: [int8]}` is the zoo model with variants: its tasks are the
    zoo entry's, as for the plain name, not a list the spec wrote (it got "model 'digits-mlp'
    lists task 'digits'"). An entry that writes its own tasks: keeps that line."""
    data = _reviews(tmp_path, "csv", [1, 0, 1, 0])
    spec = _text_spec(tmp_path, data)
    text = spec.read_text()
    spec.write_text(
        text.replace("models:\n", "models:\n  - {name: digits-mlp, variants: [int8]}\n", 1)
    )
    code, _out, err = cli("validate", spec)
    assert code == 2, err
    assert one_error_line(err) == (
        "error: model 'digits-mlp' (zoo) runs only on task(s) digits (its tasks:), which this "
        "spec does not define (tasks: reviews); add them to the spec's tasks, or leave the "
        "model out"
    )
    own = "models:\n  - {name: digits-mlp, tasks: [digits], variants: [int8]}\n"
    spec.write_text(text.replace("models:\n", own, 1))
    code, _out, err = cli("validate", spec)
    assert code == 2, err
    assert one_error_line(err) == (
        "error: model 'digits-mlp' lists task 'digits', which this spec does not define "
        "(tasks: reviews)"
    )


def test_a_zoo_model_in_the_variants_form_is_recorded_as_from_the_zoo(tmp_path: Path) -> None:
    """`{name: digits-mlp, variants: [int8]}` is the zoo model (its factory, weights and tasks);
    its plan's origin, stored as each job's `model_origin`, said "spec". The same entry with its
    own tasks: is still the zoo model, narrowed."""
    from harness.config.planner import build_plan
    from harness.config.spec import parse_spec_text
    from harness.config.trust import code_uses
    from harness.run.plugins import installed_plugins

    for entry in ("{name: digits-mlp, variants: [int8]}", "{name: digits-mlp, tasks: [digits]}"):
        spec = parse_spec_text(
            f"name: origins\ndevice: cpu\nmodels:\n  - {entry}\n  - digits-cnn\n"
            "tasks: [digits]\nsuites:\n  accuracy: {}\n",
            source="spec.yaml",
        )
        plan = build_plan(spec, base_dir=tmp_path, plugins=installed_plugins())
        assert plan.models["digits-mlp"].origin == "zoo", entry
        assert plan.models["digits-cnn"].origin == "zoo"
        if "variants" in entry:
            assert plan.models["digits-mlp@int8"].origin == "variant of digits-mlp (zoo)"
        # the harness's own zoo code is not the spec's code (validate listed its factory)
        assert code_uses(plan, installed_plugins().adapters) == [], entry


def test_a_three_channel_normalize_on_a_grey_folder_without_input_shape_is_refused(
    tmp_path: Path,
) -> None:
    """A folder whose first image is grey decodes every image grey; a model with a 3-value
    normalize and no input_shape broadcast the grey channel to three ((x - mean) / std) and ran:
    an RGB data set scored as grey, exit 0, no word."""
    _image_folder(tmp_path / "words", WORDS[:3], mode="L")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "tasks: [{name: words, source: words, modality: image}]\n"
        "models:\n"
        "  - {name: net, adapter: torch, factory: 'torch.nn:Identity', "
        "normalize: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}}\n"
        "suites: {accuracy: {}}\n"
    )
    code, out, err = cli("validate", spec)
    assert code == 2 and out == ""
    first = tmp_path / "words" / "one" / "0.png"
    assert one_error_line(err) == (
        "error: model 'net': normalize.mean has 3 values but the images of task 'words' have 1 "
        f"channel (its first image {first} is grey (PIL mode L)); declare channels: 3 (decode "
        "as RGB) on the task, or give normalize 1 value"
    )


def test_a_three_channel_normalize_refuses_grey_inputs_when_it_runs() -> None:
    """Where the plan cannot know the channels (a table of encoded images), the normalisation
    refuses inputs of another channel count instead of broadcasting them."""
    import torch

    from harness.adapters.torch_module import _Normalize

    norm = _Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25], 3)
    with pytest.raises(
        ValueError, match="normalize has 3 values per channel but the inputs have 1"
    ):
        norm(torch.zeros(2, 1, 4, 4))
    assert norm(torch.zeros(2, 3, 4, 4)).shape == (2, 3, 4, 4)
    assert _Normalize([0.5], [0.25], 3)(torch.zeros(2, 1, 4, 4)).shape == (2, 1, 4, 4)


@pytest.mark.parametrize("name", ["prune0.5", "prune0.9-layer"])
def test_a_prune_name_below_one_percent_is_refused_as_ambiguous(tmp_path: Path, name: str) -> None:
    """A name takes a percent, a mapping a fraction: `prune0.5` ran at sparsity 0.005 (0.5% of
    weights) as `digits-mlp@prune0.5`, where `{prune: 0.5}` prunes half. Refused in a spec,
    naming both ways to write what was meant."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: v\ntasks: [digits]\nmodels:\n  - {{name: digits-mlp, variants: [{name}]}}\n"
        "suites:\n  accuracy: {}\n"
    )
    code, _out, err = cli("validate", spec)
    assert code == 2, err
    line = one_error_line(err)
    assert line.startswith(f"error: models[0](digits-mlp).variants[0]: {name!r} prunes ")
    pct = name.removeprefix("prune").split("-")[0]
    assert f"prune{round(float(pct) * 100)}" in line and f"{{prune: {float(pct) / 100:g}" in line
